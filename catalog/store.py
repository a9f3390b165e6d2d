"""The Parquet store under OUT.

    OUT/quality/batch_id=<batch_id>/part-<name>.parquet   quality records, hive-partitioned by batch
    OUT/catalog/catalog.parquet                           the latest catalog snapshot
    OUT/catalog/catalog.prev.parquet                      the snapshot it replaced (one generation)

Every file is written under a temporary name that starts with `.` and does not end in `.parquet`,
in the same folder, then moved into place with `os.replace`, so readers (this module, DuckDB globs
over `*.parquet`) never see a half-written file. Readers also skip any name starting with `.` or `_`.

A batch streams its records through `QualityWriter`: records are buffered and published as part
files of many rows (row groups of `row_group_rows`), so memory stays bounded, the dataset does not
get one file per item, and a crash loses at most the records not yet published.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from acetate.catalog.schema import QUALITY_SCHEMA, records_to_table

log = logging.getLogger(__name__)

QUALITY_DIR = "quality"
CATALOG_DIR = "catalog"
CATALOG_FILE = "catalog.parquet"
CATALOG_PREV_FILE = "catalog.prev.parquet"
BATCH_PREFIX = "batch_id="

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# QUALITY_SCHEMA plus the partition column, as read back.
QUALITY_READ_SCHEMA = QUALITY_SCHEMA.append(pa.field("batch_id", pa.string()))


def new_batch_id() -> str:
    """A batch id that sorts by time: UTC timestamp plus a short random suffix (20261125T170501Z-3fa2)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def quality_dir(out: str | Path) -> Path:
    return Path(out) / QUALITY_DIR


def catalog_path(out: str | Path) -> Path:
    return Path(out) / CATALOG_DIR / CATALOG_FILE


def _check_name(kind: str, value: str) -> str:
    if not _SAFE_NAME.match(value):
        raise ValueError(f"{kind} {value!r} must be letters, digits, '.', '_' or '-' (not starting with . or _)")
    return value


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def _atomic_write_parquet(table: pa.Table, dest: Path, row_group_rows: int | None = None) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd", row_group_size=row_group_rows)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _conform_quality(table: pa.Table) -> pa.Table:
    """A table of exactly QUALITY_SCHEMA (batch_id dropped: it is the partition)."""
    if "batch_id" in table.column_names:
        table = table.drop_columns(["batch_id"])
    names = set(table.column_names)
    missing = [n for n in QUALITY_SCHEMA.names if n not in names]
    unknown = sorted(names - set(QUALITY_SCHEMA.names))
    if missing or unknown:
        raise ValueError(f"not a quality table: missing columns {missing}, unknown columns {unknown}")
    return table.select(QUALITY_SCHEMA.names).cast(QUALITY_SCHEMA)


def write_quality(
    out: str | Path,
    batch_id: str,
    table_or_records: pa.Table | Sequence[Mapping[str, Any]],
    part_name: str | None = None,
) -> Path:
    """Write quality records as one part of a batch: OUT/quality/batch_id=<id>/part-<name>.parquet.

    table_or_records: a table of QUALITY_SCHEMA (a `batch_id` column is dropped) or record dicts
    (schema.quality_record). part_name defaults to a random hex name; an existing part of the same
    name is replaced atomically. Returns the path written.
    """
    _check_name("batch_id", batch_id)
    part_name = _check_name("part_name", part_name) if part_name is not None else uuid.uuid4().hex[:16]
    if isinstance(table_or_records, pa.Table):
        table = _conform_quality(table_or_records)
    else:
        table = records_to_table(list(table_or_records))
    dest = quality_dir(out) / f"{BATCH_PREFIX}{batch_id}" / f"part-{part_name}.parquet"
    return _atomic_write_parquet(table, dest)


class QualityWriter:
    """Streams one writer's records into a batch: OUT/quality/batch_id=<id>/part-<prefix>-<token>-<n>.parquet.

    Records are buffered and published (written under a hidden name, then renamed into place) when
    `rows_per_part` are buffered, when the oldest buffered record is `flush_seconds` old (checked as
    records arrive), and on `close()`. At most `rows_per_part` records are held; a crash loses only
    those. The random token keeps the parts of a retried shard apart from an earlier attempt's.
    """

    def __init__(self, out: str | Path, batch_id: str, prefix: str, *, rows_per_part: int = 500,
                 flush_seconds: float = 300.0, row_group_rows: int = 10_000) -> None:
        if rows_per_part < 1:
            raise ValueError("rows_per_part must be >= 1")
        self.out, self.batch_id = out, _check_name("batch_id", batch_id)
        self.prefix = _check_name("part prefix", prefix)
        self.rows_per_part, self.flush_seconds, self.row_group_rows = rows_per_part, flush_seconds, row_group_rows
        self.token = uuid.uuid4().hex[:8]
        self.parts: list[Path] = []
        self.rows_written = 0
        self._buffer: list[Mapping[str, Any]] = []
        self._oldest = 0.0

    def write(self, record: Mapping[str, Any]) -> None:
        if not self._buffer:
            self._oldest = time.monotonic()
        self._buffer.append(record)
        if len(self._buffer) >= self.rows_per_part or time.monotonic() - self._oldest >= self.flush_seconds:
            self.flush()

    def flush(self) -> Path | None:
        """Publish the buffered records as one part; None when there is nothing buffered."""
        if not self._buffer:
            return None
        table = records_to_table(list(self._buffer))
        name = f"part-{self.prefix}-{self.token}-{len(self.parts):05d}.parquet"
        dest = quality_dir(self.out) / f"{BATCH_PREFIX}{self.batch_id}" / name
        _atomic_write_parquet(table, dest, self.row_group_rows)
        self.parts.append(dest)
        self.rows_written += len(self._buffer)
        self._buffer = []
        return dest

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> QualityWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()  # also on error: what was processed is kept, so a retry skips it


