"""Lost bandwidth (a codec's, a medium's or a transfer chain's low-pass): detector `bandwidth`.

The programme's long-term spectrum is taken robustly and above the noise floor: per 1/12-octave
band, the median over frames of the smoothed power (clicks and other rare bursts do not fill a
lost band) less the noise PSD the `noise` estimate trusts (noise added after the low-pass fills
the band above it, so the programme is what is left). The cut-off is where that spectrum falls
away from its own trend (a line fitted over the octave below) by 10 dB and keeps falling: a
natural roll-off bends gently, a filter bends sharply. The fall's slope past the edge gives the
shape (brickwall like a codec, or a gentle low-pass of some order) and turns the -10 dB point
into the filter's -3 dB cut-off. A rise of the spectrum's lower end marks a high-pass too (a
telephone line, an AM receiver, an acoustic disc).

An edge at the Nyquist frequency of a common production rate (a 16 or 22.05 kHz voice, or a
44.1 kHz recording resampled to 48 kHz) is how the recording was made, not damage: it is reported
(`native_rate_hz`), with a low score, and the policy can decide.
"""

from __future__ import annotations

import math

import numpy as np

from ._util import logistic
from .findings import Finding
from .noise import NoiseDetector, estimate
from .noise_floor import SpectralFloor
from .registry import register_detector

NATIVE_RATES = (16000, 22050, 24000, 32000, 44100, 48000)
_NATIVE_SPAN = (0.88, 1.0)  # where (x native Nyquist) a resampler's -10 dB point falls
_EDGE_DB = 10.0  # fall below the trend that marks the edge
_DEEP_DB = 25.0  # ... and the further fall within half an octave that confirms it
_TREND_OCT = 1.0  # octave below the edge that sets the trend
_MIN_EDGE_HZ = 1000.0
_TOP = 0.9  # edges above this fraction of Nyquist are the file's own band end
_SCORE_MID_DB, _SCORE_SCALE_DB = 18.0, 3.0
_TUNED = False  # work in progress: reports the cut-off, scores 0 until tuned on the corpus


def programme_spectrum(sf: SpectralFloor, noise_psd: np.ndarray | None) -> np.ndarray:
    """(bands,) dB: the median smoothed PSD per band, less the trusted noise (summed over channels)."""
    med = 10 ** (sf.quantile_db(0.5) / 10)
    if noise_psd is not None:
        med = np.maximum(med - noise_psd * sf.channels, 1e-4 * med)
    return 10 * np.log10(np.maximum(med, 1e-300))


def _smooth(db: np.ndarray, logf: np.ndarray, width: float = 1 / 6) -> np.ndarray:
    """Power-average of db over +-width/2 octaves."""
    p = 10 ** (db / 10)
    d = np.abs(logf[:, None] - logf[None, :]) <= width / 2
    return 10 * np.log10(np.maximum((d * p[None, :]).sum(1) / d.sum(1), 1e-300))


def find_edge(freqs: np.ndarray, db: np.ndarray, nyquist: float) -> dict | None:
    """The lowest frequency (>= 1 kHz) where the spectrum falls _EDGE_DB below the trend of the
    octave under it and then _DEEP_DB more within half an octave; None if it never does."""
    logf = np.log2(freqs)
    s = _smooth(db, logf)
    top = np.flatnonzero(freqs < nyquist * 0.98)
    for i in np.flatnonzero(freqs >= _MIN_EDGE_HZ):
        if i > top[-1]:
            break
        below = (logf >= logf[i] - _TREND_OCT) & (logf < logf[i] - 0.1)
        if below.sum() < 3:
            continue
        slope, icpt = np.polyfit(logf[below], s[below], 1)
        slope = min(slope, 0.0)  # a rising trend is not carried past the edge
        dev = s - (icpt + slope * logf)
        if dev[i] > -_EDGE_DB:
            continue
        after = (logf > logf[i]) & (logf <= logf[i] + 0.5) & (freqs < nyquist * 0.98)
        reach = dev[after].min() if after.any() else dev[i]
        if reach - dev[i] > -_DEEP_DB * 0.4 and reach > -_DEEP_DB:
            continue
        # interpolate the -10 dB crossing between band i-1 and i
        j = i - 1
        f10 = freqs[i]
        if dev[j] > -_EDGE_DB > dev[i]:
            t = (dev[j] + _EDGE_DB) / (dev[j] - dev[i])
            f10 = 2 ** (logf[j] + t * (logf[i] - logf[j]))
        # slope of the fall from -10 to -30 dB (dB per octave)
        fall = (logf > logf[i]) & (dev <= -_EDGE_DB - 20.0) & (freqs < nyquist * 0.98)
        if fall.any():
            k = np.flatnonzero(fall)[0]
            steep = 20.0 / max(logf[k] - math.log2(f10), 1e-3)
        else:
            steep = max((-_EDGE_DB - reach) / 0.5, 1.0)
        return {"f10": float(f10), "steep": float(steep), "depth": float(-reach), "trend": float(slope)}
    return None


