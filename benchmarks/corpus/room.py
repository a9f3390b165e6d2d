"""Room, microphone and level: what keeps synthetic audio from sounding unnaturally dry and flat.

A room is a synthetic impulse response (direct path, sparse early reflections, then exponentially decaying
noise whose high band dies faster than its low band), mixed at a direct-to-reverberant ratio. A microphone
is a gentle random EQ (high-pass, low/high shelf, one peak). Level is an RMS target with a look-ahead peak
limiter, so a loud target never clips. Everything is drawn from a numpy Generator: same seed, same audio."""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal


def synth_rir(rng: np.random.Generator, sr: int, rt60: float) -> np.ndarray:
    """Reverberant part only (no direct path), unit energy; RT60 in seconds."""
    n = int(sr * min(1.6 * rt60 + 0.05, 2.0))
    t = np.arange(n) / sr
    noise = rng.standard_normal(n)
    nyq = sr / 2
    bands = [("lowpass", 400.0, 1.25), ("bandpass", (400.0, min(4000.0, 0.9 * nyq)), 1.0),
             ("highpass", min(4000.0, 0.9 * nyq), 0.55)]
    tail = np.zeros(n)
    for kind, edge, factor in bands:
        sos = signal.butter(2, np.asarray(edge) / nyq, btype=kind, output="sos")
        tail += signal.sosfilt(sos, noise) * np.exp(-6.908 * t / (rt60 * factor))
    predelay = rng.uniform(0.004, 0.02)
    tail *= np.clip((t - predelay) / rng.uniform(0.01, 0.04), 0.0, 1.0)  # diffuse field builds up
    for _ in range(int(rng.integers(4, 10))):  # early reflections from walls, floor, desk
        d = rng.uniform(0.002, 0.05)
        k = int(d * sr)
        if k < n:
            tail[k] += rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.9) * np.exp(-6.908 * d / rt60) * 3.0
    return tail / np.sqrt(np.sum(tail**2))


def apply_room(x: np.ndarray, rir: np.ndarray, drr_db: float) -> np.ndarray:
    """Direct sound plus the room at `drr_db` below it (in energy), same length as x (no added delay)."""
    wet = signal.fftconvolve(x, rir)[: len(x)]
    return x + wet * 10 ** (-drr_db / 20)


