"""Mains hum (50 or 60 Hz and harmonics, drifting slowly): detector `hum` and restorer `dehum`
(adaptive harmonic cancellation, in `hum_cancel`).

Hum is a comb of lines that stay put for the whole recording; notes of music near 50/100 Hz come
and go. So the detector measures each harmonic's peak against its local spectral floor in every
few-second segment and keeps the median over segments, which only a stationary line survives; and
it integrates each line coherently over long buffers, weighting the moments where the programme
leaves it audible, which finds hum that speech or a bass line hides in every short segment.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import signal

from ._util import as_block, logistic
from .findings import Finding
from .hum_cancel import CONTEXT_S, cancel_hum, guard_band, line_evidence
from .registry import Restorer, register_detector, register_restorer

FAMILIES = (50.0, 60.0)
MAX_HARMONIC = 10
_TARGET_RATE = 2000.0  # analysis rate: the low band holds every harmonic we look at
_SEGMENT_S = 4.0  # 0.25 Hz resolution; 50 % overlap
_MIN_SEGMENT_S = 1.0
_SHORT_S, _SHORT_MAX = 1.0, 16  # short segments kept for files under ~8 s
_UNCHECKED_DB = 6.0  # evidence taken off per segment missing for a stationarity check (of 3)
_DRIFT = 0.5  # Hz of fundamental drift searched around each nominal harmonic (x k)
_PRESENT_DB = 8.0  # evidence (dB) for a harmonic to count as present
_SPREAD_FREE_DB, _SPREAD_PENALTY = 2.0, 6.0
_SCORE_MID_DB, _SCORE_SCALE_DB = 10.0, 2.0
_AUDIBLE_DB = -70.0  # hum level (relative to the signal) scoring half
_CHUNK_S, _MIN_CHUNK_S = 20.0, 1.0  # coherent analysis: buffers of this length (a shorter last one kept
_LAST_CHUNK_S = 4.0  # ... if it is at least this long, or the file's only one)
_STEADY_FREE_DB, _STEADY_PENALTY = 3.0, 1.0  # coherent evidence lost per dB of line unsteadiness
_COHERENT_GAIN_DB = 2.5  # coherent line-to-neighbourhood dB -> the segment evidence scale
_OFFSET_FREE_HZ, _OFFSET_PENALTY = 0.1, 30.0  # mains sits within 0.1 Hz of nominal: dB lost per Hz beyond
_ABSENT_FREE, _ABSENT_PENALTY = 0.1, 60.0  # share of 0.25 s windows a line may be missing from; dB lost per unit beyond
_SEVERITY_FLOOR_DB = -120.0


class _Decimator:
    """Streaming low-pass (8th-order Butterworth, state kept) and integer decimation."""

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.factor = max(1, int(sample_rate // _TARGET_RATE))
        self.rate = sample_rate / self.factor
        self.sos = _decimator_sos(self.factor).copy() if self.factor > 1 else None
        self.zi = np.zeros((0 if self.sos is None else self.sos.shape[0], channels, 2))
        self.phase = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.sos is None:
            return x
        y, self.zi = signal.sosfilt(self.sos, x, axis=1, zi=self.zi)
        out = y[:, self.phase::self.factor]
        self.phase = (self.phase - x.shape[1]) % self.factor
        return out


@lru_cache(maxsize=8)
def _decimator_sos(factor: int) -> np.ndarray:
    """The decimator's low-pass design, once per factor (each detector takes a copy: sosfilt wants
    a writable array)."""
    return signal.butter(8, 0.8 / factor, output="sos")


@lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    """The segments' periodic Hann window (one per segment length)."""
    w = signal.windows.hann(n, sym=False)
    w.flags.writeable = False
    return w


@lru_cache(maxsize=8)
def _hann_power(n: int) -> float:
    """sum(w**2) of _hann(n)."""
    return float(np.sum(_hann(n) ** 2))


