"""A sinusoidal speed component fitted to partial tracks (see `_pitch`): the model of each
observation is  dev_i = Re(c e^{i w t_i}) - (its track's mean of the same),  weighted by the track's
weight, i.e. least squares with one free offset per track (a note's own pitch), so notes of any
length and pitch add evidence about the one speed curve they share.

With the offsets projected out, the normal equations of c at angular frequency w reduce to three
sums: b = sum_i v_i dev_i e^{-i w t_i}, G = sum_k v_k n_k (1 - F_k^2) and
Q = sum_k v_k n_k e^{2 i w tc_k} (F_k(2w) - F_k(w)^2), where F_k is the Dirichlet kernel of track
k's n_k frames and tc_k its centre; then c = 2 (b G - conj(Q b)) / (G^2 - |Q|^2) and the weighted
variance it explains is Re(c conj(b)). b over a frequency grid is one FFT of the per-frame sums.
This is the Lomb-Scargle periodogram generalised to offsets per track.

Reference: N. R. Lomb, Astrophys. Space Sci. 39 (1976); J. D. Scargle, ApJ 263 (1982);
M. Zechmeister and M. Kurster, A&A 496 (2009) (the generalised, weighted periodogram);
A. Czyzewski et al., "DSP techniques for determining 'wow' distortion", J. Audio Eng. Soc. 55
(2007) (the speed curve from tonal components of the programme).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import scipy.fft as sfft
from scipy import signal

from ._pitch import Tracks

GRID_HZ = 0.02  # frequency grid of the scan (a 12 s span resolves 0.08 Hz)
_ROBUST_PASSES = 2
_ROBUST_SCALE = 2.0  # a track whose residual is this many times the median one weighs half


def dirichlet(n: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Mean of e^{i j x} over j = 0..n-1, relative to its centre: sin(n x/2) / (n sin(x/2))."""
    s = np.sin(x / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sin(n * x / 2) / (n * s)
    return np.where(np.abs(s) < 1e-12, 1.0, out)


def _frame_sums(tr: Tracks, weight: np.ndarray, dev: np.ndarray) -> np.ndarray:
    return np.bincount(tr.frame, weights=weight[tr.track] * dev, minlength=tr.frames)


_LENGTH_BINS = np.unique(np.round(np.geomspace(1, 4096, 48)).astype(np.int64))


@lru_cache(maxsize=32)
def _leakage(nfft: int, hop_s: float, lo: int, hi: int) -> np.ndarray:
    """1 - F_n(w h)^2 for track lengths n at the bins' geometric centres and FFT bins lo..hi-1:
    the share of a length-n track's regressor left after its own mean is taken off."""
    centres = np.sqrt(_LENGTH_BINS * np.append(_LENGTH_BINS[1:], _LENGTH_BINS[-1] * 1.2))
    x = 2 * math.pi * np.arange(lo, hi)[None, :] / nfft
    return 1 - dirichlet(centres[:, None], x) ** 2


def scan(tr: Tracks, band: tuple[float, float], weight: np.ndarray | None = None,
         dev: np.ndarray | None = None, grid_hz: float = GRID_HZ) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, explained weighted variance) on a `grid_hz` grid over `band`.

    The cos/sin coupling term Q is left out here (it matters only within ~1/span of 0 Hz); the
    exact fit at the chosen frequency keeps it. G is evaluated on track lengths binned
    geometrically (48 bins), so the cost is one FFT plus a small matrix-vector product.
    """
    weight = tr.weight if weight is None else weight
    dev = tr.dev if dev is None else dev
    nfft = sfft.next_fast_len(max(int(math.ceil(1.0 / (grid_hz * tr.hop_s))), 2 * tr.frames))
    lo = int(math.ceil(band[0] * nfft * tr.hop_s))
    hi = min(nfft // 2 + 1, int(math.floor(band[1] * nfft * tr.hop_s)) + 1)
    b = sfft.rfft(_frame_sums(tr, weight, dev), nfft)[lo:hi]
    idx = np.clip(np.searchsorted(_LENGTH_BINS, tr.length, side="right") - 1, 0, _LENGTH_BINS.size - 1)
    vn = np.bincount(idx, weights=weight * tr.length, minlength=_LENGTH_BINS.size)
    g = np.einsum("i,ij->j", vn, _leakage(nfft, round(tr.hop_s, 12), lo, hi))  # no BLAS threads for this
    freqs = np.arange(lo, hi) / (nfft * tr.hop_s)
    return freqs, 2 * np.abs(b) ** 2 / np.maximum(g, 1e-300)


def exact(tr: Tracks, freq: float, weight: np.ndarray | None = None,
          dev: np.ndarray | None = None) -> tuple[complex, float]:
    """(c, explained weighted variance) of the least-squares sinusoid at `freq`, offsets per track.
    Phase reference: frame 0 (g(t) = Re(c e^{i w (t - first_s)}))."""
    c, power = exact_many(tr, np.array([float(freq)]), weight, dev)
    return complex(c[0]), float(power[0])


def exact_many(tr: Tracks, freqs: np.ndarray, weight: np.ndarray | None = None,
               dev: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`exact` at several frequencies at once: (c, explained variance), each (len(freqs),)."""
    weight = tr.weight if weight is None else weight
    dev = tr.dev if dev is None else dev
    w = 2 * math.pi * np.asarray(freqs, dtype=np.float64)[:, None]
    # an elementwise product and sum, not a BLAS call: tiny products pay more for threads than sums
    b = np.sum(np.exp(-1j * w * (np.arange(tr.frames) * tr.hop_s)) * _frame_sums(tr, weight, dev), axis=1)
    n = tr.length.astype(np.float64)
    f1 = dirichlet(n, w * tr.hop_s)
    f2 = dirichlet(n, 2 * w * tr.hop_s)
    vn = weight * n
    g = np.sum(vn * (1 - f1**2), axis=1)
    q = np.sum(vn * np.exp(2j * w * tr.centre_s) * (f2 - f1**2), axis=1)
    det = g * g - np.abs(q) ** 2
    ok = det > 0
    c = np.where(ok, 2 * (b * g - np.conj(q) * np.conj(b)) / np.where(ok, det, 1.0), 0j)
    return c, np.where(ok, np.real(c * np.conj(b)), 0.0)


