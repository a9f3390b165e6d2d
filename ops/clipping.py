"""Hard clipping at any level: detector `clipping` and restorer `declip`.

A signal clipped at some level L (an overloaded stage, then stored at any gain) has many samples
sitting at exactly +-L, in flat runs, far more than any bin just below L: a spike at the end of the
amplitude histogram. A clean signal's extremes are single samples; silence and pure DC have no
range at all. Both polarities are judged separately per channel, since clipping is often one-sided.
"""

from __future__ import annotations

import math

import numpy as np

from . import _clip_drift as drift
from ._util import as_block, logistic, spans
from .declip_lsar import lsar_declip
from .findings import Finding
from .registry import Restorer, register_detector, register_restorer

_Q = 32768.0  # histogram bins of one 16-bit LSB, centred on 16-bit values
_HALF = 2 * int(_Q)  # bins cover [-2, 2] full scale; beyond that lands in the end bins
_MIN_RANGE = 64 / _Q  # a signal spanning less than this has no meaningful extremes
_RATIO_MID = 3.0  # log2 of the spike ratio (top bin / mean occupied bin just below) scoring 0.5
_FRAC_MID = math.log10(2e-5)  # clipped fraction scoring 0.5 (about one sample a second at 48 kHz)
_MAX_REGIONS = 1000
_WANDER_MORE = 2.0  # a wandering level is taken over a constant one holding under half as many clipped samples
_MERGE_S = 0.05
_FIT_CONTEXT_S = 0.016  # declip: each group's AR model is fitted on 16 ms each side (validation: +1.0-1.7 dB over 4 x order)
_GROUP_REACH_S = 0.1  # ... a group spans under 2 x 100 ms (declip_lsar._groups); restorer context 0.3 s covers it


