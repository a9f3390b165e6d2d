"""HTML pieces of the report: escaped tables, sections, number formatting and the page's style.
The page is self-contained (inline CSS, data: URIs) and needs no script."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;color:#222}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.meta{color:#555;font-size:14px}nav a{margin-right:1em;font-size:14px}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;
text-align:left;vertical-align:top}th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{border-radius:6px;padding:.6em 1em;min-width:7em;background:#f3f3f3}
.card b{display:block;font-size:22px}.card span{font-size:13px;color:#444}
.restored{border-left:6px solid #2e8b57}.clean{border-left:6px solid #8fa8c8}
.needs_review{border-left:6px solid #e0a030}.failed{border-left:6px solid #c0392b}.skipped{border-left:6px solid #ccc}
img{max-width:100%}.empty,.note{color:#666;font-style:italic}.sample{border:1px solid #ddd;border-radius:6px;
padding:.5em 1em;margin:1em 0}.players{display:flex;gap:2em;flex-wrap:wrap}.players figure{margin:0}
figcaption{font-size:13px;color:#444}code{font-size:12px;background:#f3f3f3;padding:1px 4px}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt(value: Any) -> str:
    """A cell's text: floats to 3 significant digits (0 stays 0), datetimes to the second."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.3g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None,
          headers: Mapping[str, str] | None = None, css_class: str = "") -> str:
    """An HTML table of rows (dicts); numbers right-aligned. Empty rows give an 'empty' note."""
    if not rows:
        return '<p class="empty">None.</p>'
    columns = list(columns or rows[0].keys())
    headers = headers or {}
    head = "".join(f"<th>{esc(headers.get(c, c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            num = isinstance(v, int | float) and not isinstance(v, bool)
            cells.append(f'<td class="num">{esc(fmt(v))}</td>' if num else f"<td>{esc(fmt(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(uri: str | None, alt: str, css_class: str = "plot") -> str:
    return f'<img class="{css_class}" alt="{esc(alt)}" src="{uri}">' if uri else ""


def section(key: str, title: str, body: str) -> str:
    return f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, header: str, nav: Sequence[tuple[str, str]], body: str, footer: str) -> str:
    links = "".join(f'<a href="#{esc(k)}">{esc(t)}</a>' for k, t in nav)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head>"
        f"<body><header><h1>{esc(title)}</h1>{header}<nav>{links}</nav></header><main>{body}</main>"
        f"<footer class='meta'>{footer}</footer></body></html>"
    )
