"""Checking a RIFF/WAVE header against the bytes the file really holds.

libsndfile opens a truncated WAV without complaint and reports only the frames present, so a transfer
cut short would be catalogued (and restored) as a shorter, healthy file. Walking the chunk headers
(a few small reads, never the audio) shows what the header promised.
Reference: Microsoft/IBM, "Multimedia Programming Interface and Data Specifications 1.0" (1991), RIFF.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

_UNKNOWN_SIZES = (0xFFFFFFFF,)  # written by streaming recorders that never came back to the header
_MAX_CHUNKS = 4096


def _plausible_chunk(header: bytes, remaining: int) -> bool:
    if len(header) < 8:
        return False
    cid, size = header[:4], struct.unpack("<I", header[4:8])[0]
    return all(32 <= b < 127 for b in cid) and size <= remaining - 8


def wav_data_problem(f: BinaryIO, size: int) -> str | None:
    """What is wrong with the `data` chunk of a RIFF/WAVE file opened as `f` (binary, seekable) of
    `size` bytes, or None: a data chunk longer than the file (truncated), or one declared empty with
    audio after it (a recording whose header was never finalized). Not a WAVE file: None."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return None  # no data chunk: libsndfile has refused the file already
        cid, declared = header[:4], struct.unpack("<I", header[4:8])[0]
        if cid == b"data":
            held = size - pos - 8
            if declared in _UNKNOWN_SIZES:
                return None
            if declared > held:
                return (f"truncated file: the WAV header declares {declared} bytes of audio data, "
                        f"the file holds {held} ({100 * held / declared:.0f}%)")
            if declared == 0 and held > 0 and not _plausible_chunk(f.read(8), held):
                return (f"unfinalized WAV header: it declares 0 bytes of audio data but {held} bytes "
                        "follow (a recording that was not closed properly?)")
            return None
        pos += 8 + declared + (declared & 1)
    return None
