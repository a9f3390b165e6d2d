"""Helpers shared by the degradation simulator modules (the leading underscore keeps load_all out)."""

from __future__ import annotations

from typing import Any

import numpy as np

Label = dict[str, Any]


def as2d(audio: np.ndarray) -> np.ndarray:
    """(channels, frames) float32; a 1-D signal is taken as one channel."""
    x = np.asarray(audio, dtype=np.float32)
    return x[None, :] if x.ndim == 1 else x


def like(y: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """`y` (channels, frames) as float32 in the shape `audio` came in (1-D stays 1-D)."""
    y = np.asarray(y, dtype=np.float32)
    return y[0] if np.ndim(audio) == 1 else y


def spans(mask: np.ndarray, sample_rate: int, merge_s: float = 0.05) -> list[list[float]]:
    """[start_s, end_s] spans of True samples of a 1-D mask, merging spans closer than merge_s."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(m) == 1)
    ends = np.flatnonzero(np.diff(m) == -1)
    out: list[list[float]] = []
    for s, e in zip(starts, ends, strict=True):
        if out and s / sample_rate - out[-1][1] < merge_s:
            out[-1][1] = e / sample_rate
        else:
            out.append([s / sample_rate, e / sample_rate])
    return out


def power(x: np.ndarray) -> float:
    """Mean square over all channels (0 for an empty array)."""
    return float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0


def peak(x: np.ndarray) -> float:
    """Largest magnitude over all channels (0 for an empty array)."""
    return float(np.max(np.abs(x))) if x.size else 0.0


def log_uniform(rng: np.random.Generator, lo: float, hi: float, size: int | None = None):
    """Draws spread evenly in log between lo and hi (both > 0)."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi), size))


def as_range(value: float | tuple[float, float] | list[float]) -> tuple[float, float]:
    """(lo, hi) from one value or a pair."""
    if np.ndim(value) == 0:
        return float(value), float(value)  # type: ignore[arg-type]
    lo, hi = (float(v) for v in value)  # type: ignore[union-attr]
    return min(lo, hi), max(lo, hi)
