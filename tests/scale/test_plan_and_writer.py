"""The pieces that keep a batch's memory bounded: the plan written to a file and read back shard by
shard, records streamed into part files, and a retried shard that does not record an item twice."""

from __future__ import annotations

import pyarrow as pa
import pytest

from acetate.catalog.plan import plan, plan_to_file
from acetate.catalog.scan import scan
from acetate.catalog.schema import CATALOG_SCHEMA, quality_record
from acetate.catalog.store import QualityWriter, quality_parts, read_quality, recorded_items, write_quality
from acetate.pipelines.batch import PLAN_SHARED_KEYS, mark_collisions, process_shard
from acetate.pipelines.engines.local import LocalEngine
from acetate.pipelines.fingerprint import pipeline_fingerprint
from acetate.pipelines.item import ItemContext, output_collisions
from acetate.pipelines.policy import Policy


def rec(i: int, status: str = "restored") -> dict:
    return quality_record(item_id=f"id{i}", source_path=f"c/f{i}.wav", source_sha256=f"h{i}", status=status,
                          pipeline_fingerprint="fp1")


def catalog_of(n: int) -> pa.Table:
    paths = [f"c/f{i}.wav" for i in range(n)]
    rows = [{"item_id": f"id{i}", "source_path": p, "sha256": f"h{i}", "frames": i} for i, p in enumerate(paths)]
    return pa.Table.from_pylist(rows, schema=CATALOG_SCHEMA)


def test_writer_publishes_parts_of_bounded_size_and_a_crash_loses_only_the_unpublished(tmp_path):
    writer = QualityWriter(tmp_path, "b1", "00000", rows_per_part=300)
    for i in range(650):
        writer.write(rec(i))
    # "crash" here: 600 records are in two published parts, 50 are only in memory
    assert [p.name.endswith(("-00000.parquet", "-00001.parquet")) for p in writer.parts] == [True, True]
    assert read_quality(tmp_path).num_rows == 600
    writer.close()
    assert sorted(read_quality(tmp_path)["item_id"].to_pylist()) == sorted(f"id{i}" for i in range(650))
    assert len(quality_parts(tmp_path)) == 3 and writer.rows_written == 650


def test_writer_publishes_on_time_as_records_arrive(tmp_path):
    with QualityWriter(tmp_path, "b1", "00001", rows_per_part=1000, flush_seconds=0.0) as writer:
        for i in range(3):
            writer.write(rec(i))
            assert read_quality(tmp_path).num_rows == i + 1  # each record published as it came


def test_plan_to_file_reads_back_in_shards_with_catalog_types_and_collision_flags(tmp_path):
    catalog = catalog_of(2500)
    write_quality(tmp_path, "b0", [rec(i) for i in range(0, 2500, 2)])  # every even item done
    pending = plan_to_file(catalog, tmp_path, "fp1", tmp_path / "plan.parquet", shared=PLAN_SHARED_KEYS)
    assert pending.rows == 1250
    shards = list(pending.shards(500))
    assert [s.num_rows for s in shards] == [500, 500, 250]
    table = pa.concat_tables(shards)
    assert table.schema.names == [*CATALOG_SCHEMA.names, "output_keeps_suffix"]
    assert table.select(CATALOG_SCHEMA.names).schema == catalog.schema
    assert table.select(CATALOG_SCHEMA.names).equals(plan(catalog, tmp_path, "fp1"))
    assert table["frames"].to_pylist() == list(range(1, 2500, 2))  # catalog order
    assert not any(table["output_keeps_suffix"].to_pylist())
    assert plan_to_file(catalog, tmp_path, "fp1", tmp_path / "p2.parquet", limit=7).rows == 7


NAMES = ["a/take.wav", "a/take.flac", "a/TAKE.aiff", "a/other.wav", "b/take.wav", "b/x.tar.gz", "b/x.tar",
         "b/.hidden", "b/.hidden.wav", "c/a..b", "c/a.", "c/a", "c/noext", "c/noext.wav", "d/ümlaut.wav",
         "d/ÜMLAUT.flac", "e/v1.0/song.wav", "e/v1.0/song.flac", "e/v1/song.wav", "f/a.b.c", "f/a.b.d"]


def test_collision_rule_in_sql_matches_output_collisions():
    names = NAMES + [f"{folder}/{stem}{ext}" for folder in ("x", "x.y", "Y") for stem in ("a", "A", "a.b", "a.B")
                     for ext in (".wav", ".WAV", ".flac", "")]
    catalog = pa.Table.from_pylist([{"item_id": n, "source_path": n} for n in dict.fromkeys(names)],
                                   schema=CATALOG_SCHEMA)
    flagged = mark_collisions(catalog, catalog)
    sql = {p for p, f in zip(flagged["source_path"].to_pylist(), flagged["output_keeps_suffix"].to_pylist(),
                             strict=True) if f}
    assert sql == output_collisions(catalog["source_path"].to_pylist())
    assert {"a/take.wav", "a/take.flac", "a/TAKE.aiff", "c/noext", "c/noext.wav", "d/ümlaut.wav"} <= sql


class FailsAfter:
    """An engine that loses its cluster after `n` records (the shard task fails and is retried)."""

    name = "local"

    def __init__(self, n: int) -> None:
        self.n, self.inner = n, LocalEngine()

    def run(self, items, ctx, should_stop=None):
        for i, record in enumerate(self.inner.run(items, ctx, should_stop)):
            if i == self.n:
                raise ConnectionError("cluster went away")
            yield record


def test_retried_shard_skips_what_the_failed_attempt_recorded(small_archive, tmp_path):
    root, catalog = scan(small_archive)
    policy = Policy.load()
    ctx = ItemContext(str(root), str(tmp_path), "b1", pipeline_fingerprint(policy), "local", policy)
    with pytest.raises(ConnectionError):
        process_shard(catalog, ctx, FailsAfter(2), "00003", flush_rows=1)
    assert len(recorded_items(tmp_path, "b1", "00003")) == 2
    result = process_shard(catalog, ctx, LocalEngine(), "00003")
    assert result.skipped_recorded == 2 and sum(result.statuses.values()) == 3
    paths = read_quality(tmp_path)["source_path"].to_pylist()
    assert sorted(paths) == sorted(catalog["source_path"].to_pylist())  # each item exactly once
