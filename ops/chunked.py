"""Processing a long signal in overlapping windows, as the pipeline does with a file's blocks.

A restorer needs `context_s` seconds of audio each side of a block to give, in the block's
middle, the same samples it would give on the whole signal; the context is computed and dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np


def windows(frames: int, block: int, context: int) -> Iterator[tuple[slice, slice]]:
    """(read, keep) slice pairs: read = the block plus context each side (clipped to the signal),
    keep = the block's part of what was read."""
    block = max(1, int(block))
    for start in range(0, max(frames, 1), block):
        end = min(frames, start + block)
        lo, hi = max(0, start - context), min(frames, end + context)
        yield slice(lo, hi), slice(start - lo, end - lo)


def apply_windowed(fn: Callable[..., np.ndarray], audio: np.ndarray, sample_rate: int, *,
                   block_s: float, context_s: float, **params) -> np.ndarray:
    """Run fn(audio, sample_rate, **params) block by block with context; returns the joined result.

    audio: (channels, frames). Equivalent to fn on the whole signal when context_s suffices.
    """
    block, context = int(round(block_s * sample_rate)), int(round(context_s * sample_rate))
    parts = [np.asarray(fn(audio[:, read], sample_rate, **params))[:, keep]
             for read, keep in windows(audio.shape[1], block, context)]
    return np.concatenate(parts, axis=1) if parts else audio.copy()