def _biquad(kind: str, f0: float, sr: int, gain_db: float = 0.0, q: float = 0.707) -> np.ndarray:
    """RBJ audio-EQ-cookbook biquad as one SOS row."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * f0 / sr
    cw, alpha = np.cos(w), np.sin(w) / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a, -2 * cw, 1 - alpha * a]
        den = [1 + alpha / a, -2 * cw, 1 - alpha / a]
    else:
        sa = 2 * np.sqrt(a) * alpha
        sign = 1 if kind == "lowshelf" else -1
        b = [a * ((a + 1) - sign * (a - 1) * cw + sa), sign * 2 * a * ((a - 1) - sign * (a + 1) * cw),
             a * ((a + 1) - sign * (a - 1) * cw - sa)]
        den = [(a + 1) + sign * (a - 1) * cw + sa, -sign * 2 * ((a - 1) + sign * (a + 1) * cw),
               (a + 1) + sign * (a - 1) * cw - sa]
    return np.concatenate([np.asarray(b) / den[0], np.asarray(den) / den[0]])


def mic_eq(rng: np.random.Generator, sr: int) -> tuple[np.ndarray, dict]:
    """A random but gentle microphone/preamp colouring, as SOS plus its parameters (for the manifest)."""
    p = {"hp_hz": rng.uniform(30, 80), "low_hz": rng.uniform(120, 300), "low_db": rng.uniform(-3, 3),
         "peak_hz": rng.uniform(1500, 5000), "peak_db": rng.uniform(-3, 3.5), "peak_q": rng.uniform(0.7, 2.0),
         "high_hz": min(rng.uniform(6000, 10000), 0.4 * sr), "high_db": rng.uniform(-5, 2)}
    sos = np.vstack([signal.butter(2, p["hp_hz"] / (sr / 2), btype="highpass", output="sos"),
                     _biquad("lowshelf", p["low_hz"], sr, p["low_db"]),
                     _biquad("peak", p["peak_hz"], sr, p["peak_db"], p["peak_q"]),
                     _biquad("highshelf", p["high_hz"], sr, p["high_db"])])
    return sos, {k: round(float(v), 2) for k, v in p.items()}


def rms_dbfs(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def peak_dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(x)) + 1e-20))


def level(x: np.ndarray, sr: int, target_rms_dbfs: float, ceiling_dbfs: float = -1.5,
          max_reduction_db: float = 4.0) -> np.ndarray:
    """Scale (frames, channels) to the RMS target, lowering the target where it would need more than
    `max_reduction_db` of limiting, then apply a look-ahead limiter that keeps every sample under the
    ceiling. The limiter's gain is a minimum filter smoothed by a shorter window, so it never exceeds the
    gain each sample needs and never clicks."""
    gain_db = target_rms_dbfs - rms_dbfs(x)
    headroom = ceiling_dbfs + max_reduction_db - peak_dbfs(x)
    y = x * 10 ** (min(gain_db, headroom) / 20)
    ceiling = 10 ** (ceiling_dbfs / 20)
    need = np.minimum(1.0, ceiling / np.maximum(np.max(np.abs(y), axis=1), 1e-12))
    if need.min() < 1.0:
        half = max(1, int(0.002 * sr))
        g = ndimage.minimum_filter1d(need, size=4 * half + 1, mode="nearest")
        win = np.hanning(2 * half + 3)[1:-1]
        g = np.convolve(np.pad(g, half, mode="edge"), win / win.sum(), mode="valid")
        y = y * np.minimum(g, need)[:, None]
    return y


def fade(x: np.ndarray, sr: int, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    n_in, n_out = min(len(x), int(fade_in_s * sr)), min(len(x), int(fade_out_s * sr))
    env = np.ones(len(x))
    env[:n_in] = np.sin(np.linspace(0, np.pi / 2, n_in)) ** 2
    if n_out:
        env[len(x) - n_out:] *= np.cos(np.linspace(0, np.pi / 2, n_out)) ** 2
    return x * (env[:, None] if x.ndim == 2 else env)


def colour(rng: np.random.Generator, x: np.ndarray, sr: int, channels: int) -> tuple[np.ndarray, dict]:
    """Room + microphone for a mono (n,) or stereo (n, 2) dry signal, returning (n, channels) and the
    parameters drawn. Stereo output gets one room response per channel (same RT60 and DRR, different
    reflections) plus a small inter-channel delay and level offset: correlated, never identical."""
    p = {"rt60_s": float(rng.uniform(0.2, 1.0)), "drr_db": float(rng.uniform(4.0, 16.0))}
    pad = np.zeros((int(p["rt60_s"] * sr * 0.5),) + x.shape[1:])  # let the reverb tail ring out
    x = np.concatenate([x, pad])
    src = x if x.ndim == 2 else np.stack([x, x], axis=1)
    if channels == 1:
        src = src.mean(axis=1, keepdims=True)
    out = np.stack([apply_room(src[:, c], synth_rir(rng, sr, p["rt60_s"]), p["drr_db"])
                    for c in range(src.shape[1])], axis=1)
    if channels == 2:
        delay = int(rng.integers(0, int(0.00025 * sr) + 1))  # near-coincident pair: < 0.25 ms
        p["delay_ms"] = round(1000 * delay / sr, 3)
        side = int(rng.integers(0, 2))
        out[:, side] = np.concatenate([np.zeros(delay), out[: len(out) - delay, side]])
        p["balance_db"] = round(float(rng.uniform(-2, 2)), 2)
        out[:, 0] *= 10 ** (p["balance_db"] / 40)
        out[:, 1] *= 10 ** (-p["balance_db"] / 40)
    sos, eq = mic_eq(rng, sr)
    out = signal.sosfilt(sos, out, axis=0)
    p.update(eq)
    return out, {k: round(v, 3) if isinstance(v, float) else v for k, v in p.items()}
