"""DC offset: a constant added to a channel by a faulty converter or preamp.

Detector `dc_offset` (per-channel mean) and restorer `remove_dc` (subtract it).
"""

from __future__ import annotations

import math

import numpy as np

from ._util import as_block, logistic
from .findings import Finding
from .registry import Restorer, register_detector, register_restorer

# Score 0.5 at 0.16 % of full scale, 6 logits per decade: 0.5 % FS -> 0.95, 0.05 % FS -> 0.05.
_MID = math.log10(0.0016)
_SLOPE = 6.0
_MIN_SECONDS = 0.25  # below this the mean says more about the waveform than about an offset
_LSB = 0.5 / 32768.0  # a sample within half a 16-bit step of the extreme sits at it
_CLIPPED_SHARE, _CLIPPED_MIN = 1e-4, 4  # samples at both extremes (share of frames, at least) that mean clipping


@register_detector
class DcOffsetDetector:
    """Per-channel mean over the whole file (exact, streaming, constant memory).

    A channel clipped at both polarities (at least 0.01 % of its samples, and 4, at each extreme)
    is judged by the midpoint of its two clip levels instead: an offset after the overload moves
    both levels by itself, while clipping a waveform with a taller polarity (a voice) shifts the
    mean by up to a few tenths of a percent of full scale with no offset at all.
    severity = max |offset| over channels as a fraction of full scale. Over very short inputs the
    score is scaled down (a 10 ms excerpt of a low note has a large mean without any offset).
    params: `offsets` per channel (the mean, or the clip levels' midpoint).
    """

    kind = "dc_offset"
    version = "2"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self._sum = np.zeros(channels)
        self._frames = 0
        self._hi, self._lo = np.full(channels, -np.inf), np.full(channels, np.inf)
        self._n_hi, self._n_lo = np.zeros(channels, np.int64), np.zeros(channels, np.int64)

    def update(self, block: np.ndarray) -> None:
        x = as_block(block, self.channels)
        if x.shape[1] == 0:
            return
        self._sum += x.sum(axis=1)
        self._frames += x.shape[1]
        top, bottom = x.max(axis=1).astype(np.float64), x.min(axis=1).astype(np.float64)
        new_hi, new_lo = top > self._hi + _LSB, bottom < self._lo - _LSB
        self._hi, self._lo = np.where(new_hi, top, self._hi), np.where(new_lo, bottom, self._lo)
        self._n_hi = np.where(new_hi, 0, self._n_hi) + (x >= (self._hi - _LSB)[:, None]).sum(axis=1)
        self._n_lo = np.where(new_lo, 0, self._n_lo) + (x <= (self._lo + _LSB)[:, None]).sum(axis=1)

    def offsets(self) -> np.ndarray:
        if not self._frames:
            return np.zeros(self.channels)
        need = max(_CLIPPED_MIN, _CLIPPED_SHARE * self._frames)
        clipped = (self._n_hi >= need) & (self._n_lo >= need) & (self._hi > self._lo + 64 * _LSB)
        return np.where(clipped, (self._hi + self._lo) / 2, self._sum / self._frames)

    def finish(self) -> Finding:
        off = self.offsets()
        severity = float(np.max(np.abs(off))) if off.size else 0.0
        if severity <= 0.0:
            score = 0.0
        else:
            reliability = min(1.0, self._frames / (_MIN_SECONDS * self.sample_rate))
            score = reliability * logistic(_SLOPE * (math.log10(severity) - _MID))
        return Finding(self.kind, score, severity, "fraction of full scale",
                       params={"offsets": [float(v) for v in off]})


def remove_dc(audio: np.ndarray, sample_rate: int, *, offsets: list[float]) -> np.ndarray:
    """Subtract a constant per channel.

    audio: (channels, frames) float32; offsets: one value per channel (or one for all).
    Returns the same shape. Exact and memoryless, so it needs no context between blocks; the offsets
    come from the whole-file mean (a high-pass filter would also remove wanted infrasound and smear).
    """
    off = np.broadcast_to(np.asarray(offsets, dtype=np.float64), (audio.shape[0],))
    return (audio.astype(np.float64) - off[:, None]).astype(np.float32)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {"offsets": [float(v) for v in finding.params["offsets"]]}


register_restorer(Restorer("remove_dc", "dc_offset", remove_dc, _params, context_s=0.0, version="1"))
