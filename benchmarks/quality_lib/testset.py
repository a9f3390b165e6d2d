"""The degraded test set: clean clips from the corpus's held-out test split, each given a few
degradations by the simulator with a fixed seed, written as an archive with a manifest.

Every clip gets its clean version (do no harm), three single kinds (rotating, so every kind is
covered evenly) and one combination of two or three kinds in physical order, all at moderate severity.
Every other clip also gets rumble alone (added after the rotation was fixed, so that the other
variants, and the peers' outputs for them, stay as they were).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import soundfile as sf

from acetate.ops import degrade

KINDS = ("noise", "hum", "clicks", "clipping", "bandwidth", "dropouts", "wow", "dc_offset")
COMBOS = (("hum", "noise"), ("noise", "clicks"), ("clipping", "dc_offset"), ("bandwidth", "noise", "clicks"),
          ("wow", "noise"), ("dropouts", "hum"), ("hum", "clicks", "clipping"))
EXTRA_KINDS = ("rumble",)
SCORED_KINDS = KINDS + EXTRA_KINDS
SETS = {"16k-mono": {(16000, 1)}, "44.1-48k-stereo": {(44100, 2), (48000, 2)}}
SEVERITY = "moderate"


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def variants_for(index: int) -> list[tuple[str, tuple[str, ...]]]:
    """(variant name, kinds) for the index-th clip of a (set, content) group."""
    singles = [KINDS[(3 * index + j) % len(KINDS)] for j in range(3)]
    combo = COMBOS[index % len(COMBOS)]
    extra = [(k, (k,)) for k in EXTRA_KINDS] if index % 2 == 0 else []
    return [("clean", ())] + [(k, (k,)) for k in singles] + [("+".join(combo), combo)] + extra


def _write(path: Path, audio: np.ndarray, sample_rate: int, subtype: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(audio, -1.0, 1.0).T, sample_rate, subtype=subtype)


def build_testset(corpus: Path, root: Path, *, seed: int, clips_per_group: int | None,
                  max_seconds: float, split: str = "test", severity: str = SEVERITY) -> pa.Table:
    """Write the test archive under ROOT and return its manifest (also written as manifest.csv).

    split: the corpus split the clips come from ("validation" for choosing settings, "test" to report).
    """
    manifest = pq.read_table(corpus / "manifest.parquet").to_pylist()
    rows = []
    for set_name, formats in SETS.items():
        for content in ("speech", "music"):
            clips = [r for r in manifest if r["split"] == split and r["content"] == content
                     and (r["sample_rate"], r["channels"]) in formats]
            for index, clip in enumerate(clips[:clips_per_group]):
                rows += _clip_variants(corpus, root, set_name, clip, index, seed, max_seconds, severity)
    table = pa.Table.from_pylist(rows)
    pacsv.write_csv(table, root / "manifest.csv")
    return table


def _clip_variants(corpus: Path, root: Path, set_name: str, clip: dict, index: int, seed: int,
                   max_seconds: float, severity: str = SEVERITY) -> list[dict]:
    audio, sr = sf.read(corpus / clip["path"], dtype="float32", always_2d=True, frames=int(max_seconds * clip["sample_rate"]))
    clean = np.ascontiguousarray(audio.T)
    ref = Path("refs") / set_name / f"{clip['id']}.wav"
    if not (root / ref).exists():
        _write(root / ref, clean, sr, "FLOAT")
    rows = []
    for variant, kinds in variants_for(index):
        rel = Path(set_name) / clip["content"] / f"{clip['id']}__{variant}.wav"
        label: dict = {"kinds": [], "regions": {}}
        if kinds:
            degraded, label = degrade.degrade(clean, sr, list(kinds), severity, seed=_seed(seed, clip["id"], variant))
        else:
            degraded = clean
        if not (root / rel).exists():
            _write(root / rel, degraded, sr, "PCM_24")
        rows.append({
            "path": str(rel), "set": set_name, "content": clip["content"], "clip_id": clip["id"],
            "variant": variant, "kinds": ",".join(kinds), "severity": severity if kinds else "none",
            "ref_path": str(ref), "sample_rate": sr, "channels": clean.shape[0],
            "duration_s": clean.shape[1] / sr, "regions": json.dumps(label.get("regions", {})),
            "params": json.dumps({step["kind"]: step["params"] for step in label.get("steps", [])}, default=float),
            "voice_or_piece": clip.get("voice") or clip.get("piece"),
        })
    return rows
