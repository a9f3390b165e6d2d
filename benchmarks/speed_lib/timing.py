"""CPU time of each op, of analysis and of process_item, against the decode + FLAC encode floor.

Times are CPU seconds of this (single-threaded) process, the best of `repeats` runs, so other jobs
on a shared machine slow the figures less than wall time would; wall time is kept beside them.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from acetate.models import load_all
from acetate.models.tagger import tagger_analyzer
from acetate.ops.chunked import apply_windowed
from acetate.ops.content import ContentAnalyzer
from acetate.ops.measures import Loudness, Measurer, TruePeak
from acetate.ops.registry import DETECTORS, RESTORERS
from acetate.pipelines.audio_io import read_blocks
from acetate.pipelines.item import ItemContext, analyze, process_item
from acetate.pipelines.policy import Policy

from .audio import SUBTYPE, TYPICAL_KINDS


def cpu_best(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """(cpu_s, wall_s, result) of the run with the least CPU time."""
    best = (float("inf"), float("inf"), None)
    for _ in range(max(1, repeats)):
        c, w = time.process_time(), time.perf_counter()
        out = fn()
        c, w = time.process_time() - c, time.perf_counter() - w
        if c < best[0]:
            best = (c, w, out)
    return best


def decode_encode(src: Path, dst: Path, block: int) -> int:
    """The I/O floor: decode a source block by block and encode it to FLAC (same subtype)."""
    info = sf.info(src)
    frames = 0
    with sf.SoundFile(dst, "w", info.samplerate, info.channels, format="FLAC", subtype=SUBTYPE) as out:
        for data in sf.blocks(str(src), blocksize=block, dtype="float32", always_2d=True):
            out.write(data)
            frames += data.shape[0]
    return frames


def feed(listener, audio: np.ndarray, block: int):
    for s in range(0, audio.shape[1], block):
        listener.update(audio[:, s:s + block])
    return listener.finish()


def row(name: str, group: str, seconds: float, cpu: float, wall: float, floor_cpu: float, **extra) -> dict:
    return {"name": name, "group": group, "cpu_s": cpu, "wall_s": wall, "x_realtime": seconds / cpu if cpu else None,
            "x_floor": cpu / floor_cpu if floor_cpu else None, **extra}


def time_format(files: dict[str, Path], audio: dict[str, np.ndarray], rate: int, channels: int, work: Path,
                block_s: float, repeats: int) -> list[dict]:
    """Every figure for one format. audio[kind]: the clip degraded with that kind alone ('typical':
    the typical route's four kinds); files: 'typical' written as FLAC."""
    load_all()
    block = int(block_s * rate)
    seconds = audio["typical"].shape[1] / rate
    rows: list[dict] = []
    fc, fw, _ = cpu_best(lambda: decode_encode(files["typical"], work / "floor.flac", block), repeats)
    rows.append(row("decode + FLAC encode", "floor", seconds, fc, fw, fc))

    findings = {}
    for kind, cls in DETECTORS.items():
        x = audio.get(kind, audio["typical"])
        c, w, findings[kind] = cpu_best(lambda cls=cls, x=x: feed(cls(rate, channels), x, block), repeats)
        rows.append(row(kind, "detector", seconds, c, w, fc, score=float(findings[kind].score)))
    # the measures process_item takes after the typical route (pipelines/item.py): wow, which no step
    # touches, is not measured again; hum only on the family analysis found
    hum = feed(DETECTORS["hum"](rate, channels), audio["typical"], block)
    typical_after = {"skip": {"wow"}, "hum_families": (hum.params["family"],) if "family" in hum.params else None}
    parts = {"content": lambda: ContentAnalyzer(rate, channels),
             "loudness (BS.1770)": lambda: Loudness(rate, channels),
             "true peak (4x oversampled)": lambda: TruePeak(rate, channels),
             "measures (after restore, as on the typical route)": lambda: Measurer(rate, channels, **typical_after)}
    if tagger_analyzer(rate, channels) is not None:
        parts["tagger (model)"] = lambda: tagger_analyzer(rate, channels)
    for name, make in parts.items():
        c, w, _ = cpu_best(lambda make=make: feed(make(), audio["typical"], block), repeats)
        rows.append(row(name, "analysis part", seconds, c, w, fc))

    for name, r in RESTORERS.items():
        kind = r.fixes
        x = audio.get(kind, audio["typical"])
        finding = findings.get(kind)
        try:
            params = dict(r.params_from(finding, rate)) if finding is not None else {}
            c, w, _ = cpu_best(lambda r=r, x=x, params=params: apply_windowed(
                r.fn, x, rate, block_s=block_s, context_s=r.context_s, **params), repeats)
        except Exception as exc:  # a restorer that cannot run on this finding: say so, not a figure
            rows.append(row(name, "restorer", seconds, 0.0, 0.0, fc, error=f"{type(exc).__name__}: {exc}"))
            continue
        reread = (block_s + 2 * r.context_s) / block_s  # audio processed per second kept, long file
        rows.append(row(name, "restorer", seconds, c, w, fc, model=r.model, context_s=r.context_s,
                        reread=reread, score=float(finding.score) if finding is not None else None))

    detection = Policy.load().detection(rate)
    c, w, result = cpu_best(lambda: analyze(read_blocks(files["typical"], block), rate, channels, detection), repeats)
    rows.append(row("analysis (decode + every detector, content, tagger, measures)", "pipeline", seconds, c, w, fc,
                    found=sorted(k for k, f in result.findings.items() if f.score >= 0.5)))
    root, item = catalog_item(files["typical"])
    for label, policy in (("process_item, as routed", Policy.load()),
                          ("process_item, typical route forced", forced_policy(work))):
        c, w, rec = cpu_best(lambda policy=policy: run_item(root, item, work, policy), repeats)
        rows.append(row(label, "pipeline", seconds, c, w, fc, status=rec["status"],
                        chain=[s["op"] for s in rec["chain"] or []], analyze_s=rec["analyze_s"],
                        restore_s=rec["restore_s"], error=rec["error"]))
    for out in work.glob("item-out-*"):
        shutil.rmtree(out, ignore_errors=True)
    return rows


def forced_policy_file(work: Path) -> Path:
    """A policy file: the defaults with the typical route's kinds always found and every other never."""
    from acetate.ops.findings import KINDS

    lines = []
    for kind in KINDS:
        lines += [f"[kinds.{kind}]", f"threshold = {0.0 if kind in TYPICAL_KINDS else 2.0}", ""]
    path = work / "typical_policy.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def forced_policy(work: Path) -> Policy:
    return Policy.load(forced_policy_file(work))


def catalog_item(src: Path) -> tuple[Path, dict]:
    """The catalog row of a source, as the scan before a batch makes it (hashing not timed)."""
    from acetate.catalog.scan import scan

    root, catalog = scan(src.parent)
    return root, next(r for r in catalog.to_pylist() if r["source_path"] == src.name)


def run_item(root: Path, item: dict, work: Path, policy: Policy) -> dict:
    """process_item on one file, as an engine's worker runs it (output written, hashed, recorded)."""
    out = work / f"item-out-{uuid.uuid4().hex[:8]}"  # a fresh folder: no deletion inside the timed call
    return process_item(item, ItemContext(str(root), str(out), "speed", policy.fingerprint, "local", policy))
