"""What a worker asks the cluster for: one CPU each, and a share of a GPU when the policy routes
items to neural ops and the cluster has GPUs (the models code picks the device inside the worker)."""

from __future__ import annotations

import math

from acetate.models import load_all
from acetate.ops.registry import RESTORERS

from ..policy import Policy


def routed_ops(policy: Policy) -> set[str]:
    """Every op the policy can route an item to (defaults, content and collection overrides)."""
    data = policy.data
    layers = [data, *data.get("content", {}).values(), *data.get("collections", {}).values()]
    ops = set()
    for layer in layers:
        for kind in layer.get("kinds", {}).values():
            if isinstance(kind, dict) and kind.get("op"):
                ops.add(kind["op"])
    return ops


def uses_models(policy: Policy) -> bool:
    """True when a routed op runs a neural model (its Restorer names one in `model`)."""
    load_all()
    return any(getattr(RESTORERS.get(op), "model", None) for op in routed_ops(policy))


def gpus_per_worker(requested: float | None, policy: Policy, cluster_gpus: float, workers: int) -> float:
    """The `num_gpus` of each worker: as requested, or (None) an even share of the cluster's GPUs,
    at most one each, when the policy uses models; 0 otherwise."""
    if requested is not None:
        if requested < 0:
            raise ValueError("gpus per worker must be >= 0")
        return float(requested)
    if cluster_gpus <= 0 or workers < 1 or not uses_models(policy):
        return 0.0
    return min(1.0, math.floor(cluster_gpus / workers * 1e4) / 1e4)  # Ray counts in 1e-4 units
