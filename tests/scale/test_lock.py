"""One batch at a time per OUT: the lock file, its heartbeat and stale takeover, and two nightly
runs started together on the same OUT."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acetate.catalog.lock import LockHeld, OutLock, lock_path
from acetate.catalog.query import query
from acetate.flows.cli import app


def _fake_lock(out: Path, *, pid: int, host: str, age_s: float = 0.0, boot: str | None = "same") -> Path:
    from acetate.catalog.lock import _boot_id

    path = lock_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"token": "t-old", "pid": pid, "host": host,
                                "boot": _boot_id() if boot == "same" else boot,
                                "pid_start": None, "owner": "batch old", "acquired_at": "2026-01-01T00:00:00+00:00"}))
    if age_s:
        t = time.time() - age_s
        os.utime(path, (t, t))
    return path


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_second_lock_is_refused_until_the_first_is_released(tmp_path):
    first = OutLock(tmp_path, owner="batch A").acquire()
    with pytest.raises(LockHeld) as err:
        OutLock(tmp_path, owner="batch B").acquire()
    assert "batch A" in str(err.value) and str(os.getpid()) in str(err.value)
    first.release()
    assert not lock_path(tmp_path).exists()
    with OutLock(tmp_path, owner="batch B") as second:
        assert second.still_held() and second.took_over is None
    assert not lock_path(tmp_path).exists()


def test_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    _fake_lock(tmp_path, pid=_dead_pid(), host=socket.gethostname())
    with OutLock(tmp_path, owner="new") as lock:
        assert lock.took_over["owner"] == "batch old"
        assert json.loads(lock_path(tmp_path).read_text())["token"] == lock.token


def test_lock_of_another_host_is_kept_while_it_beats_and_taken_when_its_heartbeat_is_old(tmp_path):
    _fake_lock(tmp_path, pid=1, host="elsewhere", boot="other", age_s=30)
    with pytest.raises(LockHeld):
        OutLock(tmp_path, heartbeat_s=5, stale_after_s=60).acquire()
    _fake_lock(tmp_path, pid=1, host="elsewhere", boot="other", age_s=61)
    with OutLock(tmp_path, heartbeat_s=5, stale_after_s=60) as lock:
        assert lock.took_over["host"] == "elsewhere"


def test_heartbeat_refreshes_the_lock_and_a_holder_notices_a_takeover(tmp_path):
    lock = OutLock(tmp_path, heartbeat_s=0.1, stale_after_s=1.0).acquire()
    try:
        old = time.time() - 50
        os.utime(lock.path, (old, old))
        time.sleep(0.5)
        assert time.time() - lock.path.stat().st_mtime < 1.0  # the heartbeat thread touched it
        assert not lock.lost
        _fake_lock(tmp_path, pid=os.getpid(), host=socket.gethostname())  # someone else's token now
        time.sleep(0.5)
        assert lock.lost
    finally:
        lock.release()
    assert lock_path(tmp_path).exists()  # release never removes a lock it does not hold


RACER = textwrap.dedent("""
    import sys, time
    from acetate.catalog.lock import LockHeld, OutLock
    out, start = sys.argv[1], float(sys.argv[2])
    time.sleep(max(0.0, start - time.time()))
    try:
        lock = OutLock(out, owner=sys.argv[3]).acquire()
    except LockHeld:
        print("refused", flush=True)
        sys.exit(0)
    print("won", flush=True)
    time.sleep(3)
    lock.release()
""")


def test_processes_racing_for_a_stale_lock_let_exactly_one_win(tmp_path):
    _fake_lock(tmp_path, pid=_dead_pid(), host=socket.gethostname())
    start = time.time() + 2.0
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), str(start), f"r{i}"],
                               stdout=subprocess.PIPE, text=True) for i in range(6)]
    results = [p.communicate(timeout=60)[0].strip() for p in racers]
    assert sorted(results) == ["refused"] * 5 + ["won"]


HOLDER = textwrap.dedent("""
    import sys, time
    from acetate.catalog.lock import OutLock
    OutLock(sys.argv[1], owner="batch held-by-test", heartbeat_s=1, stale_after_s=10).acquire()
    print("held", flush=True)
    time.sleep(600)
""")


@pytest.mark.slow
def test_cli_run_on_a_locked_out_exits_2_and_takes_over_once_the_holder_is_killed(
        small_archive, tmp_path, prefect_server):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        runner = CliRunner()
        result = runner.invoke(app, ["run", str(small_archive), "--out", str(out), "--engine", "local"])
        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())  # rich wraps long lines
        assert "in use by another batch" in message and "held-by-test" in message
        assert not (out / "quality").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    result = runner.invoke(app, ["run", str(small_archive), "--out", str(out), "--engine", "local"])
    assert result.exit_code == 0, result.output
    assert query(out, "SELECT count(*) AS n FROM quality").to_pylist() == [{"n": 5}]
    assert not lock_path(out).exists()


@pytest.mark.slow
def test_two_nightly_runs_started_together_record_every_item_once(small_archive, tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    out = tmp_path / "out"
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
    cmd = [sys.executable, "-m", "acetate.flows.cli", "run", str(small_archive), "--out", str(out),
           "--engine", "local", "--shard-size", "1"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in runs]
    codes = sorted(p.returncode for p in runs)
    # Either the second found OUT locked (exit 2) or it started after the first had finished and
    # found nothing left to do; never both processing.
    assert codes in ([0, 2], [0, 0]), outputs
    if codes == [0, 2]:
        assert any("in use by another batch" in " ".join(o.split()) for o in outputs)
    rows = query(out, "SELECT source_path, count(*) AS n FROM quality GROUP BY 1").to_pylist()
    assert len(rows) == 5 and all(r["n"] == 1 for r in rows), rows
    assert len({r["batch_id"] for r in query(out, "SELECT DISTINCT batch_id FROM quality").to_pylist()}) == 1