class _CombGeometry:
    """What `_combs` reads where, for one spectrum size, bin width, set of nominal fundamentals and
    set of harmonics: the same for every segment of a file (and every file at a rate), so built once.
    Columns: family-major, (families x harmonics)."""

    def __init__(self, size: int, df: float, f0s: tuple[float, ...], ks: np.ndarray) -> None:
        rows = []
        for f0 in f0s:
            for k in ks:
                reach = k * _DRIFT + 0.25
                lo = np.arange(size)[max(0, int((k * f0 - reach - 9) / df)): max(0, int((k * f0 - reach - 1) / df))]
                hi = np.arange(size)[int((k * f0 + reach + 1) / df): int((k * f0 + reach + 9) / df)]
                rows.append(np.concatenate([lo, hi]))
        cols = len(rows)
        width = max([r.size for r in rows], default=0)
        self.floor_idx = np.zeros((cols, width), dtype=np.int64)  # each row: the floor's bins, padded
        self.floor_pad = np.ones((cols, width), dtype=bool)
        for j, r in enumerate(rows):
            self.floor_idx[j, : r.size], self.floor_pad[j, : r.size] = r, False
        self.floor_n = np.array([r.size for r in rows], dtype=np.int64)
        self.half = max(1, int(round(0.5 / df)))
        reaches = 1 + np.rint(ks * 0.03 / df).astype(np.int64)
        idx, top = [], 0
        for f0 in f0s:
            cands = f0 + np.arange(-_DRIFT, _DRIFT + 1e-9, 0.01)
            idx.append(np.clip(np.rint(np.outer(cands, ks) / df).astype(np.int64), 0, size - 1))
            # peaks are needed below this bin only (a family's own; the larger one changes no peak)
            top = max(top, min(size, int(idx[-1].max() + reaches.max()) + self.half + 2))
        self.idx, self.top = np.concatenate(idx, axis=1), top  # (candidates, columns)
        self.family = np.repeat(np.arange(len(f0s)), ks.size)
        self.k = np.tile(ks, len(f0s)).astype(np.int64)
        self.reaches = np.tile(reaches, len(f0s))
        self.width = max(1, int(round(0.75 / df)))
        rmax = int(self.reaches.max())
        self.offsets = np.arange(-rmax, rmax + 1)
        self.outside = np.abs(self.offsets)[None, :] > self.reaches[:, None]  # (columns, 2 rmax + 1)
        self.span = np.arange(-self.width, self.width + 1)
        self.columns = np.arange(cols)
        # each candidate's window of +-r bins (r its harmonic's reach), clipped to the spectrum and
        # padded with the centre bin: the same maximum as the window itself
        # (offset-major, so that the maxima are taken across whole arrays)
        off = np.where(self.outside, 0, self.offsets[None, :]).T  # (2 rmax + 1, columns)
        self.windows = np.clip(self.idx[None] + off[:, None, :], 0, top - 1)  # (2 rmax + 1, candidates, columns)
        # the bins whose peak test is ever read, and the +-half bins each is tested against
        self.read = np.unique(self.windows)
        self.read_hood = np.clip(self.read[None, :] + np.arange(-self.half, self.half + 1)[:, None], 0, size - 1)


@lru_cache(maxsize=32)
def _comb_geometry(size: int, df: float, f0s: tuple[float, ...], ks: tuple[int, ...]) -> _CombGeometry:
    return _CombGeometry(size, df, f0s, np.array(ks, dtype=np.int64))