def _cutoff(edge: dict) -> tuple[float, str, int | None]:
    """The -3 dB cut-off, a shape name and the Butterworth-like order the steepness implies."""
    steep = edge["steep"]
    if steep >= 120.0:
        return edge["f10"] * 1.01, "brickwall", None
    order = max(2, int(round(steep / 6.0)))
    return edge["f10"] / 9.0 ** (1.0 / (2 * order)), "lowpass", order


def _low_cut(freqs: np.ndarray, db: np.ndarray) -> float | None:
    """A high-pass below 400 Hz: the lowest band within 10 dB of the 300-1000 Hz level, if the
    spectrum lies 20 dB lower an octave under it."""
    ref_sel = (freqs >= 300) & (freqs <= 1000)
    if not ref_sel.any():
        return None
    ref = 10 * math.log10(np.mean(10 ** (db[ref_sel] / 10)))
    up = np.flatnonzero((db >= ref - 10.0) & (freqs <= 1000))
    if up.size == 0:
        return None
    f = freqs[up[0]]
    under = (freqs < f / 2) & (freqs >= 20)
    if f > 400 or not under.any() or db[under].max() > ref - 25.0:
        return None
    return float(f)


def native_rate(f10: float, steep: float) -> int | None:
    """The common production rate whose Nyquist frequency explains a sharp edge at f10, if any."""
    if steep < 80.0:
        return None
    for rate in NATIVE_RATES:
        if _NATIVE_SPAN[0] * rate / 2 <= f10 <= _NATIVE_SPAN[1] * rate / 2 * 1.02:
            return rate
    return None


@register_detector
class BandwidthDetector:
    """Effective bandwidth and the loss of the high band (streaming: the shared `noise_floor`
    estimator, nothing of its own).

    severity: the cut-off (Hz, the filter's -3 dB point) where an edge is found, else the top of
    the analysed band (0.47 x the sample rate). score: logistic in the edge's depth (0.5 at 18 dB
    below the trend half an octave past it), 0 for edges above 0.9 x Nyquist and scaled down to 0.3
    of that for an edge a common production rate explains. params: `shape` (brickwall | lowpass |
    bandpass | none), `order` (of a gentle low-pass), `slope_db_per_octave` past the edge,
    `depth_db`, `low_cutoff_hz` (a high-pass found below 400 Hz, else None), `native_rate_hz`.
    Reference: the long-term average spectrum's roll-off against the noise floor, cf. ITU-T P.1401
    and the bandwidth criteria of EBU Tech 3342-style loudness/spectrum analyses.
    """

    kind = "bandwidth"
    version = "1"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self._noise = NoiseDetector(sample_rate, channels)
        self.floor = self._noise.floor
        self._done: tuple[int, Finding] | None = None

    def update(self, block: np.ndarray) -> None:
        self.floor.update(block)

    def finish(self) -> Finding:
        if self._done is not None and self._done[0] == self.floor.samples:
            return self._done[1]
        self._done = (self.floor.samples, self._finish())
        return self._done[1]

    def _finish(self) -> Finding:
        sf = self.floor
        nyquist = self.sample_rate / 2
        top = 0.47 * self.sample_rate
        est = estimate(sf)
        if est is None:
            return Finding(self.kind, 0.0, top, "Hz", params={})
        db = programme_spectrum(sf, est.noise_psd)
        ok = np.isfinite(db) & (sf.band_hz >= 20)
        freqs, db = sf.band_hz[ok], db[ok]
        edge = find_edge(freqs, db, nyquist)
        low = _low_cut(freqs, db)
        params = {"shape": "none", "order": None, "slope_db_per_octave": None, "depth_db": None,
                  "low_cutoff_hz": None if low is None else round(low, 1), "native_rate_hz": None}
        if edge is None:
            return Finding(self.kind, 0.0, top, "Hz", params=params)
        cutoff, shape, order = _cutoff(edge)
        rate = native_rate(edge["f10"], edge["steep"])
        score = logistic((edge["depth"] - _SCORE_MID_DB) / _SCORE_SCALE_DB)
        if cutoff > _TOP * nyquist:
            score = 0.0
        elif rate is not None:
            score *= 0.3
        if not _TUNED:
            score = 0.0
        if low is not None and shape != "brickwall":
            shape = "bandpass"
        params.update(shape=shape, order=order, slope_db_per_octave=round(-edge["steep"], 1),
                      depth_db=round(edge["depth"], 1), native_rate_hz=rate)
        return Finding(self.kind, float(score), round(float(min(cutoff, top)), 1), "Hz", params=params)
