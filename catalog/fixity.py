"""Fixity: SHA-256 of files, and `verify`, which re-hashes sources and outputs against the records."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from acetate.catalog import store
from acetate.catalog.query import connect

CHUNK_BYTES = 1 << 20
BATCH_ROWS = 10_000  # rows held in Python at a time: verify walks millions of files


def sha256_stream(fh: BinaryIO, chunk: int = CHUNK_BYTES) -> str:
    """Hex SHA-256 of an open binary file from its position to the end, in one reused buffer."""
    h = hashlib.sha256()
    buf = bytearray(chunk)
    view = memoryview(buf)
    while n := fh.readinto(buf):
        h.update(view[:n])
    return h.hexdigest()


def sha256_file(path: str | os.PathLike, chunk: int = CHUNK_BYTES) -> str:
    """Hex SHA-256 of a file, read-only, in bounded chunks."""
    with open(path, "rb", buffering=0) as fh:
        return sha256_stream(fh, chunk)


@dataclass
class VerifyReport:
    checked_sources: int = 0
    checked_outputs: int = 0
    mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # (path, what, detail)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _check(path: Path, expected: str, what: str, report: VerifyReport) -> None:
    try:
        actual = sha256_file(path)
    except OSError as exc:
        report.mismatches.append((str(path), what, f"unreadable: {exc.strerror or exc}"))
        return
    if actual != expected:
        report.mismatches.append((str(path), what, f"sha256 {actual[:12]}... != recorded {expected[:12]}..."))


def verify(out: str | Path) -> VerifyReport:
    """Re-hash every catalogued source and every output named by its latest record (streamed:
    memory does not grow with the archive). An output's hash covers its provenance tags."""
    out = Path(out)
    report = VerifyReport()
    catalog = store.read_catalog(out)
    if catalog is not None:
        root = (catalog.schema.metadata or {}).get(b"acetate.root")
        if root is None:
            raise ValueError(f"{out}: catalog does not record its archive root; run `acetate scan` again")
        for batch in catalog.select(["source_path", "sha256", "error"]).to_batches(BATCH_ROWS):
            for row in batch.to_pylist():
                if row["sha256"] and not row["error"]:
                    report.checked_sources += 1
                    _check(Path(root.decode()) / row["source_path"], row["sha256"], "source", report)
    con = connect(out)
    try:
        cur = con.execute(
            "SELECT output_path, output_sha256 FROM quality WHERE output_path IS NOT NULL "
            "QUALIFY row_number() OVER (PARTITION BY output_path ORDER BY processed_at DESC) = 1"
        )
        while chunk := cur.fetchmany(BATCH_ROWS):
            for output_path, sha in chunk:
                report.checked_outputs += 1
                _check(out / output_path, sha, "output", report)
    finally:
        con.close()
    return report
