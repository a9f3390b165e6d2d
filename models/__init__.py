"""Learned models: networks, their committed weights, training recipes and inference wrappers.

Model-backed restorers and detectors register into the same registry as the DSP ops
(`acetate.ops.registry`), so routing, chains and records treat them alike. `load_all()` registers
the DSP ops and then every model module here; pipelines call it instead of the ops' own.
"""

from __future__ import annotations

import importlib

from acetate.ops.registry import load_all as _load_ops

# Modules that register model-backed ops (imported on first use: they import torch).
OP_MODULES: tuple[str, ...] = ("denoise",)
_loaded = False


def load_all() -> None:
    global _loaded
    _load_ops()
    if not _loaded:
        for name in OP_MODULES:
            importlib.import_module(f"{__name__}.{name}")
        _loaded = True
