"""Apache Beam engine: the same process_item in a DoFn, on DirectRunner by default or any runner
(Flink, Spark, Dataflow) with pipeline options passed through.

Records leave the pipeline through Parquet (the portable way out of any runner), staged under
OUT/quality/.staging-* and read back, so the batch writer stores them exactly like the other engines'.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions

from acetate.catalog.schema import QUALITY_SCHEMA

from ..item import ItemContext
from ..worker import ItemProcessor, limit_threads


class ProcessItemDoFn(beam.DoFn):
    def __init__(self, ctx: ItemContext) -> None:
        self.ctx = ctx
        self.processor: ItemProcessor | None = None

    def setup(self) -> None:  # once per DoFn instance: models load here, not per element
        limit_threads(1)
        self.processor = ItemProcessor(self.ctx)

    def process(self, item: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        record = self.processor(item)
        record.pop("batch_id", None)
        yield record


class BeamEngine:
    name = "beam"

    def __init__(self, workers: int | None = None, runner: str = "DirectRunner",
                 pipeline_args: Sequence[str] = (), **_: Any) -> None:
        self.runner = runner
        self.workers = workers
        self.pipeline_args = list(pipeline_args)

    def _options(self) -> PipelineOptions:
        args = [f"--runner={self.runner}", *self.pipeline_args]
        if self.runner == "DirectRunner" and self.workers and self.workers > 1:
            args += [f"--direct_num_workers={self.workers}", "--direct_running_mode=multi_processing"]
        return PipelineOptions(args)

    def run(self, items: Sequence[Mapping[str, Any]], ctx: ItemContext) -> Iterator[dict[str, Any]]:
        ctx = replace(ctx, engine=self.name)
        staging = Path(ctx.out) / "quality" / f".staging-{uuid.uuid4().hex[:12]}"
        staging.mkdir(parents=True)
        try:
            with beam.Pipeline(options=self._options()) as p:
                (
                    p
                    | "Items" >> beam.Create([dict(i) for i in items], reshuffle=False)
                    | "Process" >> beam.ParDo(ProcessItemDoFn(ctx))
                    | "Write" >> beam.io.WriteToParquet(
                        str(staging / "records"), QUALITY_SCHEMA, file_name_suffix=".parquet")
                )
            for path in sorted(staging.glob("records*.parquet")):
                for row in pq.read_table(path, schema=QUALITY_SCHEMA).to_pylist():
                    row["batch_id"] = ctx.batch_id
                    yield row
        finally:
            shutil.rmtree(staging, ignore_errors=True)
