"""Gain: a fixed level change, used by routing to give declipped peaks room below full scale."""

from __future__ import annotations

import numpy as np

from .findings import Finding
from .registry import Restorer, register_restorer


def apply_gain(audio: np.ndarray, sample_rate: int, *, gain_db: float) -> np.ndarray:
    """Scale by `gain_db` decibels.

    audio: (channels, frames) float32. Returns the same shape. Memoryless: no context needed.
    """
    return (audio * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {"gain_db": -6.0}


register_restorer(Restorer("headroom", "clipping", apply_gain, _params, context_s=0.0, version="1"))
