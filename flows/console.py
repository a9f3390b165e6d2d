"""Rich rendering for the CLI: progress while a batch runs, tables after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True)
# Piped or redirected output gets wide lines rather than rich's 80-column default, so tables of
# paths stay readable in logs and mail from nightly jobs.
out_console = Console() if Console().is_terminal else Console(width=200)


class RichProgress:
    """The flows.progress sink shown as rich progress bars on stderr."""

    def __init__(self) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self._task = None

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def stage(self, name: str, total: int | None) -> None:
        if self._task is not None:
            self.progress.update(self._task, visible=self.progress.tasks[self._task].completed > 0)
        self._task = self.progress.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self.progress.advance(self._task, n)

    def position(self, done: int, total: int) -> None:
        if self._task is not None:
            self.progress.update(self._task, completed=done, total=total)

    def record(self, record: Mapping[str, Any]) -> None:
        self.advance(1)


def table_of(result: pa.Table, title: str | None = None, max_rows: int = 200) -> Table:
    table = Table(title=title, show_lines=False)
    for name in result.column_names:
        table.add_column(name, overflow="fold")
    for row in result.slice(0, max_rows).to_pylist():
        table.add_row(*("" if v is None else _fmt(v) for v in row.values()))
    if result.num_rows > max_rows:
        table.caption = f"{result.num_rows - max_rows} more rows not shown"
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary_table(summary: Mapping[str, Any]) -> Table:
    table = Table(title=f"batch {summary['batch_id']}", min_width=48)
    table.add_column("status")
    table.add_column("items", justify="right")
    for status, n in sorted(summary["statuses"].items()):
        table.add_row(status, str(n))
    table.caption = f"{summary['scanned']} catalogued, {summary['pending']} pending, {summary['processed']} processed"
    return table
