"""Synthetic test signals for checking the peers: numpy only, so acetate's venv can use it too.

Speech-like: a gliding glottal pulse train through moving formant resonators, in syllables with
pauses. Music-like: harmonic notes with vibrato and a decaying envelope, overlapping as chords.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter


def _resonate(x: np.ndarray, freq: float, bw: float, rate: int) -> np.ndarray:
    r = np.exp(-np.pi * bw / rate)
    a = [1.0, -2 * r * np.cos(2 * np.pi * freq / rate), r * r]
    return lfilter([1 - r], a, x)


def speech_like(rate: int = 16000, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    out = np.zeros(n)
    t0 = int(0.3 * rate)
    while t0 < n - int(0.3 * rate):
        dur = int(rng.uniform(0.15, 0.35) * rate)
        f0 = np.linspace(rng.uniform(110, 180), rng.uniform(90, 220), dur)
        phase = np.cumsum(f0 / rate)
        pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal cycle
        voiced = lfilter([1.0], [1.0, -0.95], pulses)
        syl = sum(
            _resonate(voiced, f * rng.uniform(0.85, 1.15), bw, rate)
            for f, bw in ((700, 90), (1200, 110), (2600, 160))
        )
        syl *= np.hanning(dur) ** 0.5
        out[t0 : t0 + dur] += syl
        t0 += dur + int(rng.choice([0.05, 0.08, 0.4]) * rate)  # short gaps, sometimes a pause
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def music_like(rate: int = 44100, seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    out = np.zeros(n)
    for start in np.arange(0.2, seconds - 0.6, 0.5):
        for midi in rng.choice([48, 52, 55, 57, 60, 64, 67, 69, 72], size=3, replace=False):
            f = 440.0 * 2 ** ((midi - 69) / 12)
            idx = (t >= start) & (t < start + rng.uniform(0.5, 1.2))
            tt = t[idx] - start
            vib = 1 + 0.004 * np.sin(2 * np.pi * 5.5 * tt)
            env = np.exp(-tt * rng.uniform(1.5, 4.0)) * np.minimum(1, tt / 0.01)
            out[idx] += env * sum(np.sin(2 * np.pi * k * f * vib * tt) / k**1.2 for k in range(1, 9))
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def add_noise(clean: np.ndarray, snr_db: float, seed: int = 2) -> np.ndarray:
    """White noise at `snr_db` relative to the signal's mean power over the whole clip."""
    noise = np.random.default_rng(seed).standard_normal(clean.shape)
    gain = np.sqrt(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (clean + gain * noise).astype(np.float32)


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    ref, est = ref.astype(np.float64).ravel(), est.astype(np.float64).ravel()
    alpha = np.dot(est, ref) / max(np.dot(ref, ref), 1e-20)
    target = alpha * ref
    return float(10 * np.log10(np.sum(target**2) / max(np.sum((est - target) ** 2), 1e-20)))


def lag(ref: np.ndarray, est: np.ndarray, max_lag: int = 4800) -> int:
    """Samples by which `est` trails `ref` (positive = late), from the cross-correlation peak."""
    ref, est = ref.astype(np.float64).ravel(), est.astype(np.float64).ravel()
    size = 1 << int(np.ceil(np.log2(len(ref) + len(est))))
    xc = np.fft.irfft(np.fft.rfft(est, size) * np.conj(np.fft.rfft(ref, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    return int(lags[np.argmax(np.concatenate([xc[: max_lag + 1], xc[-max_lag:]]))])
