"""Every canned query runs on the demo batch's output (and through the CLI in every format), and
the ones the demo leaves empty give the expected rows on records made for them."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from acetate.catalog.canned import CANNED, parse_params
from acetate.catalog.query import query
from acetate.catalog.schema import quality_record
from acetate.catalog.store import read_quality, write_quality
from acetate.flows.cli import app


def test_every_canned_query_runs_on_the_demo_output(demo_batch):
    _, out, batch = demo_batch
    for name, canned in CANNED.items():
        result = query(out, canned.sql)
        assert result.num_columns >= 2, name
    statuses = {r["status"]: r["items"] for r in query(out, CANNED["status"].sql).to_pylist()}
    records = read_quality(out, batch)
    assert statuses == dict(Counter(records.column("status").to_pylist()))
    assert sum(statuses.values()) == 10 and statuses["failed"] == 1
    assert query(out, CANNED["failures"].sql).to_pylist() == [
        {"error_type": "unreadable audio", "items": 1, "example": "transfers/unfinished-transfer.wav"}]
    found = query(out, CANNED["degradations"].sql).to_pylist()[0]
    # the demo archive has hum in 4 files, clipping in 3 and a DC offset in 3 (demo_archive.DEMO_FILES)
    assert (found["hum"], found["clipping"], found["dc_offset"], found["items"]) == (4, 3, 3, 10)
    gains = {r["collection"]: r for r in query(out, CANNED["hum-gain"].sql).to_pylist()}
    assert set(gains) == {"music", "oral-history"}
    assert all(r["hum_db_before"] - r["hum_db_after"] >= 20 for r in gains.values())
    assert query(out, CANNED["backlog"].sql).num_rows == 0  # everything catalogued has its record
    for row in query(out, CANNED["worse"].sql).to_pylist():  # whatever it finds, it names the measure
        assert row["worse_on"] and row["source_path"].endswith((".wav", ".flac")), row


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_every_canned_query_runs_through_the_cli(demo_batch, fmt):
    _, out, _ = demo_batch
    runner = CliRunner()
    listing = runner.invoke(app, ["query", "--list"])
    assert listing.exit_code == 0 and all(name in listing.stdout for name in CANNED)
    assert "--param per_min=5" in listing.stdout
    for name in CANNED:
        result = runner.invoke(app, ["query", name, "--out", str(out), "--format", fmt])
        assert result.exit_code == 0, (name, result.output)
    if fmt == "json":
        result = runner.invoke(app, ["query", "failures", "--out", str(out), "--format", "json"])
        assert json.loads(result.stdout)[0]["items"] == 1


def _rec(i: int, **kw):
    base = {"item_id": f"i{i}", "source_path": f"c/{i}.wav", "source_sha256": f"{i:064x}", "collection": "c",
            "status": "restored", "output_path": f"restored/c/{i}.flac"}
    return quality_record(**{**base, **kw})


def test_clicks_left_takes_its_threshold_and_worse_names_the_measure(tmp_path):
    out = tmp_path / "out"
    write_quality(out, "b1", [
        _rec(1, clicks_per_min_before=80.0, clicks_per_min_after=12.0),
        _rec(2, clicks_per_min_before=40.0, clicks_per_min_after=3.0),
        _rec(3, snr_db_before=20.0, snr_db_after=17.5, clicks_per_min_before=1.0, clicks_per_min_after=0.5),
        _rec(4, hum_db_before=-30.0, hum_db_after=-25.0, dc_offset_before=0.0, dc_offset_after=-0.01),
        _rec(5, status="clean", output_path=None, snr_db_before=10.0, snr_db_after=None),
    ])
    left = CANNED["clicks-left"]
    assert [r["source_path"] for r in query(out, left.sql).to_pylist()] == ["c/1.wav"]  # default: > 5
    assert [r["source_path"] for r in query(out, left.render({"per_min": "2"})).to_pylist()] == ["c/1.wav", "c/2.wav"]
    worse = {r["source_path"]: r["worse_on"] for r in query(out, CANNED["worse"].sql).to_pylist()}
    assert worse == {"c/3.wav": "snr_db", "c/4.wav": "hum_db, dc_offset"}
    result = CliRunner().invoke(app, ["query", "clicks-left", "--out", str(out), "--param", "per_min=2",
                                      "--format", "csv"])
    assert result.exit_code == 0 and result.stdout.count("\n") == 3  # header + 2 rows


def test_latest_record_wins_for_current_state_queries(tmp_path):
    out = tmp_path / "out"
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    write_quality(out, "b1", [_rec(1, processed_at=t0, status="needs_review", review_reason="hum score 0.55 unsure")])
    write_quality(out, "b2", [_rec(1, processed_at=t0 + timedelta(days=1))])
    assert query(out, CANNED["review"].sql).num_rows == 0


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="must be a number"):
        CANNED["clicks-left"].render({"per_min": "1; DROP TABLE x"})
    with pytest.raises(ValueError, match="takes"):
        CANNED["status"].render({"per_min": "1"})
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_params(["per_min"])
    result = CliRunner().invoke(app, ["query", "clicks-left", "--out", "/nonexistent", "--param", "per_min=x"])
    assert result.exit_code == 2


def test_queries_and_report_read_a_partition_from_before_schema_v2(tmp_path):
    """A part written before `<kind>_severity`, `dropouts_s`, `wow_pct` and `coding_history` existed
    reads beside a current one: those columns come back null, every canned query and the report run."""
    import pyarrow.parquet as pq

    from acetate.catalog.report import render
    from acetate.catalog.schema import KINDS, records_to_table

    out = tmp_path / "out"
    v2_only = [f"{k}_severity" for k in KINDS] + ["dropouts_s_before", "dropouts_s_after", "wow_pct_before",
                                                 "wow_pct_after", "coding_history"]
    old = records_to_table([_rec(1, hum_db_before=-30.0, hum_db_after=-90.0, has_hum=True)]).drop_columns(v2_only)
    old_dir = out / "quality" / "batch_id=20250101T000000Z-0000"
    old_dir.mkdir(parents=True)
    pq.write_table(old, old_dir / "part-old.parquet")
    write_quality(out, "20260101T000000Z-0000", [_rec(2, coding_history="A=PCM,F=16000,W=16,M=mono,T=x\r\n")])
    rows = query(out, "SELECT item_id, coding_history, hum_severity FROM quality ORDER BY item_id").to_pylist()
    assert [(r["item_id"], r["coding_history"] is None, r["hum_severity"]) for r in rows] == [
        ("i1", True, None), ("i2", False, None)]
    for name, canned in CANNED.items():
        assert query(out, canned.sql).num_columns >= 2, name
    assert "acetate batch 20250101T000000Z-0000" in render(out, "20250101T000000Z-0000", samples=0)
