"""The Parquet store: atomic quality parts, schema evolution, catalog snapshots, DuckDB views."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from acetate.catalog.query import connect, query
from acetate.catalog.schema import (
    CATALOG_SCHEMA,
    QUALITY_SCHEMA,
    SCHEMA_VERSION,
    quality_record,
    records_to_table,
)
from acetate.catalog.store import (
    new_batch_id,
    read_catalog,
    read_quality,
    write_catalog,
    write_quality,
)

CHAIN = [{"op": "remove_hum", "fixes": "hum", "version": "1", "model": None, "model_version": None,
          "params": '{"fundamental": 50}'}]


def record(i: int, status: str = "restored", **kw) -> dict:
    values = dict(
        item_id=f"id{i:04d}", source_path=f"c/f{i}.wav", source_sha256=f"h{i}", status=status,
        collection="c", has_hum=True, hum_score=0.8, chain=CHAIN, snr_db_before=10.0, snr_db_after=25.0,
        pipeline_fingerprint="fp1",
    )
    values.update(kw)
    return quality_record(**values)


def test_new_batch_id_sorts_by_time() -> None:
    bid = new_batch_id()
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", bid)
    assert new_batch_id() != bid or True  # random suffix; uniqueness is probabilistic
    assert bid[:16] <= new_batch_id()[:16]


def test_write_read_quality_round_trip(tmp_path: Path) -> None:
    path = write_quality(tmp_path, "b1", [record(1), record(2, "clean")], part_name="w0")
    assert path == tmp_path / "quality" / "batch_id=b1" / "part-w0.parquet"
    assert [p.name for p in path.parent.iterdir()] == ["part-w0.parquet"]  # no temp file left
    write_quality(tmp_path, "b2", records_to_table([record(3, "failed", error="boom")]))

    table = read_quality(tmp_path)
    assert table.column_names == [*QUALITY_SCHEMA.names, "batch_id"]
    assert table.schema.field("chain").type == QUALITY_SCHEMA.field("chain").type
    rows = sorted(table.to_pylist(), key=lambda r: r["item_id"])
    assert [(r["item_id"], r["status"], r["batch_id"]) for r in rows] == [
        ("id0001", "restored", "b1"), ("id0002", "clean", "b1"), ("id0003", "failed", "b2")]
    assert rows[0]["chain"] == CHAIN
    assert rows[0]["schema_version"] == SCHEMA_VERSION
    assert read_quality(tmp_path, "b2").num_rows == 1


def test_read_quality_ignores_hidden_and_temp_files(tmp_path: Path) -> None:
    write_quality(tmp_path, "b1", [record(1)], part_name="a")
    bdir = tmp_path / "quality" / "batch_id=b1"
    (bdir / ".part-b.parquet.1234.tmp").write_bytes(b"half written")
    pq.write_table(records_to_table([record(2)]), bdir / ".hidden.parquet")
    (bdir / ".half-written.parquet").write_bytes(b"PAR1 not really")
    assert read_quality(tmp_path).num_rows == 1
    assert query(tmp_path, "SELECT count(*) AS n FROM quality")["n"].to_pylist() == [1]


def test_write_quality_refuses_tables_of_another_schema(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing columns"):
        write_quality(tmp_path, "b1", records_to_table([record(1)]).drop_columns(["status"]))
    with pytest.raises(ValueError, match="batch_id"):
        write_quality(tmp_path, "../evil", [record(1)])


def test_empty_store_reads_as_empty_tables(tmp_path: Path) -> None:
    table = read_quality(tmp_path)
    assert table.num_rows == 0 and table.column_names == [*QUALITY_SCHEMA.names, "batch_id"]
    assert read_catalog(tmp_path) is None


def test_parts_of_an_older_schema_read_with_newer_ones(tmp_path: Path) -> None:
    # An "old" part: written before review_reason and the dc_offset measures existed.
    old = records_to_table([record(1)]).drop_columns(["review_reason", "dc_offset_before", "dc_offset_after"])
    old_dir = tmp_path / "quality" / "batch_id=20250101T000000Z-0000"
    old_dir.mkdir(parents=True)
    pq.write_table(old, old_dir / "part-old.parquet")
    write_quality(tmp_path, "20260101T000000Z-0001", [record(2, "needs_review", review_reason="low snr",
                                                            dc_offset_before=0.01)])

    table = read_quality(tmp_path)
    assert table.column_names == [*QUALITY_SCHEMA.names, "batch_id"]
    rows = {r["item_id"]: r for r in table.to_pylist()}
    assert rows["id0001"]["review_reason"] is None and rows["id0001"]["dc_offset_before"] is None
    assert rows["id0002"]["review_reason"] == "low snr" and rows["id0002"]["dc_offset_before"] == 0.01
    assert rows["id0001"]["hum_score"] == 0.8

    got = query(tmp_path, "SELECT item_id, review_reason, batch_id FROM quality ORDER BY item_id")
    assert got.to_pylist() == [
        {"item_id": "id0001", "review_reason": None, "batch_id": "20250101T000000Z-0000"},
        {"item_id": "id0002", "review_reason": "low snr", "batch_id": "20260101T000000Z-0001"},
    ]


def test_catalog_snapshot_keeps_the_previous_one(tmp_path: Path) -> None:
    one = CATALOG_SCHEMA.empty_table()
    two = pa.Table.from_pylist([{"item_id": "a", "source_path": "x.wav"}], schema=CATALOG_SCHEMA)
    write_catalog(tmp_path, one)
    write_catalog(tmp_path, two)
    assert read_catalog(tmp_path).equals(two)
    assert read_catalog(tmp_path, previous=True).equals(one)
    assert sorted(p.name for p in (tmp_path / "catalog").iterdir()) == ["catalog.parquet", "catalog.prev.parquet"]


def test_duckdb_views_exist_on_an_empty_out(tmp_path: Path) -> None:
    con = connect(tmp_path / "nothing-here")
    assert con.execute("SELECT count(*) FROM quality").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM catalog").fetchone() == (0,)
    cols = [r[0] for r in con.execute("DESCRIBE quality").fetchall()]
    assert cols == [*QUALITY_SCHEMA.names, "batch_id"]
    assert [r[0] for r in con.execute("DESCRIBE catalog").fetchall()] == CATALOG_SCHEMA.names
    # Queries written against the schema work before any data exists.
    assert query(tmp_path, "SELECT status, count(*) n FROM quality GROUP BY status").num_rows == 0


def test_duckdb_views_on_a_populated_out(tmp_path: Path) -> None:
    write_catalog(tmp_path, pa.Table.from_pylist(
        [{"item_id": "id0001", "source_path": "c/f1.wav", "sha256": "h1"},
         {"item_id": "id0002", "source_path": "c/f2.wav", "sha256": "h2"}], schema=CATALOG_SCHEMA))
    write_quality(tmp_path, "b1", [record(1), record(2, "failed", error="x")])
    write_quality(tmp_path, "b2", [record(2, "clean")])

    got = query(tmp_path, """
        SELECT q.batch_id, q.status, c.sha256 FROM quality q JOIN catalog c USING (item_id)
        WHERE q.has_hum ORDER BY q.batch_id, q.item_id""")
    assert got.to_pylist() == [
        {"batch_id": "b1", "status": "restored", "sha256": "h1"},
        {"batch_id": "b1", "status": "failed", "sha256": "h2"},
        {"batch_id": "b2", "status": "clean", "sha256": "h2"},
    ]
    steps = query(tmp_path, "SELECT unnest(chain).op AS op FROM quality WHERE batch_id = 'b2'")
    assert steps["op"].to_pylist() == ["remove_hum"]
