"""The nightly flow through Prefect on local Ray, and the CLI around it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from archive_fixtures import tree_state
from typer.testing import CliRunner

from acetate.catalog.query import query
from acetate.flows.cli import app
from acetate.flows.nightly import nightly

pytestmark = pytest.mark.slow


@pytest.fixture
def broken_archive(small_archive: Path) -> Path:
    (small_archive / "transfers").mkdir()
    (small_archive / "transfers" / "broken.wav").write_bytes(b"this is not audio")
    return small_archive


def test_nightly_restores_records_and_reruns_nothing(broken_archive, tmp_path, prefect_server, ray_local):
    out = tmp_path / "out"
    before = tree_state(broken_archive)
    summary = nightly(source=str(broken_archive), out=str(out), engine="ray", workers=2)
    assert summary["scanned"] == 6 and summary["processed"] == 6
    assert summary["statuses"]["failed"] == 1 and summary["failures"][0][0] == "transfers/broken.wav"
    assert summary["statuses"]["restored"] >= 3 and summary["statuses"]["clean"] == 2
    assert sorted(p.name for p in (out / "restored").rglob("*.flac")) == [
        "clipped.flac", "hum50.flac", "hum60_dc.flac"]
    rows = query(out, "SELECT status, count(*) AS n FROM quality GROUP BY status ORDER BY status").to_pylist()
    assert {r["status"]: r["n"] for r in rows} == summary["statuses"]
    assert list((out / "reports").glob("*.html"))
    assert tree_state(broken_archive) == before

    again = nightly(source=str(broken_archive), out=str(out), engine="ray", workers=2)
    assert again["pending"] == 0 and again["processed"] == 0

    # a changed file is processed again, and only it
    shutil.copy(broken_archive / "talks" / "hum50.wav", broken_archive / "talks" / "hum50-copy.wav")
    third = nightly(source=str(broken_archive), out=str(out), engine="local")
    assert third["pending"] == 1 and third["statuses"] == {"restored": 1}


def test_cli_run_exit_code_and_query(broken_archive, tmp_path, prefect_server, ray_local):
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(broken_archive), "--out", str(out), "--engine", "local"])
    assert result.exit_code == 1, result.output  # one item failed
    assert "failed" in result.output
    result = runner.invoke(app, ["query", "--out", str(out), "--format", "csv",
                                 "SELECT source_path FROM quality WHERE has_hum ORDER BY 1"])
    assert result.exit_code == 0
    assert result.stdout.split() == ['"source_path"', '"music/hum60_dc.flac"', '"talks/hum50.wav"']

    assert runner.invoke(app, ["verify", str(out)]).exit_code == 0
    restored = next((out / "restored").rglob("*.flac"))
    data = bytearray(restored.read_bytes())
    data[len(data) // 2] ^= 0x01
    restored.write_bytes(bytes(data))
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 1 and "MISMATCH" in result.stdout and restored.name in result.stdout


def test_cli_usage_errors_exit_2(tmp_path):
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(tmp_path / "missing"), "--out", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["run", str(tmp_path), "--out", str(tmp_path), "--engine", "spark"]).exit_code == 2
    assert runner.invoke(app, ["query", "--out", str(tmp_path), "SELECT * FROM nowhere"]).exit_code == 2


def test_every_canned_query_runs_on_a_batch(broken_archive, tmp_path, prefect_server):
    from acetate.catalog.canned import CANNED

    out = tmp_path / "out"
    nightly(source=str(broken_archive), out=str(out), engine="local")
    runner = CliRunner()
    listing = runner.invoke(app, ["query", "--list"])
    assert listing.exit_code == 0 and all(name in listing.stdout for name in CANNED)
    for name, canned in CANNED.items():
        assert query(out, canned.sql).num_columns > 0, name
        result = runner.invoke(app, ["query", name, "--out", str(out), "--format", "json"])
        assert result.exit_code == 0, (name, result.output)
    statuses = {r["status"]: r["items"] for r in query(out, CANNED["status"].sql).to_pylist()}
    assert statuses == {"restored": 3, "clean": 2, "failed": 1}
    failures = query(out, CANNED["failures"].sql).to_pylist()
    assert failures[0]["items"] == 1 and failures[0]["example"] == "transfers/broken.wav"


def test_several_manifests_are_one_archive_under_their_common_root(small_archive, tmp_path, prefect_server):
    (small_archive / "talks" / "talks.csv").write_text("path,shelfmark\nhum50.wav,T-1\nclipped.flac,T-2\nclean.wav,T-3\n")
    (small_archive / "music" / "music.csv").write_text("path,box\nhum60_dc.flac,7\nclean.wav,8\n")
    out = tmp_path / "out"
    sources = [str(small_archive / "talks" / "talks.csv"), str(small_archive / "music" / "music.csv")]
    summary = nightly(source=sources, out=str(out), engine="local")
    assert summary["scanned"] == 5 and summary["processed"] == 5 and "failed" not in summary["statuses"]
    rows = query(out, "SELECT source_path, collection, shelfmark, box, source_manifest FROM catalog ORDER BY 1").to_pylist()
    assert [r["source_path"] for r in rows] == ["music/clean.wav", "music/hum60_dc.flac", "talks/clean.wav",
                                                "talks/clipped.flac", "talks/hum50.wav"]
    assert [r["collection"] for r in rows] == ["music"] * 2 + ["talks"] * 3
    assert rows[0]["box"] == "8" and rows[0]["shelfmark"] is None and rows[2]["shelfmark"] == "T-3"
    assert rows[0]["source_manifest"].endswith("music.csv")
    outputs = query(out, "SELECT output_path FROM quality WHERE output_path IS NOT NULL").to_pylist()
    assert outputs and all((out / r["output_path"]).is_file() for r in outputs)
    assert nightly(source=sources, out=str(out), engine="local")["pending"] == 0


def test_limits_leave_the_rest_pending_for_the_next_run(small_archive, tmp_path, prefect_server):
    out = tmp_path / "out"
    capped = nightly(source=str(small_archive), out=str(out), engine="local", max_items=2, shard_size=1)
    assert capped["pending"] == 2 and capped["processed"] == 2 and capped["deferred"] == 0
    past_deadline = nightly(source=str(small_archive), out=str(out), engine="local", max_hours=0.0)
    assert past_deadline["pending"] == 3 and past_deadline["processed"] == 0 and past_deadline["deferred"] == 3
    assert past_deadline["stopped"] == "max_hours reached"
    rest = nightly(source=str(small_archive), out=str(out), engine="local", max_hours=1.0)
    assert rest["pending"] == 3 and rest["processed"] == 3 and rest["stopped"] is None
    rows = query(out, "SELECT source_path, count(*) AS n FROM quality GROUP BY 1").to_pylist()
    assert len(rows) == 5 and all(r["n"] == 1 for r in rows)
