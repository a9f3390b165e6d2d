"""Apache Beam engine: the same process_item in a DoFn, on DirectRunner by default or any runner
(Flink, Spark, Dataflow, a portable job server) with pipeline options passed through.

Records leave the pipeline through Parquet (the portable way out of any runner), staged under
OUT/quality/.staging-* and read back, so the batch writer stores them exactly like the other engines'.
On a distributed runner the workers read SOURCE and write OUT themselves: both must be mounted at
the same paths on every worker (a shared filesystem).

"DirectRunner" runs Beam's FnApiRunner in this process (threads or processes with
`direct_num_workers`): Beam's own DirectRunner would first try the PrismRunner, which downloads a
binary at run time. PrismRunner runs only when asked for by name.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

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


RUNNERS = ("DirectRunner", "FlinkRunner", "SparkRunner", "DataflowRunner", "PortableRunner", "PrismRunner")


def pipeline_args(options: Sequence[str]) -> list[str]:
    """`flink_master=host:8081` or `--flink_master=host:8081` -> `--flink_master=host:8081`."""
    return [o if o.startswith("--") else f"--{o}" for o in options]


class BeamEngine:
    name = "beam"

    def __init__(self, workers: int | None = None, runner: str = "DirectRunner",
                 beam_options: Sequence[str] = (), **_: Any) -> None:
        if runner not in RUNNERS:
            raise ValueError(f"unknown Beam runner {runner!r}; choose one of {', '.join(RUNNERS)}")
        self.runner = runner
        self.workers = workers
        self.pipeline_args = pipeline_args(beam_options)

    def _options(self) -> PipelineOptions:
        args = [f"--runner={self.runner}"]
        if self.runner == "DirectRunner" and self.workers and self.workers > 1:
            args += [f"--direct_num_workers={self.workers}", "--direct_running_mode=multi_processing"]
        return PipelineOptions(args + self.pipeline_args)  # the user's options win

    def _pipeline(self) -> beam.Pipeline:
        runner = FnApiRunner() if self.runner == "DirectRunner" else None
        return beam.Pipeline(runner=runner, options=self._options())

    def run(self, items: Iterable[Mapping[str, Any]], ctx: ItemContext,
            should_stop: Callable[[], bool] | None = None) -> Iterator[dict[str, Any]]:
        """One Beam pipeline per call (per shard); should_stop is checked before it starts."""
        if should_stop is not None and should_stop():
            return
        ctx = replace(ctx, engine=self.name)
        items = [dict(i) for i in items]
        if not items:
            return
        staging = Path(ctx.out) / "quality" / f".staging-{uuid.uuid4().hex[:12]}"
        staging.mkdir(parents=True)
        try:
            with self._pipeline() as p:
                (
                    p
                    | "Items" >> beam.Create(items, reshuffle=False)
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