def model(tr: Tracks, freq: float, c: complex) -> np.ndarray:
    """The fitted sinusoid at each observation, less its track's mean (what `dev` is compared with)."""
    w = 2 * math.pi * freq
    e = np.exp(1j * w * tr.frame * tr.hop_s)
    mean = np.exp(1j * w * tr.centre_s) * dirichlet(tr.length.astype(np.float64), np.full(tr.count, w * tr.hop_s))
    return np.real(c * (e - mean[tr.track]))


def track_rms(tr: Tracks, residual: np.ndarray) -> np.ndarray:
    """Root mean square of `residual` over each track."""
    return np.sqrt(np.bincount(tr.track, weights=residual**2, minlength=tr.count) / np.maximum(tr.length, 1))


@dataclass(frozen=True)
class Line:
    """The strongest sinusoidal speed component in a band, fitted robustly.

    freq (Hz), c (complex amplitude of log speed; |c| = peak deviation as a fraction),
    snr: explained variance at freq over the median of the residual's periodogram in the band,
    explained: fraction of the tracks' weighted variance it explains,
    halves: agreement of fits on the tracks starting in alternate 0.5 s bins (1: same c, 0.5: unrelated),
    spread: weighted median of the tracks' residual rms (how unsteady the partials are; log units),
    unsteady: the same of the tracks' own deviation before the fit (a voice's intonation: ~1 %),
    weight: robust per-track weights used.
    """

    freq: float
    c: complex
    snr: float
    explained: float
    halves: float
    spread: float
    unsteady: float
    weight: np.ndarray

    @property
    def depth(self) -> float:
        return abs(self.c)


def _peak(freqs: np.ndarray, power: np.ndarray) -> float:
    j = int(np.argmax(power))
    if 0 < j < power.size - 1:
        a, b, c = np.log(power[j - 1: j + 2] + 1e-300)
        den = a - 2 * b + c
        if den < 0:
            return float(freqs[j] + 0.5 * (a - c) / den * (freqs[1] - freqs[0]))
    return float(freqs[j])


def _refine(tr: Tracks, f: float, step: float, weight: np.ndarray) -> float:
    """The exact fit's maximum within one grid step of the scan's peak (the scan leaves Q out)."""
    cand = f + np.linspace(-step, step, 9)
    return _peak(cand, np.maximum(exact_many(tr, cand, weight)[1], 1e-300))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if values.size == 0 or weights.sum() <= 0:
        return 0.0
    order = np.argsort(values)
    cw = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cw, 0.5 * cw[-1])])


def fit_line(tr: Tracks, band: tuple[float, float], freq: float | None = None,
             passes: int = _ROBUST_PASSES, grid_hz: float = GRID_HZ) -> Line | None:
    """The strongest line in `band` (or at `freq`), reweighting tracks that do not follow it
    (vibrato, glides, a voice's intonation) down over `passes` further passes."""
    if tr.count < 3 or tr.weight.sum() <= 0:
        return None
    weight = tr.weight.copy()
    for it in range(passes + 1):
        f = _peak(*scan(tr, band, weight, grid_hz=grid_hz)) if freq is None else float(freq)
        if freq is None and it == passes:
            f = _refine(tr, f, grid_hz, weight)
        c, explained = exact(tr, f, weight)
        residual = tr.dev - model(tr, f, c)
        rms = track_rms(tr, residual)
        if it < passes:
            scale = _ROBUST_SCALE * float(np.median(rms)) + 1e-12
            weight = tr.weight / (1.0 + (rms / scale) ** 2)
    _, res_power = scan(tr, band, weight, residual, grid_hz=grid_hz)
    floor = float(np.median(res_power)) if res_power.size else 0.0
    total = float(np.sum(weight[tr.track] * tr.dev**2))
    group = (np.floor(tr.start * tr.hop_s / 0.5).astype(np.int64) % 2).astype(bool)
    halves = []
    for sel in (group, ~group):
        halves.append(exact(tr, f, np.where(sel, weight, 0.0))[0] if weight[sel].sum() > 0 else 0j)
    a, b = halves
    agree = abs(a + b) ** 2 / (2 * (abs(a) ** 2 + abs(b) ** 2)) if abs(a) + abs(b) > 0 else 0.0
    return Line(freq=f, c=c, snr=explained / floor if floor > 0 else 0.0,
                explained=explained / total if total > 0 else 0.0, halves=float(agree),
                spread=weighted_median(rms, weight * tr.length),
                unsteady=weighted_median(track_rms(tr, tr.dev), tr.weight * tr.length), weight=weight)


