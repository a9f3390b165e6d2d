"""The per-worker processor: loads what is expensive (registries, models) once, then processes items.

Ray actors and Beam DoFns hold one of these; the local engine uses one directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from acetate.models import load_all

from .item import ItemContext, process_item


def limit_threads(n: int = 1) -> None:
    """One worker per core: keep BLAS and torch from oversubscribing the machine."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))
    try:
        import torch

        torch.set_num_threads(n)
    except Exception:  # torch absent or already configured: nothing to limit
        pass


class ItemProcessor:
    def __init__(self, ctx: ItemContext) -> None:
        self.ctx = ctx
        load_all()

    def __call__(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return process_item(item, self.ctx)
