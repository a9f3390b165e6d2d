"""Simulated speed variation with ground truth: wow (slow) and flutter (fast).

The playback speed is s(t) = 1 + w cos(2 pi f_w t + a) + v cos(2 pi f_f t + b): wow depth w at
0.5-3 Hz (an off-centre disc at 33 1/3 rpm gives 0.556 Hz, at 78 rpm 1.3 Hz; a capstan or a
warped reel similar rates) and flutter depth v at 5-30 Hz (capstan and idler irregularities).
Depths are peak deviations in percent. The output reads the input at t + d(t), where d is the
integral of s - 1 with its mean removed: the time displacement stays bounded and averages to
zero, so the output keeps the input's length and is aligned with it on average (no drift).
Reading between samples uses a 32-tap Blackman-windowed sinc interpolator.
Reference: IEC 60386 / AES6 (wow and flutter, peak deviation).
"""

from __future__ import annotations

import numpy as np

from ._degrade_util import Label, as2d, like

_TAPS = 16  # half-length of the interpolator
_PHASES = 1024  # kernel table resolution; linear interpolation between phases (error < -120 dB)
_BLOCK = 32768
_TABLE: tuple[np.ndarray, np.ndarray] | None = None


def _kernel_table() -> tuple[np.ndarray, np.ndarray]:
    """Blackman-windowed sinc weights for fractional offsets m / _PHASES, each row summing to 1."""
    global _TABLE
    if _TABLE is None:
        t = (np.arange(_PHASES + 1) / _PHASES)[:, None] - np.arange(-_TAPS + 1, _TAPS + 1)[None, :]
        w = np.sinc(t) * (0.42 + 0.5 * np.cos(np.pi * t / _TAPS) + 0.08 * np.cos(2 * np.pi * t / _TAPS))
        w /= w.sum(axis=1, keepdims=True)
        _TABLE = (w, np.diff(w, axis=0))
    return _TABLE


def sinc_read(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Band-limited read of x (channels, frames) at fractional sample `positions`; (channels, len) float64.

    Positions outside the signal read its mirror image (reflected padding).
    """
    channels, n = x.shape
    if n == 0 or positions.size == 0:
        return np.zeros((channels, positions.size))
    reach = _TAPS + 1 + int(np.ceil(max(0.0, -float(positions.min()), float(positions.max()) - (n - 1))))
    xp = np.pad(x.astype(np.float64), ((0, 0), (reach, reach)), mode="reflect" if n > 1 else "edge")
    k = np.arange(-_TAPS + 1, _TAPS + 1)
    table, slope = _kernel_table()
    out = np.empty((channels, positions.size))
    for s in range(0, positions.size, _BLOCK):
        p = positions[s:s + _BLOCK]
        i0 = np.floor(p)
        ph = (p - i0) * _PHASES
        j = np.minimum(ph.astype(np.int64), _PHASES - 1)
        w = table[j] + slope[j] * (ph - j)[:, None]
        idx = i0.astype(np.int64)[:, None] + k[None, :] + reach
        out[:, s:s + p.size] = np.einsum("ij,cij->ci", w, xp[:, idx])
    return out


def add_wow_flutter(audio: np.ndarray, sample_rate: int, wow_depth_pct: float = 0.2, wow_rate_hz: float = 0.556,
                    flutter_depth_pct: float = 0.05, flutter_rate_hz: float = 10.0,
                    seed: int = 0) -> tuple[np.ndarray, Label]:
    """Vary the playback speed sinusoidally (wow + flutter), keeping length and mean alignment.

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32; every channel
    follows the same speed curve. Depths: peak speed deviation in percent (0.1 % = 1.7 cents).
    Phases are drawn from `seed`. Label params: the depths and rates, their phases, and `speed`:
    min, max, peak and rms deviation (%) and the largest time displacement (ms).
    """
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    t = np.arange(n) / sample_rate
    phases = rng.uniform(0, 2 * np.pi, 2)
    speed = np.ones(n)
    disp = np.zeros(n)  # seconds
    for depth, rate, ph in ((wow_depth_pct, wow_rate_hz, phases[0]), (flutter_depth_pct, flutter_rate_hz, phases[1])):
        if depth > 0 and rate > 0:
            arg = 2 * np.pi * rate * t + ph
            speed += depth / 100 * np.cos(arg)
            disp += depth / 100 / (2 * np.pi * rate) * np.sin(arg)
    if n:
        disp -= disp.mean()
    y = sinc_read(x, np.arange(n) + disp * sample_rate) if n else x.astype(np.float64)
    dev = (speed - 1) * 100
    summary = {"min": float(speed.min()) if n else 1.0, "max": float(speed.max()) if n else 1.0,
               "peak_deviation_pct": float(np.abs(dev).max()) if n else 0.0,
               "rms_deviation_pct": float(np.sqrt(np.mean(dev**2))) if n else 0.0,
               "max_displacement_ms": float(np.abs(disp).max() * 1000) if n else 0.0}
    params = {"wow_depth_pct": float(wow_depth_pct), "wow_rate_hz": float(wow_rate_hz),
              "flutter_depth_pct": float(flutter_depth_pct), "flutter_rate_hz": float(flutter_rate_hz),
              "phases": phases.tolist(), "speed": summary}
    return like(y, audio), {"kind": "wow", "params": params, "regions": []}
