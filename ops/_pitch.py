"""Partial tracks for speed estimation: a band of the signal decimated to ~5.5 kHz, the spectral
peaks of each 10 ms frame with their reassigned (instantaneous) frequencies, and peaks linked into
tracks of one partial each. Shared by the `wow` detector and the `dewow` restorer (not an op).

A partial of a held note keeps its frequency, so the only common movement of all partials' log
frequencies is the playback speed: log f_k(t) = log f_k + g(t), g = log(speed). `_pitch_fit`
estimates g from these tracks.

Reference: F. Auger and P. Flandrin, "Improving the readability of time-frequency and time-scale
representations by the reassignment method", IEEE Trans. SP 43 (1995) (reassigned frequency);
R. J. McAulay and T. F. Quatieri, "Speech analysis/synthesis based on a sinusoidal representation",
IEEE Trans. ASSP 34 (1986) (peak picking and frame-to-frame linking).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy import signal

ANALYSIS_RATE = 5500.0  # Hz: partials up to ~2.1 kHz, where most of music's stable ones are
FRAME_S = 0.01  # hop: a speed curve sampled at 100 Hz (flutter up to 30 Hz fits below Nyquist)
WINDOW_S = 0.12  # Hann, for wow: fine frequencies, and a note's vibrato (5-7 Hz) mostly averaged out
FLUTTER_WINDOW_S = 0.046  # for flutter (5-30 Hz), which a 0.12 s window would average away
_TAPS_PER_PHASE = 8  # anti-alias FIR length / decimation factor (Kaiser, ~40 dB)
FMIN_HZ = 80.0
FMAX_FRACTION = 0.38  # of the analysis rate: the decimator's aliases stay below -40 dB here
_DYNAMIC_DB = 50.0  # a peak within this of the frame's strongest one
_PEAK_SNR_DB = 15.0  # and this far above the frame's median bin
_MAX_OFFSET_BINS = 0.6  # a sinusoid's reassigned frequency lies inside its peak's main lobe
LINK_TOLERANCE = 0.006  # |log f| step allowed per 10 ms (0.6 %: severe wow moves 0.3 %)
MIN_TRACK_S = 0.08


def grid(sample_rate: int) -> tuple[int, int]:
    """(decimation factor M, hop H in analysis samples) with M near sample_rate / ANALYSIS_RATE
    and M * H near FRAME_S seconds, dividing the sample rate where possible (44.1 kHz: 7 x 63,
    48 kHz: 8 x 60, 16 kHz: 2 x 80, 22.05 kHz: 3 x 75). Then every window of a file that starts
    on a multiple of 10 ms (whole seconds of block and context) sees the same frames as the whole
    file does, so restoring window by window gives the same speed curve."""
    best: tuple[float, int, int] | None = None
    for m in range(max(1, int(sample_rate // 9000)), max(1, int(sample_rate // 4000)) + 1):
        for h in range(max(1, int(0.008 * sample_rate / m)), int(0.0125 * sample_rate / m) + 1):
            if sample_rate % (m * h) == 0:
                rate = sample_rate / m  # 5-8 kHz alike, slightly preferring the cheaper end
                cost = (max(0.0, math.log(5000.0 / rate), math.log(rate / 8000.0)) + 0.05 * math.log(rate / 5000.0)
                        + 2 * abs(math.log(m * h / (FRAME_S * sample_rate))))
                if best is None or cost < best[0]:
                    best = (cost, m, h)
    if best is None:
        m = max(1, int(round(sample_rate / ANALYSIS_RATE)))
        return m, max(1, int(round(FRAME_S * sample_rate / m)))
    return best[1], best[2]


def decimation(sample_rate: int) -> tuple[int, np.ndarray]:
    """(factor M, anti-alias FIR of 8 M + 1 taps): the analysis rate is sample_rate / M."""
    m = grid(sample_rate)[0]
    if m == 1:
        return 1, np.ones(1)
    h = signal.firwin(_TAPS_PER_PHASE * m + 1, 0.92 / m, window=("kaiser", 4.5))
    return m, h


def window_length(rate: float, window_s: float = WINDOW_S) -> int:
    """Frame length at the analysis rate: `window_s`, rounded up to a fast FFT size."""
    return sfft.next_fast_len(max(16, int(round(window_s * rate))), real=True)


def response(freq: float, rate: float, window_s: float = WINDOW_S) -> float:
    """How much of a speed sinusoid at `freq` the frames' frequencies keep: a reassigned frequency
    is the mean instantaneous frequency under the squared window (0.95 at 3 Hz for 0.12 s)."""
    n = window_length(rate, window_s)
    w2 = (0.5 - 0.5 * np.cos(2 * math.pi * np.arange(n) / n)) ** 2
    return float(np.sum(w2 * np.cos(2 * math.pi * freq * (np.arange(n) - n / 2) / rate)) / np.sum(w2))


def decimate(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, float]:
    """Channel mean, low-passed and decimated, aligned with the input (no delay).

    audio: (channels, frames). Returns ((frames / M,) float64, analysis rate).
    """
    m, h = decimation(sample_rate)
    mono = np.asarray(audio, dtype=np.float64).mean(axis=0)
    if m == 1:
        return mono, float(sample_rate)
    delay = (h.size - 1) // 2 // m  # whole output samples, since len(h) - 1 = 8 m
    n_out = -(-mono.size // m)
    y = signal.upfirdn(h, mono, 1, m)[delay:delay + n_out]
    return y, sample_rate / m


class StreamingDecimator:
    """The same decimation fed block by block (filter state carried over); memory: one FIR length."""

    def __init__(self, sample_rate: int) -> None:
        self.factor, self.h = decimation(sample_rate)
        self.rate = sample_rate / self.factor
        self.hop = grid(sample_rate)[1]
        self._tail = np.zeros(self.h.size - 1)
        self._phase = 0  # input samples to skip before the next output, in the next block

    def __call__(self, mono: np.ndarray) -> np.ndarray:
        if self.factor == 1:
            return np.asarray(mono, dtype=np.float64)
        buf = np.concatenate([self._tail, mono])
        start = self._phase  # index into `mono` of the next output's newest sample
        n = mono.size
        if start >= n:
            self._phase -= n
            self._tail = buf[-(self.h.size - 1):]
            return np.zeros(0)
        # output at newest sample index s (in mono) uses buf[s: s + len(h)] (tail offset cancels)
        seg = buf[start: start + (n - 1 - start) // self.factor * self.factor + self.h.size]
        y = signal.upfirdn(self.h, seg, 1, self.factor)
        count = (n - 1 - start) // self.factor + 1
        out = y[_TAPS_PER_PHASE: _TAPS_PER_PHASE + count]
        self._phase = start + count * self.factor - n
        self._tail = buf[-(self.h.size - 1):]
        return out


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks, sorted by frame then frequency: frame index, log Hz, peak-to-median ratio."""

    frame: np.ndarray
    log_hz: np.ndarray
    snr: np.ndarray
    frames: int  # frames analysed
    hop_s: float
    first_s: float  # time of frame 0's centre, seconds from the analysed signal's start


