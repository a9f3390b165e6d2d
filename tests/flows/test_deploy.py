"""`acetate deploy` registers the nightly flow with a work pool on a Prefect server, and
`acetate serve` serves it on a cron schedule and runs what the server schedules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from acetate.catalog.query import query
from acetate.flows.cli import app

pytestmark = pytest.mark.slow


def _deployment(name: str):
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(f"nightly/{name}")
        except ObjectNotFound:
            return None


def test_deploy_registers_a_cron_deployment_with_its_parameters_on_a_work_pool(tmp_path, prefect_server):
    from prefect.client.orchestration import get_client

    result = CliRunner().invoke(app, [
        "deploy", "/archive/reels", "--out", "/restored", "--pool", "acetate-test", "--name", "reels",
        "--cron", "30 1 * * *", "--timezone", "Europe/Paris", "--engine", "ray", "--workers", "8",
        "--ray-address", "ray://head:10001", "--max-items", "100000", "--max-hours", "6",
        "--policy", "/etc/acetate/policy.toml"])
    assert result.exit_code == 0, result.output
    assert "created work pool 'acetate-test'" in result.output

    dep = _deployment("reels")
    assert dep.work_pool_name == "acetate-test"
    assert dep.entrypoint == "acetate.flows.nightly.nightly"  # importable by any worker with acetate
    assert [(s.schedule.cron, s.schedule.timezone, s.active) for s in dep.schedules] == [
        ("30 1 * * *", "Europe/Paris", True)]
    assert dep.parameters == {
        "source": "/archive/reels", "out": "/restored", "engine": "ray", "workers": 8,
        "ray_address": "ray://head:10001", "runner": "DirectRunner", "beam_options": [],
        "policy": "/etc/acetate/policy.toml", "max_items": 100000, "max_hours": 6.0, "shard_size": 500,
        "retry_failed": False}
    assert dep.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert dep.global_concurrency_limit.limit == 1
    with get_client(sync_client=True) as client:
        assert client.read_work_pool("acetate-test").type == "process"

    # deploying again updates the same deployment, and a pool that exists is used as it is
    again = CliRunner().invoke(app, ["deploy", "/archive/reels", "--out", "/restored", "--pool", "acetate-test",
                                     "--name", "reels", "--cron", "0 3 * * *"])
    assert again.exit_code == 0 and "created work pool" not in again.output
    redeployed = _deployment("reels")
    assert redeployed.id == dep.id and redeployed.schedules[0].schedule.cron == "0 3 * * *"


def test_deploy_refuses_a_bad_cron_and_an_unknown_runner(prefect_server):
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", "/a", "--out", "/o", "--cron", "every night"]).exit_code == 2
    assert runner.invoke(app, ["deploy", "/a", "--out", "/o", "--engine", "beam",
                               "--runner", "NoSuchRunner"]).exit_code == 2


def test_serve_runs_the_deployment_the_server_schedules(small_archive, tmp_path, prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    out = tmp_path / "out"
    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_RUNNER_POLL_FREQUENCY="1")
    served = subprocess.Popen([sys.executable, "-m", "acetate.flows.cli", "serve", str(small_archive),
                               "--out", str(out), "--name", "served", "--cron", "0 2 * * *",
                               "--engine", "local", "--max-hours", "1"],
                              env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while (dep := _deployment("served")) is None:
            assert served.poll() is None, served.stderr.read()[-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert [s.schedule.cron for s in dep.schedules] == ["0 2 * * *"]
        assert dep.parameters["out"] == str(out) and dep.parameters["max_hours"] == 1.0

        run = run_deployment("nightly/served", timeout=240, poll_interval=1)
        assert run.state.is_completed(), run.state
        statuses = {r["status"]: r["n"] for r in query(
            out, "SELECT status, count(*) AS n FROM quality GROUP BY 1").to_pylist()}
        assert sum(statuses.values()) == 5 and "failed" not in statuses
        with get_client(sync_client=True) as client:
            from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id])))
        summary = next(a for a in artifacts if a.key == "nightly-summary")
        assert all(f"| {status} | {n} |" in summary.data for status, n in statuses.items())
        assert "5 processed" in summary.data
    finally:
        os.killpg(served.pid, signal.SIGINT)
        try:
            served.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(served.pid, signal.SIGKILL)
            served.wait()
