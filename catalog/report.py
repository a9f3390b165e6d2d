"""The batch report: one self-contained HTML page an archivist reads in the morning.

Totals by status and collection, degradations found (counts and score distributions), improvements
measured (before/after per kind), failures with their errors, the needs_review queue with reasons,
the slowest items, and for a few sample items before/after spectrograms and audio players.
Everything but the samples is aggregated in DuckDB (report_data), so the page costs the same for
ten records or ten million; plots and short audio excerpts are embedded as data URIs (a few MB).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from acetate.catalog import plots
from acetate.catalog import report_data as data
from acetate.catalog.kind_measures import KIND_MEASURES
from acetate.catalog.query import connect
from acetate.catalog.report_html import esc, fmt, image, page, section, table
from acetate.catalog.report_media import EXCERPT_S, archive_root, sample_media
from acetate.catalog.schema import MEASURES, STATUSES

REPORTS_DIR = "reports"
SAMPLES = 6


def latest_batch(out: str | Path) -> str | None:
    con = connect(out)
    try:
        row = con.execute("SELECT max(batch_id) FROM quality").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def _more(shown: int, total: int, canned: str, out: Path) -> str:
    if total <= shown:
        return ""
    return (f'<p class="note">Showing {shown} of {total}. All of them: '
            f"<code>acetate query {esc(canned)} --out {esc(out)} --format csv</code></p>")


def _summary(t: dict[str, Any], statuses: list[dict[str, Any]]) -> str:
    cards = [f'<div class="card {esc(r["status"])}"><b>{r["items"]}</b><span>{esc(r["status"])}</span></div>'
             for r in statuses]
    cards += [f'<div class="card"><b>{esc(fmt(v))}</b><span>{esc(label)}</span></div>' for label, v in (
        ("items", t["items"]), ("hours of audio", round(t["audio_hours"], 2)),
        ("access copies written", t["outputs"]), ("compute seconds", round(t["compute_s"], 1)),
        ("x real time (median per item)", t["median_x_real_time"]))]
    return f'<div class="cards">{"".join(cards)}</div>'


def _status(con) -> str:
    collections = data.by_collection(con)
    return (table(data.by_status(con), headers={"audio_hours": "hours of audio"})
            + "<h3>By collection</h3>"
            + table(collections, ["collection", "items", *STATUSES])
            + image(plots.status_by_collection(collections) if collections else None, "items per collection and status"))


def _degradations(con) -> str:
    return (table(data.degradations(con), headers={"found": "items found", "with_output": "of which with a copy",
                                                   "scored": "items scored", "mean_score": "mean score"})
            + image(plots.score_histograms(data.score_histograms(con)), "detector score distributions")
            + "<h3>Chains applied</h3>" + table(data.chains(con)))


def _quartiles(q: list[float] | None) -> str:
    return "" if not q else f"{fmt(q[0])} .. {fmt(q[-1])}"


def _improvements(con) -> str:
    rows = data.improvements(con)
    shown = [{"kind": r["kind"], "measure": f"{r['measure']} ({MEASURES[r['measure']]})", "items": r["items"],
              "median before": r["before_q"][2], "median after": r["after_q"][2],
              "10-90 % before": _quartiles(r["before_q"]), "10-90 % after": _quartiles(r["after_q"]),
              "better": r["better"], "worse": r["worse"]} for r in rows]
    effects = [{"change in": r["measure"], "items": r["items"], "median": r["change_q"][2],
                "10 %": r["change_q"][0], "90 %": r["change_q"][-1]} for r in data.side_effects(con)]
    worse_rule = ", ".join(f"{m.measure} {m.worse_by:g} ({m.better.replace('_', ' ')} is better)"
                           for m in KIND_MEASURES.values())
    return ("<p>For each kind, the copies whose chain has a step for it: the measure that tells how much "
            "of the kind is left, in the source and in the copy.</p>" + table(shown)
            + image(plots.improvements(rows, MEASURES), "measures before and after, per kind")
            + f'<p class="note">Worse: moved the wrong way by more than {esc(worse_rule)}.</p>'
            + "<h3>Side effects on every restored item</h3>" + table(effects))


def _failures(con, out: Path) -> str:
    total = data.count(con, "status = 'failed'")
    listed = data.failures(con)
    return (f"<p>Failed: {total} items.</p><h3>By error type</h3>" + table(data.failures_by_type(con))
            + "<h3>Items</h3>" + table(listed) + _more(len(listed), total, "failures", out))


def _review(con, out: Path) -> str:
    total = data.count(con, "status = 'needs_review'")
    listed = data.review_queue(con)
    return (f"<p>Waiting for a person: {total} items.</p><h3>Reasons</h3>" + table(data.review_reasons(con))
            + "<h3>Queue</h3>" + table(listed, headers={"has_output": "copy written"})
            + _more(len(listed), total, "review", out))


def _slowest(con) -> str:
    return table(data.slowest(con), headers={"x_real_time": "x real time"})


def _samples(con, out: Path, n: int) -> str:
    picks = data.samples(con, n)
    if not picks:
        return '<p class="empty">No access copies in this batch.</p>'
    root = archive_root(out)
    parts = [f"<p>{len(picks)} restored items, one per chain first; {EXCERPT_S:g} s from the middle of "
             "each. The audio is Ogg Vorbis, for listening only; the spectrograms are of the files.</p>"]
    for s in picks:
        head = (f"<h3>{esc(s['source_path'])}</h3><p>{esc(s['content'])}; found: {esc(s['found'] or 'nothing')}; "
                f"chain: <code>{esc(s['chain'])}</code>; status {esc(s['status'])}</p>")
        try:
            if root is None:
                raise FileNotFoundError("the catalog does not record the archive root")
            media = sample_media(root / PurePosixPath(s["source_path"]), out / PurePosixPath(s["output_path"]))
        except Exception as exc:  # a moved source must not cost the whole report
            parts.append(f'<article class="sample">{head}<p class="note">No excerpt: {esc(exc)}</p></article>')
            continue
        span = f"{media.start_s:.1f}-{media.start_s + media.seconds:.1f} s"
        players = "".join(
            f'<figure><figcaption>{label} ({span})</figcaption><audio controls preload="metadata" '
            f'class="{cls}" src="{uri}"></audio></figure>'
            for label, cls, uri in (("source", "before", media.before_audio), ("restored", "after", media.after_audio)))
        parts.append(f'<article class="sample">{head}'
                     + image(media.spectrogram, f"spectrograms of {s['source_path']}", "spectrogram")
                     + f'<div class="players">{players}</div></article>')
    return "".join(parts)


def render(out: str | Path, batch: str, samples: int = SAMPLES) -> str:
    """The report page of one batch as HTML text."""
    out = Path(out)
    con = connect(out)
    try:
        data.batch_view(con, batch)
        t = data.totals(con)
        if not t["items"]:
            raise ValueError(f"no quality records for batch {batch!r} under {out}")
        statuses = data.by_status(con)
        sections = [
            ("summary", "Summary", _summary(t, statuses)),
            ("status", "Items by status and collection", _status(con)),
            ("degradations", "Degradations found", _degradations(con)),
            ("improvements", "Improvements measured", _improvements(con)),
            ("failures", "Failures", _failures(con, out)),
            ("review", "Needs review", _review(con, out)),
            ("slowest", "Slowest items", _slowest(con)),
            ("samples", "Before and after", _samples(con, out, samples)),
        ]
    finally:
        con.close()
    header = (f"<p class='meta'>{t['items']} items, {t['audio_hours']:.2f} h of audio, processed "
              f"{esc(fmt(t['first_at']))} to {esc(fmt(t['last_at']))}; acetate {esc(t['versions'])}, "
              f"pipeline {esc(t['fingerprints'])}, engine {esc(t['engines'])}; output folder "
              f"<code>{esc(out)}</code></p>")
    try:
        version = metadata.version("acetate")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    footer = f"Written by acetate {esc(version)} at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC."
    body = "".join(section(k, title, html) for k, title, html in sections)
    return page(f"acetate batch {batch}", header, [(k, title) for k, title, _ in sections], body, footer)


def write_report(out: str | Path, batch: str | None = None, samples: int = SAMPLES) -> Path:
    """Write OUT/reports/<batch>.html (atomically) and return its path."""
    batch = batch or latest_batch(out)
    if batch is None:
        raise ValueError(f"no quality records under {out}")
    text = render(out, batch, samples)
    path = Path(out) / REPORTS_DIR / f"{batch}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
