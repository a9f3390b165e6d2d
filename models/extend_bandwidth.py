"""Restorer `extend_bandwidth`: the learned bandwidth extension (models/bwe_net.py) as a routed op.

Routed where the bandwidth detector found a cut-off well below the file's Nyquist frequency; the
detector's severity is that cut-off in Hz. The restorer checks it against the input first
(models/bwe_cutoff.py): it is only ever raised, to the input's own edge, and where the input shows no
edge (no steep fall onto a dead top) nothing is rebuilt, since a cut-off below the true edge makes
the model add a second copy on top of content that is there.
"""

from __future__ import annotations

import numpy as np
import torch

from acetate.ops.chunked import apply_windowed
from acetate.ops.findings import Finding
from acetate.ops.registry import Restorer, register_restorer

from .bwe_cutoff import refine_cutoff
from .bwe_net import BweConfig, BweNet, extend
from .runtime import device, get_model, model_version

MODEL = "bwe"
CONTEXT_S = 0.75  # receptive field 0.62 s each side (two stacks of dilations 1..16)
_PIECE_S = 30.0


def _build(config: dict) -> BweNet:
    cfg = dict(config)
    cfg["dilations"] = tuple(cfg["dilations"])
    return BweNet(BweConfig(**cfg))


def _run(audio: np.ndarray, sample_rate: int, *, cutoff_hz: float, precision: str) -> np.ndarray:
    net = get_model(MODEL, _build, precision)
    dev = device() if precision == "float32" else torch.device("cpu")
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None].to(dev)
    with torch.inference_mode():
        return extend(net, x, sample_rate, cutoff_hz)[0].cpu().numpy()


def extend_bandwidth(audio: np.ndarray, sample_rate: int, *, cutoff_hz: float,
                     precision: str = "float32", refine: bool = True) -> np.ndarray:
    """Rebuild the band above `cutoff_hz` (up to the Nyquist frequency, at most 24 kHz), or above the
    input's own edge where that lies higher (refine=True; no edge in the input: returned unchanged).

    audio: (channels, frames) float32. Returns the same shape, time-aligned; below the cut-off the
    signal is unchanged. precision: "float32" (GPU when present) or "int8" (CPU).
    """
    if refine and audio.shape[1]:
        cutoff_hz = refine_cutoff(audio, sample_rate, cutoff_hz) or sample_rate
    if audio.shape[1] == 0 or cutoff_hz >= 0.49 * sample_rate:
        return audio.copy()
    if audio.shape[1] <= _PIECE_S * sample_rate:
        return _run(audio, sample_rate, cutoff_hz=cutoff_hz, precision=precision)
    return apply_windowed(_run, audio, sample_rate, block_s=_PIECE_S, context_s=CONTEXT_S,
                          cutoff_hz=cutoff_hz, precision=precision)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {"cutoff_hz": float(finding.severity)}


register_restorer(Restorer("extend_bandwidth", "bandwidth", extend_bandwidth, _params, context_s=CONTEXT_S,
                           version="1", model=MODEL, model_version=model_version(MODEL)))
