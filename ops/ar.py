"""Autoregressive (AR) modelling and least-squares AR interpolation of missing samples.

Shared by declipping (and later declicking and gap filling): the samples to restore are marked
missing and re-estimated from an AR model fitted to their known neighbourhood.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.linalg import solve_toeplitz, solveh_banded

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


def yule_walker(x: np.ndarray, order: int, regularization: float = 1e-4) -> np.ndarray | None:
    """AR prediction-error filter of a 1-D signal by the autocorrelation (Yule-Walker) method.

    x: (frames,) float, usually already windowed (samples to ignore set to zero). Returns a:
    (order+1,) with a[0] = 1, or None when x has no power. Cheaper than `ar_fit` (one FFT and a
    Levinson solve) and always minimum-phase; `regularization` adds white noise at that fraction
    of the power, so a band-limited signal's empty band is not whitened without bound.
    """
    x = np.asarray(x, dtype=np.float64)
    p = int(order)
    if p < 24 or x.size > 16384:  # a few lags of a long signal: direct products beat an FFT
        with single_thread_blas():
            r = np.array([float(x[: x.size - k] @ x[k:]) if k < x.size else 0.0 for k in range(p + 1)])
    else:
        n = 1 << int(np.ceil(np.log2(max(2, 2 * x.size))))
        f = np.fft.rfft(x, n)
        r = np.fft.irfft(f.real**2 + f.imag**2, n)[: p + 1]
    if not r[0] > 0:
        return None
    r[0] *= 1.0 + regularization
    return np.concatenate([[1.0], -solve_toeplitz(r[:p], r[1: p + 1], check_finite=False)])


def burg(x: np.ndarray, known: np.ndarray | None = None, order: int = 32,
         regularization: float = 1e-6) -> np.ndarray | None:
    """AR prediction-error filter by Burg's method over the known stretches of a 1-D signal.

    x: (frames,) float; known: (frames,) bool (default all). The stretches between unknown samples
    share one set of reflection coefficients, each contributing the forward and backward errors
    it holds; nothing is windowed, so short data keep their resolution, and the model is always
    minimum-phase. `regularization` adds a white floor at that fraction of the signal power to
    every stage's error energies (a signal with an empty band, or a synthetic one without noise,
    otherwise drives reflection coefficients to +-1 and the model to predict from rounding).
    Returns a: (order+1,) with a[0] = 1, or None when there is nothing to fit.
    Reference: J. P. Burg, "Maximum entropy spectral analysis" (1967); S. M. Kay, Modern Spectral
    Estimation (1988), ch. 7.
    """
    x = np.asarray(x, dtype=np.float64)
    p = int(order)
    if known is None:
        runs = [x]
    else:
        starts, ends = _runs(np.asarray(known, dtype=bool))
        runs = [x[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    # per stretch: forward errors f[1:], backward errors b[:-1] of the current stage (they shrink)
    fs = [r[1:].copy() for r in runs if r.size > 1]
    bs = [r[:-1].copy() for r in runs if r.size > 1]
    a = np.ones(1)
    power = sum(float(r @ r) for r in runs) / max(1, sum(r.size for r in runs))
    for _ in range(p):
        if not fs:
            break
        num = sum(float(f @ b) for f, b in zip(fs, bs, strict=True))
        den = sum(float(f @ f + b @ b) + 2.0 * regularization * power * f.size for f, b in zip(fs, bs, strict=True))
        if not den > 0:
            break
        k = -2.0 * num / den
        a = np.concatenate([a, [0.0]])
        a = a + k * a[::-1]
        nf, nb = [], []
        for f, b in zip(fs, bs, strict=True):
            if f.size > 1:
                nf.append(f[1:] + k * b[1:])
                nb.append(b[:-1] + k * f[:-1])
        fs, bs = nf, nb
    if a.size == 1:
        return None
    return np.concatenate([a, np.zeros(p + 1 - a.size)])


def lsar_fill(x: np.ndarray, missing: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Least-squares AR interpolation of x[missing] with a given model a (a[0] = 1), on the whole of x.

    x: (frames,) float, a short segment around the missing samples. Returns a float64 copy.
    For callers that already have a model fitted to the neighbourhood (see `ar_interpolate`).
    """
    y = np.asarray(x, dtype=np.float64)
    missing = np.asarray(missing, dtype=bool)
    if not missing.any():
        return y.copy()
    with single_thread_blas():
        return _lsar(y, missing, np.asarray(a, dtype=np.float64), None, None, 1)


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
    r = np.correlate(a, a, mode="full")[p:]  # r[k] = sum_n a[n] a[n + k]
    y = y.copy()
    free = unknown.copy()
    for _ in range(max_iter):
        u = np.flatnonzero(free)
        if u.size == 0:
            break
        y[u] = 0.0
        g = np.correlate(np.convolve(y, a), a, mode="valid")  # A^T A y with the unknowns at zero
        ab = _banded_gram(u, r, p)
        ab[-1] += 1e-9 * r[0] + 1e-300  # a hair of loading: unknowns far from data stay finite
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


