"""Registration of detectors, measures and restorers, so adding an op is a one-file change.

A module in `acetate.ops` registers itself with the decorators below; `load_all()` imports every
module of the package once, so routing and records discover ops without a central list.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .findings import Finding


class Detector(Protocol):
    """A streaming accumulator: fed (channels, frames) float32 blocks in order, then asked once.

    It may also define share(peers: {kind: detector}), called once before the first block by
    `link_detectors`, to read a peer's state instead of computing it again (bandwidth reads the
    noise detector's spectral floor)."""

    kind: str
    version: str

    def __init__(self, sample_rate: int, channels: int) -> None: ...

    def update(self, block: np.ndarray) -> None: ...

    def finish(self) -> Finding: ...


@dataclass(frozen=True)
class Restorer:
    """One restoration op as routing sees it.

    fn(audio (channels, frames) float32, sample_rate, **params) -> same shape, time-aligned.
    params_from(finding, sample_rate) turns the detector's finding into fn's keyword arguments.
    context_s: audio each side of a block that fn needs for a seamless result when a long file is
    processed block by block (filter settling, AR model support).
    model, model_version: the learned model fn runs, if any (recorded in the chain; engines give
    workers of chains with models a GPU share when there is one).
    """

    name: str
    fixes: str
    fn: Callable[..., np.ndarray]
    params_from: Callable[[Finding, int], Mapping[str, Any]]
    context_s: float
    version: str
    model: str | None = None
    model_version: str | None = None


DETECTORS: dict[str, type] = {}
RESTORERS: dict[str, Restorer] = {}
_loaded = False


def register_detector(cls: type) -> type:
    """Class decorator: the class has `kind`, `version`, `update`, `finish`."""
    if cls.kind in DETECTORS and DETECTORS[cls.kind] is not cls:
        raise ValueError(f"two detectors for {cls.kind!r}")
    DETECTORS[cls.kind] = cls
    return cls


def link_detectors(detectors: Iterable[Any]) -> None:
    """Let each detector that can read a peer's state (`share`) do so; call before the first block."""
    detectors = list(detectors)
    peers = {d.kind: d for d in detectors}
    for d in detectors:
        if hasattr(d, "share"):
            d.share(peers)


def register_restorer(restorer: Restorer) -> Restorer:
    if restorer.name in RESTORERS and RESTORERS[restorer.name] != restorer:
        raise ValueError(f"two restorers named {restorer.name!r}")
    RESTORERS[restorer.name] = restorer
    return restorer


def load_all() -> None:
    """Import every module of acetate.ops once so that they register."""
    global _loaded
    if _loaded:
        return
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__package__}.{info.name}")
    _loaded = True
