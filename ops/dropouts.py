"""Dropouts (tape oxide shed, poor head contact, lost digital blocks): detector `dropouts` and
restorer `fill_gaps`.

A dropout is the signal lost or weakened for a few to a few hundred milliseconds, switching at
both ends within a millisecond or two (`_gap_find` says how that is told from pauses, rests and
fades). Repair: a lost stretch (digital silence, or below the recording's floor) of up to
MAX_FILL_S is re-estimated by least-squares AR interpolation from both sides; a weakened one,
whose signal is still there, is given its gain back (the two switching edges interpolated).
Longer gaps are not invented: the finding lists them (`params["unfilled"]`) for a person.
"""

from __future__ import annotations

import math

import numpy as np

from . import _gap_find as gf
from ._capped_spans import CappedSpans
from ._util import logistic
from .ar import burg_interpolate, extrapolate_fill
from .findings import Finding
from .registry import Restorer, register_detector, register_restorer

MAX_FILL_S = 0.08  # longer gaps: AR interpolation would invent a fifth of a second of signal
_SCORE_SLOPE = 3.0  # score = logistic(slope * margin): 0.5 at the decision, 0.95 one unit beyond
_MAX_REGIONS = 2000
_EDGE = 1  # frames each side of a gap's transition frames re-estimated with it
_INTERP_CONTEXT_S = (0.02, 0.16)  # context each side of a filled run: LSAR's, and the most extrapolation uses
_SHORT_RUN_S = 0.003  # runs up to this long are interpolated (LSAR), longer ones extrapolated from both sides
_EXTRAP_ORDER_S, _EXTRAP_CONTEXT = 0.025, 3  # model of 25 ms (pitch periods), fitted to 3 x that each side
# A restorer window must hold every gap that reaches into its block with that gap's own context.
CONTEXT_S = float(math.ceil(gf.CONTEXT_S + gf.MAX_S + _INTERP_CONTEXT_S[1]))  # whole seconds: the
# level grid (a divisor of the rate) then falls alike in every window


def score_from(margin: float) -> float:
    if margin == -math.inf:
        return 0.0
    return logistic(_SCORE_SLOPE * margin)


