"""The batch report: sections, numbers, embedded media, size; on the demo batch and on a synthetic
batch large enough to show that lists are capped and aggregates come from DuckDB."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import soundfile as sf
from synthetic_quality import write_synthetic_batch
from typer.testing import CliRunner

from acetate.catalog.query import connect, query
from acetate.catalog.report import render, write_report
from acetate.catalog.report_data import LIST_LIMIT, TOP_COLLECTIONS, batch_view, samples, score_histograms
from acetate.flows.cli import app

SECTIONS = ("summary", "status", "degradations", "improvements", "failures", "review", "slowest", "samples")


class Page(HTMLParser):
    """Collects section ids, images, audio players, sample titles and the tables of each section
    (section -> list of tables, each a list of rows of cell texts)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.audio: list[tuple[str, str]] = []  # (class, src)
        self.tables: dict[str, list[list[list[str]]]] = {}
        self.h3: list[str] = []
        self._section: str | None = None
        self._text: list[str] | None = None
        self._h3 = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self._section = a["id"]
            self.sections.append(a["id"])
            self.tables[a["id"]] = []
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "audio":
            self.audio.append((a["class"], a["src"]))
        elif tag == "table":
            self.tables[self._section].append([])
        elif tag == "tr":
            self.tables[self._section][-1].append([])
        elif tag in ("td", "th"):
            self._text = []
        self._h3 = tag == "h3"

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)
        if self._h3 and self._section == "samples":
            self.h3.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._text is not None:
            self.tables[self._section][-1][-1].append("".join(self._text))
            self._text = None
        self._h3 = False

    def rows(self, section: str, index: int = 0) -> list[dict[str, str]]:
        """A section's index-th table as dicts by header."""
        head, *body = self.tables[section][index]
        return [dict(zip(head, r, strict=True)) for r in body]


def _decode(uri: str, mime: str) -> bytes:
    head, _, payload = uri.partition(",")
    assert head == f"data:{mime};base64", head
    return base64.b64decode(payload)


@pytest.fixture(scope="module")
def demo_report(demo_batch):
    archive, out, batch = demo_batch
    path = out / "reports" / f"{batch}.html"
    return archive, out, batch, path, Page(path.read_text(encoding="utf-8"))


def test_demo_report_is_one_small_file_with_every_section(demo_report):
    _, out, batch, path, page = demo_report
    assert page.sections == list(SECTIONS)
    assert path.stat().st_size < 5_000_000
    assert not re.search(r'(src|href)="(?!data:|#)', path.read_text()), "everything is embedded"
    statuses = {r["status"]: r["n"] for r in query(out, f"SELECT status, count(*) AS n FROM quality "
                                                        f"WHERE batch_id = '{batch}' GROUP BY ALL").to_pylist()}
    assert sum(statuses.values()) == 10 and statuses["failed"] == 1
    # at least the 6 files with hum, clipping or DC get a copy (restored, or needs_review for other kinds)
    assert query(out, f"SELECT count(output_path) AS n FROM quality WHERE batch_id = '{batch}'").to_pylist()[0]["n"] >= 6
    assert {r["status"]: int(r["items"]) for r in page.rows("status")} == statuses
    assert [r["error_type"] for r in page.rows("failures", 0)] == ["unreadable audio"]
    assert [r["source_path"] for r in page.rows("failures", 1)] == ["transfers/unfinished-transfer.wav"]


def test_demo_report_shows_hum_clipping_and_dc_going_down(demo_report):
    _, _, _, _, page = demo_report
    rows = {r["kind"]: r for r in page.rows("improvements")}
    assert {"hum", "clipping", "dc_offset"} <= set(rows)
    for kind, r in ((k, rows[k]) for k in ("hum", "clipping", "dc_offset")):
        before, after = float(r["median before"]), float(r["median after"])
        assert int(r["items"]) >= 3 and int(r["worse"]) == 0 and r["better"] == r["items"], kind
        assert abs(after) < abs(before) / 10 or after <= before - 20, (kind, before, after)


