"""Reading sources in bounded-memory windows and writing outputs atomically.

Audio is (channels, frames) float32 everywhere in acetate. Sources are opened read-only and never
written; outputs go to a hidden temporary name beside their final path and are renamed into place,
so a kill at any moment leaves no half-written file under its real name.

Reading is defensive, because archives hold broken transfers: a stream that stops decoding part way
raises `SourceReadError` saying where, and samples that are not finite (NaN or Inf in a float file)
never reach a detector, a restorer or an output: they read as 0 and are counted in `ReadStats`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from acetate.catalog.scan import sndfile_message

from .provenance import Provenance, reserve_tag_space, write_provenance

# FLAC holds at most 8 channels and 24-bit integers; wider sources fall back to 32-bit float WAV.
_FLAC_SUBTYPES = {"PCM_S8": "PCM_S8", "PCM_U8": "PCM_S8", "PCM_16": "PCM_16"}
_FLAC_MAX_CHANNELS = 8


class SourceReadError(RuntimeError):
    """A source stopped decoding before its end (a truncated or corrupt stream)."""


@dataclass
class ReadStats:
    """What a read of a source saw: frames decoded, and samples that were not finite (read as 0)."""

    frames: int = 0
    nonfinite: int = 0
    first_nonfinite: int | None = None  # frame index of the first one

    def nonfinite_reason(self) -> str | None:
        """A review reason when the source held NaN/Inf samples, else None."""
        if not self.nonfinite:
            return None
        return (f"source holds {self.nonfinite} non-finite samples (NaN/Inf), the first at frame "
                f"{self.first_nonfinite}; they were read as 0 (silence) for analysis and the copy")


@dataclass(frozen=True)
class Window:
    """A stretch of audio with context: `audio[:, keep]` is the part this window is responsible for."""

    audio: np.ndarray
    keep: slice
    start: int  # frame index of audio[:, 0] in the file


def read_blocks(path: str | os.PathLike, block_frames: int, stats: ReadStats | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive (channels, frames) float32 blocks of a file, never holding more than one.

    Non-finite samples are replaced by 0 (and counted in `stats` when given); a decoding error part
    way raises SourceReadError with the frame it stopped at.
    """
    stats = stats if stats is not None else ReadStats()
    with _open_source(path) as f:
        while True:
            try:
                data = f.read(block_frames, dtype="float32", always_2d=True)
            except sf.LibsndfileError as exc:
                end = min(stats.frames + block_frames, f.frames)
                raise SourceReadError(f"audio stops decoding between frames {stats.frames} and {end} of "
                                      f"{f.frames} (truncated or corrupt stream): {sndfile_message(exc)}") from exc
            if data.shape[0] == 0:
                return
            block = np.ascontiguousarray(data.T)
            bad = ~np.isfinite(block)
            if bad.any():
                if stats.first_nonfinite is None:
                    stats.first_nonfinite = stats.frames + int(np.argmax(bad.any(axis=0)))
                stats.nonfinite += int(bad.sum())
                block[bad] = 0.0
            stats.frames += block.shape[1]
            yield block


def _open_source(path: str | os.PathLike) -> sf.SoundFile:
    """Open a source read-only; a file the process may not open raises the OSError that says why
    (libsndfile only says "System error")."""
    try:
        return sf.SoundFile(path, "r")
    except sf.LibsndfileError as exc:
        with open(path, "rb"):  # raises PermissionError / FileNotFoundError with the real reason
            pass
        raise SourceReadError(f"unreadable audio: {sndfile_message(exc)}") from exc


def read_windows(path: str | os.PathLike, block_frames: int, context_frames: int) -> Iterator[Window]:
    """Yield windows covering the file block by block, each with up to `context_frames` either side.

    Reads sequentially (no seeking, so compressed formats work) and keeps at most
    block + 2 * context frames in memory.
    """
    return stream_windows(read_blocks(path, max(block_frames, context_frames, 1)), block_frames, context_frames)


