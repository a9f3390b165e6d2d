"""Restorer `dewow`: undo wow (and flutter) by resampling along the inverse of the speed curve.

The `wow` detector finds the rate of the periodic speed variation; here, on each window, the
partials' tracks give the slowly varying amplitude and phase of that component (`_pitch_fit.
local_amplitude`), its integral is the time displacement d(t) of the recording, and the output
reads the input at t - d(t) with a band-limited interpolator (`_warp`). The displacement of a
zero-mean periodic speed is itself zero-mean, so the result keeps the input's length and stays
aligned with it on average.
"""

from __future__ import annotations

import math

import numpy as np

from . import _pitch, _pitch_fit
from ._warp import read_at
from .findings import Finding
from .registry import Restorer, register_restorer

KERNEL_S = 8.0  # span over which wow's amplitude and phase are taken as constant
FLUTTER_KERNEL_S = 2.0
CONTEXT_S = KERNEL_S / 2 + 1.0  # the kernel's reach plus the longest partial tracks
_MAX_DEPTH = 0.03  # a speed deviation beyond 3 % is not wow: the fit is wrong there


SHRINK = 16.0  # the residual's correlation along a track makes the estimate this much less sure


def _gain(power: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Wiener-style gain on the fitted amplitude: 1 where the fit stands far above its own
    uncertainty, towards 0 where it does not (a misrouted clean file is then left nearly alone)."""
    return power / (power + SHRINK * var + 1e-300)


def displacement(tr: _pitch.Tracks, freq: float, kernel_s: float, scale: float, response: float) -> np.ndarray:
    """Time displacement d (seconds) at each analysis frame from the speed component at `freq`:
    g(t) = Re(c(t) e^{i w t}) integrates to Re(c(t) e^{i w t} / (i w)) with c(t) slowly varying;
    `response`: the share of the component the frames' frequencies keep (`_pitch.response`)."""
    c, var = _pitch_fit.local_amplitude(tr, freq, kernel_s, scale)
    c = c * _gain(np.abs(c) ** 2, var) / response
    depth = np.abs(c)
    c = np.where(depth > _MAX_DEPTH, c * (_MAX_DEPTH / np.maximum(depth, 1e-30)), c)
    w = 2 * math.pi * freq
    t = np.arange(tr.frames) * tr.hop_s
    return np.real(c * np.exp(1j * w * t) / (1j * w))


def dewow(audio: np.ndarray, sample_rate: int, *, wow_hz: float, spread: float = 0.002,
          flutter_hz: float | None = None, offset_s: float = 0.0) -> np.ndarray:
    """Remove periodic speed variation at `wow_hz` (and `flutter_hz`, when given).

    audio: (channels, frames) float32. Returns the same shape, float32, time-aligned on average.
    spread: the detector's measure of how unsteady the partials are (log units); tracks whose
    residual exceeds it are weighed down in the fit. offset_s: the mean over the whole file of
    the displacement (the detector's), taken off so the file is aligned on average; a constant,
    so every window takes off the same. The speed curve is estimated on this very
    audio, so `CONTEXT_S` each side makes windowed processing match whole-file processing.
    Reference: S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 8 (pitch
    variation defects: estimate the speed curve from the partials, resample along its inverse);
    A. Czyzewski et al., "DSP techniques for determining 'wow' distortion", J. Audio Eng. Soc. 55
    (2007).
    """
    x = np.asarray(audio, dtype=np.float32)
    frames = x.shape[1]
    if frames < 2:
        return x.copy()
    y, rate = _pitch.decimate(x, sample_rate)
    hop = _pitch.grid(sample_rate)[1]
    tr = _pitch.tracks(_pitch.peaks(y, rate, hop))
    if tr.count == 0:
        return x.copy()
    scale = 2.0 * max(float(spread), 1e-4)
    d = displacement(tr, float(wow_hz), KERNEL_S, scale, _pitch.response(float(wow_hz), rate))
    if flutter_hz:
        ftr = _pitch.tracks(_pitch.peaks(y, rate, hop, _pitch.FLUTTER_WINDOW_S))
        if ftr.count:
            fd = displacement(ftr, float(flutter_hz), FLUTTER_KERNEL_S, scale,
                              _pitch.response(float(flutter_hz), rate, _pitch.FLUTTER_WINDOW_S))
            d += np.interp(tr.first_s + np.arange(tr.frames) * tr.hop_s, ftr.first_s + np.arange(ftr.frames) * ftr.hop_s, fd)
    d -= float(offset_s)
    t_frames = tr.first_s + np.arange(tr.frames) * tr.hop_s
    # y(t) = x(t + d(t)): the clean sample at u was played at t with t + d(t) = u, i.e.
    # t = u - d(u - d(u) + ...) = u - (d - d' d)(u) to second order (d' = speed - 1 ~ 1e-2, d ~ 1 ms)
    d = d - np.gradient(d, tr.hop_s) * d
    u = np.arange(frames, dtype=np.float64)
    return read_at(x, u - np.interp(u, t_frames * sample_rate, d * sample_rate))


def _params(finding: Finding, sample_rate: int) -> dict:
    p = finding.params
    out = {"wow_hz": float(p["wow_hz"]), "spread": float(p.get("spread_pct", 0.2)) / 100,
           "offset_s": float(p.get("offset_ms", 0.0)) / 1000}
    if p.get("flutter_found"):
        out["flutter_hz"] = float(p["flutter_hz"])
    return out


register_restorer(Restorer("dewow", "wow", dewow, _params, context_s=CONTEXT_S, version="1"))
