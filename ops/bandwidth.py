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
(`native_rate_hz`) and not scored.

The decision (the score) rests on a dead top, measured on the loud frames (each band's 95th
percentile over the file, so a fricative or a bright chord counts, a quiet vowel does not): above
some frequency f_dead the loud-frame spectrum stays DEAD_DB below the programme's own peak band,
i.e. nothing is there at all (a codec's, a digital filter's or a medium's stop band), and the fall
to it from the last band the programme fills is a filter's, not a programme's: within SPAN_OCT
(36 dB/octave or steeper), with f_dead under DEAD_MAX_HZ and DEAD_MAX x Nyquist, or, for a
brickwall (within BRICK_SPAN_OCT), under BRICK_MAX x Nyquist. Speech and music recorded at the file's rate leave
traces of fricatives, overtones or reverberation up there, and a programme's own roll-off to
silence is longer; a resampled voice's brickwall at a common production rate's Nyquist (8,
11.025, 12, 16 kHz) is the recording, not damage, and is excused. The score is the product of
logistic terms, 0.5 at each decision point. Tuned on the train split of .corpus-train and the
simulator, checked with `benchmarks/detection.py --split validation`.

Not detected (measured, see the issue-4 report): hiss added after the band loss (the physical
order) fills the dead top, and then a band-limited programme and a clean one whose high band
sinks into the hiss look alike in these statistics (per-band quantiles of the loud frames, the
edge's height over the floor, the brightest frames above it); and at 16 kHz a gentle low-pass
above ~5 kHz leaves only 10-15 dB of attenuation below the analysed top, within the spread of
clean programmes' own tilt. The detector stays silent there (a miss, not a false alarm).
Known false alarms, where a weak top octave meets a gentle (Kaiser-windowed FIR) resampler: the
validation split's 16 kHz voices (delivered at 44.1/48 kHz) taken down to 24 or 32 kHz, 9 of 18
each (their dead top sits at ~1.2 x 8 kHz, where a 6 kHz low-pass puts it too), and its music
taken through 22.05 kHz and back up to 44.1 kHz, 4 of 13 (0 of 18 at 16 kHz, 1 of 18 at 22.05,
24 or 32 kHz; a brickwall resampler's edge is excused). Excusing any dead top that sits on a
sheer fall at a production rate's Nyquist cuts the second to 1 of 13 but costs 7 % of the
recall at 44.1-48 kHz (a simulated low-pass over a reference that was itself resampled ends on
that reference's edge), so it is not done. The corpus holds no such files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

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
# The decision (see the module docstring); levels in dB re the loud-frame spectrum's peak band <= 4 kHz.
LOUD_QUANTILE = 0.95  # a band's loud frames
ACTIVE_DB, ACTIVE_REL_DB = 6.0, 45.0  # an active band: this far above its floor, within this of the peak
DEAD_DB = 90.0  # a dead top lies this far below the peak
DEAD_MAX_HZ, DEAD_MAX = 14000.0, 0.85  # ... starts under this frequency and this fraction of Nyquist (a
# resampler's transition band, 0.9-1.0 x Nyquist, can be that deep on its own: 0.9 gains 3-6 % recall at
# 16 kHz on the corpus, which has no such files, and is not taken)
_DEAD_SCALE = 0.04  # (logistic scale, fraction of Nyquist)
SPAN_OCT, _SPAN_SCALE = 1.4, 0.08  # ... within this many octaves of the last active band (36 dB/octave
# or steeper over the ACTIVE_REL_DB..DEAD_DB fall)
# A brickwall (a codec's stop band: dead within BRICK_SPAN_OCT of the last active band) may lie
# closer to the Nyquist frequency: a programme's own roll-off is never that steep.
BRICK_MAX, _BRICK_SCALE = 0.9, 0.02
BRICK_SPAN_OCT, _BRICK_SPAN_SCALE = 0.35, 0.05
_NATIVE_EXCUSE = (0.97, 1.15)  # a brickwall dead top at these multiples of a production rate's Nyquist
FALL_DB = 10.0  # the cut-off estimate: the last band within this of the half octave under it
_F10_RATIO = {"brickwall": 1.0, "gentle": 1.1}  # ... over the -3 dB cut-off
_AGREE = 1.15  # find_edge's (interpolated) cut-off is kept when within this ratio of that estimate


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


def _native_end(freqs: np.ndarray, loud: np.ndarray) -> tuple[float, int | None]:
    """Where a production rate's brickwall (30 dB down from 0.80-0.92 to 1.04-1.2 x its Nyquist)
    ends the analysed band, and that rate; (the top band, None) if none does."""
    for rate in NATIVE_RATES:
        ny = rate / 2
        if ny * 1.1 > freqs[-1]:
            break
        a = (freqs >= 0.80 * ny) & (freqs <= 0.92 * ny)
        b = (freqs >= 1.04 * ny) & (freqs <= 1.2 * ny)
        if a.any() and b.any() and loud[a].mean() - loud[b].mean() >= 30.0:
            return 0.93 * ny, rate
    return float(freqs[-1]), None


def evidence(sf: SpectralFloor) -> dict:
    """The dead-top decision (see the module docstring) from the loud-frame spectrum (each band's
    LOUD_QUANTILE) and the floor (its 10th percentile), both dB re FS^2/Hz.

    Returns dead_hz (the lowest frequency above which every band's loud level lies DEAD_DB under
    the peak band at or below 4 kHz; Nyquist if none), dead_native (a production rate whose
    brickwall explains it, else None), active_hz (the last band ACTIVE_DB over its floor and
    within ACTIVE_REL_DB of the peak, on 1/6-octave smoothed spectra, below a production rate's
    brickwall), span_oct (octaves from active_hz up to dead_hz), cut_hz (the -3 dB cut-off the
    fall implies: the last band under dead_hz within FALL_DB of the loudest band in the half
    octave under it, over the -10 dB point's ratio for a brickwall or an 8th-order low-pass) and
    score.
    """
    nyquist = sf.sample_rate / 2
    loud_raw, floor_raw = sf.quantile_db(np.array([LOUD_QUANTILE, 0.10]))
    ok = (sf.band_hz >= 300.0) & (sf.band_hz < 0.47 * sf.sample_rate) & np.isfinite(floor_raw)
    freqs = sf.band_hz[ok]
    logf = np.log2(freqs)
    loud_raw, floor_raw = np.maximum(loud_raw[ok], -200.0), np.maximum(floor_raw[ok], -200.0)
    if np.count_nonzero(freqs <= 4000.0) < 3 or freqs[-1] < 2 * _MIN_EDGE_HZ:
        return {"dead_hz": nyquist, "dead_native": None, "active_hz": nyquist, "span_oct": float("inf"),
                "cut_hz": nyquist, "score": 0.0}
    peak = float(loud_raw[freqs <= 4000.0].max())
    # the dead top: the running maximum from the top down falls DEAD_DB under the peak
    above = np.maximum.accumulate(loud_raw[::-1])[::-1]
    dead = np.flatnonzero(above <= peak - DEAD_DB)
    dead_hz = float(freqs[dead[0]]) if dead.size else nyquist
    dead_native = None
    if dead.size:
        under = np.interp(logf[dead[0]] - 0.25, logf, loud_raw)
        for rate in NATIVE_RATES:
            lo, hi = (m * rate / 2 for m in _NATIVE_EXCUSE)
            if lo <= dead_hz <= hi and under >= peak - 50.0:
                dead_native = rate
                break
    # the last band the programme fills
    loud, floor = _smooth(loud_raw, logf), _smooth(floor_raw, logf)
    end, _ = _native_end(freqs, loud)
    act = np.flatnonzero((loud - floor >= ACTIVE_DB) & (loud >= peak - ACTIVE_REL_DB) & (freqs >= _MIN_EDGE_HZ)
                         & (freqs <= end))
    active_hz = float(freqs[act[-1]]) if act.size else float(freqs[0])
    # a filter's stop band begins within SPAN_OCT of its last active band; a programme's own
    # roll-off to the dead top is gentler and longer
    span = math.log2(dead_hz / active_hz) if act.size else float("inf")
    score = 0.0
    if dead_native is None and _MIN_EDGE_HZ <= dead_hz < nyquist:
        lim = min(DEAD_MAX_HZ, DEAD_MAX * nyquist)
        gentle = logistic((lim - dead_hz) / (_DEAD_SCALE * nyquist)) * logistic((SPAN_OCT - span) / _SPAN_SCALE)
        brick = (logistic((BRICK_MAX - dead_hz / nyquist) / _BRICK_SCALE)
                 * logistic((BRICK_SPAN_OCT - span) / _BRICK_SPAN_SCALE))
        score = max(gentle, brick)
    # the cut-off: the last band under the dead top still within FALL_DB of the loudest band in the
    # half octave under it (a filter's -10 dB point; a programme's own tilt is gentler than that)
    cut_hz = active_hz
    if dead.size:
        win = np.abs(logf[None, :] - logf[:, None] + 0.25) <= 0.25  # row f: bands in [f / sqrt 2, f]
        ceiling = np.where(win, loud[None, :], -np.inf).max(axis=1)
        held = np.flatnonzero((loud >= ceiling - FALL_DB) & (freqs < dead_hz) & (freqs >= _MIN_EDGE_HZ))
        if held.size:
            cut_hz = float(freqs[held[-1]]) / _F10_RATIO["brickwall" if span <= BRICK_SPAN_OCT else "gentle"]
    return {"dead_hz": dead_hz, "dead_native": dead_native, "active_hz": active_hz, "span_oct": span,
            "cut_hz": cut_hz, "score": float(score)}


@register_detector
class BandwidthDetector:
    """Effective bandwidth and the loss of the high band (streaming: the shared `noise_floor`
    estimator, nothing of its own).

    severity: the cut-off (Hz, the filter's -3 dB point): when the score decides "found", the one
    the fall onto the dead top implies (`evidence`'s cut_hz), else where `find_edge` finds an edge,
    else the top of the analysed band (0.47 x the sample rate). score: `evidence` (the dead top; 0.5 at each
    decision point). params: `shape` (brickwall | lowpass | bandpass | none), `order` (of a gentle
    low-pass), `slope_db_per_octave` past the edge, `depth_db`, `low_cutoff_hz` (a high-pass found
    below 400 Hz, else None), `native_rate_hz` (a production rate whose Nyquist explains the edge),
    `dead_hz`, `active_hz` (see `evidence`).
    Reference: the long-term average spectrum's roll-off against the noise floor, cf. ITU-T P.1401
    and the bandwidth criteria of EBU Tech 3342-style loudness/spectrum analyses.
    """

    kind = "bandwidth"
    version = "2"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self.floor = SpectralFloor(sample_rate, channels)  # the noise detector's, when shared
        self._owns_floor = True
        self._done: tuple[int, Finding] | None = None

    def share(self, peers: Mapping[str, Any]) -> None:
        """Read the noise detector's floor instead of keeping a second one over the same blocks
        (the same SpectralFloor, so the same figures; it was a tenth of analysis' time)."""
        noise = peers.get("noise")
        if isinstance(noise, NoiseDetector) and noise.floor.samples == 0 and self.floor.samples == 0:
            self.floor, self._owns_floor = noise.floor, False

    def update(self, block: np.ndarray) -> None:
        if self._owns_floor:
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
        ev = evidence(sf)
        score = ev["score"]
        db = programme_spectrum(sf, est.noise_psd)
        ok = np.isfinite(db) & (sf.band_hz >= 20)
        freqs, db = sf.band_hz[ok], db[ok]
        edge = find_edge(freqs, db, nyquist)
        low = _low_cut(freqs, db)
        params = {"shape": "none", "order": None, "slope_db_per_octave": None, "depth_db": None,
                  "low_cutoff_hz": None if low is None else round(low, 1), "native_rate_hz": ev["dead_native"],
                  "dead_hz": round(ev["dead_hz"], 1), "active_hz": round(ev["active_hz"], 1)}
        cutoff = top
        if edge is not None:
            cutoff, shape, order = _cutoff(edge)
            rate = native_rate(edge["f10"], edge["steep"])
            if low is not None and shape != "brickwall":
                shape = "bandpass"
            params.update(shape=shape, order=order, slope_db_per_octave=round(-edge["steep"], 1),
                          depth_db=round(edge["depth"], 1), native_rate_hz=rate or ev["dead_native"])
            if cutoff > _TOP * nyquist or cutoff > ev["dead_hz"]:
                cutoff = top
        if score >= 0.5 and not ev["cut_hz"] / _AGREE <= cutoff <= ev["cut_hz"] * _AGREE:
            cutoff = ev["cut_hz"]  # the fall onto the dead top decides; the edge's finer estimate if they agree
        return Finding(self.kind, float(score), round(float(min(cutoff, top)), 1), "Hz", params=params)
