"""Helpers for catalog tests: small real audio files written with soundfile, seeded."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float = 0.25, sample_rate: int = 16000, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A 440 Hz tone with a little seeded noise, (frames, channels) float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)[:, None] + 0.01 * rng.standard_normal((t.size, channels))
    return x.astype(np.float32)


def write_audio(path: Path, *, seconds: float = 0.25, sample_rate: int = 16000, channels: int = 1,
                seed: int = 0, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, sample_rate, channels, seed), sample_rate, **kwargs)
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Content and mtime of every regular file under root (symlinks not followed)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            p = Path(dirpath) / name
            if not p.is_symlink():
                out[str(p)] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out
