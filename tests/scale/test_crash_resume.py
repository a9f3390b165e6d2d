"""A nightly run killed with SIGKILL mid-batch: the rerun takes over the dead run's lock, cleans up
what it left half-written, and processes exactly the items that have no record yet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from acetate.catalog.lock import lock_path
from acetate.catalog.query import query
from acetate.catalog.store import quality_parts
from acetate.flows.nightly import nightly
from acetate.pipelines.demo_archive import DemoFile, build_demo_archive, with_hum

pytestmark = pytest.mark.slow

N = 12
# 8-second 44.1 kHz files with hum: each takes a good fraction of a second to restore, so the run
# is still going when the test has seen its first parts.
CRASH_ARCHIVE = tuple(DemoFile(f"reels/reel-{i:02d}.wav", 44100, 1, "speech", 8.0, with_hum(50.0, -30.0))
                      for i in range(N))


def test_sigkilled_run_is_finished_by_the_rerun_without_redoing_recorded_items(tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    archive, out = tmp_path / "archive", tmp_path / "out"
    build_demo_archive(archive, CRASH_ARCHIVE, broken=False)
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
    run = subprocess.Popen([sys.executable, "-m", "acetate.flows.cli", "run", str(archive), "--out", str(out),
                            "--engine", "local", "--shard-size", "2"], env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while len(quality_parts(out)) < 2:  # two shards (4 items) recorded: kill it mid-batch
        assert run.poll() is None, f"the run ended before it could be killed: {run.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "no quality parts appeared"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL

    recorded = {r["source_path"] for r in query(out, "SELECT source_path FROM quality").to_pylist()}
    assert 4 <= len(recorded) < N, len(recorded)
    assert lock_path(out).exists()  # the killed run could not release it

    again = nightly(source=str(archive), out=str(out), engine="local")
    assert again["pending"] == N - len(recorded) and again["processed"] == N - len(recorded)
    assert "failed" not in again["statuses"]

    rows = query(out, "SELECT source_path, count(*) AS n, max(output_path) AS output FROM quality GROUP BY 1").to_pylist()
    assert len(rows) == N and all(r["n"] == 1 for r in rows)  # every item recorded exactly once
    written = [r for r in rows if r["output"]]
    assert written  # the hum is restored (needs_review or restored)
    for r in written:
        assert sf.info(out / r["output"]).frames == 8 * 44100
    leftovers = [p for p in Path(out).rglob(".*") if p.name != ".acetate"]
    assert leftovers == [], leftovers  # no half-written copy or part of the killed run remains
    assert list((out / ".acetate" / "plans").iterdir()) == []  # nor its plan
    assert not lock_path(out).exists()
