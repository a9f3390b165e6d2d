"""The nightly batch as a Prefect flow: lock OUT -> scan -> plan -> process shards -> report.

Thin on purpose: each task is one call into library code. Prefect tasks are per shard, not per
file, so a million files never become a million task runs; inside a task the engine is called
directly. The plan is written to a file and read back one shard at a time, and each shard streams
its records into the quality dataset, so memory does not grow with the size of the archive.

Limits: `max_items` caps the items a run takes; `max_hours` is a soft deadline (no new item starts
after it, what is running finishes, the rest stays pending for the next run), backed by a hard
timeout (`hard_timeout_s`, Prefect's own timeout scope) in case an item hangs. Both are parameters,
so a deployment's runs (which re-import the flow) keep them.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.timeout import timeout

from acetate.catalog import store
from acetate.catalog.lock import OutLock
from acetate.catalog.plan import PendingPlan, plan_to_file
from acetate.catalog.report import write_report
from acetate.catalog.scan import rescan
from acetate.catalog.sources import combine_manifests
from acetate.pipelines.audio_io import OutputUnavailable
from acetate.pipelines.batch import (
    PLAN_SHARED_KEYS,
    BatchSummary,
    ShardResult,
    process_shard,
    sweep_partial_outputs,
)
from acetate.pipelines.engines import get_engine
from acetate.pipelines.fingerprint import pipeline_fingerprint
from acetate.pipelines.item import ItemContext
from acetate.pipelines.policy import Policy

from . import progress

# A full or read-only OUT (OutputUnavailable) does not clear in the seconds between retries.
_NOT_TRANSIENT = (ValueError, TypeError, KeyError, PermissionError, FileNotFoundError, NotADirectoryError,
                  OutputUnavailable)
PLANS_DIR = "plans"


def _transient(task, task_run, state) -> bool:
    """Retry I/O hiccups and lost workers; not mistakes that would fail the same way again."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, Exception) and not isinstance(exc, _NOT_TRANSIENT)


_task = {"cache_policy": NO_CACHE, "persist_result": False}


def plan_path(out: str | Path, batch_id: str) -> Path:
    return Path(out) / ".acetate" / PLANS_DIR / f"{batch_id}.parquet"


class BatchTimeout(TimeoutError):
    """The batch ran past its hard timeout (an item hung past the soft deadline)."""


def hard_timeout_s(max_hours: float | None) -> float | None:
    """The hard timeout behind the soft deadline: max_hours plus 10 % and 15 minutes to finish."""
    return None if max_hours is None else max_hours * 3600 * 1.1 + 900


class _Stop:
    """should_stop for the engines: the soft deadline passed, or OUT's lock was taken over."""

    def __init__(self, lock: OutLock, max_hours: float | None) -> None:
        self.lock = lock
        self.deadline = None if max_hours is None else time.monotonic() + max_hours * 3600
        self.reason: str | None = None

    def __call__(self) -> bool:
        if self.reason is None:
            if self.lock.lost:
                self.reason = "the lock on OUT was taken over by another batch"
            elif self.deadline is not None and time.monotonic() >= self.deadline:
                self.reason = "max_hours reached"
        return self.reason is not None


@task(name="scan", retries=2, retry_delay_seconds=5, retry_condition_fn=_transient, **_task)
def scan_task(source: str | list[str], out: str, root: str | None):
    progress.sink.stage("scan", None)
    if not isinstance(source, str) and len(source) == 1:
        source = source[0]
    if not isinstance(source, str):  # several manifests: one archive under the root they share
        source, root = combine_manifests(source, Path(out) / ".acetate" / "sources.parquet", root)
    root_path, table = rescan(source, out, root=root, progress=progress.sink.position)
    return str(root_path), table


@task(name="plan", **_task)
def plan_task(catalog, out: str, fingerprint: str, batch_id: str, retry_failed: bool,
              max_items: int | None) -> PendingPlan:
    return plan_to_file(catalog, out, fingerprint, plan_path(out, batch_id), retry_failed=retry_failed,
                        limit=max_items, shared=PLAN_SHARED_KEYS)


@task(name="process-shard", retries=2, retry_delay_seconds=10, retry_condition_fn=_transient, **_task)
def process_shard_task(rows, ctx: ItemContext, engine, part_name: str, should_stop,
                       flush_rows: int, flush_seconds: float) -> ShardResult:
    return process_shard(rows, ctx, engine, part_name, on_record=progress.sink.record,
                         should_stop=should_stop, flush_rows=flush_rows, flush_seconds=flush_seconds)


@task(name="report", **_task)
def report_task(out: str, batch_id: str) -> str:
    return str(write_report(out, batch_id))


def _sweep(out: str, batch_id: str, crashed: bool) -> int:
    """Debris of crashed runs (temporary parts, Beam staging, old plans, and after a crash
    half-written access copies); safe under the lock."""
    removed = store.sweep_debris(out) + (sweep_partial_outputs(out) if crashed else 0)
    plans = plan_path(out, batch_id).parent
    for old in plans.glob("*.parquet") if plans.is_dir() else []:
        old.unlink(missing_ok=True)
        removed += 1
    return removed


