"""DSP peers run at the file's own rate on all channels at once: noisereduce, ffmpeg filters, sox
noisered and grooveclean. Each takes (frames, channels) float32 and returns the same shape, already
time-aligned (ffmpeg's afftdn delay is removed here, where the rate is known).

afftdn and sox noisered need to know the noise: both take it from the quietest half second of the
file, the way an engineer would pick a pause by ear.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

PROFILE_S = 0.5
SOX_AMOUNT = 0.21
SILENT = 1e-7  # RMS below this is digital silence, useless as a noise profile


def quietest(x: np.ndarray, rate: int, seconds: float = PROFILE_S) -> tuple[float, float]:
    """(start in seconds, RMS) of the quietest `seconds` window that is not digital silence."""
    power = np.mean(x.astype(np.float64) ** 2, axis=1)
    win, hop = max(1, int(seconds * rate)), max(1, int(0.05 * rate))
    if len(power) <= win:
        return 0.0, float(np.sqrt(power.mean()))
    csum = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - win + 1, hop)
    rms = np.sqrt(np.maximum((csum[starts + win] - csum[starts]) / win, 0.0))
    live = rms > SILENT
    if live.any():
        starts, rms = starts[live], rms[live]
    i = int(np.argmin(rms))
    return starts[i] / rate, float(rms[i])


def afftdn_latency(rate: int) -> int:
    """afftdn's output delay: twice its hop, the hop being a quarter of a 50 ms window rounded
    like C's lrint (25 ms: 400 samples at 16 kHz, 1102 at 44.1 kHz, 1200 at 48 kHz; measured)."""
    return 2 * (round(rate * 0.05) // 4)


def _ffmpeg(x: np.ndarray, rate: int, filt: str, latency: int = 0) -> np.ndarray:
    """Run one ffmpeg audio filter over raw float32 (all channels at once). The input's tail is
    padded so a delayed filter still emits the last samples; the first `latency` are dropped."""
    ch, n = x.shape[1], len(x)
    filt = f"apad=pad_len={latency + int(0.1 * rate)},{filt}"
    raw = ["-f", "f32le", "-ar", str(rate), "-ac", str(ch)]
    cmd = ["ffmpeg", "-nostdin", "-v", "error", *raw, "-i", "pipe:0", "-af", filt, *raw, "pipe:1"]
    res = subprocess.run(cmd, input=np.ascontiguousarray(x, np.float32).tobytes(), capture_output=True)
    if res.returncode:
        raise RuntimeError(f"ffmpeg {filt}: {res.stderr.decode(errors='replace').strip()[-500:]}")
    return np.frombuffer(res.stdout, np.float32).reshape(-1, ch)[latency : latency + n]


def afftdn(x: np.ndarray, rate: int) -> np.ndarray:
    _, rms = quietest(x, rate)
    nf = float(np.clip(20 * np.log10(max(rms, 1e-10)), -80.0, -20.0))
    return _ffmpeg(x, rate, f"afftdn=nf={nf:.1f}", afftdn_latency(rate))


def adeclick(x: np.ndarray, rate: int) -> np.ndarray:
    return _ffmpeg(x, rate, "adeclick")


def adeclip(x: np.ndarray, rate: int) -> np.ndarray:
    return _ffmpeg(x, rate, "adeclip")


def sox_noisered(x: np.ndarray, rate: int) -> np.ndarray:
    start, _ = quietest(x, rate)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, prof = Path(tmp, "in.wav"), Path(tmp, "out.wav"), Path(tmp, "noise.prof")
        sf.write(src, x, rate, subtype="FLOAT")
        for cmd in (
            ["sox", "-D", str(src), "-n", "trim", f"{start:.4f}", str(PROFILE_S), "noiseprof", str(prof)],
            [
                "sox",
                "-D",
                str(src),
                "-e",
                "floating-point",
                "-b",
                "32",
                str(dst),
                "pad",
                "0",
                "0.1",
                "noisered",
                str(prof),
                str(SOX_AMOUNT),
            ],  # pad: noisered drops the tail
        ):
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode:
                raise RuntimeError(f"{' '.join(cmd[:2])}: {res.stderr.strip()[-500:]}")
        y, _ = sf.read(dst, dtype="float32", always_2d=True)
    return y[: len(x)]


def noisereduce(x: np.ndarray, rate: int) -> np.ndarray:
    import noisereduce as nr

    y = nr.reduce_noise(y=x.T if x.shape[1] > 1 else x[:, 0], sr=rate)
    return np.asarray(y, np.float32).reshape(x.shape[1], -1).T


class GrooveClean:
    """grooveclean.cli.clean_file (what `grooveclean clean` runs) with the bundled detector on
    the CPU, default sensitivity 0.5 and max width 20 ms; the detector loads once."""

    def __init__(self, threads: int = 1):
        import torch
        from grooveclean import cli, detect

        torch.set_num_threads(threads)
        self.cli = cli
        self.detector = detect.Detector.load(None, torch.device("cpu"))

    def __call__(self, x: np.ndarray, rate: int) -> np.ndarray:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp, "in.wav"), Path(tmp, "out.wav")
            sf.write(src, x, rate, subtype="FLOAT")
            self.cli.clean_file(src, dst, detector=self.detector)
            y, _ = sf.read(dst, dtype="float32", always_2d=True)
        return y
