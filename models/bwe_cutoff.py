"""Where the bandwidth extension may start: the detector's cut-off checked against the input itself.

The detector (ops/bandwidth.py) reports the fall's -10 dB point turned into a -3 dB cut-off; on a
programme whose own spectrum tilts down (most music, dark voices) that lands below the true edge, in
a band the input still fills, and rebuilding there adds a second copy on top of real content (with
the DSP-detected cut-off model version 3 was 0.7 dB worse than the input on 44.1/48 kHz music of the
validation split). Moving the start up costs little (the band between is left as the input has it)
and moving it down costs a lot, so the cut-off is only ever raised, to the input's own edge: the
first band, from 1/6 octave under the told cut-off up, where the input's long-term spectrum (Welch,
1/12-octave bands) starts to fall SLOPE_DB per 1/6 octave (36 dB/octave, the slope the DSP detector
takes for a filter) and keeps falling that steeply for DEPTH_DB (a programme's own roll-off bends
gently, a filter's stop band does not). A cut-off told inside such a fall is kept; one told above
a fall that starts lower (the top is dead from there) is kept too; with no such fall under
MAX_FRACTION x the rate, nothing is rebuilt (None). SLOPE_DB and DEPTH_DB were chosen on the
validation split (the model card gives the figures), never on the test split.
Reference: the slope criterion of ops/bandwidth.py (a filter's stop band, not a programme's tilt).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

SLOPE_DB = 6.0  # per 1/6 octave (36 dB/octave, the DSP detector's filter slope): a stop band, not a programme's tilt
DEPTH_DB = 25.0  # ... without a break for this many dB: the top is dead, not just darker
_RANGE_DB = 80.0  # an edge lies within this of the loudest band (not in a stop band's own ripple)
MAX_FRACTION = 0.46  # a dead top must start under this x the rate (0.92 x Nyquist)
_NPERSEG = 2048
_BANDS_PER_OCTAVE = 12
_BLOCK_S = 30.0


def long_term_spectrum(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """audio: (channels, frames) -> (band centres Hz, dB power) on 1/12-octave bands from 100 Hz to
    Nyquist, the Welch mean over frames and channels (loud frames dominate a power mean), taken in
    _BLOCK_S pieces so a long file needs bounded memory."""
    block = int(_BLOCK_S * sample_rate)
    nper = min(_NPERSEG, audio.shape[-1])
    p, weight = 0.0, 0
    for start in range(0, audio.shape[-1], block):
        piece = audio[:, start:start + block]
        if piece.shape[-1] < nper:
            continue
        f, q = welch(piece.astype(np.float64), fs=sample_rate, nperseg=nper, axis=-1)
        p, weight = p + q.mean(axis=0) * piece.shape[-1], weight + piece.shape[-1]
    p = p / weight
    edges = 100.0 * 2.0 ** (np.arange(0, np.log2(sample_rate / 2 / 100.0) * _BANDS_PER_OCTAVE + 1) / _BANDS_PER_OCTAVE)
    idx = np.digitize(f, edges) - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    total = np.bincount(idx[ok], weights=p[ok], minlength=edges.size - 1)
    count = np.bincount(idx[ok], minlength=edges.size - 1)
    keep = count > 0
    centres = np.sqrt(edges[:-1] * edges[1:])[keep]
    return centres, 10 * np.log10(total[keep] / count[keep] + 1e-30)


def refine_cutoff(audio: np.ndarray, sample_rate: int, cutoff_hz: float, slope_db: float = SLOPE_DB,
                  depth_db: float = DEPTH_DB) -> float | None:
    """The cut-off to rebuild from: max(cutoff_hz, the input's edge), or None when the input has no
    edge (see the module docstring). audio: (channels, frames)."""
    if audio.shape[-1] < 256:
        return None
    freqs, db = long_term_spectrum(audio, sample_rate)
    ok = freqs < 0.49 * sample_rate
    freqs, db = freqs[ok], db[ok]
    n, step = freqs.size, _BANDS_PER_OCTAVE // 6
    if n < 2 * step + 1:
        return None
    fall = np.full(n, -np.inf)
    fall[:-step] = db[:-step] - db[step:]  # dB lost over the next 1/6 octave
    steep = fall >= slope_db
    # where each steep run ends, scanning down: the descent from band k reaches db[end[k]]
    end = np.arange(n)
    for k in range(n - 2, -1, -1):
        if steep[k]:
            end[k] = end[k + 1] if steep[k + 1] else min(k + step, n - 1)
    # a steep run's first band at or above the told cut-off (less 1/6 octave), or the run it is told
    # inside; failing that, an edge under it (the top is dead from the told cut-off up: kept as told)
    idx = np.arange(n)
    first = int(np.searchsorted(freqs, cutoff_hz * 2 ** (-1 / 6)))
    edges = steep & (db >= db.max() - _RANGE_DB) & (db - db[end] >= depth_db)
    began = ~np.concatenate([[False], steep[:-1]])
    above = np.flatnonzero(edges & (began | (idx == first)) & (idx >= first))
    if above.size == 0:
        below = edges & began & (idx < first) & (freqs >= cutoff_hz / 2)
        return float(cutoff_hz) if below.any() and cutoff_hz < MAX_FRACTION * sample_rate else None
    edge = float(freqs[above[0]]) * 2 ** (1 / _BANDS_PER_OCTAVE)  # the middle of the first steep 1/6 octave
    if edge >= MAX_FRACTION * sample_rate:
        return None
    return max(float(cutoff_hz), edge)