def _banded_gram(u: np.ndarray, r: np.ndarray, p: int) -> np.ndarray:
    """The unknowns' block of A^T A in solveh_banded's upper form: entry (i, j) is r[u_j - u_i]
    where that lag is at most p. One array operation over the band (a loop over its diagonals
    was most of a short gap's solve)."""
    bw = min(p, u.size - 1)
    k = np.arange(bw, -1, -1)[:, None]  # row bw - k holds diagonal k
    src = np.arange(u.size)[None, :] - k
    lag = u[None, :] - u[np.maximum(src, 0)]
    return np.where((src >= 0) & (lag <= p), r[np.minimum(lag, p)], 0.0)


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


def burg_interpolate(x: np.ndarray, missing: np.ndarray, *, context: int, min_order: int = 16,
                     per_sample: float = 3.0, max_order: int = 200, only: np.ndarray | None = None,
                     base: np.ndarray | None = None) -> np.ndarray:
    """Least-squares AR interpolation of each run of missing samples, with a Burg model per run.

    x: (frames,) float; missing: (frames,) bool. Returns a float64 copy with the runs filled. Each
    run is solved on its own segment (the run plus `context` samples each side): a Burg model of
    order per_sample x run length (between min_order and max_order) over the segment's known
    stretches, then LSAR over the segment's missing samples, only the run written back, so a long
    signal processed in windows gives the same result. A longer gap needs a higher order to carry
    the signal's periodicities across it; Burg keeps a high order stable on short data. The runs'
    models are fitted together (`burg_batch`), as they depend on x only, not on each other's fill.
    only: (frames,) bool; where given, only the runs holding one of its samples are solved, the
    rest of the output taken from base (default x), e.g. an earlier fill of the other runs.
    Reference: Godsill & Rayner (1998), ch. 5; Janssen, Veldhuis & Vries, IEEE Trans. ASSP 34 (1986).
    """
    return burg_interpolate_many([x], [missing], context=context, min_order=min_order, per_sample=per_sample,
                                 max_order=max_order, only=None if only is None else [only],
                                 base=None if base is None else [base])[0]


