"""The demo batch (`acetate demo`'s archive) run once through the library calls the nightly flow
makes (rescan -> plan -> process shards on the local engine -> report), without Prefect."""

from __future__ import annotations

from pathlib import Path

from acetate.catalog.plan import plan
from acetate.catalog.report import write_report
from acetate.catalog.scan import rescan
from acetate.catalog.store import new_batch_id
from acetate.pipelines.batch import mark_collisions, process_shard
from acetate.pipelines.demo_archive import build_demo_archive
from acetate.pipelines.engines import get_engine
from acetate.pipelines.fingerprint import pipeline_fingerprint
from acetate.pipelines.item import ItemContext
from acetate.pipelines.policy import Policy


def run_batch(archive: Path, out: Path, report: bool = True) -> str:
    """Process what is pending in archive into out as one batch (and its report); returns its id."""
    policy = Policy.load()
    fingerprint = pipeline_fingerprint(policy)
    root, catalog = rescan(archive, out)
    pending = mark_collisions(plan(catalog, out, fingerprint), catalog)
    batch = new_batch_id()
    ctx = ItemContext(str(root), str(out), batch, fingerprint, "local", policy)
    process_shard(pending, ctx, get_engine("local"), "00000")
    if report:
        write_report(out, batch)
    return batch


def run_demo_batch(base: Path) -> tuple[Path, Path, str]:
    """Build the demo archive under base/archive, process it into base/out; (archive, out, batch_id)."""
    archive, out = base / "archive", base / "out"
    build_demo_archive(archive)
    return archive, out, run_batch(archive, out)
