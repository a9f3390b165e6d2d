"""Feeding a streaming analyser block by block (a module of its own: `conftest` is ambiguous
when several test folders have one)."""

from __future__ import annotations

import numpy as np


def feed(analyser, audio: np.ndarray, block: int | None = None):
    """Feed `audio` (channels, frames) in blocks of `block` frames (whole if None); return finish()."""
    step = block or max(1, audio.shape[1])
    for start in range(0, audio.shape[1], step):
        analyser.update(audio[:, start:start + step])
    return analyser.finish()
