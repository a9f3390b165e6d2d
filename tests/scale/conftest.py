"""A real multi-node Ray cluster on this machine (ray.cluster_utils.Cluster): a head that runs no
work and two worker nodes of one CPU each, so a test can kill a node under a running batch."""

from __future__ import annotations

import pytest

MB = 1024 * 1024


@pytest.fixture
def ray_cluster():
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # the session's local Ray: this test needs its own cluster (the engines
        ray.shutdown()         # start a local one again if a later test needs it)
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 80 * MB, "include_dashboard": False,
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4}})
    nodes = [cluster.add_node(num_cpus=1, object_store_memory=80 * MB) for _ in range(2)]
    cluster.wait_for_nodes()
    try:
        yield cluster, nodes
    finally:
        ray.shutdown()
        cluster.shutdown()
