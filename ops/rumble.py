"""Subsonic rumble: turntable bearing and motor noise, a warped disc, handling and wind thumps.

Detector `rumble`: the power between 1 and 20 Hz against the programme's. No programme needs that
band (the lowest organ pipe sounds at 16 Hz and is rare; microphones and cutters roll off there),
while it eats headroom and moves woofers. The signal is decimated by block means to about 500 Hz
(a boxcar's nulls sit on every multiple of the new rate, so nothing aliases into the few hertz
analysed), then cut into 2-s Hann segments with their linear trend removed (a DC offset and its
slow drift are the `dc_offset` kind's, not this one's). Rumble is there all the time, in the
pauses too; the programme's own subsonic content comes and goes with it (a clipped voice's mean
moves with its syllables, plosives and thumps are brief). So the band's power is taken as its
20th percentile over segments, against the programme's mean power:
severity = max over channels of 10 log10(P20(1-20 Hz) / P(rest)), dB. params: `cutoff_hz`, the
high-pass corner the restorer uses, and `peak_hz`, where the averaged subsonic spectrum peaks.

Restorer `remove_rumble`: a Butterworth high-pass run forwards and backwards (scipy.signal.sosfiltfilt):
zero phase, so the bass the programme keeps is neither delayed nor smeared, and -6 dB at the
corner, -0.3 dB at 1.5 x the corner.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import butter, detrend, sosfiltfilt

from ._util import as_block, logistic
from .chunked import apply_windowed
from .findings import Finding
from .registry import Restorer, register_detector, register_restorer

BAND_HZ = (1.0, 20.0)
CUTOFF_HZ = 20.0
_RATE = 500.0  # decimated rate of the analysis
_SEGMENT_S = 2.0  # segment: 0.5 Hz bins
_QUANTILE = 0.2
_MIN_SEGMENT_S = 1.0  # a shorter tail is not analysed
# Score 0.5 at -32 dB re programme, 0.5 logits per dB: -36 dB -> 0.12, -28 dB -> 0.88 (clean
# validation clips: -55..-40 dB; moderate rumble, whole level -28..-18 dB: -30..-19 dB; clipping
# a voice's taller polarity moves its mean with the syllables: -36 dB on a synthetic voice).
_MID_DB, _SLOPE = -32.0, 0.5
_SILENT = 1e-12  # programme power below this: nothing to judge against
_ORDER = 4
CONTEXT_S = 1.0  # a 20 Hz 4th-order high-pass has settled to -120 dB within 0.4 s


@register_detector
class RumbleDetector:
    """Streaming Welch spectrum of the decimated signal. Memory: one segment per channel, plus the
    band's power per segment (8 bytes a channel per 2 s) for the percentile."""

    kind = "rumble"
    version = "1"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self._m = max(1, int(round(sample_rate / _RATE)))
        self.rate = sample_rate / self._m
        self._seg = int(_SEGMENT_S * self.rate)
        self._carry = np.zeros((channels, 0))  # full-rate samples short of one decimation step
        self._dec = np.zeros((channels, 0))  # decimated samples short of one segment
        self._psd = np.zeros((channels, self._seg // 2 + 1))
        self._weight = 0.0
        self._band_power: list[np.ndarray] = []  # per segment, per channel
        self._f = np.arange(self._seg // 2 + 1) * self.rate / self._seg
        self._band = (self._f >= BAND_HZ[0]) & (self._f <= BAND_HZ[1])
        self._sum, self._sq, self._frames = np.zeros(channels), np.zeros(channels), 0

    def update(self, block: np.ndarray) -> None:
        x = as_block(block, self.channels).astype(np.float64)
        if x.shape[1] == 0:
            return
        self._sum += x.sum(axis=1)
        self._sq += np.einsum("ij,ij->i", x, x)
        self._frames += x.shape[1]
        x = np.concatenate([self._carry, x], axis=1) if self._carry.shape[1] else x
        usable = x.shape[1] // self._m * self._m
        self._carry = x[:, usable:]
        dec = x[:, :usable].reshape(self.channels, -1, self._m).mean(axis=2)
        dec = np.concatenate([self._dec, dec], axis=1)
        whole = dec.shape[1] // self._seg * self._seg
        for start in range(0, whole, self._seg):
            self._add(dec[:, start: start + self._seg])
        self._dec = dec[:, whole:]

    def _add(self, seg: np.ndarray) -> None:
        n = seg.shape[1]
        seg = detrend(seg, axis=1, type="linear")
        w = np.hanning(n)
        spec = np.abs(np.fft.rfft(seg * w, n=self._seg, axis=1)) ** 2 / (self.rate * (w @ w))
        self._psd += spec * n  # weighted by length: a short tail counts for what it holds
        self._weight += n
        self._band_power.append(2.0 * spec[:, self._band].sum(axis=1) * (self.rate / self._seg))

    def finish(self) -> Finding:
        if self._dec.shape[1] >= _MIN_SEGMENT_S * self.rate:
            self._add(self._dec)
            self._dec = self._dec[:, :0]
        params = {"cutoff_hz": CUTOFF_HZ, "peak_hz": None}
        power = self._sq / max(self._frames, 1) - (self._sum / max(self._frames, 1)) ** 2
        if self._weight == 0 or float(power.max(initial=0.0)) < _SILENT:
            return Finding(self.kind, 0.0, -120.0, "dB re programme", params=params)
        psd = self._psd / self._weight * 2.0  # one-sided
        f, band = self._f, self._band
        sub = np.quantile(np.stack(self._band_power), _QUANTILE, axis=0)
        rest = np.maximum(power - sub, _SILENT)
        ratio = 10 * np.log10(np.maximum(sub, 1e-30) / rest)
        ratio = np.where(power >= _SILENT, ratio, -120.0)
        severity = float(ratio.max())
        ch = int(np.argmax(ratio))
        params["peak_hz"] = float(f[band][int(np.argmax(psd[ch, band]))])
        reliability = min(1.0, self._weight / (2.0 * self.rate))  # 1-2 s: a coarse, noisy spectrum
        score = reliability * logistic(_SLOPE * (severity - _MID_DB))
        return Finding(self.kind, float(score), severity, "dB re programme", params=params)


def remove_rumble(audio: np.ndarray, sample_rate: int, *, cutoff_hz: float = CUTOFF_HZ,
                  order: int = _ORDER) -> np.ndarray:
    """Zero-phase high-pass at `cutoff_hz` (Butterworth of `order`, forwards and backwards).

    audio: (channels, frames) float32. Returns the same shape, time-aligned. Long files go window
    by window with CONTEXT_S either side (see apply_windowed), which the filter's settling needs.
    """
    if audio.shape[1] == 0 or cutoff_hz <= 0 or cutoff_hz >= 0.45 * sample_rate:
        return audio.copy()
    sos = butter(order, cutoff_hz, "highpass", fs=sample_rate, output="sos")

    def run(x: np.ndarray, sr: int) -> np.ndarray:
        pad = min(x.shape[1] - 1, 3 * int(math.ceil(sr / cutoff_hz)))
        if pad < 1:
            return x.copy()
        return sosfiltfilt(sos, x.astype(np.float64), axis=1, padlen=pad).astype(np.float32)

    if audio.shape[1] <= 30 * sample_rate:
        return run(audio, sample_rate)
    return apply_windowed(run, audio, sample_rate, block_s=30.0, context_s=CONTEXT_S)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {"cutoff_hz": float(finding.params.get("cutoff_hz") or CUTOFF_HZ)}


register_restorer(Restorer("remove_rumble", "rumble", remove_rumble, _params, context_s=CONTEXT_S, version="1"))
