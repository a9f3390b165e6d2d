"""Constrained least-squares AR interpolation of clipped samples: one AR model per group of
clusters, one banded solve per channel (the method behind `declip`).

Clipping at 1-5 % of samples leaves thousands of short runs a minute. v2 solved each run on its
own segment (a model fit and a dense stacked system per run with its neighbours, O(m^3) each)
and ran at 4-20x real time at 44.1 kHz. Here:

1. clusters: missing samples less than p (the AR order) apart, coupled by the prediction error;
   groups: clusters less than context / 4 apart. One AR model per group by the modified
   covariance method over the windows of p+1 known samples within max(context, its unknowns)
   of it (the autocorrelation method, with the peaks missing, is biased: 20 dB worse). Pooling
   a group's neighbourhood gave better models than one per run (validation, moderate: +3 to +10
   dB on music) and 5x fewer solves. The windows' outer products are formed once per segment
   between range ends and summed per range by a sparse product (`_models`), so the overlapping
   neighbourhoods of dense clusters cost nothing more;
2. LSAR for all clipped samples of the channel at once: they minimise the prediction-error
   energy, normal equations R_uu x_u = -R_uk y_k with R[i, j] = r(|i - j|), r the
   autocorrelation of the group's prediction-error filter. R_uu couples unknowns of a cluster
   only, at most p apart: it is banded (bandwidth <= p in unknown index) and positive definite,
   and one banded Cholesky solves the channel in O(unknowns x p^2);
3. bounds by an active set, a few rounds: a sample the solution leaves on the wrong side of its
   clip level is fixed at the level and the clusters holding one re-solved (the true signal went
   past the level).
The windows are laid on grids anchored at the clusters, so a signal cut into windows with
context gives the same samples as the whole signal (`chunked.apply_windowed`).

Shapes: x (frames,) float64 per channel; models (groups, p+1); band (bandwidth+1, unknowns).
Reference: S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 5 (LSAR,
constrained for declipping); A. J. E. M. Janssen, R. N. J. Veldhuis and L. B. Vries, IEEE Trans.
ASSP 34 (1986); L. Zaviska et al., "A survey and an extensive evaluation of popular audio
declipping methods", IEEE J. Sel. Topics Signal Process. 15 (2021) (Janssen-type methods);
S. M. Kay, Modern Spectral Estimation (1988), ch. 7 (modified covariance method).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, solve_banded, solveh_banded
from scipy.sparse import csr_matrix

from ._util import single_thread_blas

_BATCH = 128  # chunks whose window products are formed together (bounds the memory)
_CHUNK = 256  # samples of window starts whose products are formed in one stacked product
_ROUNDS = 4  # active-set rounds
_MAX_CONTEXT = 4  # a long cluster's model reads up to 4 x context each side (max(context, its unknowns))
_GROUP_DIV = 4  # clusters less than context / 4 apart share a model
_LOADING = 1e-5  # diagonal loading of the model fit, relative to the signal power (as ar.ar_fit)


def _concat_ranges(counts: np.ndarray) -> np.ndarray:
    """[0..counts[0]-1, 0..counts[1]-1, ...]"""
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _models(x: np.ndarray, cs: np.ndarray, ce: np.ndarray, lo: np.ndarray, hi: np.ndarray, p: int,
            hop: int, split: int) -> np.ndarray:
    """Prediction-error filters (ranges, p+1), a[:, 0] = 1, by the modified covariance method
    (forward and backward prediction share the coefficients) over the windows of p+1 known samples
    starting in [lo, hi) each, every hop-th one (windows overlap by p samples: a few per p hold
    nearly all the information; `ar.ar_fit` does the same for one segment with every window); [cs, ce):
    the clusters holding every missing sample.

    Every window of p+1 known samples lies in a gap between clusters. Each gap's windows are laid
    on a grid anchored at its ends (a gap longer than `split`: the left half from the cluster
    before, the right half from the cluster after; the first gap from its right end, the last from
    its left), so the windows, and with them the result, do not depend on where the signal was
    cut (for clusters at least `split` / 2 >= their context from the cut). The ranges' ends cut
    the windows into segments; each segment's outer products are summed once (in chunks of
    ~_CHUNK samples, stacked) and a range's sum is a difference of prefix sums over segments, so
    the overlapping neighbourhoods of dense clusters are not summed again."""
    n, k = x.size, cs.size
    g = max(1, round(_CHUNK / hop))  # windows per chunk
    a = np.concatenate([[0], ce])  # gap t's window starts: [a_t, b_t]
    b = np.concatenate([cs, [n]]) - p - 1
    length = np.maximum(0, b - a + 1)
    # a gap longer than `split`: the left half [a, a + m) hangs on the cluster before, the rest on
    # the one after (a cut signal's first gap hangs on its right end only); a shorter one, whole
    # on the cluster before
    m = np.where(length > split, length // 2, length)
    m[0], m[-1] = 0, length[-1]
    nl, nr = -(-m // hop), -(-(length - m) // hop)  # windows a + j hop and b - j hop
    tl, tr = np.repeat(np.arange(k + 1), nl), np.repeat(np.arange(k + 1), nr)
    starts = np.sort(np.concatenate([a[tl] + _concat_ranges(nl) * hop, b[tr] - _concat_ranges(nr) * hop]))
    lo_w = np.searchsorted(starts, np.clip(lo, 0, n))  # window index ranges [lo_w, hi_w)
    hi_w = np.maximum(lo_w, np.searchsorted(starts, np.clip(hi, 0, n)))
    cut = np.unique(np.concatenate([[0, starts.size], lo_w, hi_w]))
    seg_len = np.diff(cut)
    per = -(-seg_len // g)  # chunks per segment
    seg = np.repeat(np.arange(seg_len.size), per)
    first = cut[:-1][seg] + _concat_ranges(per) * g  # (chunks,) first window of each chunk
    fill = np.minimum(g, cut[1:][seg] - first)
    taps = np.arange(p + 1)
    # products in float32 (2x faster): a chunk sums ~g of them, relative error ~1e-6, under the loading
    x32 = x.astype(np.float32)
    q = np.zeros((first.size, p + 1, p + 1), dtype=np.float32)
    for part in np.array_split(np.arange(first.size), max(1, -(-first.size // _BATCH))):
        j = first[part, None] + np.arange(g)[None, :]
        valid = np.arange(g)[None, :] < fill[part, None]
        w = np.where(valid[..., None], x32[starts[np.minimum(j, starts.size - 1)][..., None] + taps], np.float32(0))
        q[part] = np.matmul(w.transpose(0, 2, 1), w)  # (chunks, p+1, p+1)
    # each range's sum: its chunks' (a contiguous run of them) added by one sparse product
    key, inv = np.unique(lo_w * (starts.size + 1) + hi_w, return_inverse=True)
    at = np.concatenate([[0], np.cumsum(per)])  # first chunk of each segment
    c_lo, c_hi = at[np.searchsorted(cut, key // (starts.size + 1))], at[np.searchsorted(cut, key % (starts.size + 1))]
    span = c_hi - c_lo
    pick = csr_matrix((np.ones(int(span.sum())), np.repeat(c_lo, span) + _concat_ranges(span),
                       np.concatenate([[0], np.cumsum(span)])), shape=(key.size, first.size))
    qr = (pick @ q.reshape(first.size, -1)).reshape(key.size, p + 1, p + 1)
    # forward rows [x_{n-p} .. x_{n-1} | x_n], backward ones reversed: Q + J Q J
    gram = qr[:, :p, :p] + qr[:, p:0:-1, p:0:-1]
    target = qr[:, :p, p] + qr[:, p:0:-1, 0]
    load = _LOADING * np.trace(gram, axis1=1, axis2=2) / p + 1e-20
    c = np.linalg.solve(gram + load[:, None, None] * np.eye(p)[None], target[..., None])[..., 0]
    return np.concatenate([np.ones((key.size, 1)), -c[:, ::-1]], axis=1)[inv.ravel()]


def _band(pos: np.ndarray, kid: np.ndarray, ra: np.ndarray, bw: int) -> np.ndarray:
    """d[k, i] = R[i, i + k] for the unknowns at sorted positions pos (k = 0..bw): the filter
    autocorrelation ra (clusters, p+1) of sample i's cluster kid[i] at their lag (samples of
    different clusters are more than p apart)."""
    p = ra.shape[1] - 1
    bw = min(bw, pos.size - 1)
    d = np.zeros((bw + 1, pos.size))
    for k in range(bw + 1):
        lag = pos[k:] - pos[: pos.size - k]
        near = lag <= p
        lag = np.minimum(lag, p)
        d[k, : pos.size - k] = np.where(near, ra[kid[: pos.size - k], lag], 0.0)
    return d


def _band_matvec(d: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R v for the symmetric band d (bw+1, n) of `_band`."""
    out = d[0] * v
    for k in range(1, d.shape[0]):
        out[: v.size - k] += d[k, : v.size - k] * v[k:]
        out[k:] += d[k, : v.size - k] * v[: v.size - k]
    return out


