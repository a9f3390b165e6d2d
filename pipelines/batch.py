"""Running a batch of pending catalog rows through an engine, shard by shard.

Each shard's records are written as one Parquet part when the shard completes, so a crash loses at
most the shard in flight, and a rerun picks up whatever has no terminal record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from acetate.catalog.store import write_quality

from .engines import Engine
from .item import ItemContext, output_collisions


@dataclass
class BatchSummary:
    batch_id: str
    out: str
    scanned: int = 0
    pending: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (source_path, error)

    def add(self, record: Mapping[str, Any]) -> None:
        self.statuses[record["status"]] += 1
        if record["status"] == "failed":
            self.failures.append((record["source_path"], record["error"] or ""))

    @property
    def processed(self) -> int:
        return sum(self.statuses.values())

    @property
    def failed(self) -> int:
        return self.statuses.get("failed", 0)

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "out": self.out, "scanned": self.scanned,
                "pending": self.pending, "processed": self.processed,
                "statuses": dict(self.statuses), "failures": self.failures}


def process_shard(rows: pa.Table | list[Mapping[str, Any]], ctx: ItemContext, engine: Engine,
                  part_name: str, on_record: Callable[[Mapping[str, Any]], None] | None = None) -> list[dict]:
    """Process one shard with the engine and write its quality part; returns the records."""
    items = rows.to_pylist() if isinstance(rows, pa.Table) else list(rows)
    records = []
    for record in engine.run(items, ctx):
        records.append(record)
        if on_record is not None:
            on_record(record)
    if records:
        write_quality(ctx.out, ctx.batch_id, records, part_name=part_name)
    return records


def mark_collisions(pending: pa.Table, catalog: pa.Table) -> pa.Table:
    """Add `output_keeps_suffix` to the pending rows: true where another catalogued source would give
    the same access-copy name, judged on the whole catalog so the rule does not depend on the batch."""
    clashing = output_collisions(catalog.column("source_path").to_pylist())
    flags = pa.array([p in clashing for p in pending.column("source_path").to_pylist()], pa.bool_())
    return pending.append_column("output_keeps_suffix", flags)
