"""Finding dropouts in a signal: abrupt two-sided level drops, from a 1 ms level track.

Shared by the `dropouts` detector and the `fill_gaps` restorer, so what is counted is what is filled.

A dropout is the signal lost (zeroed) or weakened by 15-60 dB for 5-200 ms, the gain switching
within a millisecond or two at both ends. The level track is the mean-square of ~1 ms frames on a
grid that divides the sample rate (windows of a long file then fall on the same grid). Candidates:
a falling edge (the 4 frames before it stand D dB above the 3 after its transition frame) paired
with the next rising edge, the interior staying below both sides. What tells a dropout from a
speech pause, a music rest or a fade (all of which also drop by tens of dB):
- the interior lies below the recording's own floor around it (the 10th percentile of the level
  over +-1 s): silence in a recording never falls below the room and tape noise it sits in,
  while a lost or weakened stretch takes that noise with it;
- or the signal goes on inside, scaled: the interior's spectral envelope matches its sides'
  (a pause holds noise, not the word it interrupts);
- in both cases the fall is abrupt: no decay over the 10 ms before it (a word's end and a note's
  release decay over tens of ms, a room tail longer);
- a run of digital silence is a pause, not a lost block, when the signal on both sides approaches
  it smoothly (an envelope that reaches zero, as between the syllables of gated or synthetic
  speech): the energy accumulated outward from the silence then grows much faster than the
  distance (d^4 for a sin^1.5 envelope), where a cut stationary signal's grows as d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_S = 0.001
PRE, GUARD, INNER = 4, 1, 3  # frames before an edge / transition frame / frames after it
EDGE_DB = 10.0  # an edge: the side stands this far above the inside
MIN_FRAMES, MAX_S = 4, 0.5  # gaps of 4 frames (~4 ms) to 0.5 s are candidates
FLOOR_S = 1.5  # the floor: a low percentile of the level this far each side
FLOOR_PCT = 5.0
DECAY_FRAMES = (14, 6)  # the level 14..6 frames before the edge, against the 4 before it
ABS_FLOOR_DB = -65.0  # sides quieter than this are fade tails and near-silence, not signal to lose
CONTEXT_S = FLOOR_S + MAX_S + 0.05  # signal each side a decision depends on
LEVEL_FLOOR_DB = -100.0  # levels are clamped here: structure below it (24-bit rounding of a zeroed
# gap, a fade's last samples) is no signal, and an edge inside a lost stretch is no edge
_TINY = 1e-20


def hop_for(sample_rate: int) -> int:
    """Frame length in samples: the divisor of the sample rate nearest 1 ms (>= 8 samples)."""
    target = sample_rate * FRAME_S
    divisors = [d for d in range(8, int(3 * target) + 2) if sample_rate % d == 0]
    if not divisors:
        return max(1, int(round(target)))
    return min(divisors, key=lambda d: abs(d - target))


def frame_levels(x: np.ndarray, hop: int) -> np.ndarray:
    """Level (dB re full scale) of each whole frame of hop samples, mean square over channels.

    x: (channels, frames) float. Returns (frames // hop,) float64.
    """
    n = x.shape[1] // hop
    f = x[:, : n * hop].reshape(x.shape[0], n, hop)
    e = np.einsum("cnh,cnh->n", f, f, dtype=np.float64) / (x.shape[0] * hop)
    return np.maximum(10.0 * np.log10(e + _TINY), LEVEL_FLOOR_DB)


@dataclass(frozen=True)
class Gaps:
    """Candidate gaps (frame indices on the level track; a gap is frames [start, end))."""

    start: np.ndarray
    end: np.ndarray
    pre_db: np.ndarray  # side levels (median of PRE frames) and the interior's 90th percentile
    post_db: np.ndarray
    inside_db: np.ndarray
    floor_db: np.ndarray  # the recording's floor around the gap
    decay_db: np.ndarray  # how much the level fell over the 10 ms before the edge (natural endings)
    shape_corr: np.ndarray  # interior vs sides: correlation of their spectral envelopes (nan if not computed)
    silent: np.ndarray  # fraction of the interior at digital silence

    @property
    def depth_db(self) -> np.ndarray:
        return np.minimum(self.pre_db, self.post_db) - self.inside_db


def _windows_max(v: np.ndarray, w: int) -> np.ndarray:
    """m[k] = max(v[k:k+w]) (length len(v) - w + 1)."""
    from numpy.lib.stride_tricks import sliding_window_view

    return sliding_window_view(v, w).max(axis=1)


def _windows_median(v: np.ndarray, w: int) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    return np.median(sliding_window_view(v, w), axis=1)


def _floor(levels: np.ndarray) -> float:
    """The recording's floor: a low percentile of its levels, digital silence (a leading or
    trailing zero run, a clamped fade tail) left out."""
    live = levels[levels > LEVEL_FLOOR_DB + 1.0]
    return _quantile(live, FLOOR_PCT / 100.0) if live.size else LEVEL_FLOOR_DB


def _quantile(v: np.ndarray, q: float) -> float:
    """The q-quantile of a short array by partition (no interpolation; np.percentile's overhead
    dominates on the few dozen values each gap has)."""
    k = int(q * (v.size - 1))
    return float(np.partition(v, k)[k])


def _run_peaks(k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The k of the largest v in each run of consecutive v >= EDGE_DB (the edge proper)."""
    idx = np.flatnonzero(v >= EDGE_DB)
    if idx.size == 0:
        return idx
    run = np.cumsum(np.insert(np.diff(idx) > 1, 0, True))
    order = np.lexsort((-v[idx], run))  # by run, strongest first
    first = np.insert(run[order][1:] != run[order][:-1], 0, True)
    return k[np.sort(idx[order][first])]


