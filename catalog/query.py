"""DuckDB over the Parquet store: views `quality` and `catalog`.

    quality  every visible part under OUT/quality/*/*.parquet, hive-partitioned (batch_id is a
             VARCHAR column), union_by_name so parts of older schema versions read together
    catalog  OUT/catalog/catalog.parquet

Both views always have at least the current schema's columns (QUALITY_SCHEMA + batch_id,
CATALOG_SCHEMA): each is unioned BY NAME with an empty typed table, so a query written against the
schema works on an empty OUT and on parts written before a column was added.

Views are defined when `connect` is called. The quality glob is re-expanded by every query, so parts
written later are seen; but an OUT that had no parts (or a stray hidden file, see
`quality_source_sql`) at connect time keeps that view until the next `connect`.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from acetate.catalog.schema import CATALOG_SCHEMA
from acetate.catalog.store import QUALITY_READ_SCHEMA, catalog_path, quality_dir, quality_parts

_EMPTY_QUALITY = "_acetate_empty_quality"
_EMPTY_CATALOG = "_acetate_empty_catalog"


def _sql_str(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _empty_table(con: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema) -> None:
    empty = schema.empty_table()
    con.register("_acetate_arrow_tmp", empty)
    try:
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _acetate_arrow_tmp')
    finally:
        con.unregister("_acetate_arrow_tmp")


def _glob_matches(qdir: Path) -> int:
    """How many files DuckDB's `quality/*/*.parquet` glob would match (hidden ones included)."""
    n = 0
    with os.scandir(qdir) as batches:
        for b in batches:
            if b.is_dir():
                with os.scandir(b.path) as files:
                    n += sum(1 for f in files if f.name.endswith(".parquet"))
    return n


def quality_source_sql(out: str | Path) -> str | None:
    """A FROM-able read_parquet(...) over the visible quality parts, None when there are none yet.

    Normally the glob `OUT/quality/*/*.parquet` (re-expanded by every query). DuckDB's glob also
    matches hidden files, and union_by_name opens every match, so when a hidden or stray `.parquet`
    file sits in the dataset (another tool's temp file) the visible parts are listed explicitly.
    """
    parts = quality_parts(out)
    if not parts:
        return None
    qdir = quality_dir(Path(out).absolute())
    if _glob_matches(qdir) == len(parts):
        files = _sql_str(qdir / "*" / "*.parquet")
    else:
        files = "[" + ", ".join(_sql_str(Path(p).absolute()) for _, p in parts) + "]"
    return (
        f"read_parquet({files}, hive_partitioning = true, union_by_name = true, "
        f"hive_types = {{'batch_id': VARCHAR}})"
    )


def connect(out: str | Path, *, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the views `quality` and `catalog` over OUT (which may be empty)."""
    con = duckdb.connect(database)
    _empty_table(con, _EMPTY_QUALITY, QUALITY_READ_SCHEMA)
    _empty_table(con, _EMPTY_CATALOG, CATALOG_SCHEMA)

    quality = quality_source_sql(out)
    body = f"SELECT * FROM {_EMPTY_QUALITY}"
    if quality is not None:
        body += f" UNION ALL BY NAME SELECT * FROM {quality}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW quality AS {body}")

    cat = catalog_path(Path(out).absolute())
    body = f"SELECT * FROM {_EMPTY_CATALOG}"
    if cat.is_file():
        body += f" UNION ALL BY NAME SELECT * FROM read_parquet({_sql_str(cat)})"
    con.execute(f"CREATE OR REPLACE TEMP VIEW catalog AS {body}")
    return con


def query(out: str | Path, sql: str) -> pa.Table:
    """Run one SQL statement against OUT's views and return its result as an Arrow table."""
    con = connect(out)
    try:
        rel = con.sql(sql)
        return rel.to_arrow_table() if rel is not None else pa.table({})
    finally:
        con.close()