def _medians(rows: np.ndarray, pad: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per row, the median of its first n values (0 for none), from one sort: the same order
    statistics, so the same values, as one partition per row."""
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0])
    s = np.sort(np.where(pad, np.inf, rows), axis=1)
    m = n // 2
    j = np.arange(rows.shape[0])
    upper, lower = s[j, np.minimum(m, rows.shape[1] - 1)], s[j, np.maximum(m - 1, 0)]
    return np.where(n == 0, 0.0, np.where(n % 2 == 1, upper, (lower + upper) / 2.0))


def _comb(p: np.ndarray, df: float, f0: float, ks: np.ndarray) -> np.ndarray:
    """`_combs` of one spectrum and one family: (3, harmonics)."""
    return _combs(p[None], df, (f0,), ks)[0, :, 0]


def _combs(p: np.ndarray, df: float, f0s: tuple[float, ...], ks: np.ndarray) -> np.ndarray:
    """Per spectrum (rows of p), family and harmonic (peak-to-floor dB, peak Hz, line power) at each
    family's best common fundamental: (spectra, 3, families, harmonics), zero for a family with an
    empty floor.

    The fundamental is searched within f0 +- 0.5 Hz (0.01 Hz steps) for the largest summed
    peak-to-floor over the harmonics: hum lines are exactly harmonic, so one fundamental explains
    them all, while a search per harmonic would pick up any nearby partial or noise maximum.
    Floors: median of the bins 1-9 Hz beyond each harmonic's search range.
    Only the bins around the harmonics are read; where is `_comb_geometry`'s, and every spectrum,
    family and harmonic is handled at once.
    """
    geo = _comb_geometry(p.shape[1], float(df), tuple(float(f) for f in f0s), tuple(int(k) for k in ks))
    ns, nf, size = p.shape[0], len(f0s), p.shape[1]
    rows = np.arange(ns)[:, None]
    floors = _medians(p[:, geo.floor_idx].reshape(-1, geo.floor_idx.shape[1]), np.tile(geo.floor_pad, (ns, 1)),
                      np.tile(geo.floor_n, ns)).reshape(ns, -1)  # (spectra, columns)
    bad = ~np.all((floors > 0).reshape(ns, nf, -1), axis=2)  # (spectra, families)
    if bad.all():
        return np.zeros((ns, 3, nf, ks.size))
    floors = np.where(bad[:, geo.family], 1.0, floors)
    idx, top = geo.idx, geo.top
    # Only true peaks count (the largest bin within +-0.5 Hz): the skirt of a note just outside
    # the search range is not a line inside it. Each harmonic may sit a little off k * f (the
    # fundamental is known to ~0.03 Hz), so look +-(1 bin + k * 0.03 Hz) around it.
    # (A bin is a peak where it equals the maximum of the bins within +-half of it, the window
    # clipped to the spectrum; only the bins the windows below read are tested.)
    peaks = np.zeros((ns, top))
    at = p[:, geo.read]
    peaks[:, geo.read] = np.where(at == p[:, geo.read_hood].max(axis=1), at, 0.0)
    # the largest peak within +-r bins of each candidate's bin
    local = peaks[:, geo.windows].max(axis=1)  # (spectra, candidates, columns)
    fl = floors[:, None, :]
    ratio_db = 10 * np.log10(np.maximum(local, 1e-30 * fl) / fl)
    # Lower harmonics weigh more: hum's energy sits there, and a strong partial of music near a
    # high harmonic must not pull the common fundamental away from the real lines.
    best = np.argmax((np.clip(ratio_db, 0, 30) / geo.k).reshape(ns, idx.shape[0], nf, -1).sum(axis=3), axis=1)
    bc = best[:, geo.family]  # (spectra, columns)
    i0 = idx[bc, geo.columns[None, :]]
    cols = i0[..., None] + geo.offsets
    near = np.where(geo.outside | (cols < 0), -np.inf, peaks[rows[..., None], np.clip(cols, 0, top - 1)])
    i = i0 + geo.offsets[np.argmax(near, axis=2)]  # the first largest peak near each harmonic
    out = np.zeros((ns, 3, idx.shape[1]))
    out[:, 0] = ratio_db[rows, bc, geo.columns[None, :]]
    inner = (i > 0) & (i < size - 1)
    ic = np.where(inner, i, 1)
    a, b, c = np.moveaxis(np.log(p[rows[..., None], ic[..., None] + np.arange(-1, 2)] + 1e-300), 2, 0)
    den = a - 2 * b + c
    ok = inner & (den < 0)
    out[:, 1] = np.where(ok, i + 0.5 * (a - c) / np.where(ok, den, -1.0), i) * df  # parabolic interpolation of log power
    w = geo.width
    if i.min() >= w and i.max() + w + 1 <= size:
        out[:, 2] = np.clip(p[rows[..., None], i[..., None] + geo.span] - floors[..., None], 0, None).sum(axis=2) * df
    else:
        for s_ in range(ns):
            for j in range(i.shape[1]):
                out[s_, 2, j] = np.clip(p[s_, max(0, i[s_, j] - w): i[s_, j] + w + 1] - floors[s_, j], 0, None).sum() * df
    out = out.reshape(ns, 3, nf, -1)
    out[np.broadcast_to(bad[:, None, :], (ns, 3, nf))] = 0.0
    return out


@register_detector
class HumDetector:
    """Harmonic-comb hum detector (streaming; memory: one 4 s analysis buffer and one 20 s coherent
    buffer at ~2 kHz per channel, one long-term low-band spectrum, and a few numbers per segment).

    The signal is low-passed and decimated to ~2 kHz. Two kinds of evidence, per family (50, 60 Hz)
    and harmonic k <= 10:
    - segments: each 4 s Hann segment (50 % overlap, zero-padded to 0.125 Hz bins, power summed
      over channels; 1 s segments for files too short for three) gives the peak-to-floor, frequency
      and power of the line at the best common fundamental within +-0.5 Hz (`_combs`); over
      segments, a harmonic's evidence is its median peak-to-floor less 6 dB per dB of line-level
      interquartile range beyond 2 dB (stationarity);
    - coherent: every 20 s buffer (channels averaged; a shorter last one if >= 4 s, or the file's
      only one) is analysed as dehum analyses it, the phase tracked and the basebands integrated over
      the whole buffer with inverse-programme-power weights (`hum_cancel.line_evidence`): the line's
      power over the 90th percentile of the coherent spectrum 1-10 Hz beside it, less 1 dB per dB
      of unsteadiness beyond 3 dB and 30 dB per Hz of fundamental beyond 0.1 Hz from nominal (mains
      does not stray further); median over buffers, +2.5 dB onto the segments' scale. It finds
      hum that speech or a bass line hides in every short segment.
    A family's strength: on coherent evidence, the fundamental alone or the third-strongest harmonic
    when one of the first three is present (a steady voice or note can hold one or two lines); on
    segment evidence (short files only: over 4 s segments a steady voice fools the stationarity
    test), the 1st or 2nd harmonic alone or the second-strongest. The score is gated by level
    (lines below -70 dB are not hum).
    severity = power of the lines with >= 6 dB evidence over total signal power, dB (-120: none).
    params: `fundamental` (Hz: the coherent track's mean, else refined on the long-term spectrum),
    `harmonics` (present ones), `peak_to_floor_db` (segments, per present harmonic), `drift_hz`
    (half the 5-95 % spread of the tracked fundamental), `family` (50 or 60).
    Reference: S. J. Godsill and P. J. W. Rayner, Digital Audio Restoration (1998), ch. 1 (hum);
    P. Welch, IEEE Trans. Audio Electroacoust. 15 (1967) (averaged periodograms); S. M. Kay,
    Fundamentals of Statistical Signal Processing: Detection Theory (1998), ch. 7.
    """

    kind = "hum"
    version = "2"

    def __init__(self, sample_rate: int, channels: int, families: tuple[float, ...] = FAMILIES) -> None:
        """families: the mains fundamentals judged (Hz); one alone where it is already known (the
        level after dehum of the family analysis found: half the coherent analysis)."""
        self.sample_rate, self.channels = sample_rate, channels
        self.families = tuple(float(f) for f in families)
        self._dec = _Decimator(sample_rate, channels)
        self.rate = self._dec.rate
        self._seg = int(round(_SEGMENT_S * self.rate))
        self._nfft = 1 << int(math.ceil(math.log2(2 * self._seg)))
        self._buf = np.zeros((channels, 0))
        self._stats: list[np.ndarray] = []  # per segment: (3, families, harmonics)
        # 1 s segments over the first seconds, for files too short for three 4 s segments
        self._sseg = int(round(_SHORT_S * self.rate))
        self._snfft = 1 << int(math.ceil(math.log2(2 * self._sseg)))
        # the low band of the first seconds, for those short segments: analysed only at finish, and
        # only when the file turns out too short for three 4 s segments
        self._sneed = (_SHORT_MAX - 1) * (self._sseg // 2) + self._sseg
        self._sbuf: list[np.ndarray] = []
        self._sbuf_n = 0
        self._ltas = np.zeros(self._nfft // 2 + 1)
        self._power = 0.0  # sum over channels of sum of squares (full band)
        self._frames = 0
        self._chunk: list[np.ndarray] = []  # low band awaiting coherent analysis
        self._chunk_n = 0
        self._coherent: list[np.ndarray] = []  # per chunk: (4, families, harmonics)

    def update(self, block: np.ndarray) -> None:
        x = as_block(block, self.channels)
        if x.shape[1] == 0:
            return
        self._power += float(np.einsum("ij,ij->", x, x))
        self._frames += x.shape[1]
        low = self._dec(x)
        self._chunk.append(low)
        self._chunk_n += low.shape[1]
        while self._chunk_n >= _CHUNK_S * self.rate:
            both = np.concatenate(self._chunk, axis=1)
            n = int(_CHUNK_S * self.rate)
            self._coherent.append(self._lines(both[:, :n].mean(axis=0, keepdims=True)))
            self._chunk, self._chunk_n = [both[:, n:]], both.shape[1] - n
        self._buf = np.concatenate([self._buf, low], axis=1)
        hop = self._seg // 2
        segs = []
        while self._buf.shape[1] >= self._seg:
            segs.append(self._buf[:, : self._seg])
            self._buf = self._buf[:, hop:]
        self._stats.extend(self._segments(segs, self._nfft, keep=True))
        if self._sbuf_n < self._sneed:
            self._sbuf.append(low[:, : self._sneed - self._sbuf_n])
            self._sbuf_n += self._sbuf[-1].shape[1]

    def _short_stats(self) -> list[np.ndarray]:
        """The 1 s segments (50 % overlap, at most _SHORT_MAX) over the first seconds."""
        low = np.concatenate(self._sbuf, axis=1) if self._sbuf else np.zeros((self.channels, 0))
        hop = self._sseg // 2
        return self._segments([low[:, i: i + self._sseg] for i in range(0, low.shape[1] - self._sseg + 1, hop)][:_SHORT_MAX],
                              self._snfft)

    def _ks(self, f0: float) -> np.ndarray:
        """The harmonics judged for a family: those whose search range stays inside the band."""
        ks = np.arange(1, MAX_HARMONIC + 1)
        return ks[ks * (f0 + _DRIFT) + 10 < 0.4 * self.rate]

    def _segment(self, seg: np.ndarray, nfft: int, keep: bool = False) -> np.ndarray:
        return self._segments([seg], nfft, keep)[0]

    def _segments(self, segs: list[np.ndarray], nfft: int, keep: bool = False) -> list[np.ndarray]:
        """Each segment's (3, families, harmonics) comb statistics (`_combs`, all segments at once);
        keep: add their spectra to the long-term one."""
        if not segs:
            return []
        ps = []
        for seg in segs:
            w = _hann(seg.shape[1])
            spec = np.fft.rfft((seg - seg.mean(axis=1, keepdims=True)) * w, n=nfft, axis=1)
            ps.append(2 * (np.abs(spec) ** 2).sum(axis=0) / (self.rate * _hann_power(seg.shape[1])))  # one-sided density
            if keep:
                self._ltas += ps[-1]
        p = np.stack(ps)
        df = self.rate / nfft
        stats = np.zeros((len(segs), 3, len(self.families), MAX_HARMONIC))
        kss = [self._ks(f0) for f0 in self.families]
        if all(np.array_equal(ks, kss[0]) for ks in kss) and kss[0].size:  # one comb for all families
            stats[:, :, :, : kss[0].size] = _combs(p, df, self.families, kss[0])
        else:
            for fi, (f0, ks) in enumerate(zip(self.families, kss, strict=True)):
                if ks.size:
                    stats[:, :, fi, : ks.size] = _combs(p, df, (f0,), ks)[:, :, 0]
        return list(stats)

    def _lines(self, low: np.ndarray) -> np.ndarray:
        """Coherent evidence of one buffer: (5, families, harmonics) = line evidence (dB), less
        penalties for an unsteady line, one that is missing from part of the buffer, and a
        fundamental far from nominal; line power, fundamental offset (Hz), drift (Hz); the
        missing-line penalty (dB) alone (`hum_cancel.line_evidence`)."""
        out = np.zeros((5, len(self.families), MAX_HARMONIC))
        out[0] = -np.inf
        low = np.asarray(low, dtype=np.float64)
        guarded = guard_band(low, self.rate)  # the same band for both families
        for fi, f0 in enumerate(self.families):
            ks = self._ks(f0)
            e = line_evidence(low, self.rate, f0, list(ks), _DRIFT, guarded=guarded)
            off = _OFFSET_PENALTY * max(0.0, abs(e["offset_hz"]) - _OFFSET_FREE_HZ)
            gone = _ABSENT_PENALTY * np.clip(e["absent"] - _ABSENT_FREE, 0, None)
            out[0, fi, : ks.size] = e["line_db"] - _STEADY_PENALTY * np.clip(e["steady_db"] - _STEADY_FREE_DB, 0, None) - off - gone
            out[4, fi, : ks.size] = gone
            out[1, fi, : ks.size] = e["power"] * self.channels  # the channels' mean: a common hum, in each
            out[2, fi], out[3, fi] = e["offset_hz"], e["drift_hz"]
        return out

    def finish(self) -> Finding:
        empty = Finding(self.kind, 0.0, _SEVERITY_FLOOR_DB, "dB", params={})
        if self._chunk_n >= (_LAST_CHUNK_S if self._coherent else _MIN_CHUNK_S) * self.rate:
            self._coherent.append(self._lines(np.concatenate(self._chunk, axis=1).mean(axis=0, keepdims=True)))
            self._chunk, self._chunk_n = [], 0
        # Stationarity needs three segments: 4 s ones (0.125 Hz bins) when the file is long
        # enough, else the 1 s ones (0.5 Hz bins); with fewer, evidence is marked down.
        short = self._short_stats() if len(self._stats) < 3 else []
        stats = self._stats if len(self._stats) >= 3 or len(short) <= len(self._stats) else short
        if not stats and self._buf.shape[1] >= _MIN_SEGMENT_S * self.rate:
            n = self._buf.shape[1]
            stats = [self._segment(self._buf, 1 << int(math.ceil(math.log2(2 * n))))]
        if not stats or self._power <= 0:
            return empty
        total = self._power / self._frames
        s = np.stack(stats)  # (segments, 3, families, harmonics)
        line_db = 10 * np.log10(s[:, 2] + 1e-30)
        spread = np.percentile(line_db, 75, axis=0) - np.percentile(line_db, 25, axis=0)
        # A line's evidence is its median peak-to-floor, less a steep penalty for a level that
        # fluctuates between segments (hum: IQR ~1 dB; recurring notes of music: 5 dB and more).
        evidence = np.median(s[:, 0], axis=0) - _SPREAD_PENALTY * np.clip(spread - _SPREAD_FREE_DB, 0, None)
        evidence -= _UNCHECKED_DB * max(0, 3 - len(stats))
        # A line at 50/100 (60/120) Hz is hum on its own; a higher one needs a second harmonic to
        # back it, since a sustained note can sit within the drift range of one harmonic.
        # Mains hum and rectifier buzz always carry one of the first three harmonics; a comb of only
        # upper lines (5th, 8th, 10th, ...) is a chord that happens to sit on the grid.
        coherent = np.median(np.stack(self._coherent), axis=0) if self._coherent else None
        if coherent is not None:
            # A line the programme drops between syllables or notes is not mains hum, whichever
            # analysis saw it.
            evidence = evidence - coherent[4]
        strengths = _strengths(evidence, single=2)
        # The coherent evidence (whole buffers of up to 20 s, median over them) sees a line the
        # programme hides in every short segment; a steady voice or note can hold a line and its
        # partials (120 and 360 Hz: a note, or buzz) for the whole of a short file, so there only the
        # fundamental stands alone, and otherwise three harmonics must be found.
        line_power = np.median(s[:, 2], axis=0)  # (families, harmonics)
        if coherent is not None:
            ev_c = coherent[0] + _COHERENT_GAIN_DB
            # Over 4 s segments a steady voice or drone holds a line too (and fools the segments'
            # stationarity test): past the short-file 1 s segments, the coherent evidence decides.
            strengths = np.maximum(strengths if stats is short else -np.inf, _strengths(ev_c, single=1, backed=3))
            # a line's power from whichever analysis sees it better (the segments' holds under drift)
            line_power = np.where(ev_c > evidence, coherent[1], line_power)
            evidence = np.maximum(evidence, ev_c)
        fam = int(np.argmax(strengths))
        ev, strength = evidence[fam], float(strengths[fam])
        line_power = line_power[fam]
        hum_power = float(line_power[ev >= 6.0].sum())
        severity = max(_SEVERITY_FLOOR_DB, 10 * math.log10(hum_power / total) if hum_power > 0 else -np.inf)
        # Lines far below the programme are inaudible (and a synthetic tone's float rounding makes
        # perfectly stationary lines at -150 dB), so the level gates the evidence.
        score = logistic((strength - _SCORE_MID_DB) / _SCORE_SCALE_DB) * logistic((severity - _AUDIBLE_DB) / 3.0)
        present = np.flatnonzero(ev >= _PRESENT_DB)
        harmonics = [int(k + 1) for k in present]
        f0, drift = self.families[fam], 0.0
        if harmonics:
            ks = np.array(harmonics)
            kb = int(present[np.argmax(line_power[present])])
            per_segment = s[:, 1, fam, kb] / (kb + 1)
            if per_segment.size >= 2:
                drift = float(np.percentile(per_segment, 95) - np.percentile(per_segment, 5)) / 2
            long_enough = stats is self._stats and self._ltas.any()
            freqs = self._refine(f0, ks, drift) if long_enough else np.median(s[:, 1, fam, present], axis=0)
            weights = line_power[present] * ks**2
            if weights.sum() > 0:
                f0 = float(np.sum(weights * freqs / ks) / np.sum(weights))
        if coherent is not None and harmonics:
            f0, drift = self.families[fam] + float(coherent[2, fam, 0]), float(coherent[3, fam, 0])
        params = {"family": self.families[fam], "fundamental": round(f0, 3), "harmonics": harmonics,
                  "peak_to_floor_db": [round(float(np.median(s[:, 0, fam, k - 1])), 2) for k in harmonics],
                  "drift_hz": round(drift, 3)}
        return Finding(self.kind, float(score), float(severity), "dB", params=params)

    def _refine(self, f0: float, ks: np.ndarray, drift: float) -> np.ndarray:
        """Each harmonic's frequency on the long-term spectrum: the centroid of its line above the
        window minimum, within +-(0.5 Hz + k * drift) of the comb's peak."""
        p, df = self._ltas, self.rate / self._nfft
        peaks = _comb(p, df, f0, ks)[1]
        out = []
        for k, fpk in zip(ks, peaks, strict=True):
            reach = 0.5 + k * drift
            i0, i1 = max(int((fpk - reach) / df), 0), min(int((fpk + reach) / df) + 1, p.size)
            seg = p[i0:i1]
            wts = np.clip(seg - seg.min(), 0, None) if seg.size else seg
            out.append(float(np.sum(wts * np.arange(i0, i1)) / np.sum(wts) * df) if wts.sum() > 0 else fpk)
        return np.array(out)


def _strengths(evidence: np.ndarray, single: int, backed: int = 2) -> np.ndarray:
    """Per family (rows of evidence (families, harmonics), dB): the evidence of the strongest of the
    first `single` harmonics, or of the `backed`-th strongest harmonic if one of the first three is
    present."""
    nth = np.sort(evidence, axis=1)[:, -backed]
    grounded = evidence[:, :3].max(axis=1) >= _PRESENT_DB
    return np.maximum(evidence[:, :single].max(axis=1), np.where(grounded, nth, -np.inf))


def max_deviation(drift_hz: float) -> float:
    """How far (Hz) the tracked fundamental may stray from the detector's: the drift it measured
    (x3: a 12 s file sees part of a slow cycle) plus 0.15 Hz for its estimate's own error."""
    return min(0.5, 0.15 + 3.0 * max(0.0, float(drift_hz)))


def agility(drift_hz: float) -> float:
    """How much shorter than usual the tracking windows are: mains drifts by hundredths of a hertz
    over seconds, and the windows are sized for that; a drift the detector measured above 0.15 Hz
    (a hum recorded on a tape that wows) needs the frequency followed faster."""
    return max(1.0, float(drift_hz) / 0.15)


def dehum(audio: np.ndarray, sample_rate: int, *, fundamental: float, harmonics: list[int],
          drift_hz: float = 0.0) -> np.ndarray:
    """Remove mains hum by adaptive harmonic cancellation: track the hum's phase, estimate each
    harmonic's complex amplitude where the programme leaves it audible, subtract the lines; the
    programme under them stays.

    audio: (channels, frames) float32. Returns the same shape, time-aligned. The fundamental's offset
    is searched within `max_deviation(drift_hz)` of `fundamental` (local harmonic-sum likelihood),
    then refined by local line fits to the basebands' phase (windows shortened by `agility`); each harmonic's amplitude is a weighted least-squares
    fit over a 12 s window, every moment weighted by the inverse of the programme's power beside
    (and, after one robust round, at) the line, so pauses and quiet passages carry the estimate;
    a plug-in Wiener gain leaves lines the programme buries in place. Every step has finite support
    (`hum_cancel.CONTEXT_S` each side), so windowed processing matches whole-file processing.
    See `acetate.ops.hum_cancel`.
    Reference: J. R. Glover, "Adaptive noise canceling applied to sinusoidal interferences",
    IEEE Trans. ASSP 25 (1977); X. Serra and J. O. Smith, "Spectral modeling synthesis", Computer
    Music J. 14 (1990) (sinusoidal modelling); S. J. Godsill and P. J. W. Rayner, Digital Audio
    Restoration (1998), ch. 1 (hum); A. C. Aitken, "On least squares and linear combination of
    observations", Proc. R. Soc. Edinburgh 55 (1935) (weighted least squares); P. J. Huber, Robust
    Statistics (1981) (re-weighting); Y. Ephraim and D. Malah, IEEE Trans. ASSP 32 (1984) (the gain).
    """
    out = cancel_hum(audio, sample_rate, float(fundamental), [int(k) for k in harmonics],
                     max_dev=max_deviation(drift_hz), agility=agility(drift_hz))
    return out.astype(np.float32)


MIN_CANCELLED = 5


def _params(finding: Finding, sample_rate: int) -> dict:
    """Cancel every harmonic up to the highest one found, and at least the first MIN_CANCELLED:
    a harmonic masked by the programme (so not "present") is still heard once the others are gone,
    and where the programme is louder than the line there, the gain leaves it alone."""
    p = finding.params
    top = max([MIN_CANCELLED, *[int(k) for k in p["harmonics"]]])
    return {"fundamental": float(p["fundamental"]), "harmonics": list(range(1, top + 1)),
            "drift_hz": float(p.get("drift_hz", 0.0))}


register_restorer(Restorer("dehum", "hum", dehum, _params, context_s=CONTEXT_S, version="3"))
