"""Reading sources in bounded-memory windows and writing outputs atomically.

Audio is (channels, frames) float32 everywhere in acetate. Sources are opened read-only and never
written; outputs go to a hidden temporary name beside their final path and are renamed into place,
so a kill at any moment leaves no half-written file under its real name.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .provenance import Provenance, reserve_tag_space, write_provenance

# FLAC holds at most 8 channels and 24-bit integers; wider sources fall back to 32-bit float WAV.
_FLAC_SUBTYPES = {"PCM_S8": "PCM_S8", "PCM_U8": "PCM_S8", "PCM_16": "PCM_16"}
_FLAC_MAX_CHANNELS = 8


@dataclass(frozen=True)
class Window:
    """A stretch of audio with context: `audio[:, keep]` is the part this window is responsible for."""

    audio: np.ndarray
    keep: slice
    start: int  # frame index of audio[:, 0] in the file


def read_blocks(path: str | os.PathLike, block_frames: int) -> Iterator[np.ndarray]:
    """Yield consecutive (channels, frames) float32 blocks of a file, never holding more than one."""
    with sf.SoundFile(path, "r") as f:
        while True:
            data = f.read(block_frames, dtype="float32", always_2d=True)
            if data.shape[0] == 0:
                return
            yield np.ascontiguousarray(data.T)


def read_windows(path: str | os.PathLike, block_frames: int, context_frames: int) -> Iterator[Window]:
    """Yield windows covering the file block by block, each with up to `context_frames` either side.

    Reads sequentially (no seeking, so compressed formats work) and keeps at most
    block + 2 * context frames in memory.
    """
    blocks = read_blocks(path, max(block_frames, context_frames, 1))
    buf: np.ndarray | None = None
    buf_start = 0  # file frame index of buf[:, 0]
    pos = 0  # first frame of the next window's kept part
    exhausted = False
    while True:
        need_end = pos + block_frames + context_frames
        while not exhausted and (buf is None or buf_start + buf.shape[1] < need_end):
            nxt = next(blocks, None)
            if nxt is None:
                exhausted = True
            else:
                buf = nxt if buf is None else np.concatenate([buf, nxt], axis=1)
        if buf is None:
            return
        buf_end = buf_start + buf.shape[1]
        if pos >= buf_end:
            return
        keep_end = min(pos + block_frames, buf_end)
        win_start = max(pos - context_frames, buf_start)
        win_end = min(keep_end + context_frames, buf_end)
        audio = buf[:, win_start - buf_start : win_end - buf_start]
        yield Window(audio=audio, keep=slice(pos - win_start, keep_end - win_start), start=win_start)
        pos = keep_end
        drop = max(0, pos - context_frames - buf_start)
        buf = buf[:, drop:]
        buf_start += drop


def output_format(channels: int, source_subtype: str | None) -> tuple[str, str, str]:
    """(libsndfile format, subtype, file suffix) for an access copy of a source."""
    if channels > _FLAC_MAX_CHANNELS:
        return "WAV", "FLOAT", ".wav"
    return "FLAC", _FLAC_SUBTYPES.get(source_subtype or "", "PCM_24"), ".flac"


class AtomicAudioWriter:
    """Write audio to a hidden temp file beside `path`; `commit()` renames it into place.

    Used as a context manager: leaving the block without commit (an exception) deletes the temp file.
    Integer formats are clipped to [-1, 1] explicitly rather than wrapped by the encoder.
    provenance: stamped into the temp file (FLAC tags or a bext chunk) before the rename, so the
    file under its real name always carries it and a hash taken after commit covers it.
    """

    def __init__(self, path: Path, sample_rate: int, channels: int, fmt: str, subtype: str,
                 provenance: Provenance | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self._file = sf.SoundFile(self.tmp, "w", samplerate=sample_rate, channels=channels,
                                  format=fmt, subtype=subtype)
        self._fmt, self.provenance = fmt, provenance
        if provenance is not None:
            reserve_tag_space(self._file, fmt)
        self._float = subtype in ("FLOAT", "DOUBLE")
        self.frames = 0
        self.clipped_samples = 0

    def write(self, block: np.ndarray) -> None:
        if not self._float:
            over = np.abs(block) > 1.0
            if over.any():
                self.clipped_samples += int(over.sum())
                block = np.clip(block, -1.0, 1.0)
        self._file.write(block.T)
        self.frames += block.shape[1]

    def commit(self) -> None:
        self._file.close()
        if self.provenance is not None:
            write_provenance(self.tmp, self._fmt, self.provenance)
        with open(self.tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()

    def __enter__(self) -> AtomicAudioWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None or self.tmp.exists():
            self.abort()
