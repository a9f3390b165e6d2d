"""process_item: one source file in, one quality record out (and an access copy when restored).

Engine-agnostic and pure apart from reading its source and writing its output: Ray actors, Beam
DoFns and the local loop all call this, so their records are the same.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from acetate.catalog.fixity import sha256_file
from acetate.catalog.schema import MEASURES, quality_record
from acetate.models import load_all
from acetate.models.tagger import tagger_analyzer
from acetate.ops.content import ContentAnalyzer
from acetate.ops.findings import Finding
from acetate.ops.measures import HUM_FLOOR_DB, Measurer
from acetate.ops.registry import DETECTORS, RESTORERS, link_detectors

from .audio_io import (
    AtomicAudioWriter,
    OutputUnavailable,
    ReadStats,
    SourceReadError,
    output_format,
    read_blocks,
    stream_windows,
)
from .chain import Chain
from .fingerprint import acetate_version
from .fusion import fuse_content, fuse_findings
from .heap import bound_heap
from .policy import Policy
from .provenance import Provenance
from .route import Decision, decide

# Shorter files carry too little for any detector to judge (a hum period is 20 ms, the noise floor
# needs several 32 ms frames): they are recorded `skipped`, with the reason, and left alone.
MIN_SECONDS = 0.1


@dataclass(frozen=True)
class ItemContext:
    """Everything process_item needs besides the item; small and picklable for any engine."""

    source_root: str
    out: str
    batch_id: str
    fingerprint: str
    engine: str = "local"
    policy: Policy = field(default_factory=Policy.load)


@dataclass
class Analysis:
    findings: dict[str, Finding]
    content: str
    content_score: float
    measures: dict[str, float | None]
    reviews: list[str] = field(default_factory=list)  # reasons to ask a person, from detection


def analyze(blocks, sample_rate: int, channels: int, detection: Mapping[str, str] | None = None,
            thresholds: Mapping[str, float] | None = None) -> Analysis:
    """Run every registered detector, the content classifier, the learned tagger (when its weights
    are installed) and the measures over the blocks; fuse the two witnesses per `detection` rules
    (thresholds: the policy's per kind, to tell when unfamiliar audio changes a decision)."""
    load_all()
    detectors = [cls(sample_rate, channels) for cls in DETECTORS.values()]
    link_detectors(detectors)  # e.g. bandwidth reads the noise detector's spectral floor
    content = ContentAnalyzer(sample_rate, channels)
    tagger = tagger_analyzer(sample_rate, channels)
    measurer = Measurer(sample_rate, channels, shared={d.kind: d for d in detectors})
    listeners = [*detectors, content, measurer] + ([tagger] if tagger is not None else [])
    for block in blocks:
        for part in listeners:
            part.update(block)
        bound_heap()  # a peak that does not grow with the file's length (see heap.py)
    tagged = tagger.finish() if tagger is not None else None
    findings, reviews = fuse_findings({d.kind: d.finish() for d in detectors}, tagged, detection or {},
                                     thresholds)
    label, confidence = fuse_content(content.finish(), tagged)
    return Analysis(findings, label, float(confidence), measurer.finish(), reviews)


def source_file(root: str | os.PathLike, rel: str) -> Path:
    """The absolute source path, refusing anything that resolves outside the archive root."""
    rel_path = PurePosixPath(rel)
    if rel_path.is_absolute() or ".." in rel_path.parts:
        raise PermissionError(f"path escapes the archive root: {rel}")
    root_real = os.path.realpath(root)
    full = os.path.realpath(os.path.join(root_real, *rel_path.parts))
    if os.path.commonpath([root_real, full]) != root_real:
        raise PermissionError(f"path escapes the archive root: {rel}")
    return Path(full)


def output_rel_path(rel: str, suffix: str, keep_suffix: bool = False) -> str:
    """OUT-relative path of the access copy: the source's relative path under restored/, its suffix
    replaced (a.wav -> a.flac), or kept (a.wav -> a.wav.flac) where two sources would share a name."""
    path = PurePosixPath(rel)
    return str(PurePosixPath("restored") / (path.with_name(path.name + suffix) if keep_suffix else path.with_suffix(suffix)))


def output_collisions(source_paths: list[str]) -> set[str]:
    """Sources whose access copies would share a name (a.wav and a.flac in one folder)."""
    by_stem: dict[str, list[str]] = {}
    for rel in source_paths:
        by_stem.setdefault(str(PurePosixPath(rel).with_suffix("")).casefold(), []).append(rel)
    return {rel for group in by_stem.values() if len(group) > 1 for rel in group}


def process_item(item: Mapping[str, Any], ctx: ItemContext) -> dict[str, Any]:
    t0 = time.perf_counter()
    base = {
        "item_id": item["item_id"],
        "source_path": item["source_path"],
        "source_sha256": item.get("sha256"),
        "collection": item.get("collection"),
        "batch_id": ctx.batch_id,
        "sample_rate": item.get("sample_rate"),
        "channels": item.get("channels"),
        "frames": item.get("frames"),
        "duration_s": item.get("duration_s"),
        "pipeline_fingerprint": ctx.fingerprint,
        "acetate_version": acetate_version(),
        "engine": ctx.engine,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }
    if item.get("error"):
        return _finish(base, t0, status="failed", error=item["error"])
    if (too_short := _too_short(item)) is not None:
        return _finish(base, t0, status="skipped", review_reason=too_short, chain=[])
    try:
        return _process(item, ctx, base, t0)
    except OutputUnavailable:  # OUT is full or read-only: not this item's fault, so no terminal record
        raise
    except Exception as exc:  # one bad file must not stop the batch: record it and go on
        return _finish(base, t0, status="failed", error=f"{type(exc).__name__}: {exc}")


def _too_short(item: Mapping[str, Any]) -> str | None:
    frames, sr = int(item.get("frames") or 0), int(item.get("sample_rate") or 0)
    if frames == 0:
        return "no audio: the file holds 0 frames"
    if sr and frames < MIN_SECONDS * sr:
        return (f"too short to analyze: {frames} frame{'s' if frames > 1 else ''} ({1000 * frames / sr:.1f} ms; "
                f"at least {1000 * MIN_SECONDS:.0f} ms)")
    return None


def _process(item: Mapping[str, Any], ctx: ItemContext, base: dict[str, Any], t0: float) -> dict[str, Any]:
    src = source_file(ctx.source_root, item["source_path"])
    sr, ch = int(item["sample_rate"]), int(item["channels"])
    block = max(1, int(ctx.policy.data["block_seconds"] * sr))
    read = ReadStats()
    kinds = ctx.policy.for_item(item.get("collection"), None)
    thresholds = {k: float(kinds.kind(k)["threshold"]) for k in DETECTORS}
    kept = _KeptBlocks(read_blocks(src, block, read))
    analysis = analyze(kept, sr, ch, ctx.policy.detection(sr), thresholds)
    if read.frames != int(item["frames"]):
        raise SourceReadError(f"decoded {read.frames} frames, the header declares {item['frames']} "
                              "(truncated or corrupt stream)")
    if (nonfinite := read.nonfinite_reason()) is not None:
        analysis.reviews.append(nonfinite)
    t_analyzed = time.perf_counter()
    policy = ctx.policy.for_item(item.get("collection"), analysis.content)
    decision = decide(analysis.findings, analysis.content, policy, sr)
    fields = _analysis_fields(analysis, decision)
    timings = {"analyze_s": t_analyzed - t0}
    reasons = [*analysis.reviews, *decision.unsure] + [f"{k} found but no restorer is routed for it"
                                                       for k in decision.unrouted]
    review = "; ".join(reasons) or None
    if not decision.chain:
        status = "needs_review" if review else "clean"
        return _finish(base, t0, status=status, review_reason=review, chain=[], **fields, **timings)

    fmt, subtype, suffix = output_format(ch, item.get("subtype"))
    out_rel = output_rel_path(item["source_path"], suffix, bool(item.get("output_keeps_suffix")))
    out_path = Path(ctx.out) / out_rel
    hum = analysis.findings.get("hum")
    after = Measurer(sr, ch, skip=_not_remeasured(analysis, decision),
                     hum_families=(hum.params["family"],) if hum is not None and "family" in hum.params else None)
    prov = Provenance.from_record({**base, "chain": decision.chain.describe()}, item.get("subtype"), subtype)
    with AtomicAudioWriter(out_path, sr, ch, fmt, subtype, provenance=prov) as writer:
        for restored in restored_blocks(kept.replay() or read_blocks(src, block), decision.chain, sr, block):
            writer.write(restored)
            after.update(restored.clip(-1.0, 1.0) if subtype != "FLOAT" else restored)
        if writer.frames != int(item["frames"]):
            raise RuntimeError(f"restored {writer.frames} frames, source has {item['frames']}")
        writer.commit()
    if writer.clipped_samples:
        reasons.append(f"{writer.clipped_samples} restored samples exceeded full scale and were clipped")
        review = "; ".join(reasons)
    t_restored = time.perf_counter()
    measured = after.finish()
    fields.update({f"{m}_after": measured.get(m, analysis.measures.get(m)) for m in analysis.measures if m in MEASURES})
    return _finish(
        base, t0,
        status="needs_review" if review else "restored",
        review_reason=review,
        output_path=out_rel,
        output_sha256=sha256_file(out_path),
        coding_history=prov.coding_history,
        chain=decision.chain.describe(),
        restore_s=t_restored - t_analyzed,
        **fields, **timings,
    )


class _KeptBlocks:
    """The blocks of a source as analysis reads them, a copy kept while the whole file fits in
    KEEP_BYTES, so the restore pass of a short file need not decode it again (a second FLAC decode
    was ~7 % of the typical route on a 20 s file); a longer file is read again, memory stays bounded."""

    KEEP_BYTES = 48 << 20  # float32: 2.3 min of 44.1 kHz stereo, 26 min of 16 kHz mono

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._blocks = blocks
        self._kept: list[np.ndarray] | None = []
        self._bytes = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            if self._kept is not None:
                self._bytes += block.nbytes
                if self._bytes <= self.KEEP_BYTES:
                    self._kept.append(block.copy())  # a copy: listeners may work on the block in place
                else:
                    self._kept = None
            yield block

    def replay(self) -> Iterator[np.ndarray] | None:
        """The kept blocks, once (None when the file was too long to keep, or never read)."""
        kept, self._kept = self._kept, None
        return iter(kept) if kept else None


def restored_blocks(blocks: Iterator[np.ndarray], chain: Chain, sample_rate: int, block: int) -> Iterator[np.ndarray]:
    """The chain applied to a stream of blocks, each step over its own windows with its own context.

    A step re-reads only the context it needs (dehum's 8 s, declick's 72 ms), not the whole chain's:
    running every step over block + 2 x (sum of contexts) cost 3.3x the audio on the typical route.
    Each step still sees, in the middle of its window, what it would see on the whole file.
    A step with a long context keeps up to 2.5 times it per window (dehum: 20 s of a 36 s window, not
    10 of 26), as far as the window stays within `_WINDOW_SAMPLES`: so in mono, not in stereo at
    44.1 kHz and above, where the longer windows took 3 h of 44.1 kHz stereo from 949 to 1004 MB.
    """
    blocks = iter(blocks)
    first = next(blocks, None)
    if first is None:
        return iter(())
    blocks = itertools.chain([first], blocks)
    for step in chain.steps:
        ctx = int(round(step.context_s * sample_rate))
        keep = max(block, min(int(round(_KEEP_PER_CONTEXT * ctx)), _WINDOW_SAMPLES // first.shape[0] - 2 * ctx))
        blocks = _step_blocks(blocks, RESTORERS[step.op].fn, step.params, ctx, sample_rate, keep, block)
    return blocks


_KEEP_PER_CONTEXT = 2.5  # a window then reads at most 1.8x what it keeps
_WINDOW_SAMPLES = 2 * (441_000 + 2 * 352_800)  # frames x channels: 10 s with 8 s either side, 44.1 kHz stereo


def _step_blocks(blocks, fn, params, ctx: int, sample_rate: int, keep: int, block: int) -> Iterator[np.ndarray]:
    for win in stream_windows(blocks, keep, ctx):
        out = np.asarray(fn(win.audio, sample_rate, **params), dtype=np.float32)[:, win.keep]
        bound_heap()
        for start in range(0, out.shape[1], block):
            yield out[:, start : start + block]


# Kinds whose measure after restoration is taken again only when the chain acts on the kind or
# analysis saw it (found, or a hum level above the floor): no other step can add mains hum (every
# restorer subtracts, filters or fills; none synthesises steady lines) or change the speed (only
# dewow resamples), so the value before still holds, and their detectors are the costliest to run
# again (hum: a fifth of the typical route's time). Every other measure is always taken again:
# clicks, dropouts, clipping, bandwidth, SNR, DC, loudness and true peak are where a step's
# artefacts (block seams, gating, overshoot, dulling) would show. Where hum is measured again, it
# is the family (50 or 60 Hz) analysis found: the level of what dehum left of those lines.
_REMEASURED_IF_TOUCHED = ("hum", "wow")


def _not_remeasured(analysis: Analysis, decision: Decision) -> set[str]:
    touched = {step.fixes for step in decision.chain.steps} | {k for k, hit in decision.found.items() if hit}
    hum_before = analysis.measures.get("hum_db")
    if hum_before is not None and hum_before > HUM_FLOOR_DB:
        touched.add("hum")
    return set(_REMEASURED_IF_TOUCHED) - touched


def _analysis_fields(analysis: Analysis, decision: Decision) -> dict[str, Any]:
    fields: dict[str, Any] = {"content": analysis.content, "content_score": analysis.content_score}
    for kind, hit in decision.found.items():
        fields[f"has_{kind}"] = hit
        fields[f"{kind}_score"] = decision.scores[kind]
        if kind in analysis.findings:
            fields[f"{kind}_severity"] = float(analysis.findings[kind].severity)
    fields.update({f"{m}_before": v for m, v in analysis.measures.items() if m in MEASURES})
    return fields


def _finish(base: dict[str, Any], t0: float, **values: Any) -> dict[str, Any]:
    values.setdefault("total_s", time.perf_counter() - t0)
    return quality_record(**base, processed_at=datetime.now(UTC), **values)
