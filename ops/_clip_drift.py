"""Clipped samples whose level wanders: an offset that drifts after the clipping stage.

The clipping detector's histogram test needs the clip level constant to one 16-bit step over the
whole file. An offset added after the clipping stage that wanders (a DC-coupled converter or
amplifier drifting, the simulator's `dc_offset` with drift) spreads the spike over hundreds of
steps, and clipping followed by such an offset was missed in 1 of 2 train+validation clips at
16 kHz and 1 of 3 at 44.1-48 kHz (moderate). The flat runs stay flat (a drift moves the level by
far less than a step within a run), and the level is locally a straight line: so the test is made
in the frame of that line. The signal is cut into SEGMENT_S pieces on an absolute grid; in each,
a line is fitted to the samples of flat runs near the piece's top (least squares, dropping those
more than 2 x TOL under the line, LINE_ROUNDS times); a sample within TOL of the line or above it
is at the level. A piece counts when at least MIN_RUNS flat runs lie on its line, most of its
samples at the level are in flat runs, the line is no steeper than a drift, and the line's step is
a spike of the piece's histogram as the histogram test wants it of a constant level's. A file
needs MIN_PIECES counted pieces near its extreme, and then it is judged by the share of its samples
in flat runs at the level, as the histogram test judges it.

Shapes: x (frames,) one channel; `sign` -1 judges its negative polarity as the top of -x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Q = 32768.0  # one 16-bit step, the unit of the test (as the histogram test's)
SEGMENT_S = 0.25  # a drift of 2 % of full scale over ~30 s bends its line by < 1 step in this span
TOL = 1.5 / Q  # a sample this close to the line is at the level
NEAR = 0.03  # candidates: flat-run samples within this fraction of the piece's top
LINE_ROUNDS = 3
MIN_RUNS = 3  # flat runs on the line that make a piece count ...
RUN_SHARE = 0.5  # ... when at least this share of its samples at the level are in flat runs
MAX_SLOPE = 4e-3  # ... and its line moves at most this much (full scale) over the piece (2 % drift: 1e-3)
SPIKE = 8.0  # ... and its line's step holds this many times the mean occupied step under it (the
# histogram test's 0.5 point)
MIN_PIECES = 3  # counted pieces at the file's top that a wandering level needs (clean files: 0-2)
BELOW = 0.03  # the reference band: this fraction of the level under the line (as the histogram test's 3 %)


@dataclass
class LevelPieces:
    """One stretch's pieces, read only at the samples near their piece's top (under 1 % of a
    programme; the rest cannot be at any level the test accepts). Per such sample (m,): idx (its
    frame, relative to the stretch), seg (its piece), line (the piece's line there, sign-flipped
    units) and at (at its counted piece's level). Per piece (k,): top (its line's highest value),
    n_run (samples at the level in flat runs), counted, and first/last (frame of its first and last
    sample at the level). peak: the stretch's highest sign-flipped value."""

    idx: np.ndarray
    seg: np.ndarray
    line: np.ndarray
    at: np.ndarray
    top: np.ndarray
    n_run: np.ndarray
    counted: np.ndarray
    first: np.ndarray
    last: np.ndarray
    peak: float


def flat_at(step, x: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(step(x[idx]), bool mask): the samples x[idx] of a block, rounded by `step`, and whether each
    equals a neighbour in the block (the same 16-bit step; the block's end samples have one). Reads
    only the samples asked for and their neighbours, so a test of the few samples near a top costs
    no pass over the block."""
    last = x.size - 1
    here = step(x[idx])
    before = (idx > 0) & (step(x[np.maximum(idx - 1, 0)]) == here)
    after = (idx < last) & (step(x[np.minimum(idx + 1, last)]) == here)
    return here, before | after


def _heads(keys: np.ndarray) -> np.ndarray:
    """Positions where sorted `keys` take a new value (np.unique's hashing cost 7x a sort here)."""
    return np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]])) if keys.size else np.zeros(0, np.int64)


def _step(y: np.ndarray) -> np.ndarray:
    return np.rint(y * Q)  # in y's own dtype, as the tracker has always rounded (float32 from the detector)


