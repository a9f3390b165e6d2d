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

Shapes: x (frames,) one channel, sign-flipped so that the polarity judged is the top.
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
    """One stretch's pieces. Per sample: at (frames,) bool, at its counted piece's level; level
    (frames,) the line's value there (sign-flipped units; v itself far from any top); piece
    (frames,) its piece. Per piece (k,): top (its line's highest value), n_run (samples at the
    level in flat runs), counted, and first/last (frame of its first and last sample at the level,
    relative to the stretch)."""

    at: np.ndarray
    level: np.ndarray
    piece: np.ndarray
    top: np.ndarray
    n_run: np.ndarray
    counted: np.ndarray
    first: np.ndarray
    last: np.ndarray


def flat(bins: np.ndarray) -> np.ndarray:
    """(frames,) bool: the sample equals a neighbour (same 16-bit step)."""
    same = bins[1:] == bins[:-1]
    out = np.zeros(bins.size, dtype=bool)
    out[1:] |= same
    out[:-1] |= same
    return out


def level_pieces(v: np.ndarray, in_run: np.ndarray, start: int, sample_rate: int) -> LevelPieces:
    """v (frames,) one polarity's sign-flipped samples, float64, from absolute frame `start`;
    in_run (frames,) its flat-run mask. Pieces follow the absolute grid of SEGMENT_S. Only the
    samples near each piece's top take part (under 1 % of a programme), so it costs little more
    than a pass over the signal."""
    n = v.size
    seg_len = max(16, int(round(SEGMENT_S * sample_rate)))
    pad = start % seg_len  # the grid's pieces as rows (padded at both ends)
    k = -(-(pad + n) // seg_len)
    grid = np.full(k * seg_len, -np.inf, dtype=v.dtype)
    grid[pad:pad + n] = v
    grid = grid.reshape(k, seg_len)
    top = grid.max(axis=1).astype(np.float64)
    firsts = np.maximum(np.arange(k) * seg_len - pad, 0)
    # the samples any counted piece's fit, level or reference band can reach
    reach = np.where(top > 0, (top - MAX_SLOPE) * (1.0 - max(NEAR, BELOW)) - 2 * TOL, np.inf)
    flat_at = np.flatnonzero(grid >= reach[:, None].astype(v.dtype))
    idx = flat_at - pad
    seg, x, run = flat_at // seg_len, v[idx].astype(np.float64), in_run[idx]
    t = (idx - firsts[seg]).astype(np.float64) / seg_len - 0.5
    cand = run & (x >= top[seg] - NEAR * np.abs(top[seg]))
    a, b = top.copy(), np.zeros(k)
    for _ in range(LINE_ROUNDS):
        w = cand.astype(np.float64)
        sw, st, sv = (np.bincount(seg, weights=q, minlength=k) for q in (w, w * t, w * x))
        stt, stv = np.bincount(seg, weights=w * t * t, minlength=k), np.bincount(seg, weights=w * t * x, minlength=k)
        den = sw * stt - st * st
        ok = (sw >= 2) & (np.abs(den) > 1e-12)
        b = np.where(ok, (sw * stv - st * sv) / np.where(ok, den, 1.0), 0.0)
        a = np.where(sw > 0, (sv - b * st) / np.maximum(sw, 1.0), top)
        cand &= x >= a[seg] + b[seg] * t - 2 * TOL
    line = a[seg] + b[seg] * t
    d = x - line
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
    occ = np.unique(seg[band] * width + steps) // width
    u_count, u_occ = np.bincount(seg[band], minlength=k), np.bincount(occ, minlength=k)
    on_step = np.bincount(seg[d >= -0.5 / Q], minlength=k)
    spike = on_step >= SPIKE * np.maximum(u_count / np.maximum(u_occ, 1), 1.0)
    counted = ((np.bincount(seg[starts], minlength=k) >= MIN_RUNS) & (a > 0)
               & (np.abs(b) <= MAX_SLOPE) & (n_run >= RUN_SHARE * n_at) & spike)
    at &= counted[seg]
    mask = np.zeros(n, dtype=bool)
    mask[idx[at]] = True
    level = np.array(v, dtype=np.float64)
    level[idx] = line
    first = np.full(k, n, dtype=np.int64)
    last = np.full(k, -1, dtype=np.int64)
    if at.any():
        hit = idx[at]
        pieces, where = np.unique(seg[at], return_index=True)
        first[pieces] = hit[where]
        last[pieces] = np.maximum.reduceat(hit, where)
    piece = (np.arange(n) + pad) // seg_len
    return LevelPieces(mask, level, piece, a + 0.5 * np.abs(b), n_run, counted, first, last)


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
            x = np.asarray(y[c], dtype=np.float32)
            in_run = flat(np.rint(x * np.float32(Q)))
            for p in range(2):
                v = x if p == 0 else -x
                self.extreme[c, p] = max(self.extreme[c, p], float(v.max()))
                lp = level_pieces(v, in_run, self._start, self.sr)
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
    lp = level_pieces(v, flat(np.rint(v * Q)), 0, sample_rate)
    keep = lp.counted & (lp.top >= DriftTracker.HIGH * extreme)
    return lp.at & keep[lp.piece], lp.level
