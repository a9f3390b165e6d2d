"""Simulated impulsive damage with ground truth: clicks (scratches, dust) and crackle.

A click is a short pulse added to the signal: a fast rise and an exponential decay over its width,
half of them ringing at a stylus/cartridge resonance (2-8 kHz), random polarity, its peak a given
number of dB relative to the signal's peak (full scale if the signal is silent). On a stereo disc
a scratch hits both groove walls: a click lands in every channel with probability `both` (the
other channels at 30-100 % of its amplitude, usually the same polarity), otherwise in one channel.
Crackle is the same process made dense and small: hundreds to thousands of very short clicks per
minute, amplitudes scattered log-normally around a level.
Reference: Godsill & Rayner, Digital Audio Restoration (1998), ch. 5 (click model).
"""

from __future__ import annotations

import numpy as np

from ._degrade_util import Label, as2d, as_range, like, log_uniform, peak, spans


def _click_shape(width: int, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Unit-peak click of `width` samples (a single sample when narrower than two)."""
    if width < 2:
        return np.ones(1)
    t = np.arange(width, dtype=np.float64)
    rise = max(0.3, width * rng.uniform(0.03, 0.15))
    env = (1.0 - np.exp(-(t + 1.0) / rise)) * np.exp(-t * rng.uniform(3.0, 6.0) / width)
    ring_hz = rng.uniform(2000.0, max(2000.0, min(8000.0, 0.4 * sample_rate)))
    if rng.random() < 0.5:
        env = env * np.cos(2 * np.pi * ring_hz * t / sample_rate)
    return env / np.max(np.abs(env))


def _add_pulses(x: np.ndarray, sample_rate: int, starts: np.ndarray, widths: np.ndarray, amps: np.ndarray,
                rng: np.random.Generator, both: float) -> tuple[np.ndarray, np.ndarray]:
    """x plus one pulse per (start, width, amplitude); returns (y float64, 1-D mask of touched samples)."""
    y = x.astype(np.float64)
    channels, n = x.shape
    mask = np.zeros(n, dtype=bool)
    for s, w, a in zip(starts.tolist(), widths.tolist(), amps.tolist(), strict=True):
        shape = _click_shape(w, rng, sample_rate) * (1.0 if rng.random() < 0.5 else -1.0)
        gains = np.zeros(channels)
        first = int(rng.integers(channels))
        if channels > 1 and rng.random() < both:
            gains[:] = rng.uniform(0.3, 1.0, channels) * np.where(rng.random(channels) < 0.8, 1.0, -1.0)
        gains[first] = 1.0
        e = min(n, s + shape.size)
        y[:, s:e] += a * gains[:, None] * shape[None, : e - s]
        mask[s:e] = True
    return y, mask


def _positions(rng: np.random.Generator, n: int, widths: np.ndarray) -> np.ndarray:
    """Sorted start samples, each pulse inside the signal."""
    starts = (rng.random(widths.size) * np.maximum(1, n - widths + 1)).astype(np.int64)
    return np.sort(starts)


def add_clicks(audio: np.ndarray, sample_rate: int, rate_per_min: float = 30.0,
               amplitude_db: float | tuple[float, float] = (-20.0, -6.0),
               width_ms: float | tuple[float, float] = (0.05, 3.0), seed: int = 0,
               both: float = 0.85, count: int | None = None) -> tuple[np.ndarray, Label]:
    """Add impulsive clicks at `rate_per_min`, placed uniformly at random (a Poisson process given
    its count): round(rate_per_min * minutes) of them, or exactly `count` if given.

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32.
    amplitude_db: each click's peak relative to the signal's peak, one value or a (lo, hi) range
    drawn uniformly in dB. width_ms: one value or a (lo, hi) range drawn log-uniformly, rounded to
    whole samples (at least one). both: probability that a click hits every channel.
    Label params: count, clicks_per_min (actual), and per click times_s, widths_ms, amplitudes_db.
    Regions: the clicks' spans, merged when closer than 50 ms.
    """
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    minutes = n / sample_rate / 60.0
    if count is None:
        count = int(round(max(0.0, rate_per_min) * minutes))
    count = int(count) if n else 0
    a_lo, a_hi = as_range(amplitude_db)
    w_lo, w_hi = as_range(width_ms)
    widths_ms = log_uniform(rng, w_lo, w_hi, count)
    widths = np.maximum(1, np.round(widths_ms * sample_rate / 1000.0)).astype(np.int64)
    amps_db = rng.uniform(a_lo, a_hi, count)
    starts = _positions(rng, n, widths)
    ref = peak(x) or 1.0
    y, mask = _add_pulses(x, sample_rate, starts, widths, ref * 10 ** (amps_db / 20), rng, both)
    params = {"count": count, "rate_per_min": rate_per_min,
              "clicks_per_min": count / minutes if minutes > 0 else 0.0,
              "amplitude_db": [a_lo, a_hi], "width_ms": [w_lo, w_hi], "reference_peak": ref,
              "times_s": (starts / sample_rate).tolist(), "widths_ms": (widths * 1000.0 / sample_rate).tolist(),
              "amplitudes_db": amps_db.tolist()}
    return like(y, audio), {"kind": "clicks", "params": params, "regions": spans(mask, sample_rate)}


def add_crackle(audio: np.ndarray, sample_rate: int, density: float = 1000.0, level_db: float = -30.0,
                seed: int = 0, spread_db: float = 4.0) -> tuple[np.ndarray, Label]:
    """Add crackle: dense small clicks, round(density * minutes) of them, 0.02-0.25 ms wide.

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32.
    level_db: the median click peak relative to the signal's peak; each click's level is drawn
    from a normal distribution in dB around it (`spread_db` standard deviation), so a few stand out.
    Crackle hits both channels of a stereo signal 60 % of the time.
    Label params: count, clicks_per_min. Regions: click spans merged when closer than 50 ms.
    """
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    minutes = n / sample_rate / 60.0
    count = int(round(max(0.0, density) * minutes)) if n else 0
    widths = np.maximum(1, np.round(log_uniform(rng, 0.02, 0.25, count) * sample_rate / 1000.0)).astype(np.int64)
    amps_db = level_db + spread_db * rng.standard_normal(count)
    starts = _positions(rng, n, widths)
    ref = peak(x) or 1.0
    y, mask = _add_pulses(x, sample_rate, starts, widths, ref * 10 ** (amps_db / 20), rng, both=0.6)
    params = {"count": count, "density": density, "clicks_per_min": count / minutes if minutes > 0 else 0.0,
              "level_db": level_db, "spread_db": spread_db, "reference_peak": ref}
    return like(y, audio), {"kind": "crackle", "params": params, "regions": spans(mask, sample_rate)}
