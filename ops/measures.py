"""Quality measures of a whole file, streaming, for the before/after columns of a quality record.

`Measurer(sample_rate, channels)`: update(block) in order, then finish() -> dict with the keys of
MEASURE_KEYS (a float, or None where the measure is undefined, e.g. on silence), less those of
the kinds it was told to skip. Memory is bounded:
histograms, running sums, and one number per 100 ms for loudness gating.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from ._util import as_block
from .bandwidth import BandwidthDetector
from .clipping import ClippingDetector
from .dc import DcOffsetDetector
from .hum import HumDetector
from .noise import NoiseDetector
from .registry import DETECTORS, link_detectors, load_all

HUM_FLOOR_DB = -120.0  # hum_db when no hum is found

MEASURE_KEYS = ("snr_db", "hum_db", "clicks_per_min", "clipped_fraction", "bandwidth_hz",
                "loudness_lufs", "true_peak_dbtp", "dc_offset", "dropouts_s", "wow_pct", "rumble_db")
# Measures that are a registered detector's severity (its unit is the measure's): filled once a
# detector for the kind exists, None before, so a new detector module needs no edit here.
SEVERITY_MEASURES = {"clicks_per_min": "clicks", "dropouts_s": "dropouts", "wow_pct": "wow", "rumble_db": "rumble"}
# The degradation kind whose detector each measure comes from (loudness and true peak: none).
MEASURE_KINDS = {"snr_db": "noise", "hum_db": "hum", "clipped_fraction": "clipping", "bandwidth_hz": "bandwidth",
                 "dc_offset": "dc_offset"} | {m: k for m, k in SEVERITY_MEASURES.items()}
_SILENT_POWER = 1e-12  # -120 dBFS mean square: nothing to measure


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """ITU-R BS.1770-4 K-weighting (high shelf +4 dB above ~1.7 kHz, then RLB high-pass at
    ~38 Hz) as second-order sections for any sample rate; at 48 kHz it reproduces the standard's
    coefficients. The analog-prototype parameters are those that match the standard's 48 kHz
    filters (as used by pyloudnorm and libebur128).
    """
    k = math.tan(math.pi * 1681.974450955533 / sample_rate)
    vh, q = 10 ** (3.999843853973347 / 20), 0.7071752369554196
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    k = math.tan(math.pi * 38.13547087602444 / sample_rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel gains: 1.0, surrounds (L/R surround of a 5.0/5.1 layout) 1.41, LFE 0."""
    g = np.ones(channels)
    if channels == 6:  # L R C LFE Ls Rs
        g[3], g[4], g[5] = 0.0, 1.41, 1.41
    elif channels == 5:  # L R C Ls Rs
        g[3], g[4] = 1.41, 1.41
    return g


