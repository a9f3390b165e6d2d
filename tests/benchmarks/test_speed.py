"""benchmarks/speed.py --quick on two short formats writes speed.md with every section it ran: the
targets side by side, one row per registered detector and restorer plus the floor, the analysis
parts and the pipeline, a profile per op, and one peak-RSS row per length."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acetate.models import load_all
from acetate.ops.registry import DETECTORS, RESTORERS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def test_quick_speed_benchmark_writes_every_row(tmp_path):
    corpus = REPO / ".corpus"
    if not (corpus / "manifest.parquet").is_file():
        pytest.skip("no bench corpus (make corpus)")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--quick", "--work",
                           str(tmp_path / "work"), "--results", str(tmp_path / "results")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = (tmp_path / "results" / "speed.md").read_text()
    data = json.loads((tmp_path / "results" / "speed.json").read_text())
    load_all()
    rows = data["formats"]["rows"]
    for rate, ch in ((16000, 1), (44100, 2)):
        names = {r["name"] for r in rows if (r["rate"], r["channels"]) == (rate, ch)}
        assert {*DETECTORS, *RESTORERS} <= names, sorted(names)
        assert {"decode + FLAC encode", "process_item, as routed", "process_item, typical route forced"} <= names
        for r in rows:
            if (r["rate"], r["channels"]) == (rate, ch) and not r.get("error"):
                assert r["x_realtime"] > 0 and r["x_floor"] > 0, r
    forced = next(r for r in rows if r["name"] == "process_item, typical route forced" and r["rate"] == 44100)
    assert forced["chain"] == ["remove_dc", "declick", "dehum", "denoise"], forced
    for name in [*DETECTORS, *RESTORERS]:
        assert f"| detector | {name} |" in md or f"| restorer | {name} |" in md, name
    for target in ("analysis alone <= 3x", "analysis >= 300x", "typical route", ">= 100x", "peak RSS per worker"):
        assert target in md, target
    assert all(f"detector {k}" in data["profile"] for k in DETECTORS)
    rss = data["rss"]["rows"]
    assert [r["seconds"] for r in rss] == [20, 40] and all(100 < r["peak_rss_mb"] < 4096 for r in rss), rss
    assert md.count("| 8 kHz mono |") == 2 and "Not run in this run" in md


def test_ab_section_times_the_commits_code_against_the_working_tree(tmp_path):
    """--ab-against HEAD: process_item on both 44.1 kHz files, each side in its own process; the old
    side's acetate.ops is the extracted commit's (not the working tree's), both route the typical
    chain to the same status, and speed.md gets the A/B table with a ratio per file."""
    corpus = REPO / ".corpus"
    if not (corpus / "manifest.parquet").is_file():
        pytest.skip("no bench corpus (make corpus)")
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "speed.py"), "--quick", "--skip-formats",
                           "--skip-profile", "--skip-rss", "--ab-against", "HEAD", "--ab-rounds", "1",
                           "--ab-only", "ops/dc.py", "--work", str(tmp_path / "work"),
                           "--results", str(tmp_path / "results")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "results" / "speed.json").read_text())
    rows = data["ab"]["rows"]
    assert [r["label"] for r in rows] == ["44.1 kHz mono", "44.1 kHz stereo"]
    for r in rows:
        assert r["old_ops"].startswith(str(tmp_path / "work" / "ab" / "tree-HEAD")), r["old_ops"]
        assert r["old_status"] == r["new_status"] and r["old_chain"] == r["new_chain"]
        assert r["old_cpu_s"] > 0 and r["new_cpu_s"] > 0 and r["ratio"] == pytest.approx(r["old_cpu_s"] / r["new_cpu_s"])
    md = (tmp_path / "results" / "speed.md").read_text()
    assert "## Same-run A/B against an earlier commit" in md and "(ops/dc.py)" in md