def recorded_items(out: str | Path, batch_id: str, prefix: str) -> set[str]:
    """item_ids already published in a batch by writers with this prefix (an earlier attempt of a shard)."""
    bdir = quality_dir(out) / f"{BATCH_PREFIX}{batch_id}"
    paths = sorted(bdir.glob(f"part-{prefix}-*.parquet")) if bdir.is_dir() else []
    return {i for p in paths if _visible(p.name) for i in pq.read_table(p, columns=["item_id"])["item_id"].to_pylist()}


def sweep_debris(out: str | Path) -> int:
    """Remove what crashed writers left in the quality dataset (hidden temporary parts, Beam staging
    folders). Only safe while holding OUT's lock (catalog.lock): no live writer then. Returns how
    many entries were removed."""
    qdir = quality_dir(out)
    removed = 0
    if not qdir.is_dir():
        return 0
    for entry in qdir.iterdir():
        if entry.is_dir() and entry.name.startswith(".staging-"):
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
        elif entry.is_dir() and entry.name.startswith(BATCH_PREFIX):
            for f in entry.iterdir():
                if f.name.startswith(".") and f.name.endswith(".tmp"):
                    f.unlink(missing_ok=True)
                    removed += 1
    return removed


def quality_parts(out: str | Path, batch_id: str | None = None) -> list[tuple[str, Path]]:
    """(batch_id, part path) of every visible quality part, sorted by batch then part name."""
    qdir = quality_dir(out)
    if not qdir.is_dir():
        return []
    parts = []
    for bdir in sorted(qdir.iterdir()):
        if not (bdir.is_dir() and bdir.name.startswith(BATCH_PREFIX)):
            continue
        bid = bdir.name[len(BATCH_PREFIX) :]
        if batch_id is not None and bid != batch_id:
            continue
        parts += [(bid, p) for p in sorted(bdir.iterdir()) if _visible(p.name) and p.name.endswith(".parquet")]
    return parts


def read_quality(out: str | Path, batch_id: str | None = None) -> pa.Table:
    """All quality records (of one batch if given), with `batch_id` from the partition as last column.

    Parts written under older schema versions are unified with the current schema: missing columns
    read as null, widened types are promoted, columns the current schema does not know are kept after
    the known ones. Returns an empty table of QUALITY_SCHEMA + batch_id when there is nothing.
    """
    tables = []
    for bid, path in quality_parts(out, batch_id):
        t = pq.read_table(path)
        if "batch_id" in t.column_names:
            t = t.drop_columns(["batch_id"])
        tables.append(t.append_column("batch_id", pa.array([bid] * t.num_rows, pa.string())))
    base = QUALITY_READ_SCHEMA.empty_table()
    if not tables:
        return base
    merged = pa.concat_tables([base, *tables], promote_options="permissive")
    known = [n for n in QUALITY_SCHEMA.names if n in merged.column_names]
    extra = [n for n in merged.column_names if n not in QUALITY_READ_SCHEMA.names]
    merged = merged.select([*known, *extra, "batch_id"])
    return merged.replace_schema_metadata(QUALITY_SCHEMA.metadata)


def write_catalog(out: str | Path, table: pa.Table) -> Path:
    """Store `table` as the latest catalog snapshot, keeping the one it replaces as catalog.prev.parquet.

    catalog.parquet exists at every moment: the previous snapshot is hard-linked (or copied) to
    catalog.prev.parquet before the new one is moved over it.
    """
    dest = catalog_path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        prev = dest.parent / CATALOG_PREV_FILE
        tmp_prev = dest.parent / f".{CATALOG_PREV_FILE}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            try:
                os.link(dest, tmp_prev)
            except OSError:
                shutil.copy2(dest, tmp_prev)
            os.replace(tmp_prev, prev)
        finally:
            tmp_prev.unlink(missing_ok=True)
    return _atomic_write_parquet(table, dest)


def read_catalog(out: str | Path, *, previous: bool = False) -> pa.Table | None:
    """The latest catalog snapshot (or the one before it), None if there is none."""
    path = catalog_path(out)
    if previous:
        path = path.parent / CATALOG_PREV_FILE
    if not path.is_file():
        return None
    return pq.read_table(path)