def _bins(x: np.ndarray) -> np.ndarray:
    """Histogram bins of samples (rounded in float64, whatever the block's dtype)."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64) * _Q).astype(np.int64), -_HALF, _HALF) + _HALF


def _band_start(top: int) -> int:
    """First bin of the reference band under the top bin `top` (polarity-flipped bins): 3 % of the
    level, at least 32 bins. It only rises with `top`, so a sample under the band of the running
    extreme is under the final one too and need not be counted."""
    return max(0, top - 1 - max(32, int(0.03 * abs(top - _HALF))))


def _block(block: np.ndarray, channels: int) -> np.ndarray:
    """(channels, frames) of a block: float32 (every decoded block) as it is, since a float64 copy
    cost more than the detector's own work (its values are exact in float64, the detector compares
    them with float64 scalars and rounds them in float64, so nothing changes); other dtypes as
    `as_block` makes them."""
    x = np.asarray(block)
    if x.dtype != np.float32:
        return as_block(x, channels)
    return x.reshape(as_block(x[..., :0], channels).shape[0], -1)  # as_block checks the shape


def _count(hist: np.ndarray, b: np.ndarray) -> None:
    """Add bins `b` (a narrow range) to `hist` without a histogram-sized temporary."""
    if b.size:
        lo = int(b.min())
        counts = np.bincount(b - lo)
        hist[lo:lo + counts.size] += counts


class _Runs:
    """Spans of flat runs (2+ samples) at the running extreme of one channel and polarity."""

    def __init__(self, sample_rate: int) -> None:
        self.sr = sample_rate
        self.level = -np.inf  # running extreme, in sign-flipped units (so always "max")
        self.regions: list[tuple[float, float]] = []
        self.merge = _MERGE_S
        self.open_start: int | None = None  # start frame of a run reaching the block's end

    def begin(self, top: float) -> float:
        """Take a block whose (sign-flipped) maximum is `top`; return the lowest value at the level."""
        if top > self.level + 0.5 / _Q:  # a new extreme: what sat at the old one was not clipped
            self.level, self.regions, self.merge, self.open_start = top, [], _MERGE_S, None
        return self.level - 0.5 / _Q

    def add(self, at: np.ndarray, frames: int, offset: int) -> None:
        """at: sorted frames of the block (of `frames`, from absolute `offset`) at the level."""
        brk = np.flatnonzero(np.diff(at) != 1)
        starts = at[np.concatenate([[0], brk + 1])] if at.size else at
        ends = at[np.concatenate([brk, [at.size - 1]])] + 1 if at.size else at
        pending = np.zeros(0, dtype=np.int64)
        if self.open_start is not None and starts.size and starts[0] == 0:
            starts[0] = self.open_start - offset
        elif self.open_start is not None:
            pending = np.array([self.open_start, offset])
        self.open_start = None
        if ends.size and ends[-1] == frames:
            self.open_start = int(starts[-1] + offset)
            starts, ends = starts[:-1], ends[:-1]
        self._close(np.concatenate([pending[:1], starts + offset]), np.concatenate([pending[1:], ends + offset]))

    def _close(self, starts: np.ndarray, ends: np.ndarray) -> None:
        """Add runs (frames, in order): each joins the last region when the gap is under `merge`;
        past _MAX_REGIONS regions the merge gap doubles (as adding them one by one would)."""
        keep = ends - starts >= 2
        s, e = starts[keep] / self.sr, ends[keep] / self.sr
        while s.size:
            prev = np.concatenate([[self.regions[-1][1] if self.regions else -np.inf], e[:-1]])
            new = ~(s - prev < self.merge)
            over = np.flatnonzero(len(self.regions) + np.cumsum(new) > _MAX_REGIONS)
            j = int(over[0]) + 1 if over.size else s.size  # runs added before the first coarsening
            heads = np.flatnonzero(new[:j])
            tails = np.append(heads[1:] - 1, j - 1)[:heads.size]
            if not new[0]:
                self.regions[-1] = (self.regions[-1][0], float(e[heads[0] - 1 if heads.size else j - 1]))
            self.regions.extend(zip(s[heads].tolist(), e[tails].tolist(), strict=True))
            s, e = s[j:], e[j:]
            if over.size:  # coarsen rather than grow
                self.merge *= 2
                r = np.array(self.regions)
                self.regions = spans(r[:, 0], r[:, 1], self.merge)

    def finish(self, frames: int) -> list[tuple[float, float]]:
        if self.open_start is not None:
            self._close(np.array([self.open_start]), np.array([frames]))
            self.open_start = None
        return self.regions


@register_detector
class ClippingDetector:
    """Amplitude-histogram and flat-run analysis of each channel's extremes (streaming).

    Keeps, per channel, a histogram of the samples near either extreme and one of those in flat
    runs (equal to a neighbour within one 16-bit LSB), 1 LSB bins over +-2 full scale (~2 MB a
    channel, whatever the file length). At the end, for each polarity: the top bin's count against
    the mean occupied bin within the 3 % of level below it (the spike ratio; ~2.4 for a pure sine,
    hundreds for a clipped signal), and the fraction of samples in flat runs at the top bin.
    Only samples that can still fall in that band are read past the block's extremes (under 1 %
    of a programme), so a block costs a few passes, no full-length temporaries.
    severity = clipped fraction of samples (max over channels).
    params: `positive`, `negative`: per-channel clip levels, 0.0 where that polarity is not clipped.
    Reference: S. Aleinik, Y. Matveev, "Detection of clipped fragments in speech signals",
    Int. J. Electrical and Computer Engineering 8 (2014) (amplitude-histogram spike).
    """

    kind = "clipping"
    version = "1"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self._all = np.zeros((channels, 2 * _HALF + 1), dtype=np.int64)
        self._run = np.zeros((channels, 2 * _HALF + 1), dtype=np.int64)
        self._last = np.full(channels, -1, dtype=np.int64)  # last sample's bin
        self._last_counted = np.zeros(channels, dtype=bool)
        self._hi = np.full(channels, -np.inf)
        self._lo = np.full(channels, np.inf)
        self._runs = [(_Runs(sample_rate), _Runs(sample_rate)) for _ in range(channels)]
        self._drift = drift.DriftTracker(sample_rate, channels)
        self._frames = 0

    def update(self, block: np.ndarray) -> None:
        x = _block(block, self.channels)
        if x.shape[1] == 0:
            return
        for c in range(self.channels):
            self._update_channel(c, x[c])
        self._drift.update(x)
        self._frames += x.shape[1]

    def _update_channel(self, c: int, x: np.ndarray) -> None:
        n = x.size
        top, bottom = float(x.max()), float(x.min())
        self._hi[c], self._lo[c] = max(self._hi[c], top), min(self._lo[c], bottom)
        runs = self._runs[c]
        # per polarity (sign-flipped): the lowest value the histogram band or the runs can need
        floor = [runs[0].begin(top), runs[1].begin(-bottom)]
        for p, extreme in enumerate((self._hi[c], -self._lo[c])):
            start = _band_start(int(_bins(extreme)))
            floor[p] = min(floor[p], (start - _HALF - 1) / _Q if start else -np.inf)
        near = np.flatnonzero((x >= np.float64(floor[0])) | (x <= np.float64(-floor[1])))
        b, in_run = drift.flat_at(_bins, x, near)
        b0, bn = int(_bins(x[0])), int(_bins(x[-1]))
        joined = self._last[c] == b0
        if joined:  # a run across the block boundary
            in_run[:1] |= near[:1] == 0
            if not self._last_counted[c]:
                self._run[c, b0] += 1
        v = x[near].astype(np.float64)
        upper = v >= floor[0]
        for part in (upper, ~upper):
            _count(self._all[c], b[part])
            _count(self._run[c], b[part & in_run])
        self._last[c] = bn
        self._last_counted[c] = bool(int(_bins(x[-2])) == bn) if n > 1 else joined
        for r, vals in ((runs[0], v), (runs[1], -v)):
            r.add(near[vals >= r.level - 0.5 / _Q], n, self._frames)

    def _judge(self, c: int, sign: int) -> tuple[float, int]:
        """(score, clipped samples) of one channel and polarity."""
        hist_all = self._all[c] if sign > 0 else self._all[c][::-1]
        hist_run = self._run[c] if sign > 0 else self._run[c][::-1]
        occupied = np.flatnonzero(hist_all)
        top = int(occupied[-1])
        n_top, n_run = int(hist_all[top]), int(hist_run[top])
        if n_run < 2:
            return 0.0, 0
        ref = hist_all[_band_start(top): max(0, top - 1)]
        nz = np.count_nonzero(ref)
        ref_mean = ref.sum() / nz if nz else 0.0
        ratio = n_top / max(ref_mean, 1.0)
        gate = logistic(3.0 * (math.log2(ratio) - _RATIO_MID))
        return gate * self._amount(n_run), n_run

    def _judge_drifting(self, c: int, sign: int) -> tuple[float, int]:
        """(score, clipped samples) of one channel and polarity at a wandering level (`_clip_drift`:
        each counted piece passed the spike test on its own line)."""
        n_run = self._drift.clipped(c, sign)
        if n_run < 2:
            return 0.0, 0
        return self._amount(n_run), n_run

    def _amount(self, n_run: int) -> float:
        """Evidence from the share of samples in flat runs at the level (0.5 at _FRAC_MID)."""
        return logistic(6.0 * (math.log10(n_run / self._frames) - _FRAC_MID))

    def finish(self) -> Finding:
        frames = max(self._frames, 1)
        score, severity = 0.0, 0.0
        pos, neg = [0.0] * self.channels, [0.0] * self.channels
        drifting = [[False, False] for _ in range(self.channels)]
        regions: list[tuple[float, float]] = []
        self._drift.finish()
        for c in range(self.channels):
            if self._frames == 0 or self._hi[c] - self._lo[c] < _MIN_RANGE:
                continue  # silence, DC or (nearly) nothing: no extremes to judge
            clipped = 0
            for p, (sign, levels, runs) in enumerate(((1, pos, self._runs[c][0]), (-1, neg, self._runs[c][1]))):
                extreme = self._hi[c] if sign > 0 else self._lo[c]
                if abs(extreme) < _MIN_RANGE:
                    continue
                s, n = self._judge(c, sign)
                found = runs.finish(self._frames) if s >= 0.5 else []
                sd, nd = self._judge_drifting(c, sign)
                # a wandering level: no constant one, or a constant one holding few of the clipped samples
                if sd >= 0.5 and (s < 0.5 or nd > _WANDER_MORE * n):
                    s, n, drifting[c][p], found = sd, nd, True, self._drift.regions(c, sign)
                score = max(score, s)
                if s >= 0.5:
                    clipped += n
                    levels[c] = float(extreme)
                    regions.extend(found)
            severity = max(severity, clipped / frames)
        if regions:
            r = np.array(sorted(regions))
            regions = spans(r[:, 0], r[:, 1], _MERGE_S)
            merge = _MERGE_S
            while len(regions) > _MAX_REGIONS:
                merge *= 2
                r = np.array(regions)
                regions = spans(r[:, 0], r[:, 1], merge)
        return Finding(self.kind, float(min(1.0, score)), float(severity), "fraction of samples",
                       regions=tuple(regions), params={"positive": pos, "negative": neg, "drifting": drifting})


def default_order(sample_rate: int) -> int:
    """AR order for declipping: about 1 ms of signal, between 16 and 40."""
    return int(min(40, max(16, round(sample_rate / 1000))))


def fit_spacing(sample_rate: int) -> tuple[int, int]:
    """(hop, group) of declip's model fit: it reads one window of order + 1 samples in `hop`, and
    clipped clusters less than `group` samples apart share one model. Up to 24 kHz (order 16)
    every 2nd window and 4 ms; above (order 40) every (order / 4)-th and 8 ms. Validation: at
    16 kHz every 4th window costs speech 0.5-0.8 dB and 8 ms costs severe clipping of speech
    1.2 dB; at 44.1-48 kHz they cost at most 0.3 dB and make the op 1.7x faster."""
    if sample_rate <= 24000:
        return 2, int(round(0.004 * sample_rate))
    return max(1, default_order(sample_rate) // 4), int(round(0.008 * sample_rate))


def bound_rounds(sample_rate: int) -> int:
    """Solves of declip's active set (`declip_lsar.lsar_declip`): 2 up to 24 kHz (order 16), 1
    above (order 40: one solve, clipped to the bounds). Train+validation, moderate and severe: at
    44.1-48 kHz fixing the samples a solve leaves inside the level at the level and re-solving
    costs 0.3-0.5 dB (worse in 70-86 % of 96 clips; the high-order model's solution is mostly past
    the level, and pinning the rest pulls their neighbours back); at 16 kHz it gains 0.1-0.3 dB.
    More than 2 rounds changed nothing (within 0.1 dB) and cost time."""
    return 2 if sample_rate <= 24000 else 1


def declip(audio: np.ndarray, sample_rate: int, *, positive: list[float], negative: list[float],
           order: int | None = None, drifting: list[list[bool]] | None = None) -> np.ndarray:
    """Re-estimate clipped samples by constrained least-squares AR interpolation.

    audio: (channels, frames) float32; positive/negative: per-channel clip levels as the detector
    reports them (0.0 = that polarity is not clipped). Samples at or beyond a level (within 1e-6)
    are treated as missing and interpolated from their neighbourhood, constrained to be at least as
    large as the level with the same sign (the true signal went past it). Returns the same shape;
    restored peaks may exceed full scale. Run it before anything that shifts sample values (DC
    removal, gain), since it finds clipped samples by their exact level. Clipped samples less than
    4-8 ms apart (`fit_spacing`) share one AR model fitted on 16 ms each side, and all of a
    channel's clipped samples are solved by banded systems (`declip_lsar.lsar_declip`).
    drifting: per channel, [positive, negative] True where the detector found a wandering level
    (`_clip_drift`): those samples are found at their piece's line instead, and kept past it.
    Reference: S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 5;
    A. J. E. M. Janssen et al., IEEE Trans. ASSP 34 (1986) (LSAR interpolation).
    """
    p = int(order) if order else default_order(sample_rate)
    hop, group = fit_spacing(sample_rate)
    out = audio.astype(np.float64)
    tol = 1e-6
    for c in range(audio.shape[0]):
        x = out[c]
        hi, lo = float(positive[c]), float(negative[c])
        wander = drifting[c] if drifting else (False, False)
        up = x >= hi - tol if hi > 0 else np.zeros(x.size, dtype=bool)
        down = x <= lo + tol if lo < 0 else np.zeros(x.size, dtype=bool)
        hi_at, lo_at = hi, lo  # a wandering level's bounds are per sample
        if wander[0] and hi > 0:
            up, line = drift.at_level(x, sample_rate, hi)
            hi_at = np.minimum(line, x)
        if wander[1] and lo < 0:
            down, line = drift.at_level(-x, sample_rate, -lo)
            lo_at = np.maximum(-line, x)
        missing = up | down
        if not missing.any():
            continue
        lower = np.where(up, hi_at, -np.inf)
        upper = np.where(down, lo_at, np.inf)
        out[c] = lsar_declip(x, missing, lower, upper, p, int(round(_FIT_CONTEXT_S * sample_rate)), hop, group,
                             int(round(_GROUP_REACH_S * sample_rate)), bound_rounds(sample_rate))
    return out.astype(np.float32)


def _params(finding: Finding, sample_rate: int) -> dict:
    params = {"positive": [float(v) for v in finding.params["positive"]],
              "negative": [float(v) for v in finding.params["negative"]]}
    if any(any(d) for d in finding.params.get("drifting", ())):
        params["drifting"] = [[bool(p), bool(n)] for p, n in finding.params["drifting"]]
    return params


register_restorer(Restorer("declip", "clipping", declip, _params, context_s=0.3, version="4"))
