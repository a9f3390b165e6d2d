"""Aggregating per-file scores into the tables of benchmarks/results/quality.md."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable

from .testset import SCORED_KINDS

Row = dict  # one scored file: testset row + system + measures


def bucket(row: Row) -> str:
    kinds = [k for k in row["kinds"].split(",") if k]
    return "clean" if not kinds else kinds[0] if len(kinds) == 1 else "combo"


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return sum(vals) / len(vals) if vals else None


def _delta(key: str) -> Callable[[list[Row]], float | None]:
    return lambda rows: _mean(r[f"{key}_out"] - r[f"{key}_in"] for r in rows
                              if r.get(f"{key}_out") is not None and r.get(f"{key}_in") is not None)


def _plain(key: str) -> Callable[[list[Row]], float | None]:
    return lambda rows: _mean(r.get(key) for r in rows)


# (column title, bucket, aggregate, better: "high" | "low" | "zero", speech only)
COLUMNS = [
    ("noise ΔSI-SDR dB", "noise", _delta("si_sdr"), "high", False),
    ("noise ΔPESQ", "noise", _delta("pesq"), "high", True),
    ("noise STOI", "noise", _plain("stoi_out"), "high", True),
    ("hum ΔSI-SDR dB", "hum", _delta("si_sdr"), "high", False),
    ("hum left dB", "hum", _plain("hum_db_out"), "low", False),
    ("clicks ΔSI-SDR dB", "clicks", _delta("si_sdr"), "high", False),
    ("clicks left /min", "clicks", _plain("clicks_out"), "low", False),
    ("clipping ΔSI-SDR dB", "clipping", _delta("si_sdr"), "high", False),
    ("bandwidth ΔLSD dB", "bandwidth", _delta("lsd"), "low", False),
    ("dropouts ΔSI-SDR dB", "dropouts", _delta("si_sdr"), "high", False),
    ("wow ΔSI-SDR dB", "wow", _delta("si_sdr"), "high", False),
    ("rumble ΔSI-SDR dB", "rumble", _delta("si_sdr"), "high", False),
    ("rumble left dB", "rumble", _plain("subsonic_db_out"), "low", False),
    ("DC left %FS", "dc_offset", lambda rows: _scaled(_plain("dc_out")(rows), 100.0), "low", False),
    ("combos ΔSI-SDR dB", "combo", _delta("si_sdr"), "high", False),
    ("clean SI-SDR dB", "clean", _plain("si_sdr_out"), "high", False),
    ("clean level dB", "clean", _plain("level_db"), "zero", False),
]


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def restoration_table(rows: list[Row], content: str, systems: list[str]) -> tuple[list[str], list[list[str]]]:
    cols = [c for c in COLUMNS if content == "speech" or not c[4]]
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r["system"], bucket(r))].append(r)
    values = {(s, c[0]): c[2](groups.get((s, c[1]), [])) for s in systems for c in cols}
    best = {}
    for title, _, _, better, _ in cols:
        vals = [(values[(s, title)], s) for s in systems if values[(s, title)] is not None]
        if len(vals) > 1:
            key = {"high": lambda v: -v[0], "low": lambda v: v[0], "zero": lambda v: abs(v[0])}[better]
            top = min(vals, key=key)[0]
            best[title] = {s for v, s in vals if round(v, 2) == round(top, 2)}
    header = ["system"] + [c[0] for c in cols]
    body = []
    for s in systems:
        cells = [s]
        for title, *_ in cols:
            v = values[(s, title)]
            text = "—" if v is None else f"{v:.2f}"
            cells.append(f"**{text}**" if v is not None and s in best.get(title, set()) else text)
        body.append(cells)
    return header, body


def detection_table(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    """acetate's detection per kind: precision, recall, F1, false-positive rate on clean files."""
    header = ["kind", "files with it", "precision", "recall", "F1", "FP rate on clean", "note"]
    body = []
    for kind in SCORED_KINDS:
        truth = [has_kind(r, kind) for r in rows]
        pred = [bool(r.get(f"has_{kind}")) for r in rows]
        assessed = any(r.get(f"{kind}_score") is not None for r in rows)
        tp = sum(t and p for t, p in zip(truth, pred, strict=True))
        fp = sum(p and not t for t, p in zip(truth, pred, strict=True))
        fn = sum(t and not p for t, p in zip(truth, pred, strict=True))
        clean = [r for r in rows if not r["kinds"]]
        fpr = sum(bool(r.get(f"has_{kind}")) for r in clean) / len(clean) if clean else float("nan")
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        body.append([kind, str(sum(truth)), f"{precision:.2f}", f"{recall:.2f}", f"{f1:.2f}", f"{fpr:.2f}",
                     "" if assessed else "no detector yet"])
    return header, body


# The simulator's pink, brown and surface noises reach down to 1 Hz (surface noise carries a
# turntable's rumble by design): their subsonic part is rumble by the detector's definition.
_SUBSONIC_NOISES = ("pink", "brown", "surface")


def has_kind(row: Row, kind: str) -> bool:
    """Whether the file truly carries `kind`: the variant's kinds; for rumble also a subsonic noise;
    for dropouts only when one of them fell on programme (the simulator's `audible` count: a file
    whose every gap lies on digital silence or a pause 40 dB down is, to the sample or nearly, its
    clean original, and no detector could or should call it damaged)."""
    kinds = row["kinds"].split(",")
    params = json.loads(row.get("params") or "{}")
    if kind == "dropouts" and kind in kinds:
        return params.get("dropouts", {}).get("audible", 1) > 0
    if kind in kinds:
        return True
    if kind == "rumble" and "noise" in kinds:
        return params.get("noise", {}).get("color") in _SUBSONIC_NOISES
    return False


def content_accuracy(rows: list[Row]) -> float | None:
    """Share of files whose content class (speech or music) acetate got right; failures count as wrong."""
    if not rows:
        return None
    return sum(r.get("content_found") == r["content"] for r in rows) / len(rows)


def markdown(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)
