"""Clicks and crackle (scratches, dust, surface wear): detector `clicks` and restorer `declick`.

A click is an additive impulse of a fraction of a millisecond to a few milliseconds that the
signal's own dynamics cannot produce: an outlier of the residual of an autoregressive model fitted
around it (`_click_find`). Crackle is the same damage, dense and small, and goes the same way.
What makes a file clicky is decided at its end, against its peak (`_click_find.evidence`):
integer overflow wraps are counted apart (damage of the digital chain, for the record), and
impulses far under the programme's level count only when dense (crackle), not as a clean voice's
occasional glitch. Repair re-estimates the flagged samples by least-squares AR interpolation (Burg model per gap).
"""

from __future__ import annotations

import math

import numpy as np

from . import _click_find as cf
from ._capped_spans import CappedSpans
from ._click_span import GROW_REACH_S, fill_clicks
from ._util import as_block, logistic
from .findings import Finding
from .registry import Restorer, register_detector, register_restorer

CLICK_T = 1.0  # the test statistic at which a candidate is a click (see _click_find)
_MODEL_S = 4.0  # signal the whitening model is estimated from (the first seconds that have power)
_MAX_WAIT_S = 30.0  # after this much silence, a first-difference model stands in
_TOP = 8  # strongest candidates kept for the score
_PENDING_MIN = 0.3  # candidates weaker than this never reach the score's range (score < 0.01)
_MAX_PENDING = 20000  # candidates waiting for the file's peak; beyond, the oldest are decided with the peak so far
DENSE_PER_MIN = 24.0  # impulses under the level floor are clicks too when this many a minute come:
# crackle (hundreds to thousands of small clicks a minute), not a clean voice's few glitches
_MERGE_S = 0.002  # the same click in several channels counts once
_MAX_REGIONS = 2000
_REGION_MERGE_S = 0.005
RESTORE_T = 0.6  # a file found to have clicks is repaired down to this statistic: weaker clicks
# of a damaged file are still clicks, while the detection threshold guards clean files
_PRE, _POST, _POST_FRAC = 2, 6, 0.5  # samples added before / after a span, + a fraction of its
# length after it (the decaying tail a residual test cannot see)
_INTERP_CONTEXT_S = 0.02
CONTEXT_S = cf.CONTEXT_S + _INTERP_CONTEXT_S + 2 * cf.POST_S + GROW_REACH_S


def score_from(strengths: np.ndarray, threshold: float = CLICK_T) -> float:
    """Evidence that a file has clicks, from its strongest test statistics: 0.5 at the threshold,
    +-0.27 per factor 1.26 (1 dB) of the strongest (an isolated one counts: a single scratch is
    damage too)."""
    if strengths.size == 0:
        return 0.0
    top = float(np.max(strengths))
    if not math.isfinite(top):
        return 1.0
    return logistic(5.0 * math.log(max(top, 1e-9) / threshold))


