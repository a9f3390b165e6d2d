"""Adaptive cancellation of mains hum by harmonic sinusoidal modelling (the method behind `dehum`).

Hum is a few sinusoids at exact multiples of one slowly drifting fundamental, with amplitudes that
stay put for seconds. Speech and music near the same frequencies do not stay put: their partials
glide through, start and stop. So instead of cutting the bands around the harmonics, the hum is
modelled and subtracted: the fundamental is tracked, each harmonic's complex amplitude is fitted
over a long window, and only what is stationary at exactly k x f0(t) is taken away.

Every step is a shift-invariant filter of finite support (running means, pointwise maths), so the
output at a sample depends only on the input within `CONTEXT_S` of it: a long file processed
window by window gives the same result as processed whole.
"""

from __future__ import annotations

import numpy as np
from scipy import signal
from scipy.ndimage import uniform_filter1d

_LOW_RATE = 2000.0  # analysis rate: every harmonic we cancel lies below 0.4 of it
_MAX_FREQ = 0.4  # highest cancelled line, as a fraction of the analysis rate
_GRID_HZ = 100.0  # rate of the heterodyned basebands (all narrower than ~2 Hz)
_TRACK_S = 1.0  # window of the basebands the frequency is read from
_FREQ_S = 3.0  # window the frequency estimate is averaged over
_AMP_S = 8.0  # window of each harmonic's least-squares amplitude
_GATE_S = 4.0  # window the Wiener gain's powers are averaged over
_PROBES_HZ = (-3.0, -2.0, 2.0, 3.0)  # offsets where the programme's own level is measured
_TRACK_PROBES_HZ = (-4.0, 4.0)
_BETA = 2.0  # over-subtraction of the programme level in the Wiener gain
_SNR_CAP = 30.0  # a harmonic's tracking weight: its line-to-programme ratio up to 15 dB, over k^2
_MAX_DEV_HZ = 0.5  # the tracked fundamental stays within this of the given one
# The chained windows reach 2 x (1 + 3) / 2 + 8 / 2 + 4 / 2 = 10 s each side, but the B-spline tails
# weigh little: 5 s of context already matches the whole-file result to -98 dB (re signal RMS).
CONTEXT_S = 6.0


