"""Before/after media for a few sample items of the report: an excerpt of the source and of its
restored copy (same frames: copies are time-aligned), a spectrogram figure of the two, and both as
small Ogg Vorbis data URIs for an <audio> player. Only the excerpt is read, never the whole file."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from acetate.catalog import plots
from acetate.catalog.store import catalog_path

EXCERPT_S = 4.0


@dataclass(frozen=True)
class SampleMedia:
    start_s: float
    seconds: float
    spectrogram: str  # PNG data URI
    before_audio: str  # Ogg Vorbis data URIs
    after_audio: str


def archive_root(out: str | Path) -> Path | None:
    """The archive root the catalog snapshot was scanned from (its schema metadata; no rows read)."""
    path = catalog_path(out)
    if not path.is_file():
        return None
    root = (pq.read_schema(path).metadata or {}).get(b"acetate.root")
    return Path(root.decode()) if root else None


def read_excerpt(path: Path, start: int, frames: int) -> tuple[np.ndarray, int]:
    """(channels, frames) float32 from frame `start`, and the sample rate."""
    with sf.SoundFile(path) as f:
        f.seek(min(start, f.frames))
        data = f.read(frames, dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T), f.samplerate


def ogg_data_uri(audio: np.ndarray, sample_rate: int) -> str:
    """audio: (channels, frames) float32 -> Ogg Vorbis data URI (about 15-20 kB per second of stereo)."""
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1.0, 1.0).T, sample_rate, format="OGG", subtype="VORBIS")
    return "data:audio/ogg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def sample_media(source: Path, output: Path, seconds: float = EXCERPT_S) -> SampleMedia:
    """The middle `seconds` of a source and of its restored copy, drawn and encoded."""
    info = sf.info(str(source))
    frames = min(info.frames, int(round(seconds * info.samplerate)))
    start = max(0, (info.frames - frames) // 2)
    before, sr = read_excerpt(source, start, frames)
    after, sr_after = read_excerpt(output, start, frames)
    if sr_after != sr or after.shape != before.shape:
        raise ValueError(f"restored copy differs in rate or shape: {after.shape} @ {sr_after} vs {before.shape} @ {sr}")
    return SampleMedia(start / sr, frames / sr, plots.spectrograms(before, after, sr, start / sr),
                       ogg_data_uri(_listenable(before), sr), ogg_data_uri(_listenable(after), sr))


def _listenable(audio: np.ndarray) -> np.ndarray:
    """Mono or stereo as is; wider files mixed to mono (Vorbis defines no layout above 8 channels,
    and a browser plays two at most)."""
    return audio if audio.shape[0] <= 2 else audio.mean(axis=0, keepdims=True)
