"""Small helpers shared by the ops modules (not an op: the leading underscore keeps load_all out)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


def logistic(x: float) -> float:
    """1 / (1 + e^-x), safe for any finite or infinite x."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-min(x, 700.0)))
    e = math.exp(max(x, -700.0))
    return e / (1.0 + e)


def as_block(block: np.ndarray, channels: int) -> np.ndarray:
    """A (channels, frames) float64 view of a block; a 1-D block is taken as one channel."""
    x = np.asarray(block, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.shape[0] != channels:
        raise ValueError(f"block has {x.shape[0]} channels, expected {channels}")
    return x


def spans(starts: np.ndarray, ends: np.ndarray, merge: float) -> list[tuple[float, float]]:
    """Merge sorted (start, end) spans whose gap is below `merge`."""
    out: list[tuple[float, float]] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if out and s - out[-1][1] < merge:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


_BLAS: list[tuple[object, object]] | None = None


def _openblas() -> list[tuple[object, object]]:
    """(get, set) thread-count functions of every OpenBLAS loaded in this process (Linux only)."""
    global _BLAS
    if _BLAS is None:
        _BLAS = []
        try:
            import ctypes
            import re

            with open("/proc/self/maps") as f:
                paths = sorted({p for p in re.findall(r"(/\S+\.so[.\d]*)", f.read()) if "openblas" in p.lower()})
            for path in paths:
                lib = ctypes.CDLL(path)
                for prefix in ("scipy_", ""):
                    for suffix in ("64_", ""):
                        get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
                        put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
                        if get is not None and put is not None:
                            _BLAS.append((get, put))
        except Exception:  # no /proc, no ctypes, an unusual build: leave threading alone
            _BLAS = []
    return _BLAS


@contextmanager
def single_thread_blas() -> Iterator[None]:
    """Run many small linear-algebra calls with OpenBLAS on one thread.

    Thousands of tiny LAPACK solves (one per clipped run) spend far longer synchronising BLAS
    threads than computing, ten times longer on a busy machine; the previous counts are restored.
    """
    libs = _openblas()
    before = [get() for get, _ in libs]
    for _, put in libs:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(libs, before, strict=True):
            put(n)
