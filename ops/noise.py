"""Broadband stationary noise (hiss, surface roar, pink/brown noise, rumble): detector `noise`.

The file's noise floor comes from minimum statistics over the whole file (`noise_floor`). A band's
floor is only trusted as noise where it behaves like noise: the quiet end of the band's power
distribution is as narrow as stationary Gaussian noise makes it, the floor stays put from one
second to the next, it has no lines at fine frequency resolution (a held chord does), it joins
smoothly to its neighbours and its neighbours are noise-like too (noise is broadband). In speech
the floor shows in the pauses; in dense music it shows where the music has little energy (the
top octaves, the valleys between partials). Music that holds one texture for the whole file can
pass some of these tests in a few bands, so the score also asks that a fair share of the spectrum
(in octaves) carries such a floor. The noise below the first band (brown noise's slow wander) is
measured by the low path and counts when it holds still over time and is shaped like broadband
noise's: brown (1/f^2) noise's power there rises toward the lowest frequencies (RMS frequency 3-5
Hz), while turntable rumble (the `rumble` kind, with its own detector and restorer) is a bump at
8-16 Hz. Low-path power that is not brown-like counts only as far as a broadband floor found above
explains it (up to a few dB over that floor's power; more where the floor falls as steeply as brown
noise's), so rumble alone is not read as noise.

SNR = programme power over the trusted noise power (all channels together), in dB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.ndimage import percentile_filter, uniform_filter1d

from ._util import logistic
from .findings import Finding
from .noise_floor import FLOOR_QUANTILE, LOW_HZ, SpectralFloor, equivalent_dof, quantile_bias
from .registry import register_detector

# The floor reported to restorers and models: ISO 1/3-octave centres (Hz).
FLOOR_HZ = (25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0, 500.0,
            630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0, 6300.0, 8000.0,
            10000.0, 12500.0, 16000.0, 20000.0)
STEREO_NOISE_CHANNELS = 1.6  # independent channels' worth of a stereo noise (correlation ~0.5)
# Per-band noise-likeness (each a logistic; the band's weight is their product):
_NARROW_Z = 3.0  # quiet end of the distribution (q05..q20) wider than noise by this many noise sd
_TOO_NARROW_Z = -1.5  # ... or narrower than noise can be: a steady tone (hum, a held note), not noise
_STEADY_Z = 3.0  # spread of the per-second minimum over noise's own spread
_TONAL_DB = 1.5  # mean deviation of the fine-resolution floor from its 7-bin mean
_LINE_DB = 12.0  # a fine bin of the quiet spectrum this far over its neighbourhood's 25th percentile is a line
_LINE_NEIGHBOURHOOD_HZ = 70.0  # (the neighbourhood: wider than a 50/60 Hz comb's spacing)
_LINE_SHARE = 0.7  # a band whose quiet power is mostly (70 %) lines is tonal, not noise
_ROUGH_DB = 2.0  # deviation of the band's floor from its 5-band mean
_NEIGHBOURS, _NEIGHBOUR_SHARE = 5, 0.6  # at least 60 % of the 5 bands around must be noise-like
_Z_SD = 4.0  # the spreads above scale as 4 / sqrt(dof) for noise
_LOW_STEADY_DB, _LOW_STEADY_SCALE = 5.0, 0.4  # the low band's spread over 1 s pieces (dB): half trust
# Whether the low band's power is broadband noise's or rumble's: its RMS frequency (over 1 s pieces,
# `SpectralFloor.low_frequency_hz`) is 3-5 Hz for brown noise, 8.5-14 Hz for the simulator's rumble
# (bump at 8-16 Hz, with warp) and 7-17 Hz for pink, white, hiss and surface noise (train/validation
# clips); half trust at 6.5 Hz.
_BROWN_HZ, _BROWN_SCALE = 6.5, 0.4
_BROWN_SLOPE_DB, _BROWN_SLOPE_SCALE = -5.0, 0.3  # ... or the trusted floor above 200 Hz falls this steeply
# (dB per octave; brown noise -5.6..-7.4 under rumble, pink -3..-4, a clean programme's floor up to -4.1)
# Low-band power that is not brown-like counts up to this much (dB) over the broadband floor's power
# (the counted bands, >= 30 Hz): pink noise, the steepest of the other colours, has at most +1 dB,
# surface noise -8 dB, white and hiss under -20 dB; brown noise (a floor as steep as _BROWN_SLOPE_DB)
# up to +49 dB, the floor it shows above 30 Hz being partly hidden (train/validation clips).
_LOW_PER_MAIN_DB, _LOW_PER_BROWN_DB = 6.0, 50.0
# File score: the SNR over the trusted floor, and the share of the spectrum it covers.
_SNR_MID_DB, _SNR_SCALE_DB = 30.0, 2.0
_LOW_ONLY_SNR_DB = 24.0  # the same for noise found only below the first band
_COVER_MID, _COVER_SCALE = 0.06, 0.012
_FILL_OCT = 0.5  # kernel width of the fill into bands the programme hides
_FILL_SLOPES = (-6.0, 4.0)  # dB per octave a noise floor's PSD may have (brown ... rising hiss)
_FILL_MIN_WEIGHT = 0.3  # about one trusted band within a kernel width
_LOW_MIN_BAND_HZ = 30.0  # bands centred lower overlap the low path and are left out of the SNR
_SILENT_POWER = 1e-12
SNR_CAP_DB = 100.0


@dataclass(frozen=True)
class NoiseEstimate:
    """What `estimate` concluded; arrays are per analysis band of the SpectralFloor.

    noise_psd: trusted noise PSD per channel (FS^2/Hz), extrapolated smoothly into bands where the
    programme hides it (never above that band's floor), 1e-30 where nothing trusted is near;
    restorer_psd: the same with every band given a level (the nearest trusted one); weight: noise-likeness in [0, 1];
    coverage: share of the spectrum (octaves) with a noise-like floor; low_power: power below LOW_HZ
    per channel (FS^2) counted as noise (trusted, and brown-like or explained by the floor above); snr_db: programme over noise, all channels.
    """

    band_hz: np.ndarray
    noise_psd: np.ndarray
    restorer_psd: np.ndarray
    weight: np.ndarray
    coverage: float
    main_trust: float
    low_power: float
    low_trust: float
    snr_db: float
    score: float
    programme_power: float
    noise_power: float
    spread_db: float


def _tonality(sf: SpectralFloor) -> np.ndarray:
    """Per band: mean |deviation| (dB) of the per-bin minimum spectrum from its 7-bin mean,
    over the band and two bins either side (0 where there is no minimum spectrum yet)."""
    ms = sf.min_spectrum_db()
    if ms is None:
        return np.zeros(sf.bands)
    ms = np.clip(np.where(np.isfinite(ms), ms, -250.0), -250.0, 50.0)
    ms[0] = ms[1]  # bin 0 is emptied by the DC removal
    dev = np.abs(ms - uniform_filter1d(ms, 7, mode="nearest"))  # about the local line, so a slope is no line
    dev[0] = 0.0
    c = np.concatenate([[0.0], np.cumsum(dev)])
    lo = np.maximum(sf.band_lo - 2, 1)
    hi = np.minimum(sf.band_hi + 2, ms.size)
    return (c[hi] - c[lo]) / (hi - lo)


def line_share(sf: SpectralFloor) -> np.ndarray:
    """Per band: the share of its power in the fine quiet spectrum (`SpectralFloor.line_spectrum_db`)
    that lies in lines (bins _LINE_DB over their neighbourhood's 25th percentile, with the two bins
    either side a Hann window spreads them over), over the band and half a bin either side; 0 where
    there is no fine spectrum yet. Hum's harmonics, a held note or a pilot tone give a share near
    1, noise near 0."""
    got = sf.line_spectrum_db()
    if got is None:
        return np.zeros(sf.bands)
    freqs, db = got
    df = freqs[1]
    size = 2 * int(round(_LINE_NEIGHBOURHOOD_HZ / df)) + 1
    base = percentile_filter(db, 25, size=size, mode="nearest")
    peak = db > base + _LINE_DB
    line = np.convolve(peak.astype(np.float64), np.ones(5), mode="same") > 0
    p = 10 ** ((db - db.max()) / 10)
    c_all = np.concatenate([[0.0], np.cumsum(p)])
    c_line = np.concatenate([[0.0], np.cumsum(np.where(line, p, 0.0))])
    bin_hz = sf.sample_rate / sf.nfft
    lo = np.clip(np.round((sf.band_lo - 0.5) * bin_hz / df).astype(int), 1, freqs.size)
    hi = np.clip(np.round((sf.band_hi - 0.5) * bin_hz / df).astype(int), 1, freqs.size)
    hi = np.maximum(hi, lo + 1)
    tot = c_all[hi] - c_all[lo]
    return np.where(tot > 0, (c_line[hi] - c_line[lo]) / np.maximum(tot, 1e-300), 0.0)


def _smooth_fill(logf: np.ndarray, db: np.ndarray, w: np.ndarray, width: float = _FILL_OCT) -> np.ndarray:
    """The trusted floor carried into the bands around it: a weighted local-linear fit of db over
    log2 frequency (Gaussian kernel of `width` octaves), its slope held to what noise floors have
    (_FILL_SLOPES dB per octave), so a programme's steep roll-off is not carried down into the
    bands it fills; -inf beyond about one kernel width of any trusted band."""
    d = logf[None, :] - logf[:, None]  # (target, source): source - target, octaves
    k = w[None, :] * np.exp(-0.5 * (d / width) ** 2)
    s0, s1, s2 = k.sum(1), (k * d).sum(1), (k * d * d).sum(1)
    t0, t1 = (k * db[None, :]).sum(1), (k * d * db[None, :]).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (s0 * t1 - s1 * t0) / (s0 * s2 - s1 * s1)
    slope = np.clip(np.nan_to_num(slope), *_FILL_SLOPES)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = (t0 - slope * s1) / s0
    return np.where(s0 > _FILL_MIN_WEIGHT, level, -np.inf)


def estimate(sf: SpectralFloor) -> NoiseEstimate | None:
    """The trusted noise floor of what `sf` was fed; None for silence or too short an input."""
    if sf.frames < 8 or sf.power < _SILENT_POWER * sf.channels:
        return None
    ch = STEREO_NOISE_CHANNELS if sf.channels > 1 else 1.0
    dof = equivalent_dof(sf.band_hi - sf.band_lo, ch)
    noise_sd = _Z_SD / np.sqrt(dof)
    q05, q10, q20 = sf.quantile_db(np.array([0.05, FLOOR_QUANTILE, 0.20]))
    expected = 10 * np.log10(stats.chi2.ppf(0.20, dof) / stats.chi2.ppf(0.05, dof))
    narrow = ((q20 - q05) - expected) / noise_sd
    spread, segments = sf.segment_spread_db()
    # the spread of a handful of minima is itself uncertain: a short file is given more room
    steady = spread / noise_sd / max(1.0, math.sqrt(4.0 / max(segments - 1, 1)))
    floor_db = q10 - 10 * np.log10(quantile_bias(FLOOR_QUANTILE, dof))
    ok = np.isfinite(floor_db) & np.isfinite(narrow) & np.isfinite(steady) & (sf.band_hz < 0.47 * sf.sample_rate)
    safe = np.where(ok, floor_db, -300.0)
    rough = np.abs(safe - uniform_filter1d(safe, 5, mode="nearest"))
    with np.errstate(over="ignore", invalid="ignore"):
        w = (_sig((_NARROW_Z - narrow) / 0.5) * _sig((narrow - _TOO_NARROW_Z) / 0.3) * _sig((_STEADY_Z - steady) / 0.5)
             * _sig((_TONAL_DB - _tonality(sf)) / 0.3) * _sig((_ROUGH_DB - rough) / 0.5)
             * _sig((_LINE_SHARE - line_share(sf)) / 0.08))
    w = np.where(ok, w, 0.0)
    local = uniform_filter1d(w, _NEIGHBOURS, mode="constant")
    w = np.clip(np.minimum(w, local / _NEIGHBOUR_SHARE), 0.0, 1.0)
    width_hz = (sf.band_hi - sf.band_lo) * sf.sample_rate / sf.nfft
    octaves = width_hz / sf.band_hz
    coverage = float((w * octaves)[ok].sum() / max(octaves[ok].sum(), 1e-12))
    # The floor where it is trusted, carried smoothly into the bands where the programme hides it
    # (never above the band's own floor, which bounds the noise from above).
    fill = _smooth_fill(np.log2(sf.band_hz), safe, w)
    noise_db = np.where(ok, np.where(w > 0.5, safe, np.minimum(safe, fill)), -300.0)
    noise_psd = 10 ** (noise_db / 10)
    # For a restorer, every band needs a level: bands far from any trusted one take the nearest
    # trusted level, held flat, never above their own floor.
    have = noise_db > -299.0
    if have.any():
        near = np.interp(np.log2(sf.band_hz), np.log2(sf.band_hz[have]), noise_db[have])
        full_db = np.where(have, noise_db, np.where(ok, np.minimum(safe, near), near))
    else:
        full_db = noise_db
    counted = sf.band_hz >= _LOW_MIN_BAND_HZ
    programme = sf.power
    main_noise = float((noise_psd * width_hz)[counted].sum())
    mean_low, median_low = sf.low_power()
    low_sd = sf.low_spread_db()
    low_trust = float(_sig((_LOW_STEADY_DB - low_sd) / _LOW_STEADY_SCALE)) if low_sd is not None else 0.5
    main_trust = float(_sig((coverage - _COVER_MID) / _COVER_SCALE))
    low_hz = sf.low_frequency_hz()
    brown = float(_sig((_BROWN_HZ - low_hz) / _BROWN_SCALE)) if low_hz is not None else 0.5
    # the low band's noise: all of it where it is brown-like, else what the broadband floor explains
    # (more where that floor is itself brown: a brown noise under rumble)
    low_alone = brown * median_low
    slope = _floor_slope(sf.band_hz, w, noise_psd)
    floor_brown = float(_sig((_BROWN_SLOPE_DB - slope) / _BROWN_SLOPE_SCALE)) if slope is not None else 0.0
    per_main = 10 ** ((_LOW_PER_MAIN_DB + floor_brown * (_LOW_PER_BROWN_DB - _LOW_PER_MAIN_DB)) / 10)
    low_with_main = low_alone + (1 - brown) * min(median_low, per_main * main_noise)
    total = programme + mean_low
    low = (low_with_main if main_trust >= 0.5 else low_alone) if low_trust >= 0.5 else 0.0
    noise = (main_noise if main_trust >= 0.5 else 0.0) + low
    snr = _snr(total, noise)
    # P(noisy) over whether each part of the floor is real noise: each combination's SNR, weighed
    # by the two trusts (a doubtful floor adds doubt to the score instead of dB to the noise).
    # Noise only below the first band (a wander) is inaudible: it must be stronger to count.
    score = sum(pm * pl * float(logistic(((_SNR_MID_DB if nm > 0 else _LOW_ONLY_SNR_DB) - _snr(total, nm + nl))
                                         / _SNR_SCALE_DB))
                for pm, nm, lo in ((main_trust, main_noise, low_with_main), (1 - main_trust, 0.0, low_alone))
                for pl, nl in ((low_trust, lo), (1 - low_trust, 0.0)))
    valid = w > 0.5
    spread_db = float(np.median(spread[valid])) if valid.any() else float("nan")
    return NoiseEstimate(sf.band_hz, noise_psd / sf.channels, 10 ** (full_db / 10) / sf.channels, w, coverage,
                         main_trust, low / sf.channels, low_trust, snr, float(score), programme, noise, spread_db)


def _floor_slope(band_hz: np.ndarray, weight: np.ndarray, psd: np.ndarray) -> float | None:
    """Slope (dB per octave) of the trusted floor above 200 Hz; None with fewer than 3 trusted bands."""
    sel = (weight > 0.5) & (band_hz >= 200)
    if sel.sum() < 3:
        return None
    return float(np.polyfit(np.log2(band_hz[sel]), 10 * np.log10(psd[sel]), 1)[0])


def _snr(total: float, noise: float) -> float:
    if noise <= 0:
        return SNR_CAP_DB
    return float(min(SNR_CAP_DB, 10 * math.log10(max(total - noise, 1e-30) / noise)))


def _sig(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def floor_on_grid(est: NoiseEstimate, sample_rate: int) -> tuple[list[float], list[float]]:
    """The noise PSD per channel (dB re FS^2/Hz, one decimal) at the FLOOR_HZ centres below 0.47 x
    the sample rate, interpolated over log frequency."""
    grid = np.array([f for f in FLOOR_HZ if f < 0.47 * sample_rate])
    db = 10 * np.log10(np.maximum(est.restorer_psd, 1e-30))
    vals = np.interp(np.log(grid), np.log(est.band_hz), db)
    return grid.tolist(), [round(float(v), 1) for v in vals]


def colour(est: NoiseEstimate) -> tuple[str, float]:
    """(name, slope in dB per octave of the PSD) of the trusted floor above 200 Hz:
    white (flat), pink (-3), brown (-6, or noise only below the first band), blue (rising, as
    tape hiss does); "unknown" with too few trusted bands to tell."""
    slope = _floor_slope(est.band_hz, est.weight, est.noise_psd)
    if slope is None:
        return ("brown" if est.low_power > 0 else "unknown"), 0.0
    name = "blue" if slope > 1.5 else "white" if slope > -1.5 else "pink" if slope > -4.5 else "brown"
    return name, slope


@register_detector
class NoiseDetector:
    """Stationary broadband noise, from minimum statistics over the whole file (streaming; memory:
    one dB histogram per 1/12-octave band, see `noise_floor`).

    score: logistic in the SNR over the trusted floor (0.5 at 30 dB, 2 dB per logit), the main
    bands counting only where a noise-like floor covers enough of the spectrum (0.5 at 12 % of it,
    in octaves). severity: that SNR in dB (100: no noise found). params: `floor_hz`/`floor_db` (the
    noise PSD per channel, dB re FS^2/Hz, on 1/3-octave centres), `low_hz`/`low_db` (noise power
    below low_hz per channel, dB re FS^2, or None), `colour` and `slope_db_per_octave`,
    `stationarity_db` (median spread of the per-second floor in noise-like bands), `coverage`.
    Reference: R. Martin, IEEE Trans. Speech Audio Process. 9 (2001) (minimum statistics).
    """

    kind = "noise"
    version = "1"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self.floor = SpectralFloor(sample_rate, channels)
        self._done: tuple[int, Finding] | None = None

    def update(self, block: np.ndarray) -> None:
        self.floor.update(block)

    def estimate(self) -> NoiseEstimate | None:
        return estimate(self.floor)

    def finish(self) -> Finding:
        if self._done is not None and self._done[0] == self.floor.samples:
            return self._done[1]
        est = self.estimate()
        if est is None:
            finding = Finding(self.kind, 0.0, SNR_CAP_DB, "dB", params={})
        else:
            score = min(1.0, max(0.0, est.score))
            grid, db = floor_on_grid(est, self.sample_rate)
            name, slope = colour(est)
            low_db = round(10 * math.log10(est.low_power), 1) if est.low_power > 0 else None
            finding = Finding(self.kind, float(score), round(est.snr_db, 2), "dB", params={
                "floor_hz": grid, "floor_db": db, "low_hz": LOW_HZ if low_db is not None else None,
                "low_db": low_db, "colour": name, "slope_db_per_octave": round(slope, 2),
                "stationarity_db": None if math.isnan(est.spread_db) else round(est.spread_db, 2),
                "coverage": round(est.coverage, 3)})
        self._done = (self.floor.samples, finding)
        return finding
