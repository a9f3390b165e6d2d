"""The Broadcast Wave `bext` chunk: appended to a finished RIFF/WAVE file, and read back.

libsndfile (through soundfile) cannot write a bext chunk with a free-length CodingHistory, so the
chunk is packed here and appended after the audio: a RIFF reader takes chunks in any order, and
appending costs a few hundred bytes of I/O instead of rewriting the audio to put the chunk first.

Reference: EBU Tech 3285 v1, "Specification of the Broadcast Wave Format" (the bext layout:
Description 256, Originator 32, OriginatorReference 32, OriginationDate 10, OriginationTime 8,
TimeReference 8, Version 2, UMID 64, Reserved 190 bytes, then CodingHistory, CR/LF-terminated
ASCII lines in the form of EBU R 98).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

_FIXED = struct.Struct("<256s32s32s10s8sQH64s190s")  # 602 bytes before CodingHistory
BEXT_VERSION = 1


@dataclass(frozen=True)
class Bext:
    description: str = ""
    originator: str = ""
    originator_reference: str = ""
    origination_date: str = ""  # yyyy-mm-dd, empty when not stated
    origination_time: str = ""  # hh:mm:ss
    time_reference: int = 0  # first sample's count since midnight
    coding_history: str = ""  # CR/LF-terminated lines

    def pack(self) -> bytes:
        def ascii_field(text: str, size: int) -> bytes:
            raw = text.encode("ascii", "replace")
            if len(raw) > size:
                raise ValueError(f"bext field longer than {size} bytes: {text[:40]!r}...")
            return raw  # struct pads with NULs

        fixed = _FIXED.pack(
            ascii_field(self.description, 256), ascii_field(self.originator, 32),
            ascii_field(self.originator_reference, 32), ascii_field(self.origination_date, 10),
            ascii_field(self.origination_time, 8), self.time_reference, BEXT_VERSION, b"", b"",
        )
        return fixed + self.coding_history.encode("ascii", "replace")

    @classmethod
    def unpack(cls, payload: bytes) -> Bext:
        desc, orig, ref, date, time, tref, _version, _umid, _reserved = _FIXED.unpack_from(payload)

        def text(raw: bytes) -> str:
            return raw.split(b"\0", 1)[0].decode("ascii", "replace")

        return cls(text(desc), text(orig), text(ref), text(date), text(time), tref,
                   text(payload[_FIXED.size:]))


def _riff_header(fh) -> int:
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file (RF64 and others are not supported)")
    return struct.unpack_from("<I", head, 4)[0]


def append_bext(path: str | os.PathLike, bext: Bext) -> None:
    """Append a bext chunk to the RIFF/WAVE file at `path` (in place) and fix the RIFF size."""
    payload = bext.pack()
    chunk = b"bext" + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")
    with open(path, "r+b") as fh:
        _riff_header(fh)
        end = fh.seek(0, os.SEEK_END)
        if end % 2:  # the last chunk's pad byte is missing: add it so the new chunk is word-aligned
            fh.write(b"\0")
            end += 1
        if end - 8 + len(chunk) > 0xFFFFFFFF:
            raise ValueError("file too large for a RIFF size field (needs RF64)")
        fh.write(chunk)
        fh.seek(4)
        fh.write(struct.pack("<I", end - 8 + len(chunk)))


def read_bext(path: str | os.PathLike) -> Bext | None:
    """The bext chunk of a RIFF/WAVE file, or None when it has none. Skips other chunks by seeking."""
    with open(Path(path), "rb") as fh:
        riff_size = _riff_header(fh)
        pos, end = 12, min(8 + riff_size, os.fstat(fh.fileno()).st_size)
        while pos + 8 <= end:
            fh.seek(pos)
            cid, size = struct.unpack("<4sI", fh.read(8))
            if cid == b"bext":
                return Bext.unpack(fh.read(size))
            pos += 8 + size + (size % 2)
    return None
