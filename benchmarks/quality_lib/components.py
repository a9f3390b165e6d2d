"""acetate's learned models run alone, as benchmark systems beside the peers (in acetate's venv).

The end-to-end `acetate` row is what a user gets (detection, routing, the whole chain); these rows
isolate one model on the files of its kind (plus clean files, do no harm), so it can be compared
with the peers that do only that one thing:
- acetate_denoise / acetate_denoise_int8: the denoiser (float32 / int8), strength as the default
  policy sets it for the clip's content;
- acetate_bwe: bandwidth extension told the simulator's cut-off (the detector's error is in the
  end-to-end row);
- spectral_folding: the baseline bandwidth extension is measured against (mirror the band below
  the cut-off, same oracle cut-off).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

COMPONENTS = ("acetate_denoise", "acetate_denoise_int8", "acetate_bwe", "spectral_folding")
_KIND = {"acetate_denoise": "noise", "acetate_denoise_int8": "noise", "acetate_bwe": "bandwidth",
         "spectral_folding": "bandwidth"}


def _denoiser(precision: str) -> Callable[[np.ndarray, int, dict], np.ndarray]:
    from acetate.models.denoise import denoise
    from acetate.pipelines.policy import Policy

    policy = Policy.load()

    def run(x: np.ndarray, sr: int, row: dict) -> np.ndarray:
        params = policy.for_item(None, row["content"]).kind("noise").get("params", {})
        return denoise(x, sr, **{**params, "precision": precision})
    return run


def _cutoff(row: dict) -> float:
    return float(json.loads(row["params"])["bandwidth"]["cutoff_hz"])


def _bwe(x: np.ndarray, sr: int, row: dict) -> np.ndarray:
    from acetate.models.extend_bandwidth import extend_bandwidth

    return extend_bandwidth(x, sr, cutoff_hz=_cutoff(row))


def _fold(x: np.ndarray, sr: int, row: dict) -> np.ndarray:
    from acetate.models.bwe_net import fold

    with torch.inference_mode():
        return fold(torch.from_numpy(x)[None], sr, _cutoff(row))[0].numpy()


def _runner(name: str) -> Callable[[np.ndarray, int, dict], np.ndarray]:
    if name.startswith("acetate_denoise"):
        return _denoiser("int8" if name.endswith("int8") else "float32")
    return {"acetate_bwe": _bwe, "spectral_folding": _fold}[name]


def component_rows(rows: list[dict], name: str, clean_per_group: int) -> list[dict]:
    kind = _KIND[name]
    target = [r for r in rows if kind in r["kinds"].split(",")]
    if kind != "noise":
        return target
    clean, seen = [], {}
    for r in rows:
        key = (r["set"], r["content"])
        if not r["kinds"] and seen.get(key, 0) < clean_per_group:
            seen[key] = seen.get(key, 0) + 1
            clean.append(r)
    return target + clean


def run_component(name: str, rows: list[dict], root: Path, work: Path, clean_per_group: int) -> dict[str, Path]:
    """{source path: output path} for the files the component ran on."""
    run = _runner(name)
    outputs = {}
    for r in component_rows(rows, name, clean_per_group):
        x, sr = sf.read(root / r["path"], dtype="float32", always_2d=True)
        y = run(np.ascontiguousarray(x.T), sr, r)
        dst = work / name / r["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        sf.write(dst, y.T, sr, subtype="FLOAT")
        outputs[r["path"]] = dst
    return outputs
