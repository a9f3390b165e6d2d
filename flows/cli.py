"""The `acetate` command line: parse, call one library function, render.

Exit codes: 0 every item reached a terminal status, 1 some items failed, 2 usage or set-up error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import progress
from .console import RichProgress, console, out_console, summary_table, table_of

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
    with RichProgress() as bar:
        bar.stage("scan", None)
        _, table = rescan(source, out, root=root, progress=bar.position)
    errors = sum(1 for e in table.column("error").to_pylist() if e)
    out_console.print(f"{table.num_rows} entries catalogued in {out / 'catalog'} ({errors} with errors)")


@app.command()
def run(
    source: Annotated[Path, typer.Argument(help="Archive folder, or a CSV/Parquet manifest with a `path` column.")],
    out: Out,
    engine: Annotated[str, typer.Option(help="ray (default), beam or local.")] = "ray",
    workers: Annotated[int | None, typer.Option(help="Parallel workers (default: one per CPU).")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address (default: local Ray).")] = None,
    runner: Annotated[str, typer.Option(help="Beam runner for --engine beam.")] = "DirectRunner",
    policy: Annotated[Path | None, typer.Option(help="Routing policy TOML merged over the defaults.")] = None,
    root: Annotated[Path | None, typer.Option(help="Archive root for a manifest (default: its folder).")] = None,
    limit: Annotated[int | None, typer.Option(help="Process at most this many pending items.")] = None,
    shard_size: Annotated[int, typer.Option(help="Items per Prefect task.")] = 500,
    retry_failed: Annotated[bool, typer.Option(help="Process items that failed before again.")] = False,
) -> None:
    """Run the nightly flow once: restore what is new or changed in SOURCE into OUT."""
    from acetate.pipelines.engines import ENGINES

    if not source.exists():
        raise _fail(f"{source} does not exist")
    if engine not in ENGINES:
        raise _fail(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if policy is not None and not policy.is_file():
        raise _fail(f"policy file {policy} does not exist")
    summary = run_nightly(source=str(source), out=str(out), engine=engine, workers=workers,
                          ray_address=ray_address, runner=runner, policy=str(policy) if policy else None,
                          root=str(root) if root else None, limit=limit, shard_size=shard_size,
                          retry_failed=retry_failed)
    raise typer.Exit(EXIT_FAILED_ITEMS if summary["statuses"].get("failed") else EXIT_OK)


def run_nightly(**params) -> dict:
    """Run the flow with progress shown, then print the summary; shared by `run` and `demo`."""
    from .nightly import nightly

    with RichProgress() as bar:
        progress.use(bar)
        try:
            summary = nightly(**params)
        except ValueError as exc:
            raise _fail(str(exc)) from exc
        finally:
            progress.use(None)
    out_console.print(summary_table(summary))
    for path, error in summary["failures"][:20]:
        out_console.print(f"[red]failed[/red] {path}: {error}")
    out = Path(params["out"])
    report = out / "reports" / f"{summary['batch_id']}.html"
    out_console.print(f"restored copies: {out / 'restored'}\nquality records: {out / 'quality'}")
    if report.exists():
        out_console.print(f"report: {report}")
    out_console.print(f"ask: acetate query --out {out} \"SELECT status, count(*) FROM quality GROUP BY status\"")
    return summary


@app.command()
def query(
    sql: Annotated[str | None, typer.Argument(help="SQL over the views `quality` and `catalog`, or a canned query's name.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder of earlier runs.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    list_canned: Annotated[bool, typer.Option("--list", help="List the canned queries.")] = False,
) -> None:
    """Answer a question about quality with DuckDB SQL (or a canned query) over OUT's Parquet."""
    import duckdb

    from acetate.catalog.canned import CANNED
    from acetate.catalog.query import query as do_query

    if list_canned:
        for q in CANNED.values():
            out_console.print(f"[bold]{q.name}[/bold]  {q.question}\n    {q.sql}")
        return
    if sql is None or out is None:
        raise _fail("give SQL (or a canned query's name) and --out, or --list")
    if sql in CANNED:
        sql = CANNED[sql].sql
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

    path = write_report(out, batch)
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
