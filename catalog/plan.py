"""What a batch has to do: the catalog rows without a terminal quality record for their current
source hash under the current pipeline fingerprint.

An item is done when the quality dataset holds a record with the same `source_path`, the same hash
(`source_sha256` IS NOT DISTINCT FROM the catalog's `sha256`, so an entry that cannot be hashed, e.g.
a path escaping the root, is done once its `failed` record exists), the same `pipeline_fingerprint`,
and a status in TERMINAL_STATUSES (`failed` excluded when retrying failures). Everything else is
pending: new files, changed files (new hash), files processed under another fingerprint.

Catalog rows with a non-null `error` are planned like any other: the engine must not open them and
records them as `failed` with that error, so they show in the quality data and reports.

At archive scale the batch plans to a file: `plan_to_file` writes the pending rows (plus flag
columns computed in SQL over the whole catalog, see `shared`) to a Parquet file in slices, and `PendingPlan.shards`
reads it back one shard at a time, so a million pending items never sit in memory as Python rows.
The join itself runs in DuckDB over Arrow (no Python loop over rows).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from acetate.catalog.query import quality_source_sql
from acetate.catalog.schema import TERMINAL_STATUSES

_KEYS = "_acetate_plan_keys"
_WRITE_ROWS = 50_000  # pending rows taken from the catalog and written per slice


def pending_rows(
    catalog: pa.Table,
    out: str | Path | None,
    fingerprint: str,
    *,
    retry_failed: bool = False,
    limit: int | None = None,
    shared: Mapping[str, str] | None = None,
) -> pa.Table:
    """Catalog row numbers (`_row`, int64, ascending) of the pending items, plus one bool column per
    `shared` entry: name -> a DuckDB key expression over the catalog's `source_path` and `sha256`;
    the column is true where another row of the whole catalog (pending or not) has the same key.
    out=None: no quality dataset, every row is pending."""
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    shared = dict(shared or {})
    keys = pa.table({
        "_row": pa.array(np.arange(catalog.num_rows, dtype=np.int64)),
        "source_path": catalog["source_path"],
        "sha256": catalog["sha256"],
    })
    key_sql = "".join(f', {expr} AS "_key{i}"' for i, expr in enumerate(shared.values()))
    dup_ctes = "".join(f', _dup{i} AS (SELECT "_key{i}" AS key FROM k GROUP BY 1 HAVING count(*) > 1)'
                       for i in range(len(shared)))
    flag_cols = "".join(f', coalesce(k."_key{i}" IN (SELECT key FROM _dup{i}), false) AS "{name}"'
                        for i, name in enumerate(shared))
    source = quality_source_sql(out) if catalog.num_rows and out is not None else None
    statuses = [s for s in TERMINAL_STATUSES if not (retry_failed and s == "failed")]
    limit_sql = f"LIMIT {int(limit)}" if limit is not None else ""
    if source is None:
        join, params = "", {}
    else:
        join = f"""
        ANTI JOIN (
            SELECT DISTINCT source_path, source_sha256
            FROM {source}
            WHERE pipeline_fingerprint = $fingerprint AND list_contains($statuses, status)
        ) AS d ON k.source_path = d.source_path AND k.sha256 IS NOT DISTINCT FROM d.source_sha256"""
        params = {"fingerprint": fingerprint, "statuses": statuses}
    sql = f"""
        WITH k AS (SELECT _row, source_path, sha256{key_sql} FROM {_KEYS}){dup_ctes}
        SELECT k._row{flag_cols} FROM k {join}
        ORDER BY k._row {limit_sql}
    """
    con = duckdb.connect()
    try:
        con.register(_KEYS, keys)
        return con.sql(sql, params=params or None).to_arrow_table()
    finally:
        con.close()


def plan(
    catalog: pa.Table,
    out: str | Path,
    fingerprint: str,
    *,
    retry_failed: bool = False,
    limit: int | None = None,
) -> pa.Table:
    """The pending rows of `catalog`, in catalog order, same columns and types (at most `limit`)."""
    rows = pending_rows(catalog, out, fingerprint, retry_failed=retry_failed, limit=limit)
    return catalog.take(rows["_row"])


@dataclass(frozen=True)
class PendingPlan:
    """A batch's pending rows on disk (catalog columns + extra columns), read back shard by shard."""

    path: Path
    rows: int

    def shards(self, size: int) -> Iterator[pa.Table]:
        """Consecutive tables of at most `size` rows, read lazily (one row group at a time)."""
        if size < 1:
            raise ValueError("shard size must be >= 1")
        if self.rows == 0:
            return
        with pq.ParquetFile(self.path) as f:
            for batch in f.iter_batches(batch_size=size):
                yield pa.Table.from_batches([batch])

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def plan_to_file(
    catalog: pa.Table,
    out: str | Path,
    fingerprint: str,
    dest: str | Path,
    *,
    retry_failed: bool = False,
    limit: int | None = None,
    shared: Mapping[str, str] | None = None,
) -> PendingPlan:
    """Write the pending rows of `catalog` (catalog order, its columns and types, then the `shared`
    flag columns) to the Parquet file `dest`, slice by slice; see `pending_rows`."""
    picked = pending_rows(catalog, out, fingerprint, retry_failed=retry_failed, limit=limit, shared=shared)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    schema = catalog.schema
    for name in picked.column_names[1:]:
        schema = schema.append(picked.schema.field(name))
    with pq.ParquetWriter(tmp, schema, compression="lz4") as writer:  # read once, soon: speed over size
        for start in range(0, picked.num_rows, _WRITE_ROWS):
            part = picked.slice(start, _WRITE_ROWS)
            rows = catalog.take(part["_row"])
            for name in part.column_names[1:]:
                rows = rows.append_column(schema.field(name), part[name])
            writer.write_table(rows, row_group_size=_WRITE_ROWS)
    tmp.replace(dest)
    return PendingPlan(dest, picked.num_rows)


def shard(table: pa.Table, size: int) -> list[pa.Table]:
    """Split a table into consecutive slices of at most `size` rows (zero-copy); [] for no rows."""
    if size < 1:
        raise ValueError("shard size must be >= 1")
    return [table.slice(start, size) for start in range(0, table.num_rows, size)]
