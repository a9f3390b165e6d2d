"""The `acetate` command line: parse, call one library function, render.

Exit codes: 0 every item reached a terminal status, 1 some items failed, 2 usage or set-up error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import progress
from .console import RichProgress, console, out_console, summary_table, table_of

# Prefect's temporary API server gets 20 s to start by default; a busy machine (a nightly batch
# shares it with other jobs) can need several times that. A user's own setting wins.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# A nightly batch phones nowhere: no Prefect or Ray usage telemetry unless the user opts in.
for _var, _value in (("PREFECT_SERVER_ANALYTICS_ENABLED", "false"), ("DO_NOT_TRACK", "1"),
                     ("RAY_USAGE_STATS_ENABLED", "0")):
    os.environ.setdefault(_var, _value)

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Restore legacy audio at archive scale: scan, detect, route, restore, record.")

EXIT_OK, EXIT_FAILED_ITEMS, EXIT_USAGE = 0, 1, 2

Out = Annotated[Path, typer.Option("--out", "-o", help="Output folder (restored/, quality/, reports/).")]


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(EXIT_USAGE)


@app.command()
def scan(
    source: Annotated[Path, typer.Argument(help="Archive folder, or a CSV/Parquet manifest with a `path` column.")],
    out: Out,
    root: Annotated[Path | None, typer.Option(help="Archive root for a manifest (default: its folder).")] = None,
) -> None:
    """Catalog SOURCE (sizes, audio info, SHA-256) into OUT/catalog/, rehashing only what changed."""
    from acetate.catalog.scan import rescan

    if not source.exists():
        raise _fail(f"{source} does not exist")
    try:
        with RichProgress() as bar:
            bar.stage("scan", None)
            _, table = rescan(source, out, root=root, progress=bar.position)
    except ValueError as exc:  # a malformed manifest, an archive root inside OUT
        raise _fail(str(exc)) from exc
    errors = sum(1 for e in table.column("error").to_pylist() if e)
    out_console.print(f"{table.num_rows} entries catalogued in {out / 'catalog'} ({errors} with errors)")


Engine = Annotated[str, typer.Option(help="ray (default), beam or local.")]
Workers = Annotated[int | None, typer.Option(help="Parallel workers (default: one per CPU of the Ray cluster).")]
RayAddress = Annotated[str | None, typer.Option(help="Ray cluster address, e.g. ray://head:10001 or auto (default: local Ray).")]
Gpus = Annotated[float | None, typer.Option(help="GPUs per Ray worker (default: a share of the cluster's GPUs when the policy routes to neural ops, else 0).")]
Runner = Annotated[str, typer.Option(help="Beam runner for --engine beam: DirectRunner, FlinkRunner, SparkRunner, DataflowRunner, PortableRunner.")]
BeamOption = Annotated[list[str] | None, typer.Option("--beam-option", help="A Beam pipeline option, repeatable: --beam-option flink_master=host:8081.")]
PolicyOpt = Annotated[Path | None, typer.Option(help="Routing policy TOML merged over the defaults.")]
Root = Annotated[Path | None, typer.Option(help="Archive root for a manifest (default: its folder).")]
MaxItems = Annotated[int | None, typer.Option("--max-items", "--limit", help="Process at most this many pending items.")]
MaxHours = Annotated[float | None, typer.Option(help="Start no new item after this many hours; the rest waits for the next run.")]
ShardSize = Annotated[int, typer.Option(help="Items per Prefect task.")]
RetryFailed = Annotated[bool, typer.Option(help="Process items that failed before again.")]
Sources = Annotated[list[Path], typer.Argument(help="Archive folder, or one or more CSV/Parquet manifests with a `path` column.")]


def _check_exist(sources: list[Path]) -> None:
    for p in sources:
        if not p.exists():
            raise _fail(f"{p} does not exist")


def _batch_params(source: list[Path], out: Path, engine: str, workers: int | None, ray_address: str | None,
                  gpus_per_worker: float | None, runner: str, beam_option: list[str] | None,
                  policy: Path | None, root: Path | None, max_items: int | None, max_hours: float | None,
                  shard_size: int, retry_failed: bool, *, absolute: bool = False) -> dict:
    """Check the options and turn them into the nightly flow's parameters."""
    from acetate.pipelines.engines import ENGINES
    from acetate.pipelines.engines.beam_engine import RUNNERS

    if engine not in ENGINES:
        raise _fail(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if runner not in RUNNERS:
        raise _fail(f"unknown Beam runner {runner!r}; choose one of {', '.join(RUNNERS)}")
    if policy is not None and not policy.is_file():
        raise _fail(f"policy file {policy} does not exist")
    for name, value in (("--max-items", max_items), ("--max-hours", max_hours), ("--workers", workers)):
        if value is not None and value < (1 if name == "--workers" else 0):
            raise _fail(f"{name} must be {'>= 1' if name == '--workers' else '>= 0'}")
    if shard_size < 1:
        raise _fail("--shard-size must be >= 1")
    if len(source) > 1 and any(p.is_dir() for p in source):
        raise _fail("several sources must all be manifests (a folder is one archive on its own)")

    def path(p: Path | None) -> str | None:
        return None if p is None else str(p.absolute() if absolute else p)

    sources = [path(p) for p in source]
    return {"source": sources[0] if len(sources) == 1 else sources, "out": path(out), "engine": engine, "workers": workers,
            "ray_address": ray_address, "gpus_per_worker": gpus_per_worker, "runner": runner,
            "beam_options": list(beam_option or []), "policy": path(policy), "root": path(root),
            "max_items": max_items, "max_hours": max_hours, "shard_size": shard_size,
            "retry_failed": retry_failed}


@app.command()
def run(
    source: Sources,
    out: Out,
    engine: Engine = "ray",
    workers: Workers = None,
    ray_address: RayAddress = None,
    gpus_per_worker: Gpus = None,
    runner: Runner = "DirectRunner",
    beam_option: BeamOption = None,
    policy: PolicyOpt = None,
    root: Root = None,
    max_items: MaxItems = None,
    max_hours: MaxHours = None,
    shard_size: ShardSize = 500,
    retry_failed: RetryFailed = False,
) -> None:
    """Run the nightly flow once: restore what is new or changed in SOURCE into OUT."""
    _check_exist(source)
    params = _batch_params(source, out, engine, workers, ray_address, gpus_per_worker, runner, beam_option,
                           policy, root, max_items, max_hours, shard_size, retry_failed)
    summary = run_nightly(**params)
    raise typer.Exit(EXIT_FAILED_ITEMS if summary["statuses"].get("failed") else EXIT_OK)


def run_nightly(**params) -> dict:
    """Run the flow with progress shown, then print the summary; shared by `run` and `demo`."""
    from acetate.catalog.lock import LockHeld
    from acetate.pipelines.audio_io import output_unavailable

    from .nightly import BatchTimeout, nightly

    with RichProgress() as bar:
        progress.use(bar)
        try:
            summary = nightly(**params)
        except (ValueError, LockHeld) as exc:
            raise _fail(str(exc)) from exc
        except BatchTimeout as exc:
            console.print(f"[red]error:[/red] the batch ran past its hard timeout: {exc}")
            raise typer.Exit(EXIT_FAILED_ITEMS) from exc
        except OSError as exc:  # after BatchTimeout (an OSError too): OUT full or read-only
            if (full := output_unavailable(exc, Path(params["out"]))) is None:
                raise
            raise _fail(f"{full.strerror}; items without a record stay pending for the next run") from exc
        finally:
            progress.use(None)
    out_console.print(summary_table(summary))
    for path, error in summary["failures"][:20]:
        out_console.print(f"[red]failed[/red] {path}: {error}")
    if summary.get("deferred"):
        out_console.print(f"{summary['deferred']} items left for the next run ({summary['stopped']})")
    out = Path(params["out"])
    report = out / "reports" / f"{summary['batch_id']}.html"
    out_console.print(f"restored copies: {out / 'restored'}\nquality records: {out / 'quality'}")
    if report.exists():
        out_console.print(f"report: {report}")
    out_console.print(f"ask: acetate query --out {out} \"SELECT status, count(*) FROM quality GROUP BY status\"")
    return summary


Cron = Annotated[str, typer.Option(help="When to run, as a cron expression (default: every night at 2:00).")]
Timezone = Annotated[str | None, typer.Option(help="IANA time zone of the cron schedule (default: UTC).")]
Name = Annotated[str, typer.Option(help="Deployment name.")]


@app.command()
def serve(
    source: Sources,
    out: Out,
    cron: Cron = "0 2 * * *",
    timezone: Timezone = None,
    name: Name = "acetate-nightly",
    engine: Engine = "ray",
    workers: Workers = None,
    ray_address: RayAddress = None,
    gpus_per_worker: Gpus = None,
    runner: Runner = "DirectRunner",
    beam_option: BeamOption = None,
    policy: PolicyOpt = None,
    root: Root = None,
    max_items: MaxItems = None,
    max_hours: MaxHours = None,
    shard_size: ShardSize = 500,
    retry_failed: RetryFailed = False,
) -> None:
    """Serve the nightly flow as a Prefect deployment on a cron schedule; runs execute in this process."""
    from .deploy import nightly_deployment
    from .deploy import serve as do_serve

    _check_exist(source)
    params = _batch_params(source, out, engine, workers, ray_address, gpus_per_worker, runner, beam_option,
                           policy, root, max_items, max_hours, shard_size, retry_failed, absolute=True)
    try:
        deployment = nightly_deployment(params, name=name, cron=cron, timezone=timezone)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    console.print(f"serving deployment nightly/{name} on {cron!r} ({timezone or 'UTC'}); Ctrl-C to stop")
    do_serve(deployment)


@app.command()
def deploy(
    source: Annotated[list[str], typer.Argument(help="Archive folder or manifest(s), as the pool's workers see them.")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder, as the pool's workers see it.")],
    pool: Annotated[str, typer.Option(help="Prefect work pool whose workers run the batches.")] = "acetate",
    create_pool: Annotated[bool, typer.Option(help="Create the pool (process type) if the server has none.")] = True,
    cron: Cron = "0 2 * * *",
    timezone: Timezone = None,
    name: Name = "acetate-nightly",
    paused: Annotated[bool, typer.Option(help="Register the schedule paused.")] = False,
    engine: Engine = "ray",
    workers: Workers = None,
    ray_address: RayAddress = None,
    gpus_per_worker: Gpus = None,
    runner: Runner = "DirectRunner",
    beam_option: BeamOption = None,
    policy: Annotated[str | None, typer.Option(help="Routing policy TOML, as the pool's workers see it.")] = None,
    root: Annotated[str | None, typer.Option(help="Archive root for a manifest, as the workers see it.")] = None,
    max_items: MaxItems = None,
    max_hours: MaxHours = None,
    shard_size: ShardSize = 500,
    retry_failed: RetryFailed = False,
) -> None:
    """Register the nightly flow with a work pool on the Prefect server (PREFECT_API_URL), on a cron schedule."""
    from prefect.exceptions import PrefectException

    from .deploy import deploy as do_deploy
    from .deploy import ensure_work_pool, nightly_deployment

    params = _batch_params([], Path(out), engine, workers, ray_address, gpus_per_worker, runner,
                           beam_option, None, None, max_items, max_hours, shard_size, retry_failed)
    # paths as the workers see them, kept as given
    params.update(source=source[0] if len(source) == 1 else list(source), out=out, policy=policy, root=root)
    try:
        if create_pool and ensure_work_pool(pool):
            console.print(f"created work pool {pool!r} (process); start a worker: prefect worker start --pool {pool}")
        deployment = nightly_deployment(params, name=name, cron=cron, timezone=timezone, work_pool=pool,
                                        paused=paused)
        deployment_id = do_deploy(deployment, pool)
    except (ValueError, PrefectException, OSError) as exc:
        raise _fail(f"could not deploy: {exc}") from exc
    out_console.print(f"deployment nightly/{name} ({deployment_id}) registered with pool {pool!r}, "
                      f"schedule {cron!r} ({timezone or 'UTC'})")


@app.command()
def query(
    sql: Annotated[str | None, typer.Argument(help="SQL over the views `quality` and `catalog`, or a canned query's name.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder of earlier runs.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    list_canned: Annotated[bool, typer.Option("--list", help="List the canned queries.")] = False,
    param: Annotated[list[str] | None, typer.Option(help="A canned query's parameter, NAME=VALUE.")] = None,
) -> None:
    """Answer a question about quality with DuckDB SQL (or a canned query) over OUT's Parquet."""
    import duckdb
    from rich.markup import escape

    from acetate.catalog.canned import CANNED, parse_params
    from acetate.catalog.query import query as do_query

    if list_canned:
        for q in CANNED.values():
            params = "".join(f" --param {k}={v:g}" for k, v in q.params.items())
            out_console.print(f"[bold]{q.name}[/bold]{escape(params)}  {escape(q.question)}\n    {escape(q.template)}")
        return
    if sql is None or out is None:
        raise _fail("give SQL (or a canned query's name) and --out, or --list")
    if sql in CANNED:
        try:
            sql = CANNED[sql].render(parse_params(param))
        except ValueError as exc:
            raise _fail(str(exc)) from exc
    try:
        result = do_query(out, sql)
    except duckdb.Error as exc:
        raise _fail(str(exc).splitlines()[0]) from exc
    if fmt == "csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(result, sys.stdout.buffer)
    elif fmt == "json":
        out_console.print_json(json.dumps(result.to_pylist(), default=str))
    elif fmt == "table":
        out_console.print(table_of(result))
    else:
        raise _fail(f"unknown format {fmt!r}")


@app.command()
def report(
    out: Annotated[Path, typer.Argument(help="Output folder of earlier runs.")],
    batch: Annotated[str | None, typer.Option(help="Batch id (default: the latest).")] = None,
) -> None:
    """Write the HTML quality report of a batch under OUT/reports/."""
    from acetate.catalog.report import write_report

    try:
        path = write_report(out, batch)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    out_console.print(f"report: {path}")


@app.command()
def verify(out: Annotated[Path, typer.Argument(help="Output folder of earlier runs.")]) -> None:
    """Re-hash sources and restored copies against the recorded SHA-256; exit 1 on any mismatch."""
    from acetate.catalog.fixity import verify as do_verify

    try:
        result = do_verify(out)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    for path, what, detail in result.mismatches:
        out_console.print(f"[red]MISMATCH[/red] {what} {path}: {detail}")
    out_console.print(f"{result.checked_sources} sources and {result.checked_outputs} outputs checked, "
                      f"{len(result.mismatches)} mismatches")
    raise typer.Exit(EXIT_OK if result.ok else EXIT_FAILED_ITEMS)


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the demo archive and its output go.")] = Path("demo"),
    engine: Annotated[str, typer.Option(help="ray (default), beam or local.")] = "ray",
    workers: Annotated[int | None, typer.Option(help="Parallel workers.")] = None,
) -> None:
    """Build a small archive of degraded recordings and run the nightly flow on it."""
    from acetate.pipelines.demo_archive import BROKEN_FILE, build_demo_archive

    archive = directory / "archive"
    made = build_demo_archive(archive)
    out_console.print(f"demo archive: {archive} ({made} files written, existing ones kept)")
    summary = run_nightly(source=str(archive), out=str(directory / "out"), engine=engine, workers=workers)
    console.print(f"({BROKEN_FILE} is broken on purpose: a bad file is recorded as failed and the batch goes on)")
    expected = {BROKEN_FILE}
    unexpected = [p for p, _ in summary["failures"] if p not in expected]
    raise typer.Exit(EXIT_FAILED_ITEMS if unexpected else EXIT_OK)


@app.command()
def train(
    model: Annotated[str, typer.Argument(help="denoiser, tagger or bwe.")],
    corpus: Annotated[Path | None, typer.Option(help="Corpus built by `make corpus-train`.")] = None,
    out: Annotated[Path | None, typer.Option(help="Weights folder (default: the package's models/weights).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the recipe's).")] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps (epochs for the tagger).")] = None,
) -> None:
    """Reproduce a committed model from scratch on this machine (CPU, deterministic for a seed)."""
    from acetate.models.train import RECIPES, train_model

    if model not in RECIPES:
        raise _fail(f"unknown model {model!r}; choose one of {', '.join(RECIPES)}")
    try:
        result = train_model(model, corpus=corpus, out=out, seed=seed, steps=steps,
                             log=lambda line: out_console.print(line, markup=False))
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    out_console.print(json.dumps(result["metrics"], indent=1))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