def _band_solve(d: np.ndarray, r: np.ndarray) -> np.ndarray:
    """R^-1 r for the symmetric band d of `_band` (banded Cholesky)."""
    bw = d.shape[0] - 1
    ab = np.zeros_like(d)  # upper form: ab[bw - k, i + k] = R[i, i + k]
    for k in range(bw + 1):
        ab[bw - k, k:] = d[k, : d.shape[1] - k]
    try:
        return solveh_banded(ab, r, check_finite=False)
    except LinAlgError:  # numerically not positive definite (a degenerate model): a banded LU
        full = np.zeros((2 * bw + 1, d.shape[1]))
        full[:bw + 1] = ab
        for k in range(1, bw + 1):
            full[bw + k, : d.shape[1] - k] = d[k, : d.shape[1] - k]
        return solve_banded((bw, bw), full, r, check_finite=False)


def lsar_declip(x: np.ndarray, missing: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                order: int, context: int, hop: int) -> np.ndarray:
    """x (frames,) with its `missing` samples re-estimated within [lower, upper] (frames,) each;
    float64 copy. Each group's model is fitted on max(context, its unknowns) samples each side
    (at most 4 x context), on every hop-th window; all missing samples are solved together."""
    x = np.asarray(x, dtype=np.float64)
    out = x.copy()
    if not missing.any():
        return out
    known = int(x.size - missing.sum())
    p = int(min(order, max(1, known // 4)))
    pos = np.flatnonzero(missing)
    # clusters: unknowns at most p apart, coupled by the prediction error
    first = np.concatenate([[True], np.diff(pos) > p])
    kid = np.cumsum(first) - 1
    cs, ce = pos[first], pos[np.concatenate([first[1:], [True]])] + 1
    # groups: clusters less than context / 4 apart share one model, fitted around the group
    head = np.concatenate([[True], cs[1:] - ce[:-1] > context // _GROUP_DIV])
    grp = np.cumsum(head) - 1
    gs, ge = cs[head], ce[np.concatenate([head[1:], [True]])]
    count = np.bincount(kid, minlength=cs.size)
    ctx = np.clip(np.bincount(grp, weights=count).astype(np.int64), context, _MAX_CONTEXT * context)
    with single_thread_blas():
        a = _models(x, cs, ce, gs - ctx, ge + ctx - p, p, max(1, int(hop)), 2 * context)[grp]
        ra = np.stack([np.einsum("bj,bj->b", a[:, : p + 1 - lag], a[:, lag:]) for lag in range(p + 1)], axis=1)
        # right-hand side: -(R y0)[u], y0 = x with its unknowns at zero (and zero beyond the ends)
        y0 = np.concatenate([np.zeros(p), np.where(missing, 0.0, x), np.zeros(p)])
        near = np.lib.stride_tricks.sliding_window_view(y0, 2 * p + 1)[pos]  # (unknowns, 2p+1): lags -p..p
        near[:, p + 1:] += near[:, p - 1::-1]  # r is symmetric: lags +-l folded
        rhs = -np.einsum("ul,ul->u", near[:, p:], ra[kid])
        # bandwidth in unknown index: the most unknowns within p samples after one
        bw = int(max(1, (np.searchsorted(pos, pos + p, side="right") - np.arange(pos.size) - 1).max()))
        d = _band(pos, kid, ra, bw)
        lo, hi = lower[pos], upper[pos]
        value = _band_solve(d, rhs)
        fixed = np.zeros(pos.size, dtype=bool)
        for _ in range(_ROUNDS - 1):
            wrong = ~fixed & ((value < lo) | (value > hi))
            if not wrong.any():
                break
            fixed |= wrong
            value = np.where(fixed, np.clip(value, lo, hi), value)
            # re-solve the clusters holding a newly fixed sample, fixed values moved to the right
            sel = np.isin(kid, np.unique(kid[wrong]))
            # whole clusters are selected and the band couples samples of one cluster only: its columns stand
            fs = fixed[sel]
            ds, vs = d[: min(d.shape[0], fs.size), sel], np.where(fs, value[sel], 0.0)
            r = np.where(fs, vs, rhs[sel] - _band_matvec(ds, vs))
            keep = ~fs
            for k in range(ds.shape[0]):
                n = fs.size - k
                ds[k, :n] *= keep[:n] & keep[k:]
            ds[0] = np.where(fs, 1.0, ds[0])
            value[sel] = _band_solve(ds, r)
    out[pos] = np.clip(value, lo, hi)
    return out
