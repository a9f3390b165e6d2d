"""A batch of synthetic quality records, built column-wise (a million rows in seconds), with known
content so report and query tests can check their numbers: for the report's scale benchmark and
for tests of sections the demo batch leaves empty (review queue, many collections, failures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from acetate.catalog.schema import CHAIN_STEP, KINDS, MEASURES, QUALITY_SCHEMA, SCHEMA_VERSION
from acetate.catalog.store import write_quality

STATUS_P = {"restored": 0.6, "clean": 0.25, "needs_review": 0.08, "failed": 0.05, "skipped": 0.02}
ERRORS = ("unreadable audio", "PermissionError", "RuntimeError")
REASONS = ("hum score {s:.2f} is within 0.1 of the threshold", "{n} restored samples exceeded full scale and were clipped")


def synthetic_table(n: int, collections: int = 40, seed: int = 0) -> pa.Table:
    """n records of QUALITY_SCHEMA. Restored and needs_review items with has_hum have a dehum
    chain and hum_db -30 -> -80 (every 10th gets worse instead, -30 -> -25); has_clipping items
    with a copy go from clipped_fraction 0.01 to 0.001 (with no declip step in their chain)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    status = rng.choice(list(STATUS_P), size=n, p=list(STATUS_P.values()))
    failed, review = status == "failed", status == "needs_review"
    has_out = (status == "restored") | review
    cols: dict[str, pa.Array | np.ndarray | list] = {
        "schema_version": np.full(n, SCHEMA_VERSION, np.int16),
        "item_id": pa.array([f"{i:016x}" for i in idx]),
        "source_path": pa.array([f"coll-{i % collections:03d}/file-{i:07d}.wav" for i in idx]),
        "collection": pa.array([f"coll-{i % collections:03d}" for i in idx]),
        "processed_at": pa.array(np.datetime64("2026-11-25T17:00:00", "us") + idx.astype("timedelta64[ms]"),
                                 pa.timestamp("us", tz="UTC")),
        "status": pa.array(status),
        "output_path": pa.array(np.where(has_out, [f"restored/file-{i:07d}.flac" for i in idx], None)),
        "error": pa.array(np.where(failed, [f"{ERRORS[i % 3]}: detail {i}" for i in idx], None)),
        "review_reason": pa.array(np.where(review, [REASONS[i % 2].format(s=0.5 + (i % 9) / 100, n=i % 500 + 1)
                                                    for i in idx], None)),
        "sample_rate": np.full(n, 44100, np.int32), "channels": np.full(n, 2, np.int32),
        "duration_s": rng.uniform(30, 3600, n), "content": pa.array(np.where(idx % 3, "speech", "music")),
        "analyze_s": rng.uniform(0.5, 20, n), "restore_s": rng.uniform(0.5, 60, n),
    }
    cols["frames"] = (cols["duration_s"] * 44100).astype(np.int64)
    cols["total_s"] = cols["analyze_s"] + cols["restore_s"]
    for k in KINDS:
        score = rng.uniform(0, 1, n)
        cols[f"{k}_score"], cols[f"has_{k}"] = score, score >= 0.5
    for m in MEASURES:
        before = rng.normal(20, 5, n)
        cols[f"{m}_before"], cols[f"{m}_after"] = before, np.where(has_out, before, np.nan)
    hum = cols["has_hum"] & has_out
    cols["hum_db_before"] = np.where(hum, -30.0, -120.0)
    cols["hum_db_after"] = np.where(hum, np.where(idx % 10 == 0, -25.0, -80.0), -120.0)
    clip = cols["has_clipping"] & has_out
    cols["clipped_fraction_before"] = np.where(clip, 0.01, 0.0)
    cols["clipped_fraction_after"] = np.where(clip, 0.001, 0.0)
    steps = pa.array([{"op": "dehum", "fixes": "hum", "version": "2", "model": None, "model_version": None,
                       "params": json.dumps({"fundamental": 50.0})}], CHAIN_STEP)
    offsets = np.concatenate([[0], np.cumsum(hum)]).astype(np.int32)  # dehum on the hum items with a copy
    cols["chain"] = pa.ListArray.from_arrays(pa.array(offsets), steps.take(pa.array(np.zeros(int(hum.sum()), np.int64))))
    for name in ("snr_db_after", "hum_db_after", "clipped_fraction_after"):
        cols[name] = np.where(has_out, cols[name], np.nan)
    arrays = []
    for f in QUALITY_SCHEMA:
        v = cols.get(f.name)
        if v is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(v, np.ndarray) and v.dtype.kind == "f":
            arrays.append(pa.array(v, f.type, mask=np.isnan(v)))
        else:
            arrays.append(pa.array(v, f.type) if not isinstance(v, pa.Array) else v.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=QUALITY_SCHEMA)


def write_synthetic_batch(out: Path, batch: str, n: int, parts: int = 4, **kw) -> pa.Table:
    """Write n synthetic records as `parts` parts of one batch; returns the table."""
    table = synthetic_table(n, **kw)
    step = -(-n // parts)
    for i in range(parts):
        write_quality(out, batch, table.slice(i * step, step), part_name=f"{i:05d}")
    return table