def candidates(L: np.ndarray, hop: int, sample_rate: int, lo: int = 0, hi: int | None = None) -> Gaps:
    """Gaps whose falling edge lies in frames [lo, hi) of the level track L."""
    n = L.size
    hi = n if hi is None else min(hi, n)
    empty = np.zeros(0, dtype=np.int64)
    nothing = Gaps(empty, empty, *(np.zeros(0) for _ in range(7)))
    if n < PRE + GUARD + INNER + 2 or hi <= lo:
        return nothing
    med = _windows_median(L, PRE)  # med[j] = median(L[j:j+PRE])
    mx = _windows_max(L, INNER)  # mx[j] = max(L[j:j+INNER])
    k = np.arange(PRE, n - GUARD - INNER + 1)  # edge between frame k-1 and k; frame k transitional
    fall = med[k - PRE] - mx[k + GUARD]
    kr = np.arange(INNER, n - GUARD - PRE + 1)  # rising edge at frame kr (transitional)
    rise = med[kr + GUARD] - mx[kr - INNER]
    falls = _run_peaks(k, fall)
    rises = _run_peaks(kr, rise)
    if falls.size == 0 or rises.size == 0:
        return nothing
    max_frames = int(MAX_S * sample_rate / hop)
    j = np.searchsorted(rises, falls + MIN_FRAMES)
    # each fall with its first and second rise: a weakened stretch of speech has onsets of its own
    j2 = np.concatenate([j, j + 1])
    f2 = np.concatenate([falls, falls])
    ok = j2 < rises.size
    a, b = f2[ok], rises[j2[ok]]
    order = np.lexsort((a, b))
    a, b = a[order], b[order]
    ok = (b - a <= max_frames) & (b + GUARD + PRE <= n) & (a >= PRE)
    ok[ok] = (med[a[ok] - PRE] >= ABS_FLOOR_DB) & (med[b[ok] + GUARD] >= ABS_FLOOR_DB)
    a, b = a[ok], b[ok]
    if a.size == 0:
        return nothing
    # one gap per rising edge: the latest fall before it
    keep = np.append(b[1:] != b[:-1], True) & (a >= lo) & (a < hi) & (b - a >= MIN_GAP_FRAMES)
    a, b = a[keep], b[keep]
    # cheap screen: the interior's mean level is below its 90th percentile, so a gap whose sides
    # do not stand DEPTH_DB - 6 dB above that mean cannot be a dropout
    c = np.concatenate([[0.0], np.cumsum(L)])
    mean_in = (c[b] - c[a + GUARD]) / np.maximum(1, b - a - GUARD)
    keep = np.minimum(med[a - PRE], med[b + GUARD]) - mean_in >= DEPTH_DB - 6.0
    a, b = a[keep], b[keep]
    if a.size == 0:
        return nothing
    pre = med[a - PRE]
    post = med[b + GUARD]
    fl = int(FLOOR_S * sample_rate / hop)
    d0, d1 = DECAY_FRAMES
    feats = np.zeros((a.size, 4))  # inside, floor, far level, silent fraction
    for i, (s, e) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        v = L[s + GUARD: e]
        sides = np.concatenate([L[max(0, s - fl): s], L[e: e + fl]])
        feats[i] = (_quantile(v, 0.9), _floor(sides), _quantile(L[max(0, s - d0): max(1, s - d1)], 0.5),
                    np.count_nonzero(v <= LEVEL_FLOOR_DB + 1.0) / v.size)
    inside, floor, far, silent = feats.T
    decay = far - pre
    return Gaps(a, b, pre, post, inside, floor, decay, np.full(a.size, np.nan), silent)