def burg_interpolate_many(xs: list[np.ndarray], missings: list[np.ndarray], *, context: int,
                          min_order: int = 16, per_sample: float = 3.0, max_order: int = 200,
                          only: list[np.ndarray | None] | None = None,
                          base: list[np.ndarray | None] | None = None) -> list[np.ndarray]:
    """`burg_interpolate` of several independent signals (the channels of a block) at once: the
    same result for each, with every signal's runs in one `burg_batch`, whose cost is mostly its
    stages (a batch of two channels costs little more than one)."""
    xs = [np.asarray(x, dtype=np.float64) for x in xs]
    missings = [np.asarray(m, dtype=bool) for m in missings]
    outs, jobs = [], []
    for i, (x, missing) in enumerate(zip(xs, missings, strict=True)):
        b = None if base is None else base[i]
        outs.append(x.copy() if b is None else np.array(b, dtype=np.float64))
        starts, ends = _runs(missing)
        if only is not None and only[i] is not None:
            inside = np.concatenate([[0], np.cumsum(np.asarray(only[i], dtype=np.int64))])
            hit = inside[ends] - inside[starts] > 0
            starts, ends = starts[hit], ends[hit]
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            lo, hi = max(0, s - context), min(x.size, e + context)
            miss = missing[lo:hi]
            p = int(min(max_order, max(min_order, round(per_sample * (e - s)))))
            jobs.append((i, s, e, lo, hi, min(p, max(1, int((~miss).sum()) // 4))))
    # similar orders together: a batch runs as many stages as its highest order
    jobs.sort(key=lambda j: j[5])
    with single_thread_blas():
        for b0 in range(0, len(jobs), _BURG_BATCH):
            batch = jobs[b0: b0 + _BURG_BATCH]
            fitted = burg_batch([xs[i][lo:hi] for i, _, _, lo, hi, _ in batch],
                                [~missings[i][lo:hi] for i, _, _, lo, hi, _ in batch], [p for *_, p in batch])
            for (i, s, e, lo, hi, _), a in zip(batch, fitted, strict=True):
                _solve_run(xs[i], missings[i], outs[i], s, e, lo, hi, a)
    return outs


def _solve_run(x: np.ndarray, missing: np.ndarray, out: np.ndarray, s: int, e: int, lo: int, hi: int,
               a: np.ndarray | None) -> None:
    """out[s:e] by LSAR with model a over the segment [lo, hi); a None model (nothing to model,
    digital silence): a straight line between the known edges."""
    miss = missing[lo:hi]
    if a is None:
        idx = np.flatnonzero(~miss) + lo
        if idx.size:
            out[s:e] = np.interp(np.arange(s, e), idx, x[idx])
        return
    y = _lsar(np.where(miss, 0.0, x[lo:hi]), miss, a, None, None, 1)
    out[s:e] = y[s - lo:e - lo]


_BURG_BATCH = 64  # segments whose Burg recursions run as one array computation


def burg_batch(segments: list[np.ndarray], known: list[np.ndarray], orders: list[int],
               regularization: float = 1e-6) -> list[np.ndarray | None]:
    """`burg` of many segments at once: the same models (to rounding), one array operation per stage.

    segments: 1-D float arrays; known: their bool masks; orders: each one's order. Every known
    stretch of every segment is a row of one zero-padded (stretches, longest) array of forward and
    backward errors; each stage's sums are gathered per segment (bincount), each segment's reflection
    coefficient applied to its rows, and a segment whose order is reached (or whose errors are
    exhausted, or whose energy is zero) stops, as `burg` does. Returns a (order+1,) model per segment,
    or None where `burg` gives None.
    """
    rows, owner = [], []
    power = np.zeros(len(segments))
    for i, (x, k) in enumerate(zip(segments, known, strict=True)):
        starts, ends = _runs(np.asarray(k, dtype=bool))
        stretches = [np.asarray(x[s:e], dtype=np.float64) for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
        power[i] = sum(float(r @ r) for r in stretches) / max(1, sum(r.size for r in stretches))
        for r in stretches:
            if r.size > 1:
                rows.append(r)
                owner.append(i)
    order = np.asarray(orders, dtype=np.int64)
    top = int(order.max()) if order.size else 0
    a = np.zeros((len(segments), top + 1))
    a[:, 0] = 1.0
    stages = np.zeros(len(segments), dtype=np.int64)  # completed stages per segment
    if rows:
        owner_ = np.asarray(owner)
        size = np.array([r.size - 1 for r in rows])  # current error length of each row
        width = int(size.max())
        f = np.zeros((len(rows), width))
        b = np.zeros((len(rows), width))
        for j, r in enumerate(rows):
            f[j, : r.size - 1] = r[1:]
            b[j, : r.size - 1] = r[:-1]
        active = order > 0
        n_seg = len(segments)
        energy = np.einsum("ij,ij->i", f, f) + np.einsum("ij,ij->i", b, b)  # per row: |f|^2 + |b|^2
        for m in range(1, top + 1):
            # a segment with no errors left stops (burg: `if not fs`)
            alive = np.bincount(owner_, weights=(size > 0), minlength=n_seg) > 0
            active &= alive & (order >= m)
            if not active.any():
                break
            cross = np.einsum("ij,ij->i", f, b)
            num = np.bincount(owner_, weights=cross, minlength=n_seg)
            den = np.bincount(owner_, weights=energy + 2.0 * regularization * power[owner_] * np.maximum(size, 0),
                              minlength=n_seg)
            active &= den > 0
            if not active.any():
                break
            k = np.where(active, -2.0 * num / np.where(den > 0, den, 1.0), 0.0)
            rows_on = active[owner_]
            if rows_on.sum() < 0.75 * rows_on.size:  # finished segments' rows leave the arrays
                owner_, size, energy, cross = owner_[rows_on], size[rows_on], energy[rows_on], cross[rows_on]
                width = int(max(1, size.max()))
                f, b = f[rows_on, :width], b[rows_on, :width]
            head = a[:, : m + 1]
            a[:, : m + 1] = head + k[:, None] * head[:, ::-1]
            stages += active
            kv = k[owner_]
            kr = kv[:, None]
            # the next stage's energies without two more dot products: the update's energy over every
            # sample, less the first forward and the last backward error it drops (Andersen's recursion,
            # per row): |f'|^2 + |b'|^2 = (1 + k^2) E + 4 k C - (f_0 + k b_0)^2 - (b_L + k f_L)^2
            rows_n = np.arange(size.size)
            last = np.maximum(size - 1, 0)
            f0, b0 = f[:, 0], b[:, 0]
            fl, bl = f[rows_n, last], b[rows_n, last]
            energy = np.maximum(0.0, (1.0 + kv * kv) * energy + 4.0 * kv * cross
                                - (f0 + kv * b0) ** 2 - (bl + kv * fl) ** 2)
            f, b = f[:, 1:] + kr * b[:, 1:], b[:, :-1] + kr * f[:, :-1]
            size -= 1
            # a row's backward errors end one sample earlier now: clear the one past its end
            inside = (size >= 0) & (size < f.shape[1])
            b[np.flatnonzero(inside), size[inside]] = 0.0
    out: list[np.ndarray | None] = []
    for i, p in enumerate(orders):
        out.append(None if stages[i] == 0 else np.concatenate([a[i, : stages[i] + 1], np.zeros(int(p) - stages[i])]))
    return out


def ar_extrapolate(past: np.ndarray, a: np.ndarray, n: int) -> np.ndarray:
    """Continue a 1-D signal n samples with the AR model a (a[0] = 1) and no excitation.

    past: (>= order,) float, the samples just before. Only the last `order` samples set the
    continuation; inverse-filtering them and re-synthesising from a zero state reproduces them
    exactly, which is O((order + n) * order) instead of lfiltic's Python loop.
    """
    from scipy.signal import lfilter

    p = a.size - 1
    tail = np.asarray(past, dtype=np.float64)[-p:]
    e = lfilter(a, [1.0], tail)
    return lfilter([1.0], a, np.concatenate([e, np.zeros(int(n))]))[tail.size:]


def extrapolate_fill(x: np.ndarray, start: int, end: int, order: int, context: int) -> np.ndarray:
    """Estimate x[start:end] of a 1-D signal by AR extrapolation from both sides, cross-faded.

    A Yule-Walker model of `order` is fitted to `context` samples (Hann-windowed) on each side;
    the left one predicts forward, the right one (on the time-reversed signal) backward, and a
    raised-cosine weight passes from one to the other across the gap. A model long enough to span
    pitch periods (tens of ms) carries voiced speech and tones across gaps that a least-squares
    interpolation of affordable order (a few ms) only bridges with a decaying blend.
    Returns (end - start,) float64.
    References: W. Etter, "Restoration of a discrete-time signal segment by interpolation based on
    the left-sided and right-sided autoregressive parameters", IEEE Trans. SP 44 (1996);
    I. Kauppinen and K. Roth, "Audio signal extrapolation: theory and applications", DAFx (2002).
    """
    x = np.asarray(x, dtype=np.float64)
    n = end - start
    left = x[max(0, start - context): start]
    right = x[end: end + context][::-1]
    preds = []
    for side in (left, right):
        p = min(int(order), side.size // 3)
        a = yule_walker(side * np.hanning(side.size), p) if p >= 1 else None
        preds.append(ar_extrapolate(side, a, n) if a is not None else np.zeros(n))
    w = 0.5 * (1.0 + np.cos(np.pi * np.arange(1, n + 1) / (n + 1)))
    return w * preds[0] + (1.0 - w) * preds[1][::-1]
