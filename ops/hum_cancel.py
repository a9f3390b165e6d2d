"""Adaptive cancellation of mains hum by harmonic sinusoidal modelling (the method behind `dehum`).

Hum is a few sinusoids at exact multiples of one slowly drifting fundamental, with amplitudes that
stay put for seconds. Speech and music near the same frequencies do not stay put: their partials
glide through, start and stop, and between words and notes there is often almost nothing. So the
hum is modelled and subtracted rather than notched: the fundamental is tracked, each harmonic's
complex amplitude is estimated over a long window, and only what is stationary at exactly k x f0(t)
is taken away.

The estimate weighs every moment by how much it can say about the line: by the inverse of the
programme's power beside the line then (and of what departs from the current hum estimate at the
line itself, one robust re-weighting round), so pauses and quiet passages, where the hum stands
alone, carry the estimate and loud voiced passages hardly count. That is the best linear unbiased
estimate of a constant under noise of varying power, and on speech it is worth 5-10 dB of SI-SDR
over plain least squares.

Every step is a shift-invariant operation of finite support (running means, pointwise maths), so the
output at a sample depends only on the input within about `CONTEXT_S` of it: a long file processed
window by window gives the same result as processed whole.

Shapes: the low band is (channels, n) at ~2 kHz; basebands are (channels, harmonics, grid) on a
100 Hz grid; the frequency search runs on a 10 Hz grid.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal
from scipy.ndimage import uniform_filter1d

_LOW_RATE = 2000.0  # analysis rate
_MAX_LINE_HZ = 650.0  # highest line cancelled (10 x 60 Hz and drift); the decimator's passband edge
_GUARD_HZ = 800.0  # the analysis ignores the low band above this
_HIGHPASS_HZ = 20.0  # ... and below this (DC, rumble: no line lies there)
_GRID_HZ = 100.0  # rate of the heterodyned basebands
_POWER_S = 0.48  # programme power beside a line: 3 running means of 0.16 s, nulls every 6.25 Hz
_POWER_PROBES = (-2, -1, 1, 2)  # ... measured at these multiples of 6.25 Hz off the line
_FLOOR = 1e-2  # weights: programme power floored at this fraction of its mean over _FLOOR_S
_FLOOR_S = 4.0
_SEARCH_HZ = 10.0  # grid rate of the frequency search
_SEARCH_S = 6.0  # window of the search's line fits
_SEARCH_STEP_HZ = 0.01  # candidate spacing of the fundamental's offset
_SEARCH_MAX_K = 10  # harmonics the search uses
_GN_ROUNDS = 2  # Gauss-Newton rounds on the phase
_GN_S = 4.0  # window of the local line fits that correct the frequency
_GN_MAX_STEP = 2 * np.pi * 0.05 / _GRID_HZ  # largest frequency correction of one round (0.05 Hz), rad per grid step
_GN_AMP_S = 8.0  # window of the reference amplitudes in those rounds
_AMP_S = 12.0  # window of each harmonic's amplitude estimate
_GATE_S = 4.0  # window the shrinkage gain's powers are averaged over
_GATE_PROBES_HZ = (-4.0, -3.0, 3.0, 4.0)  # offsets where the estimator's own noise is measured
_BETA = 1.0  # shrinkage: the plug-in Wiener gain 1 - var / |a|^2
_MAX_DEV_HZ = 0.5  # the tracked fundamental stays within this of the given one
# Nominal reach each side: search 3 + 3 s, two phase rounds of 4 + 2 s, the amplitude 6 s and its
# gain 2 s. The quadratic B-spline windows weigh little in their outer third: 8 s of context matches
# the whole-file result to -88 dB re signal RMS (hum at -30 dB; 10 s: -107 dB, 7 s: -87 dB); see
# tests/ops/test_op_hum.py and test_op_registry.py. Windowed, each kept second costs (10 + 2 x 8) / 10
# seconds of processing with the pipeline's 10 s blocks: 2.6x rather than 3x.
CONTEXT_S = 8.0


@lru_cache(maxsize=64)
def _edge_norm(frames: int, each: int) -> np.ndarray:
    """1 / (the part of a 3 x `each` B-spline window inside a signal of `frames` samples)."""
    ones = np.ones(frames)
    for _ in range(3):
        ones = uniform_filter1d(ones, each, mode="constant")
    return 1.0 / np.maximum(ones, 1e-12)


def _smooth(z: np.ndarray, length: int) -> np.ndarray:
    """Zero-phase low-pass along the last axis: three cascaded running means (a quadratic B-spline
    window of `length` samples in all), normalised by the window's part inside the signal, so near
    the ends it is the weighted mean of the samples that exist. Real or complex input."""
    each = max(1, int(length) // 3)
    if each == 1:
        return z
    if np.iscomplexobj(z):  # real and imaginary parts filtered as they lie, interleaved (no copies)
        parts = np.ascontiguousarray(z, dtype=np.complex128).view(np.float64).reshape(*z.shape, 2)
        out = uniform_filter1d(parts, each, axis=-2, mode="constant")
        return _smooth_into(out, each, first=False).view(np.complex128).reshape(z.shape)
    out = uniform_filter1d(z, each, axis=-1, mode="constant")
    if out.dtype != np.float64:
        for _ in range(2):
            out = uniform_filter1d(out, each, axis=-1, mode="constant")
        return out * _edge_norm(z.shape[-1], each)
    return _smooth_into(out, each, first=False, complex_view=False)


def _smooth_into(buf: np.ndarray, each: int, first: bool = True, complex_view: bool = True) -> np.ndarray:
    """_smooth written over a float64 work array (the running means are the same numbers wherever
    they are written): buf (..., G, 2), a complex array's interleaved view (complex_view), or
    (..., G); `each` the length of each of the three means. first=False: the first mean was taken."""
    axis = -2 if complex_view else -1
    for _ in range(3 if first else 2):
        uniform_filter1d(buf, each, axis=axis, mode="constant", output=buf)
    buf *= _edge_norm_pairs(buf.shape[axis], each) if complex_view else _edge_norm(buf.shape[axis], each)
    return buf


def _edge_norm_pairs(frames: int, each: int) -> np.ndarray:
    """_edge_norm repeated for the (real, imaginary) pairs of an interleaved complex view, (frames, 2):
    a product numpy runs as one flat loop rather than a length-2 inner one (kept for the common
    lengths: buffers and windows of up to 80 s)."""
    if frames <= 1 << 13:
        return _edge_norm_pairs_kept(frames, each)
    return np.repeat(_edge_norm(frames, each), 2).reshape(frames, 2)


@lru_cache(maxsize=32)
def _edge_norm_pairs_kept(frames: int, each: int) -> np.ndarray:
    out = np.repeat(_edge_norm(frames, each), 2).reshape(frames, 2)
    out.flags.writeable = False
    return out


def _smooth_complex_inplace(z: np.ndarray, length: int) -> np.ndarray:
    """_smooth of a C-contiguous complex128 work array, written over it."""
    each = max(1, int(length) // 3)
    if each > 1:
        _smooth_into(z.view(np.float64).reshape(*z.shape, 2), each)
    return z


def _expj(y: np.ndarray) -> np.ndarray:
    """np.exp(1j * y) for real y, as cos y + j sin y: the complex exponential of a purely imaginary
    argument is e^0 = 1 times the libm cosine and sine (the same values, checked bit for bit on
    millions of arguments up to 1e4 rad), at two thirds of its cost."""
    out = np.empty(np.shape(y), dtype=complex)
    np.cos(y, out=out.real)
    np.sin(y, out=out.imag)
    return out


def _abs2(z: np.ndarray) -> np.ndarray:
    """np.abs(z) ** 2 in one new array."""
    out = np.abs(z)
    return np.square(out, out=out)


def _local_slope(z: np.ndarray, w: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted local linear regression of complex z (..., G) on time in B-spline windows: the phase
    slope of each fitted line (radians per grid sample, (..., G)) and its information (|c0|^2 x the
    weighted variance of time in the window, the inverse variance of the slope up to the noise level).
    A local line, unlike a local mean, is unbiased for a constant frequency error, also at the ends."""
    g = z.shape[-1]
    s = np.arange(g, dtype=float) - g / 2
    # [w, ws, ws s, Re wz, Im wz, Re wsz, Im wsz] (w real: the complex products' parts are the
    # real products), their B-spline sums taken in place
    m = np.empty((7, *z.shape))
    m[0] = w
    np.multiply(m[0], s, out=m[1])
    np.multiply(m[1], s, out=m[2])
    np.multiply(m[0], z.real, out=m[3])
    np.multiply(m[0], z.imag, out=m[4])
    np.multiply(m[1], z.real, out=m[5])
    np.multiply(m[1], z.imag, out=m[6])
    each = max(1, int(length) // 3)
    for _ in range(3):
        uniform_filter1d(m, each, axis=-1, mode="constant", output=m)
    m0, ms, mss = m[0], m[1], m[2]
    m1 = ms - s * m0
    m2 = mss - 2 * s * ms + s * s * m0
    # complex z0 = m3 + j m4, zs = m5 + j m6 and z1 = zs - s z0 taken part by part (a real factor
    # multiplies each part; numpy divides a complex by a real as a product with its reciprocal)
    z1r, z1i = m[5] - s * m[3], m[6] - s * m[4]
    det = np.maximum(m0 * m2 - m1 * m1, 1e-300)
    inv = 1.0 / det
    c1, c0 = np.empty(z.shape, dtype=complex), np.empty(z.shape, dtype=complex)
    np.multiply(m0 * z1r - m1 * m[3], inv, out=c1.real)
    np.multiply(m0 * z1i - m1 * m[4], inv, out=c1.imag)
    np.multiply(m2 * m[3] - m1 * z1r, inv, out=c0.real)
    np.multiply(m2 * m[4] - m1 * z1i, inv, out=c0.imag)
    power = _abs2(c0)
    return np.imag(c1 * np.conj(c0)) / np.maximum(power, 1e-300), power * det / np.maximum(m0, 1e-300)


def _wsmooth(z: np.ndarray, w: np.ndarray, length: int, sw: np.ndarray | None = None) -> np.ndarray:
    """Weighted zero-phase mean: S[w z] / S[w] (the weighted least-squares constant in each window).
    w may broadcast against z (one weight for several shifted copies): S[w] is taken once at w's
    own shape; sw: S[w] when the caller already has it."""
    wz = np.multiply(w, z, dtype=np.complex128, order="C")
    return _wsmooth_into(wz, w, length, sw)


def _wsmooth_into(wz: np.ndarray, w: np.ndarray, length: int, sw: np.ndarray | None = None) -> np.ndarray:
    """_wsmooth from wz = w z, a C-contiguous complex128 work array, written over it."""
    _smooth_complex_inplace(wz, length)
    sw = _smooth(w, length) if sw is None else sw
    # numpy divides a complex by a real as the product with its reciprocal: the same, cheaper
    wz *= 1.0 / np.maximum(sw, 1e-300)
    return wz


def _wsmooth_sampled(wz: np.ndarray, length: int, sw: np.ndarray, hop: int) -> np.ndarray:
    """_wsmooth_into(wz, w, length, sw)[..., ::hop] (sw = _smooth(w, length)): the running means
    taken over every sample, the normalisations only where read."""
    each = max(1, int(length) // 3)
    if each > 1:
        parts = wz.view(np.float64).reshape(*wz.shape, 2)
        for _ in range(3):
            uniform_filter1d(parts, each, axis=-2, mode="constant", output=parts)
        out = wz[..., ::hop] * _edge_norm(wz.shape[-1], each)[::hop]
    else:
        out = wz[..., ::hop].copy()
    out *= 1.0 / np.maximum(sw[..., ::hop], 1e-300)
    return out


def _weighted_shifted(an: _Analysis, z: np.ndarray, offsets, w: np.ndarray) -> np.ndarray:
    """w x an.shifted(z, offsets), in one new C-contiguous work array."""
    wz = an.shifted(z, offsets)
    np.multiply(wz, w[None], out=wz)
    return wz


def _wsmooth_shifted(an: _Analysis, z: np.ndarray, offsets, w: np.ndarray, length: int,
                     sw: np.ndarray | None = None) -> np.ndarray:
    """_wsmooth(an.shifted(z, offsets), w[None], length, sw[None]) in one work array."""
    return _wsmooth_into(_weighted_shifted(an, z, offsets, w), w[None], length, None if sw is None else sw[None])


def _to_grid(z: np.ndarray, step: int) -> np.ndarray:
    """Mean over two grid steps centred on every step-th sample (nulls at multiples of
    rate / 2 step, where the other harmonics' offsets fall for 50 Hz mains); ends held."""
    if step == 1:
        return z
    n = z.shape[-1]
    g = -(-n // step)
    pad = g * step - n
    zp = np.concatenate([z, np.repeat(z[..., -1:], pad, axis=-1)], axis=-1) if pad else z
    b = zp.reshape(*z.shape[:-1], g, step).sum(axis=-1)
    prev = np.concatenate([b[..., :1], b[..., :-1]], axis=-1)
    return (b + prev) / (2 * step)


def _heterodyned_sums(x: np.ndarray, cycles: float, ks: np.ndarray, step: int) -> np.ndarray:
    """Block sums of x (C, n) heterodyned by each harmonic's carrier e^{-j 2 pi k cycles m}, over
    blocks of `step` samples, the last block padded with its last product as `_to_grid` pads:
    (C, K, ceil(n / step)) complex. The carrier of sample m = g step + s factors into a block term
    e^{-j 2 pi k cycles g step} and an in-block term e^{-j 2 pi k cycles s}, so the sums are one small
    matrix product instead of a (C, K, n) complex product (same values to rounding)."""
    c, n = x.shape
    g = -(-n // step)
    pad = g * step - n
    inner = _powers(np.exp(-2j * np.pi * ((cycles * np.arange(step)) % 1.0)), ks)  # (K, step)
    outer = _powers(np.exp(-2j * np.pi * ((cycles * step * np.arange(g)) % 1.0)), ks)  # (K, g)
    xp = np.concatenate([x, np.zeros((c, pad))], axis=1) if pad else x
    blocks = xp.reshape(c * g, step)
    sums = (blocks @ inner.real.T + 1j * (blocks @ inner.imag.T)).reshape(c, g, -1)  # (C, g, K)
    if pad:  # _to_grid repeats the last product (sample n - 1) over the padding
        sums[:, -1] += pad * x[:, -1:] * inner[None, :, step - pad - 1]
    return np.moveaxis(sums, 1, 2) * outer[None]


def _to_grid_sums(b: np.ndarray, step: int) -> np.ndarray:
    """_to_grid from block sums b (..., g): the mean over each block and the one before it."""
    if step == 1:
        return b
    prev = np.concatenate([b[..., :1], b[..., :-1]], axis=-1)
    return (b + prev) / (2 * step)


def _from_grid(z: np.ndarray, step: int, frames: int) -> np.ndarray:
    """Linear interpolation of a grid signal back to `frames` samples (the basebands are smooth)."""
    if step == 1:
        return z[..., :frames]
    frac = np.arange(step) / step
    nxt = np.concatenate([z[..., 1:], z[..., -1:]], axis=-1)
    out = z[..., :, None] * (1 - frac) + nxt[..., :, None] * frac
    return out.reshape(*z.shape[:-1], -1)[..., :frames]


def _powers(e1: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """e1 ** k for every k in ks, (K, n), by repeated multiplication (no complex exp per harmonic)."""
    out = np.empty((ks.size, e1.size), dtype=complex)
    cur, k_cur = np.ones_like(e1), 0
    for j, k in enumerate(ks):
        for _ in range(int(k) - k_cur):
            cur = cur * e1
        k_cur = int(k)
        out[j] = cur
    return out


@lru_cache(maxsize=32)
def _stage_filter(rate_in: float, factor: int) -> np.ndarray:
    """Linear-phase low-pass for one resampling stage: flat (70 dB Kaiser) to _MAX_LINE_HZ, stopped
    from where the lower rate's alias of the band begins."""
    rate_out = rate_in / factor
    lo, hi = _MAX_LINE_HZ, rate_out - _MAX_LINE_HZ
    taps, beta = signal.kaiserord(70.0, (hi - lo) / (rate_in / 2))
    return signal.firwin(taps | 1, (lo + hi) / 2, window=("kaiser", beta), fs=rate_in)


def _stages(sample_rate: int) -> list[int]:
    """Integer decimation factors from the sample rate down to ~2 kHz: a cheap first stage with a
    wide transition band, then a halving with a sharp filter at the intermediate rate."""
    factor = max(1, int(sample_rate // _LOW_RATE))
    if factor >= 4 and factor % 2 == 0:
        return [factor // 2, 2]
    return [factor] if factor > 1 else []


def _decimate(x: np.ndarray, sample_rate: int) -> np.ndarray:
    rate = float(sample_rate)
    for f in _stages(sample_rate):
        x = signal.resample_poly(x, 1, f, axis=-1, window=_stage_filter(rate, f))
        rate /= f
    return x


def _interpolate(y: np.ndarray, sample_rate: int, frames: int) -> np.ndarray:
    rates = [float(sample_rate)]
    for f in _stages(sample_rate):
        rates.append(rates[-1] / f)
    for f, rate_in in zip(reversed(_stages(sample_rate)), reversed(rates[:-1]), strict=True):
        y = signal.resample_poly(y, f, 1, axis=-1, window=_stage_filter(rate_in, f))
    return y[..., :frames]


@lru_cache(maxsize=8)
def _guard(rate: float) -> np.ndarray:
    """Zero-phase band-pass for the analysis (run both ways): 4th-order Butterworth high-pass at
    20 Hz and, where the rate allows, 8th-order low-pass at 800 Hz. The grid's two-step means alias
    what lies hundreds of hertz from a line with only ~35 dB of loss, and a steady tone there (a
    1 kHz test tone) must not fall on a harmonic's baseband; nor may a DC offset or rumble, which
    the k-th carrier moves to -k f0: where the low rate is not a multiple of 100 Hz (2004.5 Hz from
    22.05/44.1 kHz), the means' nulls miss it and it aliases onto the even harmonics of a
    fundamental ~0.11 Hz off nominal, a perfectly steady false comb ~54 dB under the offset."""
    sos = signal.butter(4, _HIGHPASS_HZ, "high", fs=rate, output="sos")
    if rate > 2.2 * _GUARD_HZ:
        sos = np.concatenate([sos, signal.butter(8, _GUARD_HZ, fs=rate, output="sos")])
    return sos


@lru_cache(maxsize=64)
def _guard_gain(rate: float, fundamental: float, ks: tuple[int, ...]) -> np.ndarray:
    """Power gain of _guard run both ways at each harmonic (K,): the same for every buffer."""
    return np.abs(signal.sosfreqz(_guard(rate), worN=np.array(ks) * fundamental, fs=rate)[1]) ** 2


_GUARD_MIN_FRAMES = 60  # a shorter buffer is analysed unfiltered (sosfiltfilt's padding needs more)


@lru_cache(maxsize=8)
def _guard_start(rate: float) -> tuple[np.ndarray, int]:
    """sosfiltfilt's set-up for _guard, once per rate: the sections' steady-state initial conditions
    (sosfilt_zi) and the odd extension's length (3 x the taps, zero end coefficients discounted)."""
    sos = _guard(rate)
    taps = 2 * sos.shape[0] + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return signal.sosfilt_zi(sos), 3 * taps


def guard_band(low: np.ndarray, rate: float) -> np.ndarray:
    """The analysis band of a low-rate signal (..., n): _guard run both ways (as is, if too short).
    scipy.signal.sosfiltfilt's steps (odd extension, forward and backward passes from the steady
    state), with its set-up kept per rate."""
    if low.shape[-1] <= _GUARD_MIN_FRAMES:
        return low
    sos = _guard(rate)
    zi, edge = _guard_start(rate)
    x = np.asarray(low)
    if x.shape[-1] <= edge:
        return signal.sosfiltfilt(sos, x, axis=-1)
    ext = np.concatenate((2 * x[..., :1] - x[..., edge:0:-1], x, 2 * x[..., -1:] - x[..., -2:-(edge + 2):-1]), axis=-1)
    zi = zi.reshape([sos.shape[0]] + [1] * (x.ndim - 1) + [2])
    y, _ = signal.sosfilt(sos, ext, axis=-1, zi=zi * ext[..., :1])
    y, _ = signal.sosfilt(sos, y[..., ::-1], axis=-1, zi=zi * y[..., -1:])
    return y[..., ::-1][..., edge:-edge]


_CACHE_MAX = 1 << 15  # elements: larger carriers (whole long files) are computed, not kept (0.5 MB each)
_ROTATIONS_CACHE_MAX = 1 << 18  # elements: the search's rotations of a 20-30 s buffer (4 MB) are kept


def _carriers(offsets: tuple[float, ...], g: int, grid_rate: float) -> np.ndarray:
    """e^{-j 2 pi f t} on the grid for each offset f (Hz), (offsets, g): kept for the common sizes
    (every buffer of a detector, every window of a restorer, has one of a few lengths)."""
    if len(offsets) * g <= _CACHE_MAX:
        return _carriers_kept(offsets, g, grid_rate)
    return np.exp(-2j * np.pi * np.outer(offsets, np.arange(g) / grid_rate))


@lru_cache(maxsize=16)
def _carriers_kept(offsets: tuple[float, ...], g: int, grid_rate: float) -> np.ndarray:
    out = np.exp(-2j * np.pi * np.outer(offsets, np.arange(g) / grid_rate))
    out.flags.writeable = False
    return out


class _Analysis:
    """The low band of one signal, heterodyned at the nominal fundamental, on a coarse grid."""

    def __init__(self, low: np.ndarray, rate: float, ks: np.ndarray, fundamental: float,
                 guarded: np.ndarray | None = None) -> None:
        """guarded: guard_band(low, rate) when the caller already has it (one per buffer, whatever
        the fundamental)."""
        self.low, self.rate, self.ks, self.f0 = low, rate, ks, fundamental
        self.step = max(1, int(round(rate / _GRID_HZ)))
        self.grid_rate = rate / self.step
        n = low.shape[-1]
        gain = np.ones(ks.size)
        guarded = guard_band(low, rate) if guarded is None else guarded
        if n > _GUARD_MIN_FRAMES:  # the gain of the filter guard_band ran
            gain = _guard_gain(rate, fundamental, tuple(int(k) for k in ks))
        self.lines = _to_grid_sums(_heterodyned_sums(guarded, fundamental / rate, ks, self.step),
                                   self.step) / gain[None, :, None]  # (C, K, G)
        self.tg = np.arange(self.lines.shape[-1]) / self.grid_rate
        self.beside = self._beside()
        tiny = 1e-12 * float(np.mean(np.abs(self.lines) ** 2)) + 1e-40  # silence: weights stay finite
        self.floor = _FLOOR * _smooth(self.beside, self.seconds(_FLOOR_S)) + tiny
        self.w0 = 1.0 / (self.beside + self.floor)

    def seconds(self, s: float) -> int:
        return max(1, int(round(s * self.grid_rate)))

    def shifted(self, z: np.ndarray, offsets) -> np.ndarray:
        """z heterodyned further by each offset (Hz): (offsets, *z.shape), C-contiguous."""
        return z[None] * _carriers(tuple(float(f) for f in offsets), self.tg.size, self.grid_rate).reshape(
            len(offsets), *([1] * (z.ndim - 1)), -1)

    def _beside(self) -> np.ndarray:
        """The programme's power beside each line, (C, K, G): mean over probes 6.25 and 12.5 Hz
        either side, each a 0.48 s B-spline mean (whose nulls fall on the line itself), smoothed."""
        n = self.seconds(_POWER_S)
        each_s = (n // 3) / self.grid_rate
        probes = self.shifted(self.lines, [m / each_s for m in _POWER_PROBES])
        return _smooth(np.mean(_abs2(_smooth_complex_inplace(probes, n)), axis=0), n)

    def weights(self, z: np.ndarray | None = None, a: np.ndarray | None = None) -> np.ndarray:
        """Inverse programme power (C, K, G), floored at a fraction of its 4 s mean; given basebands
        z and amplitudes a, what departs from a at the line (0.48 s means) counts as programme too
        (a robust re-weighting round)."""
        if a is None:
            return self.w0
        n = self.seconds(_POWER_S)
        d = _smooth(z, n) - a
        total = self.beside + self.floor
        total += _smooth(_abs2(d), n)
        return np.divide(1.0, total, out=total)


_EXACT_EVERY = 8  # _rotations: candidates whose rotation is computed exactly; those between by products


def _rotations(cands: np.ndarray, kt: np.ndarray) -> np.ndarray:
    """e^{-j 2 pi c kt} for every candidate c of an evenly spaced grid, (D, *kt.shape) complex.

    Every _EXACT_EVERY-th candidate's rotation is a complex exponential, the ones between it times
    powers of the grid step's rotation (at most 7 products: within 1.3e-13 of the direct exponential,
    whose own rounding at 600-radian angles is of that order), an eighth of the exponentials."""
    d = cands.size
    if d < 2 * _EXACT_EVERY:
        return np.exp(-2j * np.pi * cands[:, None, None] * kt[None])
    step = cands[1] - cands[0]
    heads = np.exp(-2j * np.pi * cands[::_EXACT_EVERY, None, None] * kt[None])  # (H, *kt.shape)
    steps = _powers(np.exp(-2j * np.pi * step * kt).ravel(), np.arange(_EXACT_EVERY)).reshape(_EXACT_EVERY, *kt.shape)
    out = np.empty((heads.shape[0] * _EXACT_EVERY, *kt.shape), dtype=complex)
    np.multiply(heads[:, None], steps[None], out=out.reshape(heads.shape[0], _EXACT_EVERY, *kt.shape))
    return out[:d]


def _search_rotations(max_dev: float, ks: tuple[int, ...], g: int, cstep: int,
                      grid_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """The search's candidate offsets' rotations at each harmonic and time, `_rotations` (D, K, g),
    as contiguous real and imaginary parts; kept for the common sizes (a detector's 20 s buffers,
    a restorer's windows: 4 MB each at most)."""
    if len(ks) * g * (2 * max_dev / _SEARCH_STEP_HZ + 1) <= _ROTATIONS_CACHE_MAX:
        return _search_rotations_kept(max_dev, ks, g, cstep, grid_rate)
    return _search_rotations_made(max_dev, ks, g, cstep, grid_rate)


def _search_rotations_made(max_dev: float, ks: tuple[int, ...], g: int, cstep: int,
                           grid_rate: float) -> tuple[np.ndarray, np.ndarray]:
    tc = np.arange(g) * cstep / grid_rate
    cands = np.arange(-max_dev, max_dev + 1e-9, _SEARCH_STEP_HZ)
    rot = _rotations(cands, np.array(ks, dtype=np.int64)[:, None] * tc[None, :])
    return np.ascontiguousarray(rot.real), np.ascontiguousarray(rot.imag)


@lru_cache(maxsize=4)
def _search_rotations_kept(max_dev: float, ks: tuple[int, ...], g: int, cstep: int,
                           grid_rate: float) -> tuple[np.ndarray, np.ndarray]:
    parts = _search_rotations_made(max_dev, ks, g, cstep, grid_rate)
    for a in parts:
        a.flags.writeable = False
    return parts


def _search_energy(wz: np.ndarray, ww: np.ndarray, rot: tuple[np.ndarray, np.ndarray], length: int) -> np.ndarray:
    """The search's weighted fit energy per candidate and time, (D, Gc): sum over channels and
    harmonics of |S[wz rot]|^2 / S[ww] (S: _smooth over `length`). wz (C, K, Gc) complex,
    ww (C, K, Gc), rot: the rotations' real and imaginary parts, each (D, K, Gc). The (D, C, K, Gc)
    products are formed in one real buffer and smoothed in place: the same sums as _smooth of the
    complex products without the copies."""
    cr, ci = rot[0][:, None], rot[1][:, None]  # (D, 1, K, Gc)
    buf = np.empty((2, *cr.shape[:1], *wz.shape))
    tmp = np.empty(buf.shape[1:])
    zr, zi = np.ascontiguousarray(wz.real), np.ascontiguousarray(wz.imag)
    np.multiply(zr, cr, out=buf[0])
    np.subtract(buf[0], np.multiply(zi, ci, out=tmp), out=buf[0])
    np.multiply(zr, ci, out=buf[1])
    np.add(buf[1], np.multiply(zi, cr, out=tmp), out=buf[1])
    each = max(1, int(length) // 3)
    if each > 1:
        _smooth_into(buf, each, complex_view=False)
    np.square(buf, out=buf)
    energy = np.add(buf[0], buf[1], out=buf[0])
    np.divide(energy, np.maximum(_smooth(ww, length), 1e-300)[None], out=energy)
    return energy.sum(axis=(1, 2))


def search_offset(an: _Analysis, w: np.ndarray, max_dev: float, agility: float = 1.0) -> np.ndarray:
    """The fundamental's offset from nominal (Hz) per grid sample, by a local harmonic-sum search.

    For each candidate offset (0.01 Hz steps within +-max_dev), every harmonic's line is fitted by
    weighted least squares over a 6 s window around each time; the offset whose fits explain the
    most weighted energy, summed over harmonics and channels (the log-likelihood gain), wins, with
    parabolic refinement. On a 10 Hz grid: the basebands hold only the slow rotation of the lines.
    """
    cstep = max(1, int(round(an.grid_rate / _SEARCH_HZ)))
    use = an.ks <= _SEARCH_MAX_K
    wz, ww = _to_grid((w * an.lines)[:, use], cstep), _to_grid(w[:, use], cstep)
    tc = np.arange(wz.shape[-1]) * cstep / an.grid_rate
    length = max(3, int(round(_SEARCH_S / agility * an.grid_rate / cstep)))
    cands = np.arange(-max_dev, max_dev + 1e-9, _SEARCH_STEP_HZ)
    rot = _search_rotations(float(max_dev), tuple(int(k) for k in an.ks[use]), tc.size, cstep, float(an.grid_rate))
    energy = _search_energy(wz, ww, rot, length)  # (D, Gc)
    j = np.argmax(energy, axis=0)
    jc = np.clip(j, 1, max(1, cands.size - 2))
    cols = np.arange(tc.size)
    if cands.size >= 3:
        a, b, c = (np.log(energy[jc + d, cols] + 1e-300) for d in (-1, 0, 1))
        den = a - 2 * b + c
        frac = np.where((den < 0) & (j == jc), 0.5 * (a - c) / np.where(den < 0, den, -1.0), 0.0)
        dev = np.where(j == jc, cands[jc] + np.clip(frac, -1, 1) * _SEARCH_STEP_HZ, cands[j])
    else:
        dev = cands[j]
    return np.interp(an.tg, tc, _smooth(dev, length))


def _amplitudes(an: _Analysis, z: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Each harmonic's weighted least-squares amplitude over `length` grid samples, after one robust
    re-weighting round: (a (C, K, G), weights)."""
    a = _wsmooth(z, an.w0, length)
    w = an.weights(z, a)
    return _wsmooth(z, w, length), w


def track_phase(an: _Analysis, max_dev: float = _MAX_DEV_HZ, agility: float = 1.0,
                rounds: int = _GN_ROUNDS) -> np.ndarray:
    """The hum's phase deviation from the nominal fundamental, radians per grid sample.

    The search gives the drifting offset; Gauss-Newton rounds then refine the phase itself: with each
    harmonic's amplitude a_k over 8 s as reference, the common deviation theta that best explains
    the basebands, sum_k k w_k Im(z_k conj a_k) / sum_k k^2 w_k |a_k|^2 (4 s means), is added.
    The phase, not the frequency, is what cancellation needs exact: 0.1 rad off leaves -20 dB.
    """
    dev = search_offset(an, an.w0, max_dev, agility)
    theta = 2 * np.pi * np.cumsum(dev) / an.grid_rate
    kk = an.ks[None, :, None].astype(float)
    amp_len, gn_len = an.seconds(_GN_AMP_S / agility), an.seconds(_GN_S / agility)
    step = _GN_MAX_STEP * agility
    for _ in range(rounds):
        z = an.lines * _expj(-(kk * theta))  # e^{-j k theta}
        a, w = _amplitudes(an, z, amp_len)
        slope, info = _local_slope(z, w, gn_len)  # (C, K, G): k x the fundamental's slope
        wk = info * kk  # pooled: slope_k / k weighted by k^2 x information
        beta = (wk * slope).sum(axis=(0, 1)) / np.maximum((wk * kk).sum(axis=(0, 1)), 1e-300)
        theta = theta + np.cumsum(np.clip(beta, -step, step))
    return theta


def hum_model(an: _Analysis, theta: np.ndarray, gate: bool = True) -> np.ndarray:
    """The stationary hum in the low band: (channels, n), sum_k 2 Re(G_k a_k e^{j k phi}).

    a_k: weighted least-squares amplitude of harmonic k over a 12 s window (basebands taken with the
    tracked phase). G_k = 1 - var_k / |a_k|^2, clipped to [0, 1] (powers averaged 4 s): the
    plug-in Wiener gain, var_k being the same estimator's output on the programme 3-4 Hz beside the
    line, so a harmonic the programme buries is left in place rather than replaced by the
    programme's own content there.
    """
    kk = an.ks[None, :, None].astype(float)
    z = an.lines * _expj(-(kk * theta))  # e^{-j k theta}
    length = an.seconds(_AMP_S)
    a, w = _amplitudes(an, z, length)
    if gate:
        glen = an.seconds(_GATE_S)
        noise = _abs2(_wsmooth_shifted(an, z, _GATE_PROBES_HZ, w, length))
        var = _smooth(noise.mean(axis=0), glen)
        a = a * np.clip(1.0 - _BETA * var / np.maximum(_smooth(np.abs(a) ** 2, glen), 1e-300), 0.0, 1.0)
    n = an.low.shape[-1]
    # e^{j k (phi(t) + 2 pi f0 t)}: the tracked phase and the carrier in one exponential per sample
    cycles = (an.f0 / an.rate * np.arange(n)) % 1.0
    rot = _powers(_expj(_from_grid(theta, an.step, n) + 2 * np.pi * cycles), an.ks)  # (K, n)
    return 2 * np.real(np.einsum("ckn,kn->cn", _from_grid(a, an.step, n), rot))


def cancel_hum(audio: np.ndarray, sample_rate: int, fundamental: float, harmonics: list[int],
               max_dev: float = _MAX_DEV_HZ, gate: bool = True, agility: float = 1.0) -> np.ndarray:
    """audio (channels, frames) less its tracked harmonic hum model; float32, same shape.

    The low band (~2 kHz, two-stage polyphase decimation flat to 650 Hz) is analysed; the model is
    built there, brought back to the full rate through the same filters and subtracted.
    """
    x = np.asarray(audio, dtype=np.float32)
    n = x.shape[-1]
    rate = sample_rate / max(1, int(sample_rate // _LOW_RATE))
    top = min(_MAX_LINE_HZ, 0.4 * rate)
    ks = np.array([k for k in harmonics if 0 < k * (fundamental + max_dev) < top], dtype=np.int64)
    if ks.size == 0 or n < 2:
        return x.copy()
    low = _decimate(x, sample_rate).astype(np.float64)
    an = _Analysis(low, rate, ks, float(fundamental))
    model = hum_model(an, track_phase(an, max_dev, agility), gate)
    return x - _interpolate(model.astype(np.float32), sample_rate, n)


_EVIDENCE_HOOD_HZ = (1.0, 10.0)  # a line is judged against the coherent spectrum this far beside it
_EVIDENCE_PERCENTILE = 90.0
_STEADY_S = 0.5  # window of the short-time line estimates the stationarity ratio compares


@lru_cache(maxsize=16)
def _evidence_bins(nfft: int, grid_rate: float, g: int) -> tuple[np.ndarray, np.ndarray]:
    """The coherent spectrum's bins that line_evidence reads: the line's (within 1.5 / T of it) and
    its neighbourhood's (1-10 Hz either side), in bin order."""
    d = np.abs(np.fft.fftfreq(nfft, 1.0 / grid_rate))
    lo, hi = _EVIDENCE_HOOD_HZ
    return np.flatnonzero(d <= 1.5 * grid_rate / g), np.flatnonzero((d >= lo) & (d <= hi))


def line_evidence(low: np.ndarray, rate: float, fundamental: float, harmonics: list[int],
                  max_dev: float = _MAX_DEV_HZ, rounds: int = 1,
                  guarded: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """How much each harmonic of a tracked fundamental looks like a hum line, over the whole of a
    low band (channels, n) at ~2 kHz (a detector's buffer of up to some tens of seconds).

    With the phase tracked as for cancellation, the basebands are integrated coherently over the
    whole buffer (inverse-power weighted, as the amplitude estimate is): a hum line then stands in
    one 1/T-wide bin. Returns, per harmonic (K,):
      `line_db`: that bin's power over the 90th percentile of the coherent spectrum 1-10 Hz beside
        it (programme partials there glide and spread; a mains line does not);
      `steady_db`: the ratio of the mean power of 0.5 s line estimates (their noise removed) to the
        power of their mean: ~0 dB for a steady line, 1/duty for one that comes and goes
        (a monotone voice, a held note);
      `power`: the line's power (mean square, summed over channels), weighted estimate;
    and `offset_hz`, `drift_hz`: the tracked fundamental's mean offset from `fundamental` and half
    the 5-95 % spread of its values. guarded: guard_band(low, rate), if the caller has it.
    Reference: S. M. Kay, Fundamentals of Statistical Signal Processing: Detection Theory (1998),
    ch. 7 (coherent detection of sinusoids of unknown phase).
    """
    ks = np.asarray(harmonics, dtype=np.int64)
    an = _Analysis(np.asarray(low, dtype=np.float64), rate, ks, float(fundamental), guarded)
    theta = track_phase(an, max_dev, rounds=rounds)
    z = an.lines * _expj(-(ks[None, :, None] * theta))  # e^{-j k theta}
    w = an.w0
    g = z.shape[-1]
    nfft = 1 << int(np.ceil(np.log2(4 * g)))
    wsum = w.sum(axis=-1, keepdims=True)
    line_bins, hood_bins = _evidence_bins(nfft, float(an.grid_rate), g)
    wz = w * z
    spec = np.fft.fft(wz, nfft, axis=-1)
    p_line = _abs2(spec[..., line_bins] / wsum).sum(axis=0)  # (K, bins) of the coherent spectrum
    p_hood = _abs2(spec[..., hood_bins] / wsum).sum(axis=0)
    line = p_line.max(axis=1)
    ref = np.percentile(p_hood, _EVIDENCE_PERCENTILE, axis=1)
    n = an.seconds(_STEADY_S)
    sw = _smooth(w, n)
    b = _wsmooth_into(wz.copy(), w, n, sw)
    noise = _abs2(_wsmooth_shifted(an, z, (-3.0, 3.0), w, n, sw)).mean(axis=0)
    wt = sw
    mean_b = (wt * b).sum(axis=-1) / wt.sum(axis=-1)
    m2 = (wt * (np.abs(b) ** 2 - noise)).sum(axis=-1) / wt.sum(axis=-1)
    level = np.maximum((np.abs(mean_b) ** 2).sum(axis=0), 1e-300)  # (K,)
    steady = m2.sum(axis=0) / level
    na = an.seconds(_ABSENT_S)
    swa = _smooth(w, na)
    hop = max(1, na // 4)  # the absence test reads every hop-th estimate only
    probes = _weighted_shifted(an, z, _ABSENT_PROBES_HZ, w)
    absent = _absent_share(_wsmooth_sampled(wz.copy(), na, swa, hop),
                           _abs2(_wsmooth_sampled(probes, na, swa[None], hop)).mean(axis=0), level)
    a = wz.sum(axis=-1) / wsum[..., 0]  # (C, K) whole-buffer weighted amplitude
    freq = np.diff(theta) * an.grid_rate / (2 * np.pi)
    return {"line_db": 10 * np.log10(np.maximum(line, 1e-300) / np.maximum(ref, 1e-300)),
            "steady_db": 10 * np.log10(np.maximum(steady, 1e-3)),
            "absent": absent,
            "power": 2 * (np.abs(a) ** 2).sum(axis=0),
            "offset_hz": float(np.mean(freq)) if freq.size else 0.0,
            "drift_hz": float(np.percentile(freq, 95) - np.percentile(freq, 5)) / 2 if freq.size else 0.0}



_ABSENT_S = 0.25  # window of the short-time line estimates the absence test reads
_ABSENT_PROBES_HZ = (-8.0, 8.0)  # ... and where their noise is measured
_ABSENT = 0.1  # a short-time line estimate this far below the buffer's line power (and its noise too) is an absence


def _absent_share(b: np.ndarray, noise: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Per harmonic (K,): the share of short-time windows (b (C, K, windows), the estimates the
    caller sampled) where the line is reliably absent: its power and its estimate's noise both under
    0.1 x the whole-buffer line power `level`. Mains hum never goes away (~0); a voice's or a note's
    line vanishes between syllables and notes."""
    pb = (np.abs(b) ** 2).sum(axis=0)
    nb = noise.sum(axis=0)
    return np.mean((pb < _ABSENT * level[:, None]) & (nb < _ABSENT * level[:, None]), axis=1)
