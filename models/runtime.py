"""Where and how models run: device choice, one load per process, optional int8.

A worker (Ray actor, Beam DoFn, the local loop) loads each model the first time an item needs it and
keeps it for every later item. CUDA is used when present (ACETATE_DEVICE=cpu|cuda overrides);
`int8` applies dynamic quantization to the pointwise layers on CPU.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import torch
from torch import nn

from .weights_io import load_weights, read_manifest

_CACHE: dict[tuple[str, str, str], nn.Module] = {}
_LOCK = threading.Lock()
PRECISIONS = ("float32", "int8")


def device() -> torch.device:
    choice = os.environ.get("ACETATE_DEVICE", "").strip().lower()
    if choice:
        return torch.device(choice)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_version(name: str) -> str:
    """'<recipe version>+<first 8 hex of the weights' SHA-256>': changes whenever the weights do."""
    entry = read_manifest().get(name)
    return f"{entry['version']}+{entry['sha256'][:8]}" if entry else "missing"


def get_model(name: str, build: Callable[[dict], nn.Module], precision: str = "float32") -> nn.Module:
    """The named model in eval mode on `device()`, built by build(config) and loaded once."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: expected one of {PRECISIONS}")
    dev = device()
    if precision == "int8":
        dev = torch.device("cpu")  # dynamic quantization is a CPU feature
    key = (name, precision, str(dev))
    with _LOCK:
        if key not in _CACHE:
            state, entry = load_weights(name)
            net = build(entry["config"])
            net.load_state_dict(state)
            net.eval()
            if precision == "int8":
                net = quantize_int8(net)
            _CACHE[key] = net.to(dev)
        return _CACHE[key]


class _Pointwise(nn.Module):
    """A kernel-1 Conv1d as a Linear over channels, so dynamic quantization can take it."""

    def __init__(self, conv: nn.Conv1d) -> None:
        super().__init__()
        self.linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
        self.linear.weight.data.copy_(conv.weight.data[:, :, 0])
        if conv.bias is not None:
            self.linear.bias.data.copy_(conv.bias.data)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.transpose(1, 2)).transpose(1, 2)


def _swap_pointwise(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Conv1d) and child.kernel_size == (1,) and child.groups == 1:
            setattr(module, name, _Pointwise(child))
        else:
            _swap_pointwise(child)


def quantize_int8(net: nn.Module) -> nn.Module:
    """Pointwise layers to int8 weights with dynamic activation quantization (CPU)."""
    import copy

    net = copy.deepcopy(net).cpu()
    _swap_pointwise(net)
    return torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)
