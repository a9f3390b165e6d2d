"""Reading a signal at fractional sample positions (time warping), fast and band-limited.

A Farrow structure: the Kaiser-windowed sinc interpolator's 16 taps are polynomials of degree 7 in
the fractional position mu, so each read is its 16 input samples times a fixed (16, 8) matrix (one
matrix product per block of reads) and a Horner step in mu. Reads of a sine up to 0.38 x the sample rate are
accurate to -60 dB (-70 dB up to 0.35 x), at 0.42 x to -24 dB (a 16-tap kernel's transition band);
mu = 0 reproduces the input exactly (the sinc is 1 at 0 and 0 at the other integers), so a zero
warp is the identity. About 12 times faster than the simulator's 32-tap table interpolator.

Reference: C. W. Farrow, "A continuously variable digital delay element", IEEE ISCAS 1988;
T. I. Laakso et al., "Splitting the unit delay", IEEE Signal Processing Magazine 13 (1996).
"""

from __future__ import annotations

import numpy as np

from ._util import single_thread_blas

HALF = 8  # taps each side
ORDER = 7  # polynomial degree in mu
BETA = 6.0  # Kaiser window
_BLOCK = 32768
_COEFFS: np.ndarray | None = None


def farrow_coefficients() -> np.ndarray:
    """(ORDER + 1, 2 HALF) float64: tap k (offset k - HALF + 1) of the interpolator at mu is
    sum_p C[p, k] mu^p. Least squares over mu in (0, 1), with C[0] = the unit impulse and mu = 1
    weighted heavily, so reads are continuous across whole samples."""
    global _COEFFS
    if _COEFFS is None:
        k = np.arange(-HALF + 1, HALF + 1)
        mu = (np.arange(1024) + 0.5) / 1024
        t = k[None, :] - mu[:, None]
        taper = np.i0(BETA * np.sqrt(np.clip(1 - (t / HALF) ** 2, 0, None))) / np.i0(BETA)
        kernel = np.sinc(t) * taper
        at0, at1 = (k == 0).astype(float), (k == 1).astype(float)
        mus = np.concatenate([mu, np.ones(64)])
        target = np.vstack([kernel, np.repeat(at1[None, :], 64, axis=0)]) - at0[None, :]
        basis = np.stack([mus**p for p in range(1, ORDER + 1)], axis=1)
        c, *_ = np.linalg.lstsq(basis, target, rcond=None)
        _COEFFS = np.vstack([at0, c])
    return _COEFFS


def read_at(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """x sampled at fractional `positions` (in samples; outside the signal: its mirror image).

    x: (channels, frames); positions: (m,) float64. Returns (channels, m) float32.
    """
    x = np.asarray(x, dtype=np.float32)
    channels, n = x.shape
    positions = np.asarray(positions, dtype=np.float64)
    out = np.empty((channels, positions.size), dtype=np.float32)
    if positions.size == 0:
        return out
    if n < 2:
        out[:] = x[:, :1] if n else 0.0
        return out
    coeffs_t = np.ascontiguousarray(farrow_coefficients().T.astype(np.float32))  # (taps, ORDER + 1)
    base = np.floor(positions)
    frac = (positions - base).astype(np.float32)
    base = base.astype(np.int64)
    pad = HALF + 1 + int(max(0, -base.min(), base.max() - (n - 1)))
    xp = np.pad(x, ((0, 0), (pad, pad)), mode="reflect") if pad < n else _mirror(x, pad)
    first = base + pad - HALF + 1  # each read's first tap, in xp
    with single_thread_blas():
        for c in range(channels):
            windows = np.lib.stride_tricks.sliding_window_view(xp[c], 2 * HALF)
            for s in range(0, positions.size, _BLOCK):
                # the taps of each read gathered (contiguous), the fixed filters applied by one
                # matrix product, then the polynomial in mu by Horner's rule
                g = windows[first[s:s + _BLOCK]] @ coeffs_t  # (block, ORDER + 1)
                mu = frac[s:s + _BLOCK]
                acc = g[:, ORDER].copy()
                for p in range(ORDER - 1, -1, -1):
                    acc *= mu
                    acc += g[:, p]
                out[c, s:s + mu.size] = acc
    return out


def _mirror(x: np.ndarray, pad: int) -> np.ndarray:
    """Reflected padding wider than the signal (tiny inputs): repeat the mirrored period."""
    period = np.concatenate([x, x[:, -2:0:-1]], axis=1)
    reps = -(-(x.shape[1] + 2 * pad) // period.shape[1]) + 2
    tiled = np.tile(period, (1, reps))
    start = period.shape[1] - pad % period.shape[1]
    return tiled[:, start: start + x.shape[1] + 2 * pad]
