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
_MAX_DEPTH = 0.02  # a speed deviation beyond 2 % is not wow (the worst turntable: 1.5 %): the fit is wrong there
# Locally the fit may come out deeper than the detector's depth for the file (on the validation wow
# files it was 0.85-1.05 times it), by DEPTH_ON with full trust, fading out by DEPTH_OFF: a
# component several times deeper than the file's wow is something else (a voice's intonation).
DEPTH_ON, DEPTH_OFF = 1.5, 2.0
# Do no harm. A curve that explains under SHARE_OFF of the nearby partials' movement is not trusted,
# nor one that leaves the partials moving by more than RESIDUAL_OFF (rms, log units) besides: there
# the common movement is a voice's intonation, not the speed. Between the limits the correction
# fades in. On the validation split (two seeds), the wow files that dewow improved had fits
# explaining 17-96 % and residuals up to 0.28 %; the music files the detector sent here by mistake,
# 3-10 %; voices leave 0.2-1 % (those the detector has to keep out).
SHARE_OFF, SHARE_ON = 0.10, 0.15
RESIDUAL_ON, RESIDUAL_OFF = 0.0030, 0.0040
SHRINK = 16.0  # the residual's correlation along a track makes the estimate this much less sure


def _gain(power: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Wiener-style gain on the fitted amplitude: 1 where the fit stands far above its own
    uncertainty, towards 0 where it does not."""
    return power / (power + SHRINK * var + 1e-300)


def trust(fit: _pitch_fit.LocalFit, depth: np.ndarray, expected: float | None) -> np.ndarray:
    """0 where the local fit is not the speed (it explains too little of the partials' movement,
    they move too much besides, or it is much deeper than the file's `expected` depth), 1 where it
    clearly is; smooth in time (all are taken under the fit's kernel, from the tracks within it
    only), so windows agree with the whole file."""
    out = np.clip((fit.share - SHARE_OFF) / (SHARE_ON - SHARE_OFF), 0.0, 1.0)
    out *= np.clip((RESIDUAL_OFF - fit.residual) / (RESIDUAL_OFF - RESIDUAL_ON), 0.0, 1.0)
    if expected is not None:
        ratio = depth / max(expected, 1e-6)
        out *= np.clip((DEPTH_OFF - ratio) / (DEPTH_OFF - DEPTH_ON), 0.0, 1.0)
    return out


def displacement(tr: _pitch.Tracks, freq: float, kernel_s: float, scale: float, response: float,
                 expected: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(time displacement d in seconds, `trust` in [0, 1]) at each analysis frame from the speed
    component at `freq`: g(t) = Re(c(t) e^{i w t}) integrates to Re(c(t) e^{i w t} / (i w)) with
    c(t) slowly varying; `response`: the share of the component the frames' frequencies keep
    (`_pitch.response`); `expected`: the detector's depth for the file (fraction), if known."""
    fit = _pitch_fit.local_amplitude(tr, freq, kernel_s, scale)
    c = fit.c * _gain(np.abs(fit.c) ** 2, fit.var) / response
    depth = np.abs(c)
    ok = trust(fit, depth, expected)
    c = np.where(depth > _MAX_DEPTH, c * (_MAX_DEPTH / np.maximum(depth, 1e-30)), c)
    w = 2 * math.pi * freq
    t = np.arange(tr.frames) * tr.hop_s
    return np.real(c * np.exp(1j * w * t) / (1j * w)), ok


def dewow(audio: np.ndarray, sample_rate: int, *, wow_hz: float, spread: float = 0.002,
          flutter_hz: float | None = None, offset_s: float = 0.0, depth: float | None = None,
          flutter_depth: float | None = None) -> np.ndarray:
    """Remove periodic speed variation at `wow_hz` (and `flutter_hz`, when given).

    audio: (channels, frames) float32. Returns the same shape, float32, time-aligned on average.
    spread: the detector's measure of how unsteady the partials are (log units); tracks whose
    residual exceeds it are weighed down in the fit. offset_s: the mean over the whole file of
    the displacement (the detector's), taken off so the file is aligned on average; a constant,
    so every window takes off the same. depth, flutter_depth: the detector's peak deviations
    (fractions); a local fit much deeper than `depth` is not trusted (`trust`), and a depth beyond
    `_MAX_DEPTH` is declined. The speed curve is estimated on this very audio, so `CONTEXT_S`
    each side makes windowed processing match whole-file processing.

    Do no harm: where the fitted curve explains too little of the partials' common movement
    (`trust`), the correction fades out, and where it is untrusted throughout, or the finding is
    too deep to be wow, the audio is returned unchanged.
    Reference: S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 8 (pitch
    variation defects: estimate the speed curve from the partials, resample along its inverse);
    A. Czyzewski et al., "DSP techniques for determining 'wow' distortion", J. Audio Eng. Soc. 55
    (2007).
    """
    x = np.asarray(audio, dtype=np.float32)
    frames = x.shape[1]
    if frames < 2 or (depth is not None and depth > _MAX_DEPTH):
        return x.copy()
    y, rate = _pitch.decimate(x, sample_rate)
    hop = _pitch.grid(sample_rate)[1]
    tr = _pitch.tracks(_pitch.peaks(y, rate, hop))
    if tr.count == 0:
        return x.copy()
    scale = 2.0 * max(float(spread), 1e-4)
    d, ok = displacement(tr, float(wow_hz), KERNEL_S, scale, _pitch.response(float(wow_hz), rate),
                         None if depth is None else float(depth))
    if not np.any(ok > 0):
        return x.copy()
    t_frames = tr.first_s + np.arange(tr.frames) * tr.hop_s
    if flutter_hz:
        ftr = _pitch.tracks(_pitch.peaks(y, rate, hop, _pitch.FLUTTER_WINDOW_S))
        if ftr.count:
            fd, _ = displacement(ftr, float(flutter_hz), FLUTTER_KERNEL_S, scale,
                                 _pitch.response(float(flutter_hz), rate, _pitch.FLUTTER_WINDOW_S),
                                 None if flutter_depth is None else float(flutter_depth))
            d += np.interp(t_frames, ftr.first_s + np.arange(ftr.frames) * ftr.hop_s, fd)
    d = ok * (d - float(offset_s))  # flutter is corrected where the wow curve is trusted
    # y(t) = x(t + d(t)): the clean sample at u was played at t with t + d(t) = u, i.e.
    # t = u - d(u - d(u) + ...) = u - (d - d' d)(u) to second order (d' = speed - 1 ~ 1e-2, d ~ 1 ms)
    d = d - np.gradient(d, tr.hop_s) * d
    u = np.arange(frames, dtype=np.float64)
    return read_at(x, u - np.interp(u, t_frames * sample_rate, d * sample_rate))


def _params(finding: Finding, sample_rate: int) -> dict:
    p = finding.params
    out = {"wow_hz": float(p["wow_hz"]), "spread": float(p.get("spread_pct", 0.2)) / 100,
           "offset_s": float(p.get("offset_ms", 0.0)) / 1000}
    if "wow_pct" in p:
        out["depth"] = float(p["wow_pct"]) / 100
    if p.get("flutter_found"):
        out["flutter_hz"] = float(p["flutter_hz"])
        if "flutter_pct" in p:
            out["flutter_depth"] = float(p["flutter_pct"]) / 100
    return out


register_restorer(Restorer("dewow", "wow", dewow, _params, context_s=CONTEXT_S, version="2"))
