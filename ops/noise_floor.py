"""One streaming estimator of a file's noise floor and long-term spectrum, shared by the `noise` and
`bandwidth` detectors, the `snr_db` and `bandwidth_hz` measures and the `dehiss` restorer.

Minimum statistics over the whole file: the short-time power spectrum (non-overlapping ~23 ms Hann
frames, power summed over channels), smoothed over a few frames and neighbouring bins, goes into one
dB histogram per frequency bin. A bin's noise floor is a low percentile of that distribution,
corrected for the bias a percentile of a smoothed periodogram has against the mean of stationary
noise; frames of digital silence (a dropout, a gap between tracks) are left out, since no noise
lives there. Memory is one histogram per bin (bins x 400 counts), whatever the file's length.

Reference: R. Martin, "Noise power spectral density estimation based on optimal smoothing and
minimum statistics", IEEE Trans. Speech Audio Process. 9 (2001): here the minimum is taken over
the whole file's distribution (a percentile, which a few quiet outliers do not decide) instead of
a sliding window, because the detectors judge a file as a whole.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import fft as sfft
from scipy import signal, stats

FRAME_S = 0.023  # analysis frame, rounded to a power of two in samples
SMOOTH_FRAMES = 4  # moving average over frames (about 90 ms)
BANDS_PER_OCTAVE = 12  # analysis bands: one bin each at low frequencies, 1/12 octave above
DB_LO, DB_STEP, DB_BINS = -230.0, 0.5, 420  # histogram of PSD in dB re FS^2/Hz
FLOOR_QUANTILE = 0.10
SEGMENT_S = 1.0  # segments whose minima show whether a band's floor holds still over time
# Below the first bin (~20-40 Hz): rumble and the slow wander of brown noise. A second path takes
# means over nfft/64 samples, low-passes them at LOW_HZ and keeps two samples per frame; its power
# is measured per LOW_SEGMENT_S segment about a straight line, so a DC offset and its slow drift
# (tens of seconds) are not counted.
LOW_HZ = 20.0
LOW_SEGMENT_S = 8.0
LOW_SUB_S = 1.0  # shorter pieces whose power, taken about their own line (above ~1 Hz), shows
# whether the low band holds still (rumble, brown noise) or comes in bursts with the programme
_LOW_STAGE = 64  # first-stage samples per frame
_LOW_KEEP = 2  # low-path samples kept per frame
# The spectra of the block last analysed: the noise and bandwidth detectors and the measures are
# fed the same block objects in the same order, so the second SpectralFloor to see a block (at the
# same position of a stream of the same format) reuses the first one's FFTs. Holding the block keeps
# its identity from being reused by another array.
_MEMO: dict[str, tuple] = {}
_SILENT_FRAME = 1e-20  # PSD summed over bins below which a frame is digital silence
# Lines in the floor (hum and its harmonics, a pilot tone, a held note) at a resolution the
# analysis frames lack (31-47 Hz bins cannot separate a 50 Hz comb): per LINE_SEGMENT_S segment, the
# quietest run of LINE_FRAMES analysis frames (by their summed power) is kept and transformed as
# one long frame; the per-bin minimum over segments of its spectrum is the fine quiet spectrum
# (a line that holds, like hum, survives the minimum; a passing note does not). One long FFT per
# segment, one long frame of samples held.
LINE_FRAMES = 8
LINE_SEGMENT_S = 1.0
_HANN_RHO2 = 4.0 / 9.0  # squared correlation of adjacent Hann-windowed bins of white noise


def frame_length(sample_rate: int) -> int:
    """Frame length in samples: the power of two nearest FRAME_S (512 at 16 kHz, 1024 at 44.1/48 kHz)."""
    return 1 << max(6, int(round(math.log2(FRAME_S * sample_rate))))


def band_edges(bins: int) -> np.ndarray:
    """Bin edges of the analysis bands over bins 1..bins-1 (DC left out): each band one bin wide
    until 1/12 octave spans more than a bin, then 1/12 octave wide."""
    edges = [1]
    step = 2 ** (1 / BANDS_PER_OCTAVE)
    while edges[-1] < bins:
        edges.append(min(bins, max(edges[-1] + 1, int(round(edges[-1] * step)))))
    return np.array(edges)


def equivalent_dof(width_bins: np.ndarray, channels: float = 1.0) -> np.ndarray:
    """Degrees of freedom of a band's smoothed power for Gaussian noise: 2 per frame and bin, over
    SMOOTH_FRAMES independent (non-overlapping) frames, adjacent Hann bins correlated (rho^2 = 4/9),
    times `channels` independent channels' worth."""
    k = np.asarray(width_bins, dtype=np.float64)
    var_units = k + 2 * (k - 1) * _HANN_RHO2  # variance of the sum in units of one bin's
    return 2.0 * SMOOTH_FRAMES * channels * k * k / var_units


