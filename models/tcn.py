"""Temporal convolution blocks: the sequence model the learned models share.

Dilated depthwise-separable 1-D convolutions (Conv-TasNet style) rather than a GRU: on a CPU they
run all frames in parallel, which makes training here ~6x faster and inference far cheaper, and a
stack of dilations 1..32 twice sees +-2.5 s of context. `causal=True` pads on the left only, so the
same block runs as a streaming (no look-ahead) model.
Reference: Y. Luo and N. Mesgarani, "Conv-TasNet", IEEE/ACM TASLP 27 (2019).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class TCNBlock(nn.Module):
    """x + pointwise(PReLU(BatchNorm(depthwise dilated conv(x)))); (batch, channels, frames)."""

    def __init__(self, channels: int, dilation: int, kernel: int = 3, causal: bool = False) -> None:
        super().__init__()
        span = dilation * (kernel - 1)
        self.pad = (span, 0) if causal else (span // 2, span - span // 2)
        self.depthwise = nn.Conv1d(channels, channels, kernel, dilation=dilation, groups=channels)
        self.norm = nn.BatchNorm1d(channels)
        self.act = nn.PReLU(channels)
        self.pointwise = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pointwise(self.act(self.norm(self.depthwise(F.pad(x, self.pad)))))


def tcn(channels: int, dilations: tuple[int, ...], causal: bool = False) -> nn.Sequential:
    return nn.Sequential(*[TCNBlock(channels, d, causal=causal) for d in dilations])
