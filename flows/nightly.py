"""The nightly batch as a Prefect flow: scan -> plan -> process shards -> report.

Thin on purpose: each task is one call into library code. Prefect tasks are per shard, not per
file, so a million files never become a million task runs; inside a task the engine is called
directly.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from acetate.catalog import store
from acetate.catalog.plan import plan, shard
from acetate.catalog.report import write_report
from acetate.catalog.scan import rescan
from acetate.pipelines.batch import BatchSummary, mark_collisions, process_shard
from acetate.pipelines.engines import get_engine
from acetate.pipelines.fingerprint import pipeline_fingerprint
from acetate.pipelines.item import ItemContext
from acetate.pipelines.policy import Policy

from . import progress

_NOT_TRANSIENT = (ValueError, TypeError, KeyError, PermissionError, FileNotFoundError, NotADirectoryError)


def _transient(task, task_run, state) -> bool:
    """Retry I/O hiccups and lost workers; not mistakes that would fail the same way again."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, Exception) and not isinstance(exc, _NOT_TRANSIENT)


_task = {"cache_policy": NO_CACHE, "persist_result": False}


@task(name="scan", retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, **_task)
def scan_task(source: str, out: str, root: str | None):
    progress.sink.stage("scan", None)
    root_path, table = rescan(source, out, root=root, progress=progress.sink.position)
    return str(root_path), table


@task(name="plan", **_task)
def plan_task(catalog, out: str, fingerprint: str, retry_failed: bool, limit: int | None):
    return plan(catalog, out, fingerprint, retry_failed=retry_failed, limit=limit)


@task(name="process-shard", retries=2, retry_delay_seconds=10, retry_condition_fn=_transient, **_task)
def process_shard_task(rows, ctx: ItemContext, engine, part_name: str):
    return process_shard(rows, ctx, engine, part_name, on_record=progress.sink.record)


@task(name="report", **_task)
def report_task(out: str, batch_id: str) -> str:
    return str(write_report(out, batch_id))


@flow(name="nightly", log_prints=True)
def nightly(
    source: str,
    out: str,
    engine: str = "ray",
    workers: int | None = None,
    ray_address: str | None = None,
    runner: str = "DirectRunner",
    policy: str | None = None,
    root: str | None = None,
    shard_size: int = 500,
    limit: int | None = None,
    retry_failed: bool = False,
) -> dict:
    """Restore what is new or changed in SOURCE into OUT and record its quality."""
    log = get_run_logger()
    pol = Policy.load(policy)
    fingerprint = pipeline_fingerprint(pol)
    batch_id = store.new_batch_id()
    root_path, catalog = scan_task(source, out, root)
    pending = plan_task(catalog, out, fingerprint, retry_failed, limit)
    pending = mark_collisions(pending, catalog)
    summary = BatchSummary(batch_id=batch_id, out=out, scanned=catalog.num_rows, pending=pending.num_rows)
    log.info("batch %s: %d catalogued, %d pending (fingerprint %s)",
             batch_id, catalog.num_rows, pending.num_rows, fingerprint)
    if pending.num_rows:
        ctx = ItemContext(source_root=root_path, out=out, batch_id=batch_id, fingerprint=fingerprint,
                          engine=engine, policy=pol)
        runner_engine = get_engine(engine, workers=workers, ray_address=ray_address, runner=runner)
        progress.sink.stage("restore", pending.num_rows)
        try:
            for i, rows in enumerate(shard(pending, shard_size)):
                for record in process_shard_task(rows, ctx, runner_engine, f"{i:05d}"):
                    summary.add(record)
        finally:
            close = getattr(runner_engine, "close", None)
            if close:
                close()
        report_task(out, batch_id)
        create_markdown_artifact(key="nightly-summary", markdown=_markdown(summary),
                                 description=f"acetate batch {batch_id}")
    log.info("batch %s done: %s", batch_id, dict(summary.statuses))
    return summary.to_dict()


def _markdown(summary: BatchSummary) -> str:
    rows = "\n".join(f"| {status} | {n} |" for status, n in sorted(summary.statuses.items()))
    return (f"# acetate batch {summary.batch_id}\n\n{summary.scanned} catalogued, "
            f"{summary.pending} pending\n\n| status | items |\n|---|---|\n{rows}\n")