def _smooth(z: np.ndarray, length: int) -> np.ndarray:
    """Zero-phase low-pass along the last axis: three cascaded running means (a quadratic B-spline
    window of `length` samples in all), normalised by the window's part inside the signal, so near
    the ends it is the weighted mean of the samples that exist. Real or complex input."""
    if np.iscomplexobj(z):
        both = _smooth(np.stack([z.real, z.imag]), length)
        return both[0] + 1j * both[1]
    each = max(1, int(length) // 3)
    out, ones = z, np.ones(z.shape[-1])
    for _ in range(3):
        out = uniform_filter1d(out, each, axis=-1, mode="constant")
        ones = uniform_filter1d(ones, each, mode="constant")
    return out / np.maximum(ones, 1e-12)


def _to_grid(z: np.ndarray, step: int) -> np.ndarray:
    """Running mean over two grid steps (nulls at multiples of rate / 2 step, where the other
    harmonics' offsets fall for 50 Hz mains) and every step-th sample."""
    if np.iscomplexobj(z):
        both = _to_grid(np.stack([z.real, z.imag]), step)
        return both[0] + 1j * both[1]
    return uniform_filter1d(z, 2 * step, axis=-1, mode="nearest")[..., ::step] if step > 1 else z


def _from_grid(z: np.ndarray, step: int, frames: int) -> np.ndarray:
    """Linear interpolation of a grid signal back to `frames` samples (the basebands are smooth)."""
    if step == 1:
        return z[..., :frames]
    pos = np.arange(frames) / step
    i0 = np.minimum(pos.astype(np.int64), z.shape[-1] - 1)
    i1 = np.minimum(i0 + 1, z.shape[-1] - 1)
    frac = pos - i0
    return z[..., i0] * (1 - frac) + z[..., i1] * frac


def _weighted_median(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted median over axis 0 of v (K, frames), weights w >= 0 (0 where all weights are 0)."""
    order = np.argsort(v, axis=0)
    vs, ws = np.take_along_axis(v, order, axis=0), np.take_along_axis(w, order, axis=0)
    cum = np.cumsum(ws, axis=0)
    idx = np.minimum((cum < 0.5 * cum[-1][None]).sum(axis=0), v.shape[0] - 1)
    return np.where(cum[-1] > 0, np.take_along_axis(vs, idx[None], axis=0)[0], 0.0)


class _Analysis:
    """The low band of one signal and its heterodyned basebands on a coarse grid."""

    def __init__(self, low: np.ndarray, rate: float, ks: np.ndarray) -> None:
        self.low, self.rate, self.ks = low, rate, ks
        self.step = max(1, int(round(rate / _GRID_HZ)))
        self.grid_rate = rate / self.step
        self.t = np.arange(low.shape[-1]) / rate

    def phase(self, f_grid: np.ndarray) -> np.ndarray:
        """Phase (cycles) of the tracked fundamental at every low-band sample."""
        phi = np.cumsum(_from_grid(f_grid, self.step, self.low.shape[-1])) / self.rate
        return phi - phi[0]

    def baseband(self, phi: np.ndarray, offsets: tuple[float, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(lines, probes): each harmonic heterodyned to DC with the phase k phi, on the grid
        (channels, K, grid); and the same shifted by each offset (Hz), (offsets, channels, K, grid)."""
        mixed = self.low[:, None, :] * np.exp(-2j * np.pi * np.outer(self.ks, phi))[None]
        lines = _to_grid(mixed, self.step)
        probes = [_to_grid(mixed * np.exp(-2j * np.pi * d * self.t), self.step) for d in offsets]
        return lines, np.stack(probes) if probes else np.zeros((0, *lines.shape), complex)

    def seconds(self, s: float) -> int:
        return int(round(s * self.grid_rate))


def _track_step(an: _Analysis, f_grid: np.ndarray) -> np.ndarray:
    """One round of tracking: the fundamental's offset from f_grid, per grid sample.

    Each harmonic heterodyned with the current phase and low-passed (~1 s) rotates at k times the
    remaining offset; its rotation rate over its power (averaged ~3 s) is harmonic k's estimate.
    The estimates are pooled by a weighted median, weights (line-to-programme ratio, capped) / k^2,
    so the low harmonics, where hum's energy is, lead, and a partial of the programme that crosses
    one harmonic does not drag the others along.
    """
    lines, probes = an.baseband(an.phase(f_grid), _TRACK_PROBES_HZ)
    track, long = an.seconds(_TRACK_S), an.seconds(_FREQ_S)
    b = _smooth(lines, track)  # (C, K, grid)
    db = np.gradient(b, axis=-1) if b.shape[-1] > 1 else np.zeros_like(b)
    sigma2 = _smooth((np.abs(_smooth(probes, track)) ** 2).mean(axis=0).sum(axis=0), long)  # (K, grid)
    power = _smooth((np.abs(b) ** 2).sum(axis=0), long)
    rot = _smooth(np.imag(np.conj(b) * db).sum(axis=0), long) * an.grid_rate / (2 * np.pi)
    kk = an.ks[:, None].astype(float)
    dev_k = rot / (kk * np.maximum(power, 1e-300))
    snr = np.clip(power - sigma2, 0, None) / np.maximum(sigma2, 1e-300)
    return f_grid + _weighted_median(dev_k, np.minimum(snr, _SNR_CAP) / kk**2)


def track_fundamental(an: _Analysis, fundamental: float, max_dev: float = _MAX_DEV_HZ,
                      passes: int = 2) -> np.ndarray:
    """Fundamental (Hz) per grid sample: `passes` rounds of `_track_step`, each heterodyning with
    the previous round's phase (so a start up to max_dev off is pulled in), kept within max_dev."""
    f = np.full(-(-an.low.shape[-1] // an.step), float(fundamental))
    for _ in range(passes):
        f = np.clip(_track_step(an, f), fundamental - max_dev, fundamental + max_dev)
    return f


def hum_model(an: _Analysis, f_grid: np.ndarray, gate: bool = True) -> np.ndarray:
    """The stationary hum in the low band, per harmonic: (channels, K, frames), 2 Re(G_k a_k e^{j k phi}).

    a_k(t): least-squares complex amplitude of harmonic k over a ~8 s window (heterodyne with the
    tracked phase, low-pass). G_k(t) = 1 - 2 sigma^2 / |a_k|^2 (powers averaged ~4 s, clipped to
    [0, 1]): a Wiener-style gain, sigma^2 being the programme's level in the same bandwidth 2-3 Hz
    beside the line, so a harmonic buried in the programme is left in place rather than replaced by
    the programme's own content there.
    """
    phi = an.phase(f_grid)
    lines, probes = an.baseband(phi, _PROBES_HZ if gate else ())
    length = an.seconds(_AMP_S)
    a = _smooth(lines, length)  # (C, K, grid)
    if gate:
        glen = an.seconds(_GATE_S)
        sigma2 = _smooth((np.abs(_smooth(probes, length)) ** 2).mean(axis=0), glen)
        power = _smooth(np.abs(a) ** 2, glen)
        a = a * np.clip(1.0 - _BETA * sigma2 / np.maximum(power, 1e-300), 0.0, 1.0)
    a = _from_grid(a, an.step, an.low.shape[-1])
    return 2 * np.real(a * np.exp(2j * np.pi * np.outer(an.ks, phi))[None])


def cancel_hum(audio: np.ndarray, sample_rate: int, fundamental: float, harmonics: list[int],
               max_dev: float = _MAX_DEV_HZ, gate: bool = True) -> np.ndarray:
    """audio (channels, frames) less its tracked harmonic hum model; float64, same shape.

    The low band (~2 kHz rate, scipy.signal.resample_poly) is analysed; the model is built there,
    divided by the resampling filter's gain at each harmonic (down and up), brought back to the
    full rate with the same filter and subtracted.
    """
    x = np.asarray(audio, dtype=np.float64)
    factor = max(1, int(sample_rate // _LOW_RATE))
    rate = sample_rate / factor
    ks = np.array([k for k in harmonics if 0 < k * (fundamental + max_dev) < _MAX_FREQ * rate])
    n = x.shape[-1]
    if ks.size == 0 or n < 2:
        return x.copy()
    low = signal.resample_poly(x, 1, factor, axis=-1) if factor > 1 else x
    an = _Analysis(low, rate, ks)
    parts = hum_model(an, track_fundamental(an, fundamental, max_dev), gate)  # (C, K, frames)
    if factor == 1:
        return x - parts.sum(axis=1)
    g = _resampler_gain(factor, ks * fundamental, sample_rate)
    model = np.einsum("ckn,k->cn", parts, 1.0 / g**2)
    return x - signal.resample_poly(model, factor, 1, axis=-1)[:, :n]


def _resampler_gain(factor: int, freqs: np.ndarray, sample_rate: float) -> np.ndarray:
    """Gain of scipy.signal.resample_poly's default filter (down or up by `factor`) at `freqs` Hz."""
    h = signal.firwin(20 * factor + 1, 1.0 / factor, window=("kaiser", 5.0))
    w = 2 * np.pi * np.asarray(freqs, dtype=float) / sample_rate
    return np.abs(np.exp(-1j * np.outer(w, np.arange(h.size))) @ h)
