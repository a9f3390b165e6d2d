"""What a batch has to do: the catalog rows without a terminal quality record for their current
source hash under the current pipeline fingerprint.

An item is done when the quality dataset holds a record with the same `source_path`, the same hash
(`source_sha256` IS NOT DISTINCT FROM the catalog's `sha256`, so an entry that cannot be hashed, e.g.
a path escaping the root, is done once its `failed` record exists), the same `pipeline_fingerprint`,
and a status in TERMINAL_STATUSES (`failed` excluded when retrying failures). Everything else is
pending: new files, changed files (new hash), files processed under another fingerprint.

Catalog rows with a non-null `error` are planned like any other: the engine must not open them and
records them as `failed` with that error, so they show in the quality data and reports.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from acetate.catalog.query import quality_source_sql
from acetate.catalog.schema import TERMINAL_STATUSES


def plan(
    catalog: pa.Table,
    out: str | Path,
    fingerprint: str,
    *,
    retry_failed: bool = False,
    limit: int | None = None,
) -> pa.Table:
    """The pending rows of `catalog`, in catalog order, same columns and types (at most `limit`)."""
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    source = quality_source_sql(out)
    if source is None or catalog.num_rows == 0:
        return catalog if limit is None else catalog.slice(0, limit)

    statuses = [s for s in TERMINAL_STATUSES if not (retry_failed and s == "failed")]
    keys = pa.table(
        {
            "_row": pa.array(np.arange(catalog.num_rows, dtype=np.int64)),
            "source_path": catalog["source_path"],
            "sha256": catalog["sha256"],
        }
    )
    limit_sql = f"LIMIT {int(limit)}" if limit is not None else ""
    sql = f"""
        WITH done AS (
            SELECT DISTINCT source_path, source_sha256
            FROM {source}
            WHERE pipeline_fingerprint = $fingerprint AND list_contains($statuses, status)
        )
        SELECT k._row
        FROM _acetate_plan_keys AS k
        ANTI JOIN done AS d
          ON k.source_path = d.source_path AND k.sha256 IS NOT DISTINCT FROM d.source_sha256
        ORDER BY k._row
        {limit_sql}
    """
    con = duckdb.connect()
    try:
        con.register("_acetate_plan_keys", keys)
        rows = con.execute(sql, {"fingerprint": fingerprint, "statuses": statuses}).fetchnumpy()["_row"]
    finally:
        con.close()
    return catalog.take(pa.array(np.asarray(rows, dtype=np.int64)))


def shard(table: pa.Table, size: int) -> list[pa.Table]:
    """Split a table into consecutive slices of at most `size` rows (zero-copy); [] for no rows."""
    if size < 1:
        raise ValueError("shard size must be >= 1")
    return [table.slice(start, size) for start in range(0, table.num_rows, size)]
