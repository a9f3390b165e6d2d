"""Helpers the ops tests share: feeding a streaming analyser block by block, reading the real
fixture clips, applying a registered restorer to a finding (a module of its own: `conftest` is
ambiguous when several test folders have one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def feed(analyser, audio: np.ndarray, block: int | None = None):
    """Feed `audio` (channels, frames) in blocks of `block` frames (whole if None); return finish()."""
    step = block or max(1, audio.shape[1])
    for start in range(0, audio.shape[1], step):
        analyser.update(audio[:, start:start + step])
    return analyser.finish()


def read_fixture(name: str) -> tuple[np.ndarray, int]:
    """A real clip of tests/fixtures as ((channels, frames) float32, rate); `name` with or without .flac."""
    path = FIXTURES / (name if name.endswith(".flac") else f"{name}.flac")
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.T), sr


def apply_restorer(op: str, audio: np.ndarray, sample_rate: int, finding) -> np.ndarray:
    """The registered restorer `op` run on audio with the parameters it takes from `finding`."""
    from acetate.ops.registry import RESTORERS

    r = RESTORERS[op]
    return r.fn(audio, sample_rate, **r.params_from(finding, sample_rate))
