"""Session-wide services: one local Ray and one Prefect test server for the whole run (each takes
seconds to start), started only when a test asks for them."""

from __future__ import annotations

import os

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def ray_local():
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def prefect_server():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def small_archive(tmp_path):
    """A small archive of short degraded files (see archive_fixtures.SMALL_ARCHIVE)."""
    from archive_fixtures import SMALL_ARCHIVE

    from acetate.pipelines.demo_archive import build_demo_archive

    root = tmp_path / "archive"
    build_demo_archive(root, SMALL_ARCHIVE, broken=False)
    return root
