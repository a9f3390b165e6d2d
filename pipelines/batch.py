"""Running a batch of pending catalog rows through an engine, shard by shard.

Records stream from the engine into a QualityWriter as they complete (published as part files of up
to `flush_rows` rows, or every `flush_seconds`), so a crash loses at most the records not yet
published and a rerun picks up whatever has no terminal record. A retried shard skips the items an
earlier attempt already recorded in this batch, so no item is recorded twice.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from acetate.catalog.plan import pending_rows
from acetate.catalog.store import QualityWriter, recorded_items

from .engines import Engine
from .item import ItemContext

# Access copies are named after the source with its suffix replaced (a.wav -> a.flac); sources whose
# names differ only in suffix (or case) keep theirs (item.output_rel_path). The same rule as
# item.output_collisions, as a key shared over the whole catalog in SQL: the stem is the path without
# its last suffix (a dot after at least one character of the name, followed by no dot or slash),
# compared with lower() (Python's casefold differs only for a few letters such as ß).
OUTPUT_STEM_SQL = r"lower(regexp_replace(source_path, '([^/])\.[^./]+$', '\1'))"
PLAN_SHARED_KEYS = {"output_keeps_suffix": OUTPUT_STEM_SQL}


@dataclass
class BatchSummary:
    batch_id: str
    out: str
    scanned: int = 0
    pending: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source_path, error), first 1000
    stopped: str | None = None  # why the batch stopped before its last pending item, if it did
    elapsed_s: float = 0.0

    def add(self, record: Mapping[str, Any]) -> None:
        self.statuses[record["status"]] += 1
        if record["status"] == "failed" and len(self.failures) < 1000:
            self.failures.append((record["source_path"], record["error"] or ""))

    def merge(self, shard: ShardResult) -> None:
        self.statuses.update(shard.statuses)
        self.failures += shard.failures[: max(0, 1000 - len(self.failures))]

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return self.statuses.get("failed", 0)

    @property
    def deferred(self) -> int:
        """Pending items left for the next run (deadline reached or the lock lost)."""
        return max(0, self.pending - self.processed)

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "out": self.out, "scanned": self.scanned,
                "pending": self.pending, "processed": self.processed, "deferred": self.deferred,
                "statuses": dict(self.statuses), "failures": self.failures, "stopped": self.stopped,
                "elapsed_s": round(self.elapsed_s, 3)}


@dataclass
class ShardResult:
    """What a shard did, small enough to pass between Prefect tasks (the records are in Parquet)."""

    items: int
    statuses: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped_recorded: int = 0  # recorded by an earlier attempt of this shard
    parts: int = 0


def process_shard(rows: pa.Table | list[Mapping[str, Any]], ctx: ItemContext, engine: Engine,
                  part_name: str, on_record: Callable[[Mapping[str, Any]], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, flush_rows: int = 500,
                  flush_seconds: float = 300.0) -> ShardResult:
    """Process one shard with the engine, streaming its records into the batch's quality dataset."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(list(rows))
    done = recorded_items(ctx.out, ctx.batch_id, part_name)
    result = ShardResult(items=table.num_rows)
    if done:
        keep = [i not in done for i in table.column("item_id").to_pylist()]
        result.skipped_recorded = keep.count(False)
        table = table.filter(pa.array(keep, pa.bool_()))
    with QualityWriter(ctx.out, ctx.batch_id, part_name, rows_per_part=flush_rows,
                       flush_seconds=flush_seconds) as writer:
        for record in engine.run(_rows(table), ctx, should_stop=should_stop):
            writer.write(record)
            result.statuses[record["status"]] += 1
            if record["status"] == "failed":
                result.failures.append((record["source_path"], record["error"] or ""))
            if on_record is not None:
                on_record(record)
    result.parts = len(writer.parts)
    return result


def _rows(table: pa.Table, batch_rows: int = 64):
    """The table's rows as dicts, converted a batch at a time as the engine asks for them."""
    for batch in table.to_batches(max_chunksize=batch_rows):
        yield from batch.to_pylist()


def mark_collisions(pending: pa.Table, catalog: pa.Table) -> pa.Table:
    """Add `output_keeps_suffix` to the pending rows: true where another catalogued source would give
    the same access-copy name, judged on the whole catalog so the rule does not depend on the batch.
    (The nightly flow gets the column from the plan itself: `PLAN_SHARED_KEYS`.)"""
    flags = pending_rows(catalog, None, "", shared=PLAN_SHARED_KEYS)
    by_path = dict(zip(catalog["source_path"].to_pylist(), flags["output_keeps_suffix"].to_pylist(), strict=True))
    return pending.append_column("output_keeps_suffix",
                                 pa.array([by_path[p] for p in pending["source_path"].to_pylist()], pa.bool_()))


def sweep_partial_outputs(out: str | Path) -> int:
    """Remove access copies a killed run left half-written (audio_io.AtomicAudioWriter's hidden
    `.<name>.<hex>.tmp` files under OUT/restored). Walks the whole tree, so the flow calls it only
    after taking over a stale lock, and only while holding it. Returns how many were removed."""
    removed = 0
    for folder, _, files in os.walk(Path(out) / "restored"):
        for name in files:
            if name.startswith(".") and name.endswith(".tmp"):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed
