"""Scoring one system's outputs for the test set, file by file, against the clean references."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

from acetate.ops.measures import Measurer

from . import metrics


def _read(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(path, dtype="float64", always_2d=True)
    return data.T, sr


def _hum_db(x: np.ndarray, sr: int) -> float | None:
    m = Measurer(sr, x.shape[0])
    m.update(x.astype(np.float32))
    return m.finish()["hum_db"]


def score_file(row: dict, root: Path, restored_path: Path | None) -> dict:
    """Measures of one restored file (None: the system left the file untouched)."""
    ref, sr = _read(root / row["ref_path"])
    degraded, _ = _read(root / row["path"])
    restored = degraded if restored_path is None else _read(restored_path)[0]
    if restored.shape != ref.shape:
        raise ValueError(f"{row['path']}: output shape {restored.shape} differs from {ref.shape}")
    kinds = set(filter(None, row["kinds"].split(",")))
    out = {
        "si_sdr_in": metrics.si_sdr(ref, degraded),
        "si_sdr_out": metrics.si_sdr(ref, restored),
        "level_db": metrics.level_change_db(ref, restored),
        "touched": restored_path is not None,
    }
    if "noise" in kinds and row["content"] == "speech":
        out["pesq_in"] = metrics.pesq_wb(ref, degraded, sr)
        out["pesq_out"] = metrics.pesq_wb(ref, restored, sr)
        out["stoi_in"] = metrics.stoi(ref, degraded, sr)
        out["stoi_out"] = metrics.stoi(ref, restored, sr)
    if "bandwidth" in kinds:
        out["lsd_in"] = metrics.log_spectral_distance(ref, degraded, sr)
        out["lsd_out"] = metrics.log_spectral_distance(ref, restored, sr)
    if "clicks" in kinds:
        regions = json.loads(row["regions"]).get("clicks", [])
        out["clicks_in"] = len(regions) / (ref.shape[-1] / sr / 60)
        out["clicks_out"] = metrics.residual_clicks_per_min(ref, degraded, restored, regions, sr)
    if "hum" in kinds:
        out["hum_db_in"] = _hum_db(degraded, sr)
        out["hum_db_out"] = _hum_db(restored, sr)
    if "rumble" in kinds:
        out["subsonic_db_in"] = metrics.subsonic_db(degraded, sr)
        out["subsonic_db_out"] = metrics.subsonic_db(restored, sr)
    if "dc_offset" in kinds:
        out["dc_in"] = metrics.residual_dc(degraded, ref)
        out["dc_out"] = metrics.residual_dc(restored, ref)
    return out