def peaks(y: np.ndarray, rate: float, hop: int, window_s: float = WINDOW_S) -> Peaks:
    """Peaks of a Hann STFT (`window_s`, hop `hop` samples) with reassigned frequencies;
    y: (n,) at the analysis rate.

    One FFT per frame: the Hann spectrum and that of the Hann window's derivative are both three-bin
    combinations of the rectangular-window spectrum, and the reassigned frequency of bin k is
    k - Im(X_dh conj(X_h)) / |X_h|^2 * N / (2 pi).
    """
    n_win = window_length(rate, window_s)
    count = 1 + (y.size - n_win) // hop if y.size >= n_win else 0
    empty = Peaks(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), count, hop / rate, n_win / 2 / rate)
    if count <= 0:
        return empty
    lo = max(2, int(FMIN_HZ * n_win / rate))
    hi = min(n_win // 2 - 1, int(FMAX_FRACTION * n_win))
    frames = np.lib.stride_tricks.sliding_window_view(y.astype(np.float32), n_win)[::hop][:count]
    x = sfft.rfft(frames, axis=1)[:, lo - 2: hi + 2]  # bins lo-2 .. hi+1
    xm, x0, xp = x[:, :-2], x[:, 1:-1], x[:, 2:]  # centred on bins lo-1 .. hi
    xh = 0.5 * x0 - 0.25 * (xm + xp)  # periodic Hann
    p = xh.real**2 + xh.imag**2
    inner = p[:, 1:-1]  # bins lo .. hi-1
    is_peak = (inner > p[:, :-2]) & (inner >= p[:, 2:])
    mid = inner.shape[1] // 2
    floor = np.partition(inner, mid, axis=1)[:, mid]  # the median bin
    top = inner.max(axis=1)
    keep = (is_peak & (inner > (top * 10 ** (-_DYNAMIC_DB / 10))[:, None])
            & (inner > (floor * 10 ** (_PEAK_SNR_DB / 10))[:, None]))
    fr, b = np.nonzero(keep)
    if fr.size == 0:
        return empty
    b1 = b + 1  # index into p / xh (bin lo - 1 + b1)
    h0 = xh[fr, b1]
    dh = (math.pi / n_win) * (xm[fr, b1] - xp[fr, b1]) / 2j  # spectrum of x * dw/dn
    offset = -np.imag(dh * np.conj(h0)) / p[fr, b1] * n_win / (2 * math.pi)
    ok = np.abs(offset) < _MAX_OFFSET_BINS
    fr, b1, offset = fr[ok], b1[ok], offset[ok]
    hz = (b1 + lo - 1 + offset) * rate / n_win
    snr = np.minimum(p[fr, b1] / np.maximum(floor[fr], 1e-30), 1e4)
    # np.nonzero walks frame by frame, bin by bin, and peaks are two bins apart with offsets under
    # 0.6 bin: the order is already by frame, then frequency
    return Peaks(fr.astype(np.int64), np.log(hz), snr, count, hop / rate, n_win / 2 / rate)


def link(frame: np.ndarray, log_hz: np.ndarray, tolerance: float, min_frames: int) -> np.ndarray:
    """Track id of each peak (-1: in no track of at least `min_frames` frames).

    frame, log_hz: sorted by frame then frequency. A peak continues the nearest peak of the previous
    frame within `tolerance` when that peak has no nearer continuation (mutual nearest neighbours),
    so a track never jumps to a neighbouring note or harmonic.
    """
    n = frame.size
    if n == 0:
        return np.zeros(0, np.int64)
    key = frame * 64.0 + log_hz  # log_hz < 64 for any audible frequency: frames stay apart
    pos = np.searchsorted(key, (frame - 1) * 64.0 + log_hz)
    best = np.full(n, -1)
    dist = np.full(n, np.inf)
    for cand in (pos - 1, pos):
        c = np.clip(cand, 0, n - 1)
        d = np.where((cand >= 0) & (cand < n) & (frame[c] == frame - 1), np.abs(log_hz - log_hz[c]), np.inf)
        better = d < dist
        best, dist = np.where(better, c, best), np.where(better, d, dist)
    has = dist < tolerance
    nearest_next = np.full(n, np.inf)
    np.minimum.at(nearest_next, best[has], dist[has])
    pred = np.where(has & (dist <= nearest_next[np.maximum(best, 0)]), best, -1)
    # two successors at exactly the same distance: keep the first
    first = np.flatnonzero(pred >= 0)
    dup = np.zeros(n, bool)
    _, idx = np.unique(pred[first], return_index=True)
    dup[first] = True
    dup[first[idx]] = False
    pred[dup] = -1
    root = np.where(pred >= 0, pred, np.arange(n))
    while True:  # pointer jumping: every peak points at its track's first peak
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    _, tid, count = np.unique(root, return_inverse=True, return_counts=True)
    long_enough = count[tid] >= min_frames
    out = np.full(n, -1, np.int64)
    out[long_enough] = np.unique(tid[long_enough], return_inverse=True)[1]
    return out


@dataclass(frozen=True)
class Tracks:
    """Partial tracks of one analysed span, as the speed fit needs them.

    Per observation (peak in a track): `frame`, `track`, `dev` = log frequency minus its track's mean.
    Per track: `length` (frames), `start` (first frame), `weight` = mean SNR x (f / 1 kHz)^2, the
    inverse variance of a reassigned log frequency in noise (variance ~ 1 / (SNR f^2)).
    Times: frame j is at first_s + j * hop_s seconds.
    """

    frame: np.ndarray
    track: np.ndarray
    dev: np.ndarray
    length: np.ndarray
    start: np.ndarray
    weight: np.ndarray
    frames: int
    hop_s: float
    first_s: float

    @property
    def count(self) -> int:
        return int(self.length.size)

    @property
    def centre_s(self) -> np.ndarray:
        """Each track's centre, seconds from frame 0."""
        return (self.start + (self.length - 1) / 2) * self.hop_s


def tracks(p: Peaks) -> Tracks:
    """Link `p` into tracks of at least MIN_TRACK_S (frame-to-frame tolerance scaled to the hop)."""
    tid = link(p.frame, p.log_hz, LINK_TOLERANCE * p.hop_s / 0.01, max(3, int(math.ceil(MIN_TRACK_S / p.hop_s - 1e-9))))
    keep = tid >= 0
    fr, k, lf, snr = p.frame[keep], tid[keep], p.log_hz[keep], p.snr[keep]
    n_tracks = int(k.max()) + 1 if k.size else 0
    length = np.bincount(k, minlength=n_tracks)
    per = np.maximum(length, 1)
    mean = np.bincount(k, weights=lf, minlength=n_tracks) / per
    weight = np.bincount(k, weights=snr * np.exp(2 * (lf - math.log(1000.0))), minlength=n_tracks) / per
    start = np.full(n_tracks, np.iinfo(np.int64).max)
    np.minimum.at(start, k, fr)
    return Tracks(fr, k, lf - mean[k], length, start, weight, p.frames, p.hop_s, p.first_s)