_RIDGE = 200.0  # weight (in track-weight x frames) below which the local fit shrinks towards 0


def _smoothed(centre: np.ndarray, frames: int, kernel: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per-track values summed at their centre frames, then under the kernel (complex or real)."""
    series = np.bincount(centre, weights=values.real, minlength=frames).astype(np.complex128)
    if np.iscomplexobj(values):
        series += 1j * np.bincount(centre, weights=values.imag, minlength=frames)
    out = signal.oaconvolve(series, kernel, mode="same")
    return out if np.iscomplexobj(values) else out.real


class LocalFit(NamedTuple):
    """`local_amplitude`'s result, one value per frame: c (complex amplitude), var (its variance),
    share (of the nearby tracks' weighted variance that c explains), residual (the nearby tracks'
    weighted rms deviation left after the fit, log units: how much the partials move besides)."""

    c: np.ndarray
    var: np.ndarray
    share: np.ndarray
    residual: np.ndarray


def local_amplitude(tr: Tracks, freq: float, kernel_s: float, scale: float) -> LocalFit:
    """Slowly varying complex amplitude c(t) of the speed component at `freq`, one per frame, with
    the variance of that estimate and how well it fits (`LocalFit`).

    Each track's normal-equation terms (b_k, G_k, Q_k above) are placed at its centre frame and
    summed under a Hann kernel of `kernel_s`, and c is solved frame by frame, so the estimate at a
    time depends only on the tracks within kernel_s / 2 of it, whatever span was analysed (a long
    file processed window by window gets the same curve as processed whole). A second pass weighs
    down tracks whose residual exceeds `scale` (log units). The variance is the weighted residual
    power per observation over G / 4 (both quadratures), local like c.
    Phase reference as in `exact`: g(t) = Re(c(t) e^{i w (t - first_s)}).
    """
    c = np.zeros(tr.frames, dtype=np.complex128)
    if tr.count == 0 or tr.frames == 0:
        return LocalFit(c, np.full(tr.frames, np.inf), np.zeros(tr.frames), np.zeros(tr.frames))
    w = 2 * math.pi * freq
    n = tr.length.astype(np.float64)
    f1 = dirichlet(n, np.full(n.shape, w * tr.hop_s))
    f2 = dirichlet(n, np.full(n.shape, 2 * w * tr.hop_s))
    e = np.exp(1j * w * tr.frame * tr.hop_s)
    b_k = np.bincount(tr.track, weights=tr.dev * e.real, minlength=tr.count) \
        - 1j * np.bincount(tr.track, weights=tr.dev * e.imag, minlength=tr.count)
    g_k = n * (1 - f1**2)
    q_k = n * np.exp(2j * w * tr.centre_s) * (f2 - f1**2)
    centre = np.clip(np.rint(tr.centre_s / tr.hop_s).astype(np.int64), 0, tr.frames - 1)
    half = max(1, int(round(kernel_s / 2 / tr.hop_s)))
    kernel = np.hanning(2 * half + 3)[1:-1]
    mean = np.exp(1j * w * tr.centre_s) * f1
    weight = tr.weight
    for it in range(2):
        b = _smoothed(centre, tr.frames, kernel, weight * b_k)
        g = _smoothed(centre, tr.frames, kernel, weight * g_k) + _RIDGE
        q = _smoothed(centre, tr.frames, kernel, weight * q_k)
        c = 2 * (b * g - np.conj(q) * np.conj(b)) / np.maximum(g * g - np.abs(q) ** 2, 1e-300)
        residual = tr.dev - np.real(c[centre][tr.track] * (e - mean[tr.track]))
        rss = np.bincount(tr.track, weights=residual**2, minlength=tr.count)
        if it == 0:
            weight = tr.weight / (1.0 + (np.sqrt(rss / np.maximum(n, 1)) / max(scale, 1e-6)) ** 2)
    res = _smoothed(centre, tr.frames, kernel, weight * rss)
    power = res / np.maximum(_smoothed(centre, tr.frames, kernel, n), 1e-300)
    total = _smoothed(centre, tr.frames, kernel, weight * np.bincount(tr.track, weights=tr.dev**2, minlength=tr.count))
    share = np.clip(np.real(c * np.conj(b)) / np.maximum(total, 1e-300), 0.0, 1.0)
    residual = np.sqrt(np.maximum(res, 0.0) / np.maximum(_smoothed(centre, tr.frames, kernel, weight * n), 1e-300))
    return LocalFit(c, 4 * power / g, share, residual)