def test_demo_report_samples_are_excerpts_of_source_and_copy(demo_report):
    archive, out, _, _, page = demo_report
    assert len(page.h3) == 6 and len(set(page.h3)) == 6
    spectrograms = [u for u in page.images if u.startswith("data:image/png")]
    assert len(spectrograms) >= 6 + 3  # one per sample, plus the status, score and improvement plots
    for uri in page.images:
        assert _decode(uri, "image/png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert [c for c, _ in page.audio] == ["before", "after"] * 6
    for rel, (before_uri, after_uri) in zip(page.h3, zip(page.audio[::2], page.audio[1::2], strict=True), strict=True):
        before, sr = sf.read(io.BytesIO(_decode(before_uri[1], "audio/ogg")), always_2d=True)
        after, _ = sf.read(io.BytesIO(_decode(after_uri[1], "audio/ogg")), always_2d=True)
        info = sf.info(archive / rel)
        assert sr == info.samplerate and before.shape == after.shape
        assert abs(before.shape[0] / sr - 4.0) < 0.01
        # the 'before' player is the middle of the source: Vorbis keeps it to within a few per cent
        start = (info.frames - before.shape[0]) // 2
        src, _ = sf.read(archive / rel, start=start, frames=before.shape[0], always_2d=True)
        corr = np.corrcoef(src[:, 0], before[:, 0])[0, 1]
        assert corr > 0.95, (rel, corr)


def test_large_batch_caps_lists_and_groups_reasons(tmp_path):
    out = tmp_path / "out"
    table = write_synthetic_batch(out, "b1", 5_000, collections=40)
    status = table.column("status").to_numpy(zero_copy_only=False)
    n_review, n_failed = int((status == "needs_review").sum()), int((status == "failed").sum())
    text = render(out, "b1", samples=0)
    page = Page(text)
    assert f"Showing {LIST_LIMIT} of {n_failed}" in text and f"Showing {LIST_LIMIT} of {n_review}" in text
    collections = page.rows("status", 1)
    assert len(collections) == TOP_COLLECTIONS + 1
    assert collections[-1]["collection"] == f"({40 - TOP_COLLECTIONS} more collections)"
    assert sum(int(r["items"]) for r in collections) == 5_000
    # review reasons group once their numbers are replaced: the two patterns, every item counted
    reasons = page.rows("review", 0)
    assert len(reasons) == 2 and sum(int(r["items"]) for r in reasons) == n_review
    assert {r["reason"] for r in reasons} == {"hum score N is within N of the threshold",
                                              "N restored samples exceeded full scale and were clipped"}
    assert len(page.rows("review", 1)) == LIST_LIMIT
    # the hum row: 9 in 10 hum items went -30 -> -80 dB, every 10th to -25 (counted worse)
    hum = next(r for r in page.rows("improvements") if r["kind"] == "hum")
    assert (float(hum["median before"]), float(hum["median after"])) == (-30.0, -80.0)
    assert 0.08 < int(hum["worse"]) / int(hum["items"]) < 0.12
    # score histograms count every scored item once, found ones only at or above 0.5
    con = connect(out)
    batch_view(con, "b1")
    for kind, h in score_histograms(con).items():
        assert sum(h["found"]) + sum(h["not_found"]) == 5_000, kind
        assert sum(h["found"][:10]) == 0 and sum(h["not_found"][10:]) == 0, kind
    con.close()


def test_report_survives_a_moved_source(demo_batch):
    archive, out, batch = demo_batch
    con = connect(out)
    batch_view(con, batch)
    first = samples(con, 1)[0]["source_path"]
    con.close()
    victim = archive / first
    moved = victim.with_name(victim.name + ".moved")
    victim.rename(moved)
    try:
        text = render(out, batch, samples=2)
    finally:
        moved.rename(victim)
    assert text.count("No excerpt") == 1 and text.count("<audio") == 2
    assert f"<h3>{first}</h3>" in text


def test_cli_report_for_a_named_batch_and_an_unknown_one(tmp_path):
    out = tmp_path / "out"
    write_synthetic_batch(out, "20261124T170000Z-old0", 300, parts=1, seed=1)
    write_synthetic_batch(out, "20261125T170000Z-new0", 300, parts=1, seed=2)
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(out), "--batch", "20261124T170000Z-old0"])
    assert result.exit_code == 0 and "20261124T170000Z-old0.html" in result.stdout
    result = runner.invoke(app, ["report", str(out), "--batch", "19990101T000000Z-0000"])
    assert result.exit_code == 2 and "no quality records" in result.output
    # by default the latest batch; written atomically, no temp file left
    path = write_report(out, None, samples=0)
    assert path == out / "reports" / "20261125T170000Z-new0.html"
    assert sorted(p.name for p in path.parent.iterdir()) == ["20261124T170000Z-old0.html", "20261125T170000Z-new0.html"]