def quantile_bias(q: float, dof: np.ndarray | float) -> np.ndarray:
    """Ratio (power) of the q-quantile to the mean of a chi-square power with `dof` degrees of freedom."""
    k = np.asarray(dof, dtype=np.float64)
    return stats.chi2.ppf(q, k) / k


class SpectralFloor:
    """Streaming long-term spectrum and per-band noise floor of a file.

    update(block (channels, frames)) in order, any block sizes (the same result). Then:
    freqs (bins,) Hz and ltas() (bins,) the mean PSD, FS^2/Hz summed over channels, per bin;
    band_lo, band_hi (bands,) bin ranges [lo, hi) of the analysis bands, band_hz their centres;
    quantile_db(q) (bands,) a band's q-quantile of smoothed PSD over the frames that are not
    digital silence; floor(q) (bands,) the noise PSD that quantile implies; power: mean square per
    sample summed over channels (about each channel's mean).
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self.nfft = frame_length(sample_rate)
        self.bins = self.nfft // 2 + 1
        self.freqs = np.fft.rfftfreq(self.nfft, 1.0 / sample_rate)
        edges = band_edges(self.bins)
        self.band_lo, self.band_hi = edges[:-1], edges[1:]
        self.bands = self.band_lo.size
        df = sample_rate / self.nfft
        self.band_hz = np.sqrt(np.maximum(self.band_lo - 0.5, 0.5) * (self.band_hi - 0.5)) * df
        self._width = (self.band_hi - self.band_lo).astype(np.float64)
        w = signal.windows.hann(self.nfft, sym=False)
        self._win = w.astype(np.float32)
        self._scale = 2.0 / (sample_rate * float(np.sum(w * w)))  # one-sided PSD
        self._buf = np.zeros((channels, 0), dtype=np.float32)
        self._recent = np.zeros((0, self.bins))  # last SMOOTH_FRAMES - 1 frames' PSD
        self._hist = np.zeros(self.bands * DB_BINS, dtype=np.int64)
        self._offsets = np.arange(self.bands) * DB_BINS
        self._ltas = np.zeros(self.bins)
        self._frames = 0
        self._seg_len = max(2 * SMOOTH_FRAMES, int(round(SEGMENT_S * sample_rate / self.nfft)))
        self._seg_min = np.full(self.bands, np.inf)
        self._seg_n = 0
        self._seg_stats = np.zeros((3, self.bands))  # Welford count, mean, M2 of segment minima (dB)
        self._bin_min = np.full(self.bins, np.inf)  # this segment's per-bin minimum of smoothed power
        self._bin_log = np.zeros(self.bins)  # sum over segments of log10 of that minimum
        self._bin_segs = 0
        self.samples = 0
        self._r1 = self.nfft // _LOW_STAGE
        self.low_rate = _LOW_KEEP * sample_rate / self.nfft
        self._low_sos = signal.butter(6, LOW_HZ, fs=sample_rate / self._r1, output="sos")
        self._low_zi = np.zeros((self._low_sos.shape[0], channels, 2))
        self._low_buf = np.zeros((channels, 0))
        self._low_len = max(4, int(round(LOW_SEGMENT_S * self.low_rate)))
        self._low_hist = np.zeros(DB_BINS, dtype=np.int64)
        self._low_sum, self._low_count = 0.0, 0
        self._sub_len = max(4, int(round(LOW_SUB_S * self.low_rate)))
        self._sub_buf = np.zeros((channels, 0))
        self._sub_level = np.zeros(0)
        self._prog_bin = int(np.ceil(200.0 * self.nfft / sample_rate))  # the programme's level: above 200 Hz
        self._sub_stats = np.zeros(6)  # per piece: count, sums of low dB, its square, programme dB, square, product
        self._sub_sq = np.zeros(2)  # sums over sub-segments of the residual's and its difference's squares
        self.line_nfft = self.nfft * LINE_FRAMES
        self._line_win = signal.windows.hann(self.line_nfft, sym=False).astype(np.float32)
        self._line_seg = max(1, int(round(LINE_SEGMENT_S * sample_rate / self.line_nfft)))  # long frames
        self._line_raw = np.zeros((channels, 0), dtype=np.float32)  # frames of the long frame in progress
        self._line_pw = np.zeros(0)  # their summed power
        self._line_best: tuple[float, np.ndarray] | None = None  # this segment's quietest long frame
        self._line_n = 0  # long frames seen in this segment
        self._line_min = np.full(self.line_nfft // 2 + 1, np.inf)

    def update(self, block: np.ndarray) -> None:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.shape[0] != self.channels:
            raise ValueError(f"block has {x.shape[0]} channels, expected {self.channels}")
        if x.shape[1] == 0:
            return
        key = (self.sample_rate, self.channels, self.samples)
        self.samples += x.shape[1]
        memo = _MEMO.get("last")
        if memo is not None and memo[0] is block and memo[1] == key:
            p, low, self._buf, self._low_zi, frames = memo[2:]
        else:
            buf = np.concatenate([self._buf, x], axis=1) if self._buf.shape[1] else x
            n = buf.shape[1] // self.nfft
            frames = buf[:, : n * self.nfft].reshape(self.channels, n, self.nfft)
            if n:
                p, low = self._power_spectra(frames), self._low_path(frames)
            else:
                p, low = np.zeros((0, self.bins)), np.zeros((self.channels, 0))
            self._buf = buf[:, n * self.nfft:].copy()
            _MEMO["last"] = (block, key, p, low, self._buf, self._low_zi, frames)
        if p.shape[0]:
            self._add_lines(frames, p.sum(axis=1))
            self._add(p)
            self._add_low(low, np.repeat(p[:, self._prog_bin:].sum(axis=1), _LOW_KEEP))

    def _add_lines(self, frames: np.ndarray, power: np.ndarray) -> None:
        """frames (channels, n, nfft) and their summed PSD (n,): group into long frames of
        LINE_FRAMES and keep each segment's quietest (digital silence is not a floor)."""
        flat = frames.reshape(self.channels, -1)
        held = self._line_pw.size  # analysis frames of the long frame in progress, held in _line_raw
        pw = np.concatenate([self._line_pw, power])
        k = pw.size // LINE_FRAMES
        if k:
            level = pw[: k * LINE_FRAMES].reshape(k, LINE_FRAMES)
            quiet = np.where(level.min(axis=1) > _SILENT_FRAME, level.sum(axis=1), np.inf)
            for j in range(k):
                if np.isfinite(quiet[j]) and (self._line_best is None or quiet[j] < self._line_best[0]):
                    lo = (j * LINE_FRAMES - held) * self.nfft  # in flat; negative: starts in _line_raw
                    if lo < 0:
                        frame = np.concatenate([self._line_raw, flat[:, : lo + self.line_nfft]], axis=1)
                    else:
                        frame = flat[:, lo:lo + self.line_nfft].copy()
                    self._line_best = (float(quiet[j]), frame)
                self._line_n += 1
                if self._line_n == self._line_seg:
                    self._close_line_segment()
        rest = (k * LINE_FRAMES - held) * self.nfft
        self._line_raw = (np.concatenate([self._line_raw, flat], axis=1) if rest < 0 else flat[:, rest:].copy())
        self._line_pw = pw[k * LINE_FRAMES:]

    def _line_spectrum(self, frame: np.ndarray) -> np.ndarray:
        spec = sfft.rfft((frame - frame.mean(axis=1, keepdims=True)) * self._line_win, axis=1)
        return np.log10(np.maximum((spec.real**2 + spec.imag**2).sum(axis=0, dtype=np.float64), 1e-300))

    def _close_line_segment(self) -> None:
        if self._line_best is not None:
            self._line_min = np.minimum(self._line_min, self._line_spectrum(self._line_best[1]))
        self._line_best, self._line_n = None, 0

    def line_spectrum_db(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(freqs (line bins,) Hz, (line bins,) dB): the fine quiet spectrum (per-bin minimum over
        LINE_SEGMENT_S segments of the power spectrum of each one's quietest long frame of
        LINE_FRAMES analysis frames, summed over channels; a last partial segment counts; not
        scaled: for shape, i.e. lines). None before one long frame."""
        low = self._line_min
        if self._line_best is not None:
            low = np.minimum(low, self._line_spectrum(self._line_best[1]))
        if not np.isfinite(low[1:]).all():
            return None
        return np.fft.rfftfreq(self.line_nfft, 1.0 / self.sample_rate), 10 * low

    def _power_spectra(self, frames: np.ndarray) -> np.ndarray:
        """frames (channels, n, nfft) -> (n, bins) PSD summed over channels. Each frame's
        window-weighted mean is taken out first, so a DC offset leaks into no bin."""
        spec = sfft.rfft(frames * self._win, axis=2)
        # Taking the weighted mean c out before windowing changes only bins 0 and 1: a Hann
        # window's spectrum is N/2 at 0 and -N/4 at +-1, and bin 0 holds c N/2 itself.
        spec[..., 1] += 0.5 * spec[..., 0]
        spec[..., 0] = 0.0
        return (spec.real**2 + spec.imag**2).sum(axis=0, dtype=np.float64) * self._scale

    def _low_path(self, frames: np.ndarray) -> np.ndarray:
        """frames (channels, n, nfft) -> (channels, n * _LOW_KEEP) the signal below LOW_HZ at
        low_rate: means over nfft/64 samples, a 6th-order Butterworth low-pass, decimation."""
        c, n = frames.shape[:2]
        m = frames.reshape(c, n * _LOW_STAGE, self._r1).mean(axis=2, dtype=np.float64)
        y, self._low_zi = signal.sosfilt(self._low_sos, m, axis=1, zi=self._low_zi)
        return y[:, :: _LOW_STAGE // _LOW_KEEP]

    def _add(self, p: np.ndarray) -> None:
        self._ltas += p.sum(axis=0)
        self._frames += p.shape[0]
        run = np.concatenate([self._recent, p], axis=0)
        m = SMOOTH_FRAMES
        self._recent = run[run.shape[0] - (m - 1):]
        if run.shape[0] < m:
            return
        n = run.shape[0] - m + 1
        sm = run[:n].copy()
        for j in range(1, m):
            sm += run[j:j + n]
        sm /= m  # (n, bins) moving average over SMOOTH_FRAMES frames
        # A window that holds a frame of digital silence (a dropout's edge) is not a floor either.
        silent = run.sum(axis=1) < _SILENT_FRAME
        if silent.any():
            hit = np.convolve(silent.astype(np.float64), np.ones(m), mode="valid") > 0
            sm[hit] = 0.0
        band = np.add.reduceat(sm, self.band_lo, axis=1) / self._width
        db = 10.0 * np.log10(np.maximum(band, 1e-300))
        idx = np.clip(((db - DB_LO) / DB_STEP).astype(np.int64), 0, DB_BINS - 1) + self._offsets
        self._hist += np.bincount(idx.ravel(), minlength=self._hist.size)
        self._segments(db, sm)

    def _add_low(self, low: np.ndarray, level: np.ndarray) -> None:
        """low (channels, m) low-path samples; level (m,) the main path's power at each."""
        buf = np.concatenate([self._low_buf, low], axis=1)
        while buf.shape[1] >= self._low_len:
            self._low_segment(buf[:, : self._low_len], record=True)
            buf = buf[:, self._low_len:]
        self._low_buf = buf
        buf = np.concatenate([self._sub_buf, low], axis=1)
        lev = np.concatenate([self._sub_level, level])
        while buf.shape[1] >= self._sub_len:
            pw, dpw = self._low_segment(buf[:, : self._sub_len], record=False, slope=True)
            prog = float(lev[: self._sub_len].mean())
            self._sub_sq += (pw, dpw)
            if pw > 0 and prog > 0:
                a, b = 10 * math.log10(pw), 10 * math.log10(prog)
                self._sub_stats += (1.0, a, a * a, b, b * b, a * b)
            buf, lev = buf[:, self._sub_len:], lev[self._sub_len:]
        self._sub_buf, self._sub_level = buf, lev

    def low_spread_db(self) -> float | None:
        """Standard deviation (dB) of the low band's power over LOW_SUB_S pieces; None below three."""
        n, sa, saa = self._sub_stats[:3]
        return float(math.sqrt(max(saa - sa * sa / n, 0.0) / (n - 1))) if n >= 3 else None

    def low_follows_programme(self) -> float | None:
        """Correlation over LOW_SUB_S pieces between the low band's level and the programme's (dB):
        near 0 for rumble and noise, near 1 for low-frequency bursts the programme makes itself
        (asymmetric clipping of loud syllables). None below three pieces."""
        n, sa, saa, sb, sbb, sab = self._sub_stats
        if n < 3:
            return None
        va, vb = saa - sa * sa / n, sbb - sb * sb / n
        if va <= 1e-9 or vb <= 1e-9:
            return 0.0
        return float((sab - sa * sb / n) / math.sqrt(va * vb))

    def low_frequency_hz(self) -> float | None:
        """RMS frequency of the low band over the LOW_SUB_S pieces (from the power of its first
        difference): brown noise and rumble sit low (a few Hz), bursts that follow the programme
        (asymmetric clipping, a click's tail) spread up to LOW_HZ. None before a piece."""
        pw, dpw = self._sub_sq
        if pw <= 0:
            return None
        ratio = min(dpw / pw / 4.0, 1.0)  # = sin^2(pi f / rate) for a tone at f
        return float(self.low_rate / math.pi * math.asin(math.sqrt(ratio)))

    def _low_segment(self, seg: np.ndarray, record: bool, slope: bool = False):
        """Power (summed over channels) of one low-path segment about its least-squares line (and
        with slope=True, also that of the residual's first difference)."""
        t = np.linspace(-1.0, 1.0, seg.shape[1])
        basis = np.stack([np.ones_like(t), t]) / np.sqrt([[t.size], [np.sum(t * t)]])
        resid = seg - (seg @ basis.T) @ basis
        pw = float(np.mean(resid**2, axis=1).sum())
        if slope:
            return pw, float(np.mean(np.diff(resid, axis=1) ** 2, axis=1).sum())
        if record:
            self._low_sum += pw
            self._low_count += 1
            i = int(np.clip((10 * math.log10(max(pw, 1e-300)) - DB_LO) / DB_STEP, 0, DB_BINS - 1))
            self._low_hist[i] += 1
        return pw

    def low_power(self) -> tuple[float, float]:
        """(mean, median) power below LOW_HZ over the low-path segments (FS^2 summed over channels);
        a last partial segment of at least LOW_SUB_S counts. (0, 0) for a shorter input."""
        hist, total, count = self._low_hist.copy(), self._low_sum, self._low_count
        if self._low_buf.shape[1] >= max(4, self._sub_len):  # a short file: its one partial segment
            pw = self._low_segment(self._low_buf, record=False)
            hist[int(np.clip((10 * math.log10(max(pw, 1e-300)) - DB_LO) / DB_STEP, 0, DB_BINS - 1))] += 1
            total, count = total + pw, count + 1
        if count == 0:
            return 0.0, 0.0
        total = float(total)
        cdf = np.cumsum(hist)
        i = int(np.searchsorted(cdf, 0.5 * count))
        median = 10 ** ((DB_LO + DB_STEP * (i + 0.5)) / 10) if i > 0 else 0.0
        return total / count, float(median)

    def _segments(self, db: np.ndarray, sm: np.ndarray) -> None:
        """Fold smoothed frames, bands in dB (n, bands) and bins (n, bins), into per-segment minima.
        Digital silence (a dropout, a gap) is no floor: it is left out of the minima."""
        silent_db, silent = DB_LO + DB_STEP, 10 ** ((DB_LO + DB_STEP) / 10)
        pos = 0
        while pos < db.shape[0]:
            take = min(self._seg_len - self._seg_n, db.shape[0] - pos)
            part, bins = db[pos:pos + take], sm[pos:pos + take]
            self._seg_min = np.minimum(self._seg_min, np.where(part > silent_db, part, np.inf).min(axis=0))
            self._bin_min = np.minimum(self._bin_min, np.where(bins > silent, bins, np.inf).min(axis=0))
            self._seg_n += take
            pos += take
            if self._seg_n == self._seg_len:
                self._close_segment()

    def _close_segment(self) -> None:
        v, vb = self._seg_min, self._bin_min
        self._seg_min = np.full(self.bands, np.inf)
        self._bin_min = np.full(self.bins, np.inf)
        self._seg_n = 0
        if np.all(np.isfinite(vb[1:])):
            self._bin_log += np.log10(vb)
            self._bin_segs += 1
        if not np.all(np.isfinite(v)):
            return  # a segment of silence in some band: it says nothing about a floor there
        n, mean, m2 = self._seg_stats
        n += 1
        delta = v - mean
        mean += delta / n
        m2 += delta * (v - mean)

    def min_spectrum_db(self) -> np.ndarray | None:
        """(bins,) per-bin mean over segments of the segment's minimum smoothed PSD, in dB (not
        bias-corrected: for shape, e.g. whether the floor has lines); None before one segment."""
        if self._bin_segs:
            return 10 * self._bin_log / self._bin_segs
        if np.all(np.isfinite(self._bin_min[1:])):
            return 10 * np.log10(self._bin_min)
        return None

    def segment_spread_db(self) -> tuple[np.ndarray, int]:
        """(bands,) standard deviation over segments of each segment's minimum (dB), and the number
        of segments (a last partial segment of at least half the length counts)."""
        n, mean, m2 = self._seg_stats.copy()
        if self._seg_n >= self._seg_len // 2 and np.all(np.isfinite(self._seg_min)):
            v = self._seg_min
            n = n + 1
            delta = v - mean
            mean = mean + delta / n
            m2 = m2 + delta * (v - mean)
        count = int(n[0]) if n.size else 0
        return (np.sqrt(m2 / np.maximum(n - 1, 1)) if count > 1 else np.full(self.bands, np.nan)), count

    @property
    def power(self) -> float:
        """Mean square per sample summed over channels, from the long-term spectrum (DC left out)."""
        return float(self.ltas()[1:].sum() * self.sample_rate / self.nfft)

    @property
    def frames(self) -> int:
        return self._frames

    def ltas(self) -> np.ndarray:
        return self._ltas / self._frames if self._frames else np.zeros(self.bins)

    def histogram(self) -> np.ndarray:
        """(bands, DB_BINS) counts; column 0 holds digital silence (below DB_LO + DB_STEP)."""
        return self._hist.reshape(self.bands, DB_BINS)

    def quantile_db(self, q: float | np.ndarray) -> np.ndarray:
        """Per-band q-quantile (dB re FS^2/Hz) of the smoothed PSD over the frames that are not
        digital silence (linear within a histogram bin); -inf where a band never rose above it.
        q: a float, or (k,) quantiles giving (k, bands)."""
        h = self.histogram()[:, 1:].astype(np.float64)
        total = h.sum(axis=1)
        cdf = np.cumsum(h, axis=1)
        qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
        rows = np.arange(self.bands)
        out = np.empty((qs.size, self.bands))
        for j, qq in enumerate(qs):
            target = qq * total
            i = np.minimum((cdf < target[:, None]).sum(axis=1), h.shape[1] - 1)
            below = np.where(i > 0, cdf[rows, i - 1], 0.0)
            inside = h[rows, i]
            frac = np.clip((target - below) / np.maximum(inside, 1e-12), 0.0, 1.0)
            out[j] = np.where(total > 0, DB_LO + DB_STEP * (1 + i + frac), -np.inf)
        return out if np.ndim(q) else out[0]

    def dof(self, channels: float = 1.0) -> np.ndarray:
        return equivalent_dof(self._width, channels)

    def floor(self, q: float = FLOOR_QUANTILE, channels: float = 1.0) -> np.ndarray:
        """Noise PSD per band (FS^2/Hz summed over channels): the q-quantile over the bias of
        stationary noise's q-quantile (noise of `channels` independent channels); 0 in silence."""
        return 10 ** (self.quantile_db(q) / 10) / quantile_bias(q, self.dof(channels))
