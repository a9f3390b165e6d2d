"""The batch report: one self-contained HTML page an archivist reads in the morning.

A first version (totals, degradations, measures, failures, review queue); plots and audio players
come with the reporting issue.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pyarrow as pa

from acetate.catalog.query import connect
from acetate.catalog.schema import KINDS

REPORTS_DIR = "reports"


def latest_batch(out: str | Path) -> str | None:
    con = connect(out)
    try:
        row = con.execute("SELECT max(batch_id) FROM quality").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def _html_table(table: pa.Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.column_names)
    rows = []
    for row in table.to_pylist():
        cells = []
        for v in row.values():
            text = "" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _sections(out: str | Path, batch: str) -> list[tuple[str, str, pa.Table]]:
    con = connect(out)
    b = batch.replace("'", "''")
    found = ", ".join(f"sum(CASE WHEN has_{k} THEN 1 ELSE 0 END) AS {k}" for k in KINDS)
    queries = [
        ("status", "Items by status",
         f"SELECT status, count(*) AS items FROM quality WHERE batch_id = '{b}' GROUP BY status ORDER BY items DESC"),
        ("collections", "Items by collection and status",
         f"SELECT coalesce(collection, '(root)') AS collection, status, count(*) AS items FROM quality "
         f"WHERE batch_id = '{b}' GROUP BY ALL ORDER BY collection, status"),
        ("degradations", "Degradations found", f"SELECT {found} FROM quality WHERE batch_id = '{b}'"),
        ("measures", "Before and after (restored items)",
         "SELECT source_path, content, array_to_string(list_transform(chain, lambda s: s.op), ' > ') AS chain, "
         "hum_db_before, hum_db_after, clipped_fraction_before, clipped_fraction_after, "
         "dc_offset_before, dc_offset_after, loudness_lufs_before, loudness_lufs_after "
         f"FROM quality WHERE batch_id = '{b}' AND output_path IS NOT NULL ORDER BY source_path"),
        ("review", "Needs review",
         f"SELECT source_path, review_reason FROM quality WHERE batch_id = '{b}' AND status = 'needs_review'"),
        ("failures", "Failures",
         f"SELECT source_path, error FROM quality WHERE batch_id = '{b}' AND status = 'failed'"),
        ("slowest", "Slowest items",
         f"SELECT source_path, duration_s, total_s FROM quality WHERE batch_id = '{b}' "
         "ORDER BY total_s DESC NULLS LAST LIMIT 10"),
    ]
    try:
        return [(key, title, con.sql(sql).to_arrow_table()) for key, title, sql in queries]
    finally:
        con.close()


def write_report(out: str | Path, batch: str | None = None) -> Path:
    """Write OUT/reports/<batch>.html (atomically) and return its path."""
    batch = batch or latest_batch(out)
    if batch is None:
        raise ValueError(f"no quality records under {out}")
    body = "".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{_html_table(t)}</section>'
                   for key, title, t in _sections(out, batch))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>acetate batch {html.escape(batch)}</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}th{background:#eee}"
        f"</style></head><body><h1>acetate batch {html.escape(batch)}</h1>{body}</body></html>"
    )
    path = Path(out) / REPORTS_DIR / f"{batch}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
