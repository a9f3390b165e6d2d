"""Planning a batch: what is new, changed, or processed under another pipeline fingerprint."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from acetate.catalog.plan import plan, shard
from acetate.catalog.schema import CATALOG_SCHEMA, QUALITY_SCHEMA, quality_record
from acetate.catalog.store import write_quality


def catalog_of(rows: list[tuple[str, str | None]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"item_id": p, "source_path": p, "sha256": h} for p, h in rows], schema=CATALOG_SCHEMA
    )


def rec(path: str, sha: str | None, status: str, fp: str = "fp1") -> dict:
    return quality_record(item_id=path, source_path=path, source_sha256=sha, status=status,
                          pipeline_fingerprint=fp)


def test_plan_skips_terminal_records_and_returns_new_changed_and_refingerprinted(tmp_path: Path) -> None:
    catalog = catalog_of([
        ("done.wav", "h1"),       # restored with the same hash and fingerprint: skipped
        ("changed.wav", "h2new"),  # the record is for an older hash: pending
        ("oldfp.wav", "h3"),       # processed under another fingerprint: pending
        ("failed.wav", "h4"),      # failed: terminal unless retrying
        ("new.wav", "h5"),         # never seen: pending
        ("clean.wav", "h6"),       # clean in a later batch: skipped
        ("escape.wav", None),      # no hash (escaped the root), already recorded failed: skipped
    ])
    write_quality(tmp_path, "b1", [
        rec("done.wav", "h1", "restored"),
        rec("changed.wav", "h2old", "restored"),
        rec("oldfp.wav", "h3", "restored", fp="fp0"),
        rec("failed.wav", "h4", "failed"),
        rec("escape.wav", None, "failed"),
    ])
    write_quality(tmp_path, "b2", [rec("clean.wav", "h6", "clean")])

    pending = plan(catalog, tmp_path, "fp1")
    assert pending["source_path"].to_pylist() == ["changed.wav", "oldfp.wav", "new.wav"]
    assert pending.schema == catalog.schema

    retry = plan(catalog, tmp_path, "fp1", retry_failed=True)
    assert retry["source_path"].to_pylist() == ["changed.wav", "oldfp.wav", "failed.wav", "new.wav", "escape.wav"]

    assert plan(catalog, tmp_path, "fp1", limit=2)["source_path"].to_pylist() == ["changed.wav", "oldfp.wav"]
    assert plan(catalog, tmp_path, "fp2").num_rows == catalog.num_rows  # new fingerprint: everything


def test_plan_on_empty_out_returns_the_whole_catalog_with_extra_columns(tmp_path: Path) -> None:
    catalog = catalog_of([("a.wav", "h1"), ("b.wav", "h2")]).append_column("shelfmark", pa.array(["1", "2"]))
    pending = plan(catalog, tmp_path, "fp1", limit=1)
    assert pending.column_names == catalog.column_names
    assert pending["source_path"].to_pylist() == ["a.wav"]


def test_shard_splits_consecutively() -> None:
    table = pa.table({"x": list(range(10))})
    parts = shard(table, 4)
    assert [p.num_rows for p in parts] == [4, 4, 2]
    assert pa.concat_tables(parts).equals(table)
    assert shard(table.slice(0, 0), 4) == []
    with pytest.raises(ValueError):
        shard(table, 0)


def test_plan_scales_to_200k_catalog_rows_against_100k_records(tmp_path: Path) -> None:
    n, m = 200_000, 100_000
    rng = np.random.default_rng(0)
    paths = pa.array([f"coll{i % 97}/item{i:07d}.wav" for i in range(n)])
    hashes = pa.array([f"{i:064x}" for i in range(n)])
    catalog = pa.table({"item_id": paths, "source_path": paths, "sha256": hashes}).cast(
        pa.schema([CATALOG_SCHEMA.field(c) for c in ("item_id", "source_path", "sha256")]))
    done = np.sort(rng.choice(n, size=m, replace=False))
    stale = done[: m // 10]  # a tenth of the records are for an older fingerprint
    quality = pa.table({
        "item_id": paths.take(done),
        "source_path": paths.take(done),
        "source_sha256": hashes.take(done),
        "status": pa.array(["restored"] * m),
        "pipeline_fingerprint": pa.array(["fp0"] * len(stale) + ["fp1"] * (m - len(stale))),
    })
    for name in QUALITY_SCHEMA.names:
        if name not in quality.column_names:
            quality = quality.append_column(QUALITY_SCHEMA.field(name), pa.nulls(m, QUALITY_SCHEMA.field(name).type))
    for k, part in enumerate(shard(quality, 25_000)):
        write_quality(tmp_path, "b1", part, part_name=f"w{k}")

    t0 = time.perf_counter()
    pending = plan(catalog, tmp_path, "fp1")
    elapsed = time.perf_counter() - t0
    print(f"plan {n} catalog rows vs {m} quality rows: {elapsed:.2f} s")

    expected = np.setdiff1d(np.arange(n), done[len(stale):])
    assert pending.num_rows == len(expected) == n - m + len(stale)
    assert pc.all(pc.equal(pending["source_path"], paths.take(expected))).as_py()  # catalog order kept
    assert elapsed < 10.0