def pause_growth_db(x: np.ndarray, sample_rate: int, hop: int, start: int, end: int) -> float:
    """How a run of digital silence inside a gap is approached: the growth (dB per decade of
    distance) of the signal's energy accumulated outward from the silence, from 3-9 ms out to
    30 ms (the least of the three), the smaller of the two sides.

    Digital silence: samples that do not change for at least a frame (zero, or a constant offset
    such as a 16-bit file's 1-LSB DC). A cut stationary signal gives about 10 dB (energy grows
    with the distance, give or take a glottal period); an envelope falling to zero and rising from
    it as d^p gives 10 (p + 1) dB (40 for sin^1.5). x: (channels, frames); start, end: the gap in
    frames of the level track. nan if the gap holds no such run or a side is shorter than 30 ms.
    """
    s0, e0 = start * hop, min(x.shape[1], (end + GUARD) * hop)
    still = np.all(np.diff(x[:, s0:e0], axis=1) == 0, axis=0)  # still[i]: sample s0+i+1 == s0+i
    edges = np.flatnonzero(np.diff(np.concatenate([[0], still.view(np.int8), [0]])))
    runs = edges.reshape(-1, 2)
    runs = runs[runs[:, 1] - runs[:, 0] >= hop]
    near, far = int(round(PAUSE_NEAR_S * sample_rate)), int(round(PAUSE_FAR_S * sample_rate))
    if runs.size == 0 or near < 1:
        return float("nan")
    z0, z1 = s0 + int(runs[0, 0]), s0 + int(runs[-1, 1]) + 1  # first and last silent sample + 1
    if z0 < far or z1 + far > x.shape[1]:
        return float("nan")
    quiet = x[:, z0: z0 + 1]  # the silence's own value (an offset is no signal)

    def growth(seg: np.ndarray) -> float:  # seg: (channels, far), ordered outward from the silence
        d = seg - quiet
        c = np.cumsum(np.einsum("cn,cn->n", d, d, dtype=np.float64))
        # per decade of distance, the least over near distances of 1 to 3 near: a glottal trough
        # just by the silence makes the nearest energy small, not the energy a period out
        return min(float(10.0 * np.log10((c[far - 1] + _TINY) / (c[m - 1] + _TINY)) / np.log10(far / m))
                   for m in (near, 2 * near, 3 * near))

    return min(growth(x[:, z0 - far: z0][:, ::-1]), growth(x[:, z1: z1 + far]))


