"""The nightly flow as a Prefect deployment with a cron schedule: served by this process
(`acetate serve`) or registered with a work pool on a Prefect server (`acetate deploy`), whose
workers run it.

The deployment names the flow by module path (`acetate.flows.nightly.nightly`), so any worker with
acetate installed can run it without pulling code. Its parameters are the batch's (source, OUT,
policy, engine, limits); they are stored with the deployment and can be overridden per run. At most
one run of a deployment is active at a time (a new one is cancelled while one runs), and the OUT
lock guards against runs of other deployments or the CLI on the same OUT.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron

from acetate.pipelines.fingerprint import acetate_version

from .nightly import nightly

DEFAULT_NAME = "acetate-nightly"
DEFAULT_CRON = "0 2 * * *"
DEFAULT_POOL = "acetate"


def nightly_deployment(parameters: dict[str, Any], *, name: str = DEFAULT_NAME, cron: str = DEFAULT_CRON,
                       timezone: str | None = None, work_pool: str | None = None,
                       paused: bool = False) -> RunnerDeployment:
    """The nightly flow with `parameters` (nightly's keyword arguments) on a cron schedule."""
    params = {k: v for k, v in parameters.items() if v is not None}
    desc = (f"acetate nightly batch: {params.get('source')} -> {params.get('out')} "
            f"({params.get('engine', 'ray')} engine), cron {cron!r}")
    return nightly.to_deployment(
        name=name,
        schedules=[Cron(cron, timezone=timezone)],
        paused=paused,
        parameters=params,
        description=desc,
        tags=["acetate"],
        version=acetate_version(),
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        work_pool_name=work_pool,
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def serve(deployment: RunnerDeployment) -> None:
    """Serve the deployment from this process until interrupted: its scheduled runs execute here."""
    from prefect import serve as prefect_serve

    prefect_serve(deployment, print_starting_message=True)


def ensure_work_pool(name: str, pool_type: str = "process") -> bool:
    """Create the work pool if the server has none of that name; True if it was created."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return False
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type=pool_type))
            return True


def deploy(deployment: RunnerDeployment, work_pool: str) -> UUID:
    """Register the deployment with `work_pool` on the Prefect server (PREFECT_API_URL)."""
    return deployment.apply(work_pool_name=work_pool)