@flow(name="nightly", log_prints=True)
def nightly(
    source: str | list[str],
    out: str,
    engine: str = "ray",
    workers: int | None = None,
    ray_address: str | None = None,
    gpus_per_worker: float | None = None,
    runner: str = "DirectRunner",
    beam_options: list[str] | None = None,
    policy: str | None = None,
    root: str | None = None,
    shard_size: int = 500,
    max_items: int | None = None,
    max_hours: float | None = None,
    retry_failed: bool = False,
    flush_rows: int = 500,
    flush_seconds: float = 300.0,
) -> dict:
    """Restore what is new or changed in SOURCE (a folder or a manifest, or several manifests) into
    OUT and record its quality."""
    log = get_run_logger()
    t0 = time.monotonic()
    pol = Policy.load(policy)
    fingerprint = pipeline_fingerprint(pol)
    batch_id = store.new_batch_id()
    lock = OutLock(out, owner=f"batch {batch_id}").acquire()
    runner_engine = None
    try:
        with timeout(hard_timeout_s(max_hours), timeout_exc_type=BatchTimeout):
            if lock.took_over:
                log.warning("took over a stale lock on %s from %s", out, lock.took_over.get("owner"))
            if removed := _sweep(out, batch_id, crashed=lock.took_over is not None):
                log.info("removed %d leftovers of an interrupted run", removed)
            root_path, catalog = scan_task(source, out, root)
            pending = plan_task(catalog, out, fingerprint, batch_id, retry_failed, max_items)
            summary = BatchSummary(batch_id=batch_id, out=out, scanned=catalog.num_rows, pending=pending.rows)
            del catalog
            log.info("batch %s: %d catalogued, %d pending (fingerprint %s), engine %s",
                     batch_id, summary.scanned, summary.pending, fingerprint, engine)
            engine_stats: dict = {}
            if pending.rows:
                ctx = ItemContext(source_root=root_path, out=out, batch_id=batch_id, fingerprint=fingerprint,
                                  engine=engine, policy=pol)
                runner_engine = get_engine(engine, workers=workers, ray_address=ray_address, runner=runner,
                                           beam_options=beam_options or (), gpus_per_worker=gpus_per_worker)
                engine_stats = _process(pending, ctx, runner_engine, summary, _Stop(lock, max_hours), log, t0,
                                        shard_size=shard_size, flush_rows=flush_rows, flush_seconds=flush_seconds)
                if summary.processed:
                    report_task(out, batch_id)
            summary.elapsed_s = time.monotonic() - t0
            if pending.rows:
                create_markdown_artifact(key="nightly-summary",
                                         markdown=summary_markdown(summary, engine, engine_stats),
                                         description=f"acetate batch {batch_id}")
            log.info("batch %s done in %.0f s: %s", batch_id, summary.elapsed_s, dict(summary.statuses))
            return {**summary.to_dict(), "engine_stats": engine_stats}
    finally:
        if close := getattr(runner_engine, "close", None):
            close()
        plan_path(out, batch_id).unlink(missing_ok=True)
        lock.release()


def _process(pending: PendingPlan, ctx: ItemContext, runner_engine, summary: BatchSummary, stop: _Stop, log,
             t0: float, *, shard_size: int, flush_rows: int, flush_seconds: float) -> dict:
    """Every shard of the plan through one engine (its workers live for the whole batch, and are
    released when the last shard is done)."""
    progress.sink.stage("restore", pending.rows)
    shards = -(-pending.rows // shard_size)
    for i, rows in enumerate(pending.shards(shard_size)):
        if stop():
            break
        result = process_shard_task(rows, ctx, runner_engine, f"{i:05d}", stop, flush_rows, flush_seconds)
        summary.merge(result)
        _log_shard(log, i, shards, result, summary, time.monotonic() - t0)
    if close := getattr(runner_engine, "close", None):
        close()
    summary.stopped = stop.reason
    if summary.stopped:
        log.warning("batch %s stopped early (%s): %d items left for the next run",
                    summary.batch_id, summary.stopped, summary.deferred)
    return dict(getattr(runner_engine, "stats", {}) or {})


def _log_shard(log, i: int, shards: int, result: ShardResult, summary: BatchSummary, elapsed: float) -> None:
    rate = summary.processed / elapsed if elapsed > 0 else 0.0
    left = summary.pending - summary.processed
    eta = f", about {left / rate / 60:.0f} min left" if rate > 0 and left > 0 else ""
    skipped = f" ({result.skipped_recorded} recorded by an earlier attempt)" if result.skipped_recorded else ""
    log.info("shard %d/%d: %d items%s, %s; %d/%d done, %.2f items/s%s", i + 1, shards, result.items,
             skipped, dict(result.statuses), summary.processed, summary.pending, rate, eta)


def summary_markdown(summary: BatchSummary, engine: str, engine_stats: dict) -> str:
    """The run's Prefect artifact: counts by status, limits hit, worker losses, first failures."""
    rows = "\n".join(f"| {status} | {n} |" for status, n in sorted(summary.statuses.items()))
    rate = summary.processed / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    lines = [
        f"# acetate batch {summary.batch_id}",
        "",
        f"OUT `{summary.out}`, engine {engine}: {summary.scanned} catalogued, {summary.pending} pending, "
        f"{summary.processed} processed in {summary.elapsed_s:.0f} s ({rate:.2f} items/s)",
        "",
        "| status | items |",
        "|---|---|",
        rows,
    ]
    if summary.deferred:
        lines += ["", f"**Stopped early** ({summary.stopped}): {summary.deferred} items left for the next run."]
    if engine_stats.get("lost"):
        lines += ["", f"Workers lost and replaced: {engine_stats['lost']}; items retried: "
                      f"{engine_stats.get('retried', 0)}; given up: {engine_stats.get('gave_up', 0)}."]
    if summary.failures:
        lines += ["", "| failed item | error |", "|---|---|"]
        lines += [f"| {p} | {e.replace('|', '/')[:200]} |" for p, e in summary.failures[:20]]
    return "\n".join(lines) + "\n"