def _near_tops(x: np.ndarray, sign: int, seg_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(top (k,) float64 of each piece, sorted frames of the samples within reach of their piece's
    top) of x in sign-flipped units: whole pieces as rows of a view, the tail as one short row, so
    nothing the length of x is copied or negated."""
    whole = x.size // seg_len * seg_len
    rows = [x[:whole].reshape(-1, seg_len)] + ([x[whole:][None, :]] if whole < x.size else [])
    top = np.concatenate([r.max(axis=1) if sign > 0 else -r.min(axis=1) for r in rows]).astype(np.float64)
    # the samples any counted piece's fit, level or reference band can reach
    reach = np.where(top > 0, (top - MAX_SLOPE) * (1.0 - max(NEAR, BELOW)) - 2 * TOL, np.inf).astype(x.dtype)
    found, first = [], 0
    for r, lim in zip(rows, np.split(reach, [rows[0].shape[0]]), strict=False):
        near = r >= lim[:, None] if sign > 0 else r <= -lim[:, None]
        found.append(np.flatnonzero(near) + first)
        first += r.size
    return top, np.concatenate(found)


def level_pieces(x: np.ndarray, sign: int, sample_rate: int) -> LevelPieces:
    """x (frames,) one channel, starting on a line of the SEGMENT_S grid (the tracker's stretches
    and declip's windows do); sign: the polarity judged (-1: the test is made on -x)."""
    seg_len = max(16, int(round(SEGMENT_S * sample_rate)))
    top, idx = _near_tops(x, sign, seg_len)
    k = top.size
    seg = idx // seg_len
    v = sign * x[idx].astype(np.float64)
    run = flat_at(_step, x, idx)[1]
    t = (idx - seg * seg_len).astype(np.float64) / seg_len - 0.5
    # the fit reads only its candidates (summing the others' zero weights changed nothing)
    fit = run & (v >= top[seg] - NEAR * np.abs(top[seg]))
    fs, ft, fv = seg[fit], t[fit], v[fit]
    a, b = top.copy(), np.zeros(k)
    for i in range(LINE_ROUNDS):
        if i:
            keep = fv >= a[fs] + b[fs] * ft - 2 * TOL
            if keep.all():  # the same candidates give the same line
                break
            fs, ft, fv = fs[keep], ft[keep], fv[keep]
        sw = np.bincount(fs, minlength=k).astype(np.float64)
        st, sv = np.bincount(fs, weights=ft, minlength=k), np.bincount(fs, weights=fv, minlength=k)
        stt, stv = np.bincount(fs, weights=ft * ft, minlength=k), np.bincount(fs, weights=ft * fv, minlength=k)
        den = sw * stt - st * st
        ok = (sw >= 2) & (np.abs(den) > 1e-12)
        b = np.where(ok, (sw * stv - st * sv) / np.where(ok, den, 1.0), 0.0)
        a = np.where(sw > 0, (sv - b * st) / np.maximum(sw, 1.0), top)
    line = a[seg] + b[seg] * t
    d = v - line
    at = d >= -TOL
    on_run = at & run
    prev = np.concatenate([[False], on_run[:-1] & (np.diff(idx) == 1)])
    starts = on_run & ~prev  # first sample of each on-line run
    n_at = np.bincount(seg[at], minlength=k)
    n_run = np.bincount(seg[on_run], minlength=k)
    # the spike: samples on the line's own step against the mean occupied step under it (a sine's
    # peaks, flat at 16 bits, hold about as many as the steps just under them; clipping many more)
    band = (d < -TOL) & (d >= -BELOW * line)
    steps = np.rint(-d[band] * Q).astype(np.int64)
    width = int(BELOW * 2 * Q) + 2
    keys = np.sort(seg[band] * width + steps)
    occ = keys[_heads(keys)] // width
    u_count, u_occ = np.bincount(seg[band], minlength=k), np.bincount(occ, minlength=k)
    on_step = np.bincount(seg[d >= -0.5 / Q], minlength=k)
    spike = on_step >= SPIKE * np.maximum(u_count / np.maximum(u_occ, 1), 1.0)
    counted = ((np.bincount(seg[starts], minlength=k) >= MIN_RUNS) & (a > 0)
               & (np.abs(b) <= MAX_SLOPE) & (n_run >= RUN_SHARE * n_at) & spike)
    at &= counted[seg]
    first = np.full(k, x.size, dtype=np.int64)
    last = np.full(k, -1, dtype=np.int64)
    if at.any():
        hit, where = idx[at], _heads(seg[at])
        pieces = seg[at][where]
        first[pieces] = hit[where]
        last[pieces] = np.maximum.reduceat(hit, where)
    return LevelPieces(idx, seg, line, at, a + 0.5 * np.abs(b), n_run, counted, first, last, float(top.max()))


class DriftTracker:
    """Streaming `level_pieces` over every channel and both polarities, for the clipping detector:
    whole pieces only (the tail waits for the next block). Each counted piece's counts are kept
    while its level is at least HIGH x the polarity's extreme so far (a clip level is where the
    loudest moments end; quiet pieces' flat runs, e.g. near silence, are no clipping), so memory
    stays with the clipped pieces (a few numbers each)."""

    HIGH = 0.5

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sr, self.channels = sample_rate, channels
        self.seg_len = max(16, int(round(SEGMENT_S * sample_rate)))
        self._buf = np.zeros((channels, 0), dtype=np.float32)
        self._start = 0  # absolute frame of _buf[:, 0]
        self.extreme = np.zeros((channels, 2))
        # per channel and polarity: rows (top, n_run, first_s, last_s)
        self.pieces = [[np.zeros((0, 4)) for _ in range(2)] for _ in range(channels)]

    def update(self, x: np.ndarray) -> None:
        """x (channels, frames), float32 as the detector keeps a block (a float64 block rounded to it)."""
        x = np.asarray(x, dtype=np.float32)
        y = np.concatenate([self._buf, x], axis=1) if self._buf.shape[1] else x
        end = self._start + y.shape[1]
        whole = (end // self.seg_len) * self.seg_len - self._start  # frames up to the last grid line
        if whole > 0:
            self._judge_block(y[:, :whole])
            self._buf = y[:, whole:].copy()
            self._start += whole
        else:
            self._buf = y.copy()

    def finish(self) -> None:
        if self._buf.shape[1]:
            self._judge_block(self._buf)
            self._start += self._buf.shape[1]
            self._buf = self._buf[:, :0]

    def _judge_block(self, y: np.ndarray) -> None:
        for c in range(self.channels):
            for p, sign in enumerate((1, -1)):
                lp = level_pieces(y[c], sign, self.sr)
                self.extreme[c, p] = max(self.extreme[c, p], lp.peak)
                rows = np.stack([lp.top, lp.n_run, (self._start + lp.first) / self.sr,
                                 (self._start + lp.last + 1) / self.sr], axis=1)[lp.counted]
                rows = np.concatenate([self.pieces[c][p], rows])
                self.pieces[c][p] = rows[rows[:, 0] >= self.HIGH * self.extreme[c, p]]

    def clipped(self, c: int, sign: int) -> int:
        """Samples in flat runs at the level over the pieces at least HIGH x the extreme; 0 when
        fewer than MIN_PIECES are."""
        r = self.pieces[c][0 if sign > 0 else 1]
        return int(r[:, 1].sum()) if r.shape[0] >= MIN_PIECES else 0

    def regions(self, c: int, sign: int) -> list[tuple[float, float]]:
        """The kept pieces' spans from their first to their last sample at the level (s)."""
        r = self.pieces[c][0 if sign > 0 else 1]
        return [(float(a), float(b)) for a, b in r[:, 2:4]]


def at_level(v: np.ndarray, sample_rate: int, extreme: float) -> tuple[np.ndarray, np.ndarray]:
    """For declip: v (frames,) one polarity's sign-flipped samples (a window of the file) and the
    polarity's extreme over the file as the detector saw it: (mask of the samples at a wandering
    clip level, the level there), on the pieces the detector would count (at least HIGH x extreme)."""
    v = np.asarray(v, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    lp = level_pieces(v, 1, sample_rate)
    keep = lp.counted & (lp.top >= DriftTracker.HIGH * extreme)
    at = np.zeros(v.size, dtype=bool)
    at[lp.idx[lp.at & keep[lp.seg]]] = True
    level = v.copy()
    level[lp.idx] = lp.line
    return at, level
