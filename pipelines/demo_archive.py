"""A small, deterministic archive of degraded recordings for `acetate demo` and the tests.

Every file is made by the degradation simulator with a fixed seed, so each one explains itself; one
deliberately broken file shows that a bad input is recorded as failed while the batch goes on.
Existing files are left as they are, so a second demo run finds nothing new.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from acetate.ops import degrade


@dataclass(frozen=True)
class DemoFile:
    path: str
    sample_rate: int
    channels: int
    content: str  # speech | music
    seconds: float
    make: Callable[[np.ndarray, int], np.ndarray]
    subtype: str = "PCM_16"


def with_hum(f0: float, level_db: float) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda x, sr: degrade.add_hum(x, sr, fundamental=f0, level_db=level_db, harmonics=5, drift_hz=0.1)[0]


def with_clipping(level: float) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda x, sr: degrade.clip(x, sr, level=level)[0]


def with_dc(offset: float) -> Callable[[np.ndarray, int], np.ndarray]:
    return lambda x, sr: degrade.add_dc(x, sr, offset=offset)[0]


def in_order(*steps: Callable) -> Callable[[np.ndarray, int], np.ndarray]:
    def run(x: np.ndarray, sr: int) -> np.ndarray:
        for step in steps:
            x = step(x, sr)
        return x
    return run


def unchanged(x: np.ndarray, sr: int) -> np.ndarray:
    return x


DEMO_FILES: tuple[DemoFile, ...] = (
    DemoFile("oral-history/interview-1962-side-a.wav", 16000, 1, "speech", 12.0, with_hum(50.0, -30.0)),
    DemoFile("oral-history/interview-1962-side-b.wav", 16000, 1, "speech", 10.0, in_order(with_hum(50.0, -30.0), with_dc(0.02))),
    DemoFile("oral-history/lecture-1971.flac", 44100, 1, "speech", 10.0, with_clipping(0.5)),
    DemoFile("oral-history/dictation-1958.wav", 22050, 1, "speech", 8.0, with_dc(0.03)),
    DemoFile("oral-history/radio-talk-1980.flac", 44100, 1, "speech", 10.0, unchanged),
    DemoFile("music/string-quartet-1949.flac", 44100, 2, "music", 12.0, in_order(with_hum(60.0, -32.0), with_dc(0.01)), "PCM_24"),
    DemoFile("music/dance-band-1952.wav", 48000, 2, "music", 10.0, with_clipping(0.6), "PCM_24"),
    DemoFile("music/piano-recital-1975.wav", 44100, 2, "music", 10.0, unchanged),
    DemoFile("music/organ-1938.flac", 44100, 1, "music", 10.0, in_order(with_hum(50.0, -28.0), with_clipping(0.7))),
)
BROKEN_FILE = "transfers/unfinished-transfer.wav"


def _write_atomic(path: Path, audio: np.ndarray, sr: int, subtype: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    sf.write(tmp, audio.T, sr, subtype=subtype)
    os.replace(tmp, path)


def build_demo_archive(root: str | Path, files: tuple[DemoFile, ...] = DEMO_FILES, broken: bool = True) -> int:
    """Write the demo archive under ROOT (files already there are kept); returns how many were written.

    broken: also write BROKEN_FILE, a truncated transfer that the batch must record as failed.
    """
    root = Path(root)
    written = 0
    for i, spec in enumerate(files):
        path = root / spec.path
        if path.exists():
            continue
        synth = degrade.synth_speech_like if spec.content == "speech" else degrade.synth_music_like
        clean = synth(spec.sample_rate, spec.seconds, seed=100 + i, channels=spec.channels)
        audio = np.clip(spec.make(clean, spec.sample_rate), -1.0, 1.0)
        _write_atomic(path, audio, spec.sample_rate, spec.subtype)
        written += 1
    broken_path = root / BROKEN_FILE
    if broken and not broken_path.exists():
        broken_path.parent.mkdir(parents=True, exist_ok=True)
        broken_path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt this transfer was interrupted\n")
        written += 1
    return written
