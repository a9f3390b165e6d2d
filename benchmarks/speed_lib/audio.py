"""Test audio for the speed benchmark: real test-split clips at each format, degraded by the simulator.

Formats the corpus lacks are made from what it has (16 kHz stereo: two 16 kHz mono clips as left and
right; 48 kHz mono: the left channel of a 48 kHz stereo clip), so every rate is measured both ways.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from acetate.ops.degrade import degrade

FORMATS: tuple[tuple[int, int], ...] = ((16000, 1), (16000, 2), (44100, 1), (44100, 2), (48000, 1), (48000, 2))
TYPICAL_KINDS = ["dc_offset", "clicks", "hum", "noise"]  # the typical route: DC, declick, dehum, denoise
SUBTYPE = "PCM_24"


def _clips(corpus: Path, rate: int, channels: int) -> list[Path]:
    rows = pq.read_table(corpus / "manifest.parquet").to_pylist()
    return [corpus / r["path"] for r in rows
            if r["split"] == "test" and r["sample_rate"] == rate and r["channels"] == channels]


def clean_audio(corpus: Path, rate: int, channels: int, seconds: float) -> np.ndarray:
    """(channels, frames) float32 of `seconds` s: test-split clips of the format, concatenated."""
    have = {(r, c) for r, c in FORMATS if _clips(corpus, r, c)}
    if (rate, channels) in have:
        sources, take = _clips(corpus, rate, channels), None
    elif channels == 2 and (rate, 1) in have:
        sources, take = _clips(corpus, rate, 1), "pair"
    elif channels == 1 and (rate, 2) in have:
        sources, take = _clips(corpus, rate, 2), "left"
    else:
        raise SystemExit(f"no test clips at {rate} Hz in {corpus}: run `make corpus`")
    need, parts, got, j = int(seconds * rate), [], 0, 0
    while got < need:
        x, _ = sf.read(sources[j % len(sources)], dtype="float32", always_2d=True)
        x = x.T
        if take == "left":
            x = x[:1]
        elif take == "pair":
            y, _ = sf.read(sources[(j + 1) % len(sources)], dtype="float32", always_2d=True)
            n = min(x.shape[1], y.shape[0])
            x, j = np.concatenate([x[:, :n], y.T[:, :n]]), j + 1
        parts.append(x)
        got += x.shape[1]
        j += 1
    return np.ascontiguousarray(np.concatenate(parts, axis=1)[:, :need])


def degraded(clean: np.ndarray, rate: int, kinds: list[str], seed: int) -> np.ndarray:
    """The clip with `kinds` at moderate severity, clipped to full scale as a stored file would be."""
    y, _ = degrade(clean, rate, kinds, "moderate", seed=seed)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def write(path: Path, audio: np.ndarray, rate: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.T, rate, subtype=SUBTYPE)
    return path