def shape_corr(x: np.ndarray, sample_rate: int, hop: int, start: int, end: int) -> float:
    """Correlation of the interior's spectral envelope with its sides' (16 log bands, 100 Hz to
    0.45 sr, levels relative to their mean): near 1 when the signal goes on inside, only weaker.

    x: (channels, frames); start, end: the gap in frames of the level track.
    """
    side = max(8, end - start) * hop
    s0, e0 = (start + GUARD) * hop, end * hop
    seg_in = x[:, s0:e0]
    pre = x[:, max(0, start * hop - side): start * hop]
    post = x[:, (end + GUARD) * hop: (end + GUARD) * hop + side]
    n = 1 << int(np.ceil(np.log2(max(64, e0 - s0))))
    edges = np.geomspace(100.0, 0.45 * sample_rate, 17)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    band = np.clip(np.searchsorted(edges, freqs) - 1, -1, 16)

    def env(seg: np.ndarray) -> np.ndarray:
        if seg.shape[1] < 16:
            return np.full(16, np.nan)
        w = np.hanning(min(n, seg.shape[1]))
        frames = [seg[:, i: i + w.size] * w for i in range(0, seg.shape[1] - w.size + 1, max(1, w.size // 2))]
        p = np.mean([np.abs(np.fft.rfft(f, n)) ** 2 for f in frames], axis=(0, 1))
        e = np.array([p[band == k].sum() for k in range(16)])
        v = 10 * np.log10(e + 1e-20)
        return v - v.mean()

    a, b = env(seg_in), env(np.concatenate([pre, post], axis=1)) if pre.size + post.size else np.full(16, np.nan)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


# Decision (tuned on train/validation clips degraded by the simulator; see the module docstring):
DEPTH_DB = 12.0  # both sides this far above the interior
BELOW_DB = 6.0  # route 1: the interior this far below the floor ...
ENDING_DB = 8.0  # ... after a level that was steady within this much over the 14 ms before: not
# already falling (a fade or a decay into digital silence ends with an abrupt drop in dB too) nor
# just risen (a click or a burst in silence is no signal that was lost)
RISE_FLOOR_DB = 12.0  # ... unless the level before the rise stands this far above the floor: signal going on
SILENT_MIXED = (0.05, 0.8)  # ... and not a decay into digital silence (part silent, part not ...
MAX_LIVE_FRAMES = 3  # ... beyond the frames a switching edge takes)
DECAY_DB = 6.0  # route 2: a level steady over the 14 ms before the fall (no glottal pulse, no release) ...
CORR_T = 0.8  # ... and the signal going on inside, weaker
MIN_GAP_FRAMES = 5
LOST_DB, WEAKENED_CORR = 45.0, 0.8  # deeper, or less alike its sides: the signal is lost, not weakened
MIN_WEAKENED_FRAMES = 10  # gaps not in digital silence: shorter dips may be the troughs between the
# glottal pulses of a low voice (F0 under 100 Hz: periods over 10 ms). Route 2 at 10 frames, DECAY_DB 6,
# CORR_T 0.8 (was 14, 4, 0.85), .corpus-train train+validation, moderate dropouts found / clean files
# found: 16 kHz music 0.837 -> 0.904, speech 0.536 -> 0.584, clean 3 -> 5 of 270; 44.1-48 kHz (a third
# of the clips) music 0.819 -> 0.876, speech 0.564 -> 0.612, clean 3 -> 3 of 270. About half the
# speech misses lose only a pause (the lost stretch 40 dB or more under the clip's level)
WEAKENED_DEPTH_DB = 13.5  # route 2 asks a little more depth (the signal going on is all it has)
PAUSE_NEAR_S, PAUSE_FAR_S = 0.003, 0.03  # pause_growth_db's distances from the silence
PAUSE_DB = 23.0  # both sides' accumulated energy growing faster than this per decade of distance
# (like d^2.3): a pause. A cut stationary signal gives ~10 dB, zeroed train/validation gaps up to 16,
# the synthetic speech's inter-syllable silences 26-37
_SCALES = (6.0, 6.0, 2.0, 0.05)  # dB, dB, dB, correlation per unit of margin


@dataclass(frozen=True)
class Dropouts:
    """Decided dropouts: frames [start, end) of the level track (hop samples each), the margin of
    each over the decision (> 0: a dropout), its depth (dB) and whether its interior is lost
    (digital silence or below the floor) rather than weakened signal going on."""

    start: np.ndarray
    end: np.ndarray
    margin: np.ndarray
    depth_db: np.ndarray
    lost: np.ndarray


def decide(g: Gaps, x: np.ndarray, sample_rate: int, hop: int) -> Dropouts:
    """The margin of each candidate over the dropout decision (route 1 or 2, whichever is larger)."""
    n = g.start.size
    long_enough = (g.end - g.start) >= MIN_GAP_FRAMES
    depth_m = (g.depth_db - DEPTH_DB) / _SCALES[0]
    below = g.floor_db - g.inside_db
    # part silent, part not: a decay into digital silence, unless the rest is just the switching
    live = np.round((1.0 - g.silent) * (g.end - g.start - GUARD))
    mixed = (g.silent > SILENT_MIXED[0]) & ((g.silent < SILENT_MIXED[1]) | (live > MAX_LIVE_FRAMES))
    # a rise just before the fall counts against a dropout only out of the floor (a click or a burst
    # in silence); a voice's level swings by 10 dB within a glottal period or two
    far = g.pre_db + g.decay_db
    ending = np.where((g.decay_db < 0) & (far >= g.floor_db + RISE_FLOOR_DB), 0.0, np.abs(g.decay_db))
    m1 = np.minimum(np.minimum(depth_m, (below - BELOW_DB) / _SCALES[1]), (ENDING_DB - ending) / _SCALES[2])
    short = (g.end - g.start) < MIN_WEAKENED_FRAMES
    m1 = np.where(mixed | (short & (g.silent < SILENT_MIXED[1])), -np.inf, m1)
    m2 = np.full(n, -np.inf)
    corr: dict[int, float] = {}
    eligible = ((g.end - g.start) >= MIN_WEAKENED_FRAMES) & (depth_m > -1.0) & (g.silent <= SILENT_MIXED[0]) & (np.abs(g.decay_db) < DECAY_DB + _SCALES[2]) & (below < BELOW_DB)
    for i in np.flatnonzero(eligible).tolist():
        c = corr[i] = shape_corr(x, sample_rate, hop, int(g.start[i]), int(g.end[i]))
        if np.isfinite(c):
            m2[i] = min(depth_m[i] - (WEAKENED_DEPTH_DB - DEPTH_DB) / _SCALES[0], (DECAY_DB - abs(g.decay_db[i])) / _SCALES[2], (c - CORR_T) / _SCALES[3])
    margin = np.where(long_enough, np.maximum(m1, m2), -np.inf)
    # digital silence approached smoothly from both sides is a pause between sounds, not a lost block
    for i in np.flatnonzero(margin > -1.0).tolist():
        grow = pause_growth_db(x, sample_rate, hop, int(g.start[i]), int(g.end[i]))
        if np.isfinite(grow):
            margin[i] = min(margin[i], (PAUSE_DB - grow) / _SCALES[2])
    # one gap per fall: the better-decided of its pairings
    order = np.lexsort((-margin, g.start))
    dup = np.zeros(n, dtype=bool)
    dup[order[1:]] = g.start[order][1:] == g.start[order][:-1]
    margin[dup] = -np.inf
    # lost, not weakened: digital silence, a drop too deep for the signal to outlast the noise,
    # or an interior unlike its sides (noise, not the signal going on)
    lost = (g.silent >= SILENT_MIXED[1]) | (g.depth_db >= LOST_DB)
    for i in np.flatnonzero((margin > 0) & ~lost).tolist():
        c = corr.get(i, shape_corr(x, sample_rate, hop, int(g.start[i]), int(g.end[i])))
        lost[i] = not c >= WEAKENED_CORR
    return Dropouts(g.start, g.end, margin, g.depth_db, lost)


def find_dropouts(x: np.ndarray, sample_rate: int, lo: int = 0, hi: int | None = None,
                  levels: np.ndarray | None = None) -> tuple[Dropouts, int]:
    """Candidates with their margins, for falling edges in frames [lo, hi) of x's level track.

    x: (channels, frames) float; levels: frame_levels(x, hop) if already known.
    Returns (Dropouts, hop).
    """
    hop = hop_for(sample_rate)
    L = frame_levels(x, hop) if levels is None else levels
    return decide(candidates(L, hop, sample_rate, lo, hi), x, sample_rate, hop), hop