@register_detector
class ClicksDetector:
    """AR-residual click detection, streaming (memory: a few seconds of signal while the whitening
    model is estimated, then CONTEXT_S of signal, the strongest statistics and capped regions,
    and up to _MAX_PENDING candidates waiting for the file's peak, which `cf.evidence` needs).

    severity = clicks per minute (a click in several channels counts once).
    params: `models` (per-channel whitening model the restorer reuses), `threshold`, `count`,
    `wraps` (integer overflow wraps found, per channel; not counted as clicks, see `cf.evidence`),
    `quiet` (impulses under the level floor; counted as clicks only at DENSE_PER_MIN or more).
    """

    kind = "clicks"
    version = "2"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sr, self.channels = sample_rate, channels
        self._block = max(4, int(round(cf.BLOCK_S * sample_rate)))
        self._ctx = -(-int(math.ceil(cf.CONTEXT_S * sample_rate)) // self._block) * self._block
        self._buf = np.zeros((channels, 0))
        self._buf_start = 0  # absolute index of _buf[:, 0], a multiple of the block
        self._end = 0
        self._done = 0  # clicks with candidates before this index are decided
        self._models: list[list[float]] | None = None
        self._top = np.zeros(0)
        self._count = 0
        self._last_end = -np.inf  # last counted click's end (s), to merge across channels and chunks
        self._regions = CappedSpans(_MAX_REGIONS, _REGION_MERGE_S)
        self._peak = 0.0
        self._pending: list[np.ndarray] = []  # rows (start, end, strength, amplitude, cross_side, cross_jump)
        self._n_pending = 0
        self._wraps = 0
        self._quiet = _Tally()  # impulses under the level floor, kept apart until the rate is known

    def update(self, block: np.ndarray) -> None:
        x = as_block(block, self.channels)
        if x.shape[1] == 0:
            return
        self._buf = np.concatenate([self._buf, x], axis=1)
        self._end += x.shape[1]
        self._peak = max(self._peak, float(np.max(np.abs(x))))
        if self._models is None and not self._estimate(final=False):
            return
        self._process(self._end - self._ctx)

    def _estimate(self, final: bool) -> bool:
        """Fit the whitening model per channel once enough signal is buffered."""
        have = self._end - self._buf_start
        if not final and have < _MODEL_S * self.sr:
            return False
        models = [cf.whitening_model(self._first_power(c)) for c in range(self.channels)]
        if not final and have < _MAX_WAIT_S * self.sr and any(m is None for m in models):
            return False  # silence so far: wait for signal
        self._models = [m if m is not None else [1.0, -1.0] for m in models]
        return True

    def _first_power(self, c: int) -> np.ndarray:
        """_MODEL_S of channel c from its first non-silent sample on (the whole buffer if shorter)."""
        x = self._buf[c]
        nz = np.flatnonzero(x)
        start = int(nz[0]) if nz.size else 0
        return x[start: start + int(_MODEL_S * self.sr)]

    def _process(self, upto: int) -> None:
        if upto <= self._done:
            return
        lo, hi = self._done - self._buf_start, upto - self._buf_start
        found = [cf.find_clicks(self._buf[c], self.sr, self._models[c], threshold=0.0, lo=lo, hi=hi)
                 for c in range(self.channels)]
        self._record(found)
        self._done = upto
        keep = max(self._buf_start, (self._done - self._ctx) // self._block * self._block)
        self._buf = self._buf[:, keep - self._buf_start:]
        self._buf_start = keep

    def _record(self, found: list[cf.Clicks]) -> None:
        """Queue this stretch's candidates (time order); what counts waits for the file's peak."""
        rows = np.concatenate([np.stack([f.start, f.end, f.strength, f.amplitude, f.cross_side,
                                         f.cross_jump], axis=1) for f in found])
        rows = rows[rows[:, 2] > _PENDING_MIN]
        if rows.size == 0:
            return
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        rows[:, :2] += self._buf_start
        self._pending.append(rows)
        self._n_pending += rows.shape[0]
        if self._n_pending > _MAX_PENDING:
            self._decide()

    def _decide(self) -> None:
        """Score, count and regions from the queued candidates, with the peak seen so far."""
        if not self._pending:
            return
        rows = np.concatenate(self._pending)
        self._pending, self._n_pending = [], 0
        z = rows[:, 0].astype(np.int64)
        found = cf.Clicks(z, rows[:, 1].astype(np.int64), z, rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5])
        strength, wrap, quiet = cf.evidence(found, self._peak, self.sr)
        self._wraps += int(np.count_nonzero(wrap & (rows[:, 2] > CLICK_T)))
        self._top = np.sort(np.concatenate([self._top, strength]))[-_TOP:]
        self._quiet.add(rows[quiet, :2] / self.sr, rows[quiet, 2])
        yes = strength > CLICK_T
        for s, e in zip((rows[yes, 0] / self.sr).tolist(), (rows[yes, 1] / self.sr).tolist(), strict=True):
            if s - self._last_end >= _MERGE_S:
                self._count += 1
            self._last_end = max(self._last_end, e)
            self._regions.add(s, e)

    def finish(self) -> Finding:
        if self._end == 0:
            return Finding(self.kind, 0.0, 0.0, "1/min", params={"models": [], "threshold": CLICK_T, "count": 0, "wraps": 0,
                                                                    "quiet": 0})
        if self._models is None:
            self._estimate(final=True)
        self._process(self._end)
        self._decide()
        minutes = self._end / self.sr / 60.0
        if self._quiet.count >= DENSE_PER_MIN * minutes:  # crackle: the small ones count as well
            self._top = np.sort(np.concatenate([self._top, self._quiet.top]))[-_TOP:]
            self._count += self._quiet.count
            merged = CappedSpans(_MAX_REGIONS, _REGION_MERGE_S)  # spans go in in time order
            for s, e in sorted(self._regions.as_tuple() + self._quiet.regions.as_tuple()):
                merged.add(s, e)
            self._regions = merged
        params = {"models": self._models, "threshold": CLICK_T, "count": self._count,
                  "wraps": self._wraps, "quiet": self._quiet.count}
        if self._wraps:  # a broken digital transfer: routing asks a person whatever the clicks verdict
            params["notice"] = (f"{self._wraps} integer overflow wrap{'s' if self._wraps > 1 else ''} (samples "
                                "jumping across zero near full scale: a broken digital transfer)")
        return Finding(self.kind, score_from(self._top), self._count / minutes, "1/min",
                       regions=self._regions.as_tuple(), params=params)


class _Tally:
    """Impulses under the level floor (`cf.evidence`): their count (a click in several channels
    once), strongest statistics and capped regions, added to the finding when they are dense."""

    def __init__(self) -> None:
        self.count, self.top, self._last_end = 0, np.zeros(0), -np.inf
        self.regions = CappedSpans(_MAX_REGIONS, _REGION_MERGE_S)

    def add(self, rows: np.ndarray, strength: np.ndarray) -> None:
        """rows: (start_s, end_s) in time order; strength: their statistics."""
        self.top = np.sort(np.concatenate([self.top, strength]))[-_TOP:]
        yes = strength > CLICK_T
        for s, e in zip(rows[yes, 0].tolist(), rows[yes, 1].tolist(), strict=True):
            if s - self._last_end >= _MERGE_S:
                self.count += 1
            self._last_end = max(self._last_end, e)
            self.regions.add(s, e)


def declick(audio: np.ndarray, sample_rate: int, *, models: list[list[float]],
            threshold: float = RESTORE_T) -> np.ndarray:
    """Find clicks (as the detector does) and re-estimate their samples by AR interpolation.

    audio: (channels, frames) float32; models: the detector's per-channel whitening models.
    Returns the same shape. Only the flagged spans (plus a hair each side) change; each gap is
    filled by least-squares AR interpolation with a Burg model of ~3x its length fitted to the
    20 ms around it, and grown while the click's estimate has not decayed by its end
    (`_click_span`: a wide click's smooth tail is no residual outlier).
    Reference: Godsill & Rayner, Digital Audio Restoration (1998), ch. 5.
    """
    out = audio.astype(np.float64)
    ctx = int(round(_INTERP_CONTEXT_S * sample_rate))
    missing = np.zeros(out.shape, dtype=bool)
    for c in range(out.shape[0]):
        found = cf.find_clicks(out[c], sample_rate, models[c], threshold=threshold)
        ends = found.end + _POST + (_POST_FRAC * (found.end - found.start)).astype(np.int64)
        for s, e in zip((found.start - _PRE).tolist(), ends.tolist(), strict=True):
            missing[c, max(0, s):e] = True
    if missing.any():  # every channel's clicks in one fill (its Burg batches serve them all)
        out = fill_clicks(out, missing, sample_rate, context=ctx, min_order=cf.local_order(sample_rate))
    return out.astype(np.float32)


def _params(finding: Finding, sample_rate: int) -> dict:
    return {"models": [[float(v) for v in m] for m in finding.params["models"]], "threshold": RESTORE_T}


register_restorer(Restorer("declick", "clicks", declick, _params, context_s=CONTEXT_S, version="2"))
