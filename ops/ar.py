"""Autoregressive (AR) modelling and least-squares AR interpolation of missing samples.

Shared by declipping (and later declicking and gap filling): the samples to restore are marked
missing and re-estimated from an AR model fitted to their known neighbourhood.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.linalg import solveh_banded

from ._util import single_thread_blas


def ar_fit(x: np.ndarray, known: np.ndarray | None = None, order: int = 32,
           regularization: float = 1e-5) -> np.ndarray:
    """AR prediction-error filter of a 1-D signal by the modified covariance method.

    x: (frames,) float; known: (frames,) bool, only windows of order+1 known samples are used.
    Returns a: (order+1,) with a[0] = 1, so that e[n] = sum_j a[j] x[n-j] is the prediction error.
    Forward and backward prediction share the coefficients (stable and unbiased on short data);
    `regularization` loads the diagonal relative to the signal power, which keeps the model
    well conditioned on near-silent or purely tonal stretches.
    Reference: S. M. Kay, Modern Spectral Estimation (1988), ch. 7 (modified covariance method).
    """
    x = np.asarray(x, dtype=np.float64)
    p = int(order)
    if known is None:
        known = np.ones(x.shape, dtype=bool)
    if x.size < p + 1:
        return np.concatenate([[1.0], np.zeros(p)])
    bad = np.concatenate([[0], np.cumsum(~known)])
    ok = (bad[p + 1:] - bad[:-p - 1]) == 0
    w = sliding_window_view(x, p + 1)[ok]
    if w.shape[0] == 0:
        return np.concatenate([[1.0], np.zeros(p)])
    rows = np.concatenate([w, w[:, ::-1]])  # forward and backward prediction
    reg, target = rows[:, :p], rows[:, p]
    # einsum, not BLAS: these products are small and many, and threaded BLAS on a busy machine
    # spends far longer synchronising than computing.
    gram = np.einsum("ij,ik->jk", reg, reg)
    load = regularization * np.trace(gram) / p + 1e-12
    c = np.linalg.solve(gram + load * np.eye(p), np.einsum("ij,i->j", reg, target))
    return np.concatenate([[1.0], -c[::-1]])


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.concatenate([[0], mask.astype(np.int8), [0]])
    d = np.diff(m)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _lsar(y: np.ndarray, unknown: np.ndarray, a: np.ndarray, lower: np.ndarray | None,
          upper: np.ndarray | None, max_iter: int) -> np.ndarray:
    """Fill y[unknown] minimising the AR prediction error energy, within optional bounds.

    Bounds are met by an active set: violating samples are fixed at their bound and the rest
    re-solved, a few rounds, then clipped (Godsill & Rayner's constrained LSAR, simplified).
    """
    p = a.size - 1
    r = np.array([a[: a.size - k] @ a[k:] for k in range(p + 1)])
    y = y.copy()
    free = unknown.copy()
    for _ in range(max_iter):
        u = np.flatnonzero(free)
        if u.size == 0:
            break
        y[u] = 0.0
        g = np.correlate(np.convolve(y, a), a, mode="valid")  # A^T A y with the unknowns at zero
        bw = min(p, u.size - 1)
        ab = np.zeros((bw + 1, u.size))
        for k in range(bw + 1):
            d = u[k:] - u[: u.size - k]
            ab[bw - k, k:] = np.where(d <= p, r[np.minimum(d, p)], 0.0)
        ab[bw] += 1e-9 * r[0] + 1e-300  # a hair of loading: unknowns far from data stay finite
        y[u] = solveh_banded(ab, -g[u], check_finite=False)
        viol = np.zeros_like(free)
        if lower is not None:
            viol |= free & (y < lower)
            y = np.where(free & (y < lower), lower, y)
        if upper is not None:
            viol |= free & (y > upper)
            y = np.where(free & (y > upper), upper, y)
        if not viol.any():
            break
        free &= ~viol
    return y


def ar_interpolate(x: np.ndarray, missing: np.ndarray, order: int = 32, *, context: int | None = None,
                   lower: np.ndarray | None = None, upper: np.ndarray | None = None,
                   max_iter: int = 4) -> np.ndarray:
    """Least-squares AR interpolation of the missing samples of a 1-D signal.

    x: (frames,) float; missing: (frames,) bool. Returns a float64 copy of x with the missing
    samples replaced. Each run of missing samples is solved on its own local segment (the run plus
    `context` samples each side, default 4 * order, at least the run's length): the AR model is
    fitted to the segment's known samples and the run filled by minimising the prediction error
    (other missing samples in the segment are estimated jointly but only the run is written back).
    Because each run depends only on its neighbourhood, a long signal can be processed in windows
    with the same result. lower/upper: optional (frames,) bounds on the restored values (for
    declipping: restored samples reach at least the clip level).
    Reference: S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 5 (LSAR);
    A. J. E. M. Janssen, R. N. J. Veldhuis and L. B. Vries, "Adaptive interpolation of discrete-time
    signals that can be modeled as autoregressive processes", IEEE Trans. ASSP 34 (1986).
    """
    x = np.asarray(x, dtype=np.float64)
    missing = np.asarray(missing, dtype=bool)
    out = x.copy()
    if not missing.any():
        return out
    ctx0 = int(context) if context is not None else 4 * int(order)
    with single_thread_blas():
        for s, e in zip(*_runs(missing), strict=True):
            _fill_run(x, missing, out, s, e, int(order), ctx0, lower, upper, max_iter)
    return out


def _fill_run(x: np.ndarray, missing: np.ndarray, out: np.ndarray, s: int, e: int, order: int, ctx0: int,
              lower: np.ndarray | None, upper: np.ndarray | None, max_iter: int) -> None:
    """Solve one run of missing samples on its local segment and write it into `out`."""
    ctx = max(ctx0, e - s)
    lo, hi = max(0, s - ctx), min(x.size, e + ctx)
    seg, miss = x[lo:hi], missing[lo:hi]
    known = int((~miss).sum())
    p = min(order, known // 4)
    if p < 1:  # nothing to fit: straight line between the nearest known samples
        idx = np.flatnonzero(~missing)
        if idx.size:
            out[s:e] = np.interp(np.arange(s, e), idx, x[idx])
        return
    a = ar_fit(seg, ~miss, p)
    lo_b = None if lower is None else np.where(miss, lower[lo:hi], -np.inf)
    up_b = None if upper is None else np.where(miss, upper[lo:hi], np.inf)
    y = _lsar(seg, miss, a, lo_b, up_b, max_iter)
    out[s:e] = y[s - lo:e - lo]
