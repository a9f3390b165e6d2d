"""Fixtures for the model tests: the committed real clips, and a tiny corpus for training smoke runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from acetate.ops.degrade import synth_music_like, synth_speech_like

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def clip(name: str) -> tuple[np.ndarray, int]:
    """A committed fixture clip as (channels, frames) float32 and its rate."""
    x, sr = sf.read(FIXTURES / name, dtype="float32", always_2d=True)
    return np.ascontiguousarray(x.T), sr


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A corpus in the layout benchmarks/corpus builds: 2 speech-like and 2 music-like clips per split
    at 16 and 48 kHz, written as FLAC with a manifest.parquet."""
    root = tmp_path_factory.mktemp("tiny_corpus")
    rows = []
    for split in ("train", "validation"):
        for content, synth in (("speech", synth_speech_like), ("music", synth_music_like)):
            for i, (sr, ch) in enumerate(((16000, 1), (48000, 2), (44100, 1))):
                seed = hash((split, content, i)) % 1000
                audio = synth(sr, 5.0, seed=seed, channels=ch)
                rel = f"{split}/{content}/{split}-{content}-{i}.flac"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(root / rel, audio.T, sr, subtype="PCM_16")
                rows.append({"id": f"{split}-{content}-{i}", "path": rel, "split": split, "content": content,
                             "sample_rate": sr, "channels": ch})
    pq.write_table(pa.Table.from_pylist(rows), root / "manifest.parquet")
    return root
