"""Learned models: networks, their committed weights, training recipes and inference wrappers.

Model-backed restorers and detectors register into the same registry as the DSP ops
(`acetate.ops.registry`), so routing, chains and records treat them alike. `load_all()` registers
the DSP ops and then every model module here; pipelines call it instead of the ops' own.
"""

from __future__ import annotations

import importlib

from acetate.ops.registry import load_all as _load_ops

# Modules that register model-backed ops, and the model each needs (imported on first use, and only
# when that model's weights are installed: without them the kind is reported as unrouted).
OP_MODULES: dict[str, str] = {"denoise": "denoiser", "extend_bandwidth": "bwe"}
_loaded = False


def load_all() -> None:
    global _loaded
    _load_ops()
    if not _loaded:
        from .weights_io import read_manifest

        installed = read_manifest()
        for module, model in OP_MODULES.items():
            if model in installed:
                importlib.import_module(f"{__name__}.{module}")
        _loaded = True


def installed_models() -> dict[str, str]:
    """{model name: version} of every model whose weights are installed."""
    from .runtime import model_version
    from .weights_io import read_manifest

    return {name: model_version(name) for name in sorted(read_manifest())}