class Loudness:
    """ITU-R BS.1770-4 integrated loudness, streaming: K-weighted power per 100 ms step, 400 ms
    blocks with 75 % overlap, absolute gate -70 LUFS and relative gate -10 LU.
    Reference: ITU-R BS.1770-4 (2015), Annex 1.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sos = k_weighting_sos(sample_rate)
        self.zi = np.zeros((2, channels, 2))
        self.g = channel_weights(channels)
        self.step = max(1, int(round(0.1 * sample_rate)))
        self._acc, self._n = 0.0, 0  # partial step
        self._steps: list[float] = []  # weighted mean square per 100 ms
        self._total, self._frames = 0.0, 0

    def update(self, x: np.ndarray) -> None:
        y, self.zi = signal.sosfilt(self.sos, x, axis=1, zi=self.zi)
        z = self.g @ (y * y)  # weighted power per sample, summed over channels
        self._total += float(z.sum())
        self._frames += z.size
        pos = 0
        while pos < z.size:
            if self._n == 0 and z.size - pos >= self.step:  # whole steps at once (the same sums, row by row)
                full = (z.size - pos) // self.step
                sums = z[pos: pos + full * self.step].reshape(full, self.step).sum(axis=1)
                self._steps.extend((sums / self.step).tolist())
                pos += full * self.step
                continue
            take = min(self.step - self._n, z.size - pos)
            self._acc += float(z[pos:pos + take].sum())
            self._n += take
            pos += take
            if self._n == self.step:
                self._steps.append(self._acc / self.step)
                self._acc, self._n = 0.0, 0

    def finish(self) -> float | None:
        steps = np.array(self._steps)
        if steps.size >= 4:
            blocks = np.convolve(steps, np.ones(4) / 4, mode="valid")
        elif self._frames:  # shorter than one gating block: the whole file is the block
            blocks = np.array([self._total / self._frames])
        else:
            return None
        with np.errstate(divide="ignore"):
            lk = -0.691 + 10 * np.log10(blocks)
        above = blocks[lk > -70.0]
        if above.size == 0:
            return None
        relative = -0.691 + 10 * math.log10(above.mean()) - 10.0
        gated = blocks[(lk > -70.0) & (lk > relative)]
        return float(-0.691 + 10 * math.log10(gated.mean()))


class TruePeak:
    """Maximum of the 4x oversampled signal (polyphase FIR interpolation), dBTP.

    Exact, but interpolating only where the peak can rise: an output is a sum over 33 input samples,
    so it is at most the largest of them times the L1 norm of its phase's taps. Positions where that
    bound stays below the peak found so far are skipped (most of a programme after its loudest
    moment), the rest are interpolated by one matrix product over their 33-sample windows.
    Reference: ITU-R BS.1770-4, Annex 2 (true-peak estimation by 4x oversampling).
    """

    up = 4
    _segment = 8192  # positions judged together: dense segments are filtered whole, sparse ones gathered

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.h = self.up * signal.firwin(16 * self.up * 2 + 1, 1.0 / self.up, window=("kaiser", 9.0))
        taps = -(-len(self.h) // self.up)  # input samples each output depends on (33)
        h = np.concatenate([self.h, np.zeros(taps * self.up - len(self.h))])
        phases = h.reshape(taps, self.up)  # phases[j, p] = h[p + 4 j]: out[4 i + p] = sum_j y[i - j] h[p + 4 j]
        self.bound = float(np.abs(phases).sum(axis=0).max())
        self.phases = np.ascontiguousarray(phases)
        self.reversed_phases = np.ascontiguousarray(phases[::-1])  # rows in the order y[i - 32], ..., y[i]
        self.taps = taps
        self.hist = np.zeros((channels, len(self.h) // self.up + 2))
        self.peak = 0.0

    def update(self, x: np.ndarray) -> None:
        y = np.concatenate([self.hist, x], axis=1)
        n, first = y.shape[1], self.taps - 1  # outputs with full filter support: input index i >= 32
        if n > first:
            a = np.abs(y).max(axis=0)
            top = first + int(np.argmax(a[first:]))
            self.peak = max(self.peak, self._gathered(y, np.arange(top, min(n, top + self.taps))))  # a floor first
            for lo in range(first, n, self._segment):
                hi = min(n, lo + self._segment)
                near = a[lo - first: hi]  # the inputs the segment's outputs depend on
                if float(near.max()) * self.bound <= self.peak:
                    continue  # no output here can exceed the peak: no need to look closer
                # positions i with some a[i-32 .. i] * bound above the peak: a running count of such inputs
                hot = np.concatenate([[0], np.cumsum(near * self.bound > self.peak)])
                at = np.flatnonzero(hot[first + 1:] > hot[: hi - lo])
                if at.size > (hi - lo) // 2:  # dense: filtering the segment beats gathering
                    self.peak = max(self.peak, self._filtered(y[:, lo - first: hi]))
                elif at.size:
                    self.peak = max(self.peak, self._gathered(y, at + lo))
        self.hist = y[:, -self.hist.shape[1]:]

    def _filtered(self, seg: np.ndarray) -> float:
        """max |out[4 i + p]| over every phase p and every i with full support in seg (ch, n):
        one 33-tap convolution per phase and channel (40 % cheaper than upfirdn's polyphase pass)."""
        return max(float(np.abs(np.convolve(row, self.phases[:, p], mode="valid")).max())
                   for row in seg for p in range(self.up))

    def _gathered(self, y: np.ndarray, at: np.ndarray) -> float:
        """max |out[4 i + p]| over i in `at` (each >= taps - 1) and every phase p."""
        windows = sliding_window_view(y, self.taps, axis=1)[:, at - (self.taps - 1)]  # (ch, positions, taps)
        return float(np.abs(windows @ self.reversed_phases).max())

    def finish(self) -> float | None:
        self.update(np.zeros_like(self.hist))  # the filter's tail past the last sample
        return 20 * math.log10(self.peak) if self.peak > 0 else None


class Measurer:
    """All the quality measures of one file, streaming (see MEASURE_KEYS).

    snr_db: the `noise` detector's severity, programme power over the noise floor it trusts
    (minimum statistics per band, `noise_floor`; 100 where it finds none). hum_db: the hum detector's severity where it finds hum, else -120. clipped_fraction: the
    clipping detector's severity. bandwidth_hz: the `bandwidth` detector's severity, the cut-off of
    a lost high band, else the top of the analysed band (0.47 x the sample rate). loudness_lufs:
    BS.1770-4 integrated. true_peak_dbtp: 4x oversampled peak. dc_offset: max |mean| over channels.
    clicks_per_min, dropouts_s, wow_pct, rumble_db: the severity of the `clicks`, `dropouts`, `wow` and `rumble`
    detectors (SEVERITY_MEASURES), None while no detector of that kind is registered.
    """

    def __init__(self, sample_rate: int, channels: int, shared: Mapping[str, Any] | None = None,
                 skip: Collection[str] = (), hum_families: tuple[float, ...] | None = None) -> None:
        """shared: detectors (by kind) that the caller already feeds the same blocks; their results are
        reused instead of running a second hum, clipping, DC, noise or bandwidth detector over the file.
        skip: kinds (MEASURE_KINDS values) whose detector is not run: their measures are left out of
        finish()'s dict (after restoration, the caller keeps the value before for a kind no step
        acted on; see pipelines/item.py). hum_families: the mains families hum_db judges (default
        50 and 60 Hz); after restoration, the one analysis found."""
        self.sample_rate, self.channels = sample_rate, channels
        shared = shared or {}
        load_all()
        def hum(sr: int, ch: int) -> HumDetector:
            return HumDetector(sr, ch) if hum_families is None else HumDetector(sr, ch, hum_families)

        makers = {"hum": hum, "clipping": ClippingDetector, "dc_offset": DcOffsetDetector,
                  "noise": NoiseDetector, "bandwidth": BandwidthDetector}
        makers |= {k: DETECTORS[k] for k in SEVERITY_MEASURES.values() if k in DETECTORS}
        self._skip = frozenset(skip)
        self._det = {k: shared.get(k) or make(sample_rate, channels) for k, make in makers.items() if k not in skip}
        link_detectors(d for d in self._det.values() if d not in shared.values())
        self._loud = Loudness(sample_rate, channels)
        self._tp = TruePeak(sample_rate, channels)
        self._fed = [p for p in self._det.values() if p not in shared.values()]
        self._fed += [self._loud, self._tp]
        self._sum = np.zeros(channels)
        self._sq, self._frames = 0.0, 0

    def update(self, block: np.ndarray) -> None:
        x = as_block(block, self.channels)
        if x.shape[1] == 0:
            return
        for part in self._fed:
            part.update(x)
        self._sum += x.sum(axis=1)
        self._sq += float(np.einsum("ij,ij->", x, x))
        self._frames += x.shape[1]

    def finish(self) -> dict[str, float | None]:
        # power about each channel's mean: a DC offset alone is not a signal to measure
        power = (self._sq - float(np.sum(self._sum**2)) / self._frames) / self._frames if self._frames else 0.0
        silent = power / self.channels < _SILENT_POWER
        got = {k: d.finish() for k, d in self._det.items()}

        def severity(kind: str, when_silent: bool = True) -> float | None:
            return None if (silent and not when_silent) or kind not in got else float(got[kind].severity)

        hum = got.get("hum")
        out = {
            "snr_db": severity("noise", when_silent=False),
            # the level of what the detector judges to be hum: a programme's own steady line on the
            # mains grid is not reported as hum
            "hum_db": None if silent or hum is None else float(hum.severity) if hum.score >= 0.5 else HUM_FLOOR_DB,
            "clicks_per_min": severity("clicks"),
            "clipped_fraction": severity("clipping"),
            "bandwidth_hz": severity("bandwidth", when_silent=False),
            "loudness_lufs": self._loud.finish(),
            "true_peak_dbtp": self._tp.finish(),
            "dc_offset": severity("dc_offset"),
            "dropouts_s": severity("dropouts"),
            "wow_pct": severity("wow"),
            "rumble_db": severity("rumble", when_silent=False),
        }
        return {m: v for m, v in out.items() if MEASURE_KINDS.get(m) not in self._skip}


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (all channels together).

    Reference: J. Le Roux et al., "SDR - half-baked or well done?", ICASSP 2019.
    """
    r = np.asarray(reference, dtype=np.float64).ravel()
    e = np.asarray(estimate, dtype=np.float64).ravel()
    alpha = (e @ r) / (r @ r) if r @ r > 0 else 0.0
    target = alpha * r
    noise = e - target
    return float(10 * math.log10((target @ target) / (noise @ noise))) if noise @ noise > 0 else math.inf
