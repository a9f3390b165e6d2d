"""Restorer `denoise`: the learned denoiser (models/denoiser_net.py) as a routed op.

Routed only where the noise detector fired; the policy sets how much of what it removes is kept
(`keep_db`: music keeps a little of its noise floor, and with it its ambience, instead of the
"underwater" sound of a full mask), and the precision (float32, or int8 on CPU).
"""

from __future__ import annotations

import numpy as np
import torch

from acetate.ops.chunked import apply_windowed
from acetate.ops.findings import Finding
from acetate.ops.registry import Restorer, register_restorer

from .denoiser_net import DenoiserConfig, DenoiserNet, enhance
from .runtime import device, get_model, model_version

MODEL = "denoiser"
CONTEXT_S = 1.5  # the network's receptive field is 1.27 s each side (two stacks of dilations 1..32)
_PIECE_S = 30.0  # longer inputs run piece by piece, so memory stays bounded whatever the window


def _build(config: dict) -> DenoiserNet:
    cfg = dict(config)
    cfg["dilations"] = tuple(cfg["dilations"])
    return DenoiserNet(DenoiserConfig(**cfg))


def _run(audio: np.ndarray, sample_rate: int, *, keep: float, precision: str) -> np.ndarray:
    net = get_model(MODEL, _build, precision)
    dev = device() if precision == "float32" else torch.device("cpu")
    x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None].to(dev)
    with torch.inference_mode():
        y = enhance(net, x, sample_rate)
        if keep > 0:
            y = y + keep * (x - y)
    return y[0].cpu().numpy()


def denoise(audio: np.ndarray, sample_rate: int, *, keep_db: float = -60.0,
            precision: str = "float32") -> np.ndarray:
    """Remove broadband noise (hiss, surface roar, amplifier noise) with the learned denoiser.

    audio: (channels, frames) float32, any rate (8-192 kHz). Returns the same shape, time-aligned.
    keep_db: level of the removed part that is mixed back (-60: practically all removed; -15 keeps
    a faint floor, which music needs). precision: "float32" (GPU when present) or "int8" (CPU).
    """
    if audio.shape[1] == 0:
        return audio.copy()
    keep = 10 ** (keep_db / 20) if keep_db > -60 else 0.0
    if audio.shape[1] <= _PIECE_S * sample_rate:
        return _run(audio, sample_rate, keep=keep, precision=precision)
    return apply_windowed(_run, audio, sample_rate, block_s=_PIECE_S, context_s=CONTEXT_S, keep=keep,
                          precision=precision)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {}


register_restorer(Restorer("denoise", "noise", denoise, _params, context_s=CONTEXT_S, version="1",
                           model=MODEL, model_version=model_version(MODEL)))
