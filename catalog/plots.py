"""The report's figures, drawn with matplotlib's Agg canvas (no pyplot, no global backend) from the
small aggregates of report_data, and returned as PNG data URIs to embed in one HTML file."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import signal

from acetate.catalog.schema import STATUSES

STATUS_COLORS = {"restored": "#2e8b57", "clean": "#8fa8c8", "needs_review": "#e0a030",
                 "failed": "#c0392b", "skipped": "#cccccc"}
DPI = 80


def data_uri(fig: Figure) -> str:
    """PNG of a figure as a data: URI. Layout is set by hand (subplots_adjust): constrained layout
    and bbox_inches="tight" each cost a full extra draw, seconds on a busy machine."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def status_by_collection(rows: Sequence[Mapping[str, Any]]) -> str:
    """Stacked horizontal bars: items per collection, coloured by status."""
    names = [r["collection"] for r in rows][::-1]
    height = 0.9 + 0.3 * len(names)
    fig = Figure(figsize=(9, height))
    fig.subplots_adjust(left=0.25, right=0.83, bottom=0.55 / height, top=1 - 0.1 / height)
    ax = fig.add_subplot()
    left = np.zeros(len(names))
    for status in STATUSES:
        counts = np.array([r[status] for r in rows][::-1], dtype=float)
        if counts.any():
            ax.barh(names, counts, left=left, color=STATUS_COLORS[status], label=status)
            left += counts
    ax.set_xlabel("items")
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return data_uri(fig)


def score_histograms(hist: Mapping[str, Mapping[str, Sequence[int]]]) -> str | None:
    """Per kind, the distribution of detector scores (items per bin, log scale), split into found
    and not found."""
    kinds = [k for k, h in hist.items() if sum(h["found"]) + sum(h["not_found"])]
    if not kinds:
        return None
    cols = min(4, len(kinds))
    nrows = -(-len(kinds) // cols)
    height = 0.3 + 2.0 * nrows
    fig = Figure(figsize=(2.4 * cols, height))
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.5 / height, top=1 - 0.3 / height, wspace=0.3, hspace=0.6)
    for i, kind in enumerate(kinds):
        ax = fig.add_subplot(nrows, cols, i + 1)
        edges = np.linspace(0.0, 1.0, len(hist[kind]["found"]) + 1)
        nf, f = np.array(hist[kind]["not_found"]), np.array(hist[kind]["found"])
        # stairs: one artist per series (bar() would draw a patch per bin)
        ax.stairs(nf, edges, fill=True, color="#8fa8c8", label="not found")
        ax.stairs(nf + f, edges, baseline=nf, fill=True, color="#c0392b", label="found")
        ax.set_title(kind, fontsize=9)
        ax.set_xlim(0, 1)
        # items per bin span orders of magnitude (most files score near 0): a log scale keeps the
        # few found ones visible; symlog because bins can be empty
        ax.set_yscale("symlog", linthresh=1)
        ax.set_ylim(0, max(1, int((nf + f).max())) * 2)
        ax.set_xticks([0, 0.5, 1])
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=6, loc="upper center", facecolor="white", framealpha=1)
        ax.set_xlabel("detector score", fontsize=7)
    return data_uri(fig)


def _box(q: Sequence[float], label: str) -> dict[str, Any]:
    p10, p25, p50, p75, p90 = q
    return {"whislo": p10, "q1": p25, "med": p50, "q3": p75, "whishi": p90, "label": label, "fliers": []}


def improvements(rows: Sequence[Mapping[str, Any]], units: Mapping[str, str]) -> str | None:
    """Per kind, before and after boxes of its measure (box 25-75 %, whiskers 10-90 %, line median),
    from quantiles DuckDB computed."""
    if not rows:
        return None
    cols = min(4, len(rows))
    nrows = -(-len(rows) // cols)
    height = 0.3 + 2.5 * nrows
    fig = Figure(figsize=(2.6 * cols, height))
    fig.subplots_adjust(left=0.3 / cols, right=0.98, bottom=0.3 / height, top=1 - 0.3 / height,
                        wspace=0.75, hspace=0.45)
    for i, r in enumerate(rows):
        ax = fig.add_subplot(nrows, cols, i + 1)
        stats = [_box(r["before_q"], "before"), _box(r["after_q"], "after")]
        art = ax.bxp(stats, showfliers=False, patch_artist=True, widths=0.5)
        for patch, color in zip(art["boxes"], ("#c0392b", "#2e8b57"), strict=True):
            patch.set_facecolor(color)
            patch.set_alpha(0.6)
        ax.set_title(f"{r['kind']} ({r['items']} items)", fontsize=9)
        ax.set_ylabel(f"{r['measure']}\n{units.get(r['measure'], '')}", fontsize=7)
        ax.tick_params(labelsize=7)
    return data_uri(fig)


FREQ_ROWS = 160  # rows of the log-frequency grid the spectrograms are resampled onto
FREQ_TICKS = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


def _log_spectrogram_db(x: np.ndarray, sr: int, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times, dB on the log-frequency `grid`): ~32 ms Hann windows, 75 % overlap."""
    nperseg = 1 << int(np.ceil(np.log2(sr * 0.032)))
    f, t, sxx = signal.spectrogram(x, sr, nperseg=nperseg, noverlap=nperseg * 3 // 4, scaling="spectrum")
    db = 10 * np.log10(sxx + 1e-20)
    rows = np.clip(np.searchsorted(f, grid), 1, len(f) - 1)  # nearest bin above; fine for a picture
    return t, db[rows]


def spectrograms(before: np.ndarray, after: np.ndarray, sample_rate: int, start_s: float) -> str:
    """Source, restored copy and their difference, one colour scale, log frequency axis.

    before, after: (channels, frames) float32, time-aligned excerpts (mixed to mono here). The
    difference is the source minus the level-matched copy (least-squares gain), so a gain step in
    the chain does not show the whole signal as removed. Drawn with imshow on a log-frequency grid
    (a log-scaled axis with pcolormesh takes seconds per figure).
    """
    b, a = before.mean(axis=0), after.mean(axis=0)
    gain = float(np.dot(a, b) / max(np.dot(a, a), 1e-20))
    panels = [("source", b), ("restored", a), ("difference (source - restored, level-matched)", b - gain * a)]
    lo, hi = np.log10(30.0), np.log10(sample_rate / 2)
    grid = 10 ** np.linspace(lo, hi, FREQ_ROWS)
    specs = [_log_spectrogram_db(x, sample_rate, grid) for _, x in panels]
    vmax = float(specs[0][1].max())
    fig = Figure(figsize=(11, 2.5))
    ticks = [f for f in FREQ_TICKS if 30 <= f <= sample_rate / 2]
    for i, ((title, _), (t, db)) in enumerate(zip(panels, specs, strict=True)):
        ax = fig.add_axes((0.05 + i * 0.3, 0.2, 0.265, 0.68))
        extent = (start_s, start_s + (t[-1] if len(t) else 0.0), lo, hi)
        im = ax.imshow(db, origin="lower", aspect="auto", extent=extent, cmap="magma",
                       vmin=vmax - 90, vmax=vmax, interpolation="nearest")
        ax.set_yticks(np.log10(ticks), [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks])
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("s", fontsize=7)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.set_ylabel("Hz", fontsize=7)
    cbar = fig.colorbar(im, cax=fig.add_axes((0.93, 0.2, 0.008, 0.68)))
    cbar.ax.tick_params(labelsize=7)
    cbar.set_label("dB", fontsize=7)
    return data_uri(fig)