def stream_windows(blocks: Iterator[np.ndarray], block_frames: int, context_frames: int) -> Iterator[Window]:
    """Windows over a stream of (channels, frames) blocks of any sizes, as `read_windows` makes them
    over a file: each keeps `block_frames` with up to `context_frames` either side, holding at most
    block + 2 * context frames plus one incoming block."""
    buf: np.ndarray | None = None
    buf_start = 0  # stream frame index of buf[:, 0]
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


class OutputUnavailable(OSError):
    """OUT cannot take writes (its file system is full or read-only).

    A fault of the batch's environment, not of the item being written: process_item raises it
    instead of recording the item `failed` (a terminal status), so a rerun with space does the item.
    """


_ENV_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
_FULL_BYTES = 1 << 20  # a file system with less free than this counts as full


def output_unavailable(exc: BaseException, folder: Path) -> OutputUnavailable | None:
    """OutputUnavailable when `exc`, raised writing into `folder`, comes from a full or read-only
    file system, else None. An OSError (or one in the exception's chain) says so by its errno;
    libsndfile reports ENOSPC only as "System error", so its errors are judged by the file system."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OutputUnavailable):
            return seen
        if isinstance(seen, OSError) and seen.errno in _ENV_ERRNOS:
            return OutputUnavailable(seen.errno, f"cannot write to {folder}: {os.strerror(seen.errno)}")
        seen = seen.__cause__ or seen.__context__
    if not isinstance(exc, sf.SoundFileError):
        return None
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return OutputUnavailable(errno.EROFS, f"cannot write to {folder}: read-only file system")
    free = st.f_bavail * st.f_frsize
    if free < _FULL_BYTES:
        return OutputUnavailable(errno.ENOSPC, f"cannot write to {folder}: no space left on device "
                                               f"({free} bytes free; libsndfile: {sndfile_message(exc)})")
    return None


class AtomicAudioWriter:
    """Write audio to a hidden temp file beside `path`; `commit()` renames it into place.

    Used as a context manager: leaving the block without commit (an exception) deletes the temp file.
    Integer formats are clipped to [-1, 1] explicitly rather than wrapped by the encoder; a block with
    NaN/Inf (a restorer's bug: sources are read finite) is refused, never encoded.
    A full or read-only OUT raises OutputUnavailable (see there).
    provenance: stamped into the temp file (FLAC tags or a bext chunk) before the rename, so the
    file under its real name always carries it and a hash taken after commit covers it.
    """

    def __init__(self, path: Path, sample_rate: int, channels: int, fmt: str, subtype: str,
                 provenance: Provenance | None = None) -> None:
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self._fmt, self.provenance = fmt, provenance
        self._float = subtype in ("FLOAT", "DOUBLE")
        self.frames = 0
        self.clipped_samples = 0
        with self._writing():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = sf.SoundFile(self.tmp, "w", samplerate=sample_rate, channels=channels,
                                      format=fmt, subtype=subtype)
            if provenance is not None:
                reserve_tag_space(self._file, fmt)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            if (unavailable := output_unavailable(exc, self.path.parent)) is not None:
                self.abort()
                raise unavailable from exc
            raise

    def write(self, block: np.ndarray) -> None:
        bad = ~np.isfinite(block)
        if bad.any():
            raise ValueError(f"restored audio holds {int(bad.sum())} non-finite samples (NaN/Inf) from frame "
                             f"{self.frames + int(np.argmax(bad.any(axis=0)))}; nothing was written")
        if not self._float:
            over = np.abs(block) > 1.0
            if over.any():
                self.clipped_samples += int(over.sum())
                block = np.clip(block, -1.0, 1.0)
        with self._writing():
            self._file.write(block.T)
        self.frames += block.shape[1]

    def commit(self) -> None:
        with self._writing():
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
