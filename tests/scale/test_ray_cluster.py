"""The nightly flow on a multi-node Ray cluster: a worker node killed mid-batch, and the batch still
records every item exactly once."""

from __future__ import annotations

import time

import pytest
import ray

from acetate.catalog.query import query
from acetate.flows import progress
from acetate.flows.nightly import nightly
from acetate.pipelines.demo_archive import DemoFile, build_demo_archive, with_hum

pytestmark = pytest.mark.slow

N = 16  # shards of 4: a kill after the first shards still leaves whole shards, which spread over both workers
REELS = tuple(DemoFile(f"reels/reel-{i:02d}.wav", 44100, 1, "speech", 8.0, with_hum(50.0, -30.0))
              for i in range(N))


class KillNodeOnceBothWork:
    """A progress sink that removes a worker node (no graceful shutdown) as soon as records have come
    from two workers, and holds the driver until the cluster has marked the node dead. Without the
    wait, a fast batch could finish on the dying node's worker (it outlives its raylet by a moment)
    and nothing would be lost."""

    def __init__(self, cluster, node) -> None:
        self.cluster, self.node = cluster, node
        self.workers: set[str] = set()
        self.seen = 0
        self.killed_at: int | None = None

    def stage(self, name, total):
        pass

    def advance(self, n=1):
        pass

    def position(self, done, total):
        pass

    def record(self, record):
        self.seen += 1
        self.workers.add(record["worker"])
        if len(self.workers) == 2 and self.killed_at is None:
            self.cluster.remove_node(self.node, allow_graceful=False)
            self.killed_at = self.seen
            self._wait_until_dead(timeout_s=60.0)

    def _wait_until_dead(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not any(n["NodeID"] == self.node.node_id and n["Alive"] for n in ray.nodes()):
                return
            time.sleep(0.2)
        raise AssertionError(f"the cluster did not mark the removed node dead within {timeout_s:.0f} s")


def test_worker_node_killed_mid_batch_and_every_item_is_recorded_once(tmp_path, ray_cluster, prefect_server):
    cluster, (node_a, node_b) = ray_cluster
    archive, out = tmp_path / "archive", tmp_path / "out"
    build_demo_archive(archive, REELS, broken=False)
    killer = KillNodeOnceBothWork(cluster, node_b)
    progress.use(killer)
    try:
        summary = nightly(source=str(archive), out=str(out), engine="ray", ray_address=cluster.address,
                          workers=2, shard_size=4)
    finally:
        progress.use(None)

    assert killer.killed_at is not None and killer.killed_at <= N - 6  # mid-batch, a whole shard left
    assert summary["pending"] == N and summary["processed"] == N and summary["deferred"] == 0
    assert "failed" not in summary["statuses"]  # no item lost with the node
    # the node's running and queued items went to the surviving worker; its actor was replaced
    assert summary["engine_stats"]["lost"] >= 1 and summary["engine_stats"]["retried"] >= 1
    rows = query(out, "SELECT source_path, count(*) AS n FROM quality GROUP BY 1").to_pylist()
    assert len(rows) == N and all(r["n"] == 1 for r in rows), rows
