"""Bandwidth extension quality for `benchmarks/models.py`: log-spectral distance per group.

On the corpus's test split (speech and music, 16 kHz mono and 44.1/48 kHz stereo, as the quality
benchmark groups them), each clip is band-limited by the simulator at its "moderate" severity
(mp3, am, 78rpm or lowpass at 4.5-7 kHz), then scored with the quality benchmark's LSD
(benchmarks/quality_lib/metrics.py) for: the band-limited input, the spectral-folding baseline, the
restorer `extend_bandwidth` told the true cut-off, the same told the cut-off the DSP bandwidth
detector (ops/bandwidth.py) reports (its severity, found or not), and the bare model told the true
cut-off without the restorer's check of the cut-off against the input (models/bwe_cutoff.py).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf
import torch
from quality_lib.metrics import log_spectral_distance

from acetate.models.bwe_net import fold
from acetate.models.extend_bandwidth import extend_bandwidth
from acetate.ops.bandwidth import BandwidthDetector
from acetate.ops.degrade import degrade

GROUPS = (("16k-mono", {(16000, 1)}), ("44.1-48k-stereo", {(44100, 2), (48000, 2)}))
SYSTEMS = ("input", "folding", "model", "model_detected", "model_unchecked")


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def _detected_cutoff(x: np.ndarray, sr: int) -> float:
    det = BandwidthDetector(sr, x.shape[0])
    for i in range(0, x.shape[1], 10 * sr):
        det.update(x[:, i: i + 10 * sr])
    return float(det.finish().severity)


def bwe_quality(corpus, per_group: int = 8, max_seconds: float = 10.0) -> list[dict]:
    """One row per (set, content): mean LSD (dB) of each system, clip count, how often the detector
    found an edge below 0.45 x the rate and its median absolute cut-off error (Hz) where it did."""
    manifest = pq.read_table(corpus / "manifest.parquet").to_pylist()
    rows = []
    for set_name, formats in GROUPS:
        for content in ("speech", "music"):
            clips = [r for r in manifest if r["split"] == "test" and r["content"] == content
                     and (r["sample_rate"], r["channels"]) in formats][:per_group]
            lsd = {s: [] for s in SYSTEMS}
            errors, found = [], 0
            for clip in clips:
                sr = int(clip["sample_rate"])
                x, _ = sf.read(corpus / clip["path"], dtype="float32", always_2d=True, frames=int(max_seconds * sr))
                clean = np.ascontiguousarray(x.T)
                limited, label = degrade(clean, sr, ["bandwidth"], "moderate", seed=_seed("bwe", clip["id"]))
                cutoff = float(label["steps"][0]["params"]["cutoff_hz"])
                detected = _detected_cutoff(limited, sr)
                if detected < 0.45 * sr:
                    found += 1
                    errors.append(abs(detected - cutoff))
                with torch.inference_mode():
                    folded = fold(torch.from_numpy(limited)[None], sr, cutoff)[0].numpy()
                outs = {"input": limited, "folding": folded, "model": extend_bandwidth(limited, sr, cutoff_hz=cutoff),
                        "model_detected": extend_bandwidth(limited, sr, cutoff_hz=detected),
                        "model_unchecked": extend_bandwidth(limited, sr, cutoff_hz=cutoff, refine=False)}
                for s, y in outs.items():
                    lsd[s].append(log_spectral_distance(clean, y, sr))
            rows.append({"set": set_name, "content": content, "clips": len(clips),
                         **{s: float(np.mean(v)) for s, v in lsd.items()},
                         "cutoff_error_hz": float(np.median(errors)) if errors else None, "edge_found": found})
    return rows


def _opt(row: dict, key: str) -> str:
    return "-" if row.get(key) is None else f"{row[key]:.3f}"


def bwe_markdown(rows: list[dict], per_group: int) -> list[str]:
    lines = ["", "## Bandwidth extension: log-spectral distance on the test split (dB, lower is better)", "",
             f"First {per_group} test clips per group (at most 10 s), band-limited by the simulator at \"moderate\" "
             "severity (mp3/am/78rpm/lowpass, 4.5-7 kHz); the quality benchmark's full-band LSD. `model` is the "
             "restorer told the true cut-off, `model, detected` the restorer told the cut-off ops/bandwidth.py reports "
             "(found or not); the restorer raises a cut-off to the input's own edge and leaves a file without one "
             "as it is (models/bwe_cutoff.py). `model, unchecked`: the network told the true cut-off, no check.",
             "", "| set | content | clips | input | folding | model | model, detected | model, unchecked | "
             "detector: edges found | detector: median cut-off error where found, Hz |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['set']} | {r['content']} | {r['clips']} | {r['input']:.3f} | {r['folding']:.3f} | {r['model']:.3f} | "
              f"{r['model_detected']:.3f} | {_opt(r, 'model_unchecked')} | {r['edge_found']}/{r['clips']} | "
              f"{'-' if r['cutoff_error_hz'] is None else round(r['cutoff_error_hz'])} |" for r in rows]
    return lines
