"""Per-file restoration measures against the clean reference.

All take (channels, frames) float arrays at the same rate and length. Speech measures (PESQ, STOI)
run on the mono mix resampled to 16 kHz, the rate wideband PESQ is defined at.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly, stft, welch

from acetate.ops.measures import si_sdr as _si_sdr

SI_SDR_CAP = 100.0  # an untouched file is "infinitely" similar; cap so means stay finite


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    value = _si_sdr(reference, estimate)
    return min(value, SI_SDR_CAP) if math.isfinite(value) else SI_SDR_CAP


def level_change_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Output level relative to the reference's (RMS, dB): denoisers that also turn music down show here."""
    r = float(np.sqrt(np.mean(np.square(reference, dtype=np.float64))))
    e = float(np.sqrt(np.mean(np.square(estimate, dtype=np.float64))))
    return 20 * math.log10(max(e, 1e-12) / max(r, 1e-12))


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Mean over frames of the RMS difference of log power spectra (dB), 2048-point frames."""
    def logspec(x: np.ndarray) -> np.ndarray:
        _, _, z = stft(x.astype(np.float64), fs=sample_rate, nperseg=2048, noverlap=1536, axis=-1)
        return 10 * np.log10(np.abs(z) ** 2 + 1e-10)

    diff = logspec(reference) - logspec(estimate)  # (channels, freqs, frames)
    return float(np.mean(np.sqrt(np.mean(diff**2, axis=-2))))


def subsonic_db(x: np.ndarray, sample_rate: int) -> float:
    """Power between 1 and 20 Hz over the power above it (dB, loudest channel; Welch, 4 s Hann
    segments with the linear trend removed, so a DC offset does not count)."""
    f, p = welch(x.astype(np.float64), fs=sample_rate, nperseg=min(x.shape[-1], 4 * sample_rate),
                 detrend="linear", axis=-1)
    sub = p[..., (f >= 1.0) & (f <= 20.0)].sum(axis=-1)
    rest = p[..., f > 20.0].sum(axis=-1)
    return float(np.max(10 * np.log10(np.maximum(sub, 1e-30) / np.maximum(rest, 1e-30))))


def _mono16k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    mono = x.mean(axis=0).astype(np.float64)
    if sample_rate == 16000:
        return mono
    ratio = Fraction(16000, sample_rate).limit_denominator(1000)
    return resample_poly(mono, ratio.numerator, ratio.denominator)


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float | None:
    """Wideband PESQ (ITU-T P.862.2); None where PESQ cannot judge (no speech found)."""
    from pesq import pesq

    try:
        return float(pesq(16000, _mono16k(reference, sample_rate), _mono16k(estimate, sample_rate), "wb"))
    except Exception:  # pesq raises on silent or too-short input: no figure rather than a fake one
        return None


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    from pystoi import stoi as _stoi

    return float(_stoi(_mono16k(reference, sample_rate), _mono16k(estimate, sample_rate), 16000, extended=False))


def residual_clicks_per_min(clean: np.ndarray, degraded: np.ndarray, restored: np.ndarray,
                            regions: list[list[float]], sample_rate: int) -> float:
    """Labelled clicks still there after restoration, per minute.

    A click counts as remaining when the error it left in its region is more than a third of the
    error it caused (less than about 10 dB of reduction).
    """
    remaining = 0
    for start_s, end_s in regions:
        a = max(0, int(start_s * sample_rate) - 2)
        b = min(clean.shape[-1], int(math.ceil(end_s * sample_rate)) + 2)
        caused = np.max(np.abs(degraded[:, a:b] - clean[:, a:b]), initial=0.0)
        left = np.max(np.abs(restored[:, a:b] - clean[:, a:b]), initial=0.0)
        if caused > 0 and left > caused / 3:
            remaining += 1
    minutes = clean.shape[-1] / sample_rate / 60
    return remaining / minutes if minutes > 0 else 0.0


def residual_dc(restored: np.ndarray, clean: np.ndarray) -> float:
    """Largest per-channel offset left relative to the clean reference (fraction of full scale)."""
    return float(np.max(np.abs(restored.mean(axis=-1) - clean.mean(axis=-1))))