@register_detector
class DropoutsDetector:
    """Streaming dropout detection (memory: ~2 x gf.CONTEXT_S of signal, capped regions).

    severity = total dropout length (s). params: `count`, `unfilled` (gaps longer than MAX_FILL_S,
    which fill_gaps leaves alone: (start_s, end_s) spans, capped), `unfilled_count`, `lost_count`
    (zeroed or below the floor), `weakened_count` (signal going on, attenuated) and `review` (a
    sentence for the record when gaps were left unfilled; routing makes it a review reason).
    """

    kind = "dropouts"
    version = "1"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sr, self.channels = sample_rate, channels
        self.hop = gf.hop_for(sample_rate)
        self._ctx = int(math.ceil(gf.CONTEXT_S * sample_rate / self.hop))  # frames
        self._buf = np.zeros((channels, 0), dtype=np.float32)
        self._levels = np.zeros(0)  # level of each whole frame of _buf
        self._buf_start = 0  # frame index of _buf[:, 0]
        self._end = 0  # samples seen
        self._done = 0  # falling edges before this frame are decided
        self._best = -math.inf
        self._count = self._lost = self._unfilled_count = 0
        self._total_s = 0.0
        self._regions = CappedSpans(_MAX_REGIONS, 0.0)
        self._unfilled = CappedSpans(_MAX_REGIONS, 0.0)

    def update(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32)
        x = x[None, :] if x.ndim == 1 else x
        if x.shape[0] != self.channels:
            raise ValueError(f"block has {x.shape[0]} channels, expected {self.channels}")
        if x.shape[1] == 0:
            return
        self._buf = np.concatenate([self._buf, x], axis=1)
        self._end += x.shape[1]
        # levels of the whole frames not yet measured
        have = self._buf_start + self._levels.size
        new = gf.frame_levels(self._buf[:, (have - self._buf_start) * self.hop:], self.hop)
        self._levels = np.concatenate([self._levels, new])
        self._process(self._end // self.hop - self._ctx)

    def _process(self, upto: int) -> None:
        if upto <= self._done:
            return
        d, _ = gf.find_dropouts(self._buf, self.sr, self._done - self._buf_start, upto - self._buf_start,
                                levels=self._levels)
        self._record(d)
        self._done = upto
        keep = max(self._buf_start, self._done - self._ctx)
        self._buf = self._buf[:, (keep - self._buf_start) * self.hop:]
        self._levels = self._levels[keep - self._buf_start:]
        self._buf_start = keep

    def _record(self, d: gf.Dropouts) -> None:
        if d.margin.size:
            self._best = max(self._best, float(np.max(d.margin)))
        yes = d.margin > 0
        for s, e, lost in zip((d.start[yes] + self._buf_start).tolist(), (d.end[yes] + self._buf_start).tolist(),
                              d.lost[yes].tolist(), strict=True):
            s_s, e_s = s * self.hop / self.sr, (e + 1) * self.hop / self.sr
            self._count += 1
            self._lost += bool(lost)
            self._total_s += e_s - s_s
            self._regions.add(s_s, e_s)
            if e_s - s_s > MAX_FILL_S:
                self._unfilled_count += 1
                self._unfilled.add(s_s, e_s)

    def _review(self) -> str:
        """What a person should hear: the gaps left unfilled ('' when none)."""
        if not self._unfilled_count:
            return ""
        first = self._unfilled.as_tuple()[0]
        return (f"{self._unfilled_count} dropout(s) longer than {MAX_FILL_S * 1000:.0f} ms left unfilled "
                f"(first at {first[0]:.2f}-{first[1]:.2f} s; params.unfilled lists them)")

    def finish(self) -> Finding:
        self._process(self._end // self.hop + 1)
        params = {"count": self._count, "lost_count": self._lost, "weakened_count": self._count - self._lost,
                  "unfilled_count": self._unfilled_count, "unfilled": [list(r) for r in self._unfilled.as_tuple()],
                  "max_fill_s": MAX_FILL_S, "review": self._review()}
        return Finding(self.kind, score_from(self._best), self._total_s, "s", regions=self._regions.as_tuple(),
                       params=params)


def fill_gaps(audio: np.ndarray, sample_rate: int, *, max_fill_s: float = MAX_FILL_S,
              regain: bool = True) -> np.ndarray:
    """Find dropouts (as the detector does) and repair those up to max_fill_s long.

    audio: (channels, frames) float32. Returns the same shape; only the gaps (plus a frame each
    side) change. A lost gap, and any gap when regain is False, is filled by least-squares AR
    interpolation from both sides with a Burg model over the known signal each side (Janssen et
    al.'s interpolator, one model for the forward and backward predictions); a weakened gap gets
    the gain it lost back (measured at its two edges) and only its switching edges interpolated.
    References: A. J. E. M. Janssen, R. N. J. Veldhuis and L. B. Vries, IEEE Trans. ASSP 34 (1986);
    S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 5.
    """
    out = np.asarray(audio, dtype=np.float64).copy()
    d, hop = gf.find_dropouts(out, sample_rate)
    n = out.shape[1]
    levels = gf.frame_levels(out, hop) if regain else None
    for a, b, m, lost in zip(d.start.tolist(), d.end.tolist(), d.margin.tolist(), d.lost.tolist(), strict=True):
        if not m > 0 or (b + 1 - a) * hop > max_fill_s * sample_rate:
            continue
        s, e = max(0, (a - _EDGE) * hop), min(n, (b + 1 + _EDGE) * hop)
        if regain and not lost and b - a > 2 * (gf.GUARD + _EDGE) + 2:
            gain = 10 ** (_lost_gain_db(levels, a, b) / 20)
            inner_s, inner_e = (a + 1 + _EDGE) * hop, (b - _EDGE) * hop
            out[:, inner_s:inner_e] *= gain
            runs = [(s, inner_s), (inner_e, e)]
        else:
            runs = [(s, e)]
        for rs, re_ in runs:
            _interpolate(out, rs, re_, sample_rate)
    return out.astype(np.float32)


def _lost_gain_db(levels: np.ndarray, a: int, b: int) -> float:
    """The gain a weakened gap lost (dB, > 0): the level step at each of its edges, averaged."""
    w = gf.PRE
    fall = np.median(levels[a - w: a]) - np.median(levels[a + 1: a + 1 + w])
    rise = np.median(levels[b + 1: b + 1 + w]) - np.median(levels[b - w: b])
    return float(max(0.0, 0.5 * (fall + rise)))


def _interpolate(out: np.ndarray, s: int, e: int, sample_rate: int) -> None:
    """Re-estimate out[:, s:e] in place, each channel: a short run (a gap's switching edge) by
    Burg-model LSAR, a longer one by two-sided extrapolation with a model spanning pitch periods."""
    if e - s <= _SHORT_RUN_S * sample_rate:
        ctx = int(round(_INTERP_CONTEXT_S[0] * sample_rate))
        lo, hi = max(0, s - ctx), min(out.shape[1], e + ctx)
        missing = np.zeros(hi - lo, dtype=bool)
        missing[s - lo: e - lo] = True
        for c in range(out.shape[0]):
            out[c, lo:hi] = burg_interpolate(out[c, lo:hi], missing, context=ctx)
        return
    order = int(round(_EXTRAP_ORDER_S * sample_rate))
    ctx = max(_EXTRAP_CONTEXT * order, 2 * (e - s))
    for c in range(out.shape[0]):
        out[c, s:e] = extrapolate_fill(out[c], s, e, order, ctx)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {"max_fill_s": float(finding.params.get("max_fill_s", MAX_FILL_S))}


register_restorer(Restorer("fill_gaps", "dropouts", fill_gaps, _params, context_s=CONTEXT_S, version="1"))
