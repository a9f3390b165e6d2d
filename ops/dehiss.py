"""Broadband de-hiss, the DSP baseline for `noise`: restorer `dehiss`.

A short-time spectral gain against the noise floor the `noise` detector measured over the whole
file (minimum statistics, `noise_floor`): the floor is known before the first frame, so the gain
needs no warm-up and a block of a long file is processed exactly as the whole file would be.

The a priori SNR of each time-frequency cell is the a posteriori SNR smoothed over a few frames
and bins on both sides, less an over-subtraction margin (a non-causal form of the decision-directed
estimate: it has the same effect, a noise-only cell's estimate stays near zero instead of
fluctuating, so no isolated cells pass as "musical noise", and it needs no frame-by-frame loop).
The gain is Wiener's, held above a floor so the programme keeps its ambience and the residual
noise keeps its character, and shared by the channels so the stereo image does not wander.

Frames are 40 ms Hann windows every 10 ms (Hann synthesis: exact reconstruction where the gain
is 1), on a grid of 10 ms steps from the block's first sample: when a long file's
blocks and their context are whole multiples of 10 ms (20 ms at 22.05 kHz), the blocks line up
with the whole-file grid and the result is the same sample for sample.

References: Y. Ephraim and D. Malah, "Speech enhancement using a minimum mean-square error
short-time spectral amplitude estimator", IEEE Trans. ASSP 32 (1984) (decision-directed a priori
SNR); P. Scalart and J. Vieira Filho, "Speech enhancement based on a priori signal to noise
estimation", ICASSP 1996 (Wiener gain on the a priori SNR); C. Plapous, C. Marro and P. Scalart,
"Improved signal-to-noise ratio estimation for speech enhancement", IEEE Trans. ASLP 14 (2006)
(a non-causal refinement of the a priori SNR); R. Martin (2001) for the floor, see `noise_floor`.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import signal
from scipy.ndimage import uniform_filter1d

from .findings import Finding
from .registry import Restorer, register_restorer

FRAME_HOPS = 4  # frame = 4 hops (40 ms, 75 % overlap; Hann^2 sums to a constant for 3 or more). 6 hops
# gained 0.1 dB SI-SDR on validation clips at half the speed (68x against 129x real time, 44.1 kHz stereo)
SMOOTH_FRAMES = 5  # a priori SNR: moving average over this many frames (centred)
SMOOTH_BINS = 1  # ... and bins (none: smoothing across bins lost 0.2 dB on validation clips)
GAIN_FRAMES = 3  # the gain itself, lightly smoothed over time
DEFAULT_FLOOR_DB = -20.0
DEFAULT_STRENGTH = 2.0  # over-subtraction: on validation clips 2 beat 1.5 by 0.2 dB SI-SDR and 1 by 1 dB
LOW_FLOOR_DB = -40.0  # below the lowest band (rumble, brown noise's wander) no programme needs keeping
LOW_SPLIT_S = 0.25  # length of the zero-phase FIR that splits off the band below low_hz
CONTEXT_S = 0.4  # > half that FIR, a frame and the smoothing reach (6 hops); a multiple of 10 ms


def hop_length(sample_rate: int) -> int:
    """10 ms in samples where that is whole (16, 32, 44.1, 48, 96 kHz ...), else 20 or 40 ms."""
    for step in (100, 50, 25):
        if sample_rate % step == 0:
            return sample_rate // step
    return max(1, int(round(0.01 * sample_rate)))


def noise_psd(freqs: np.ndarray, floor_hz: list[float], floor_db: list[float]) -> np.ndarray:
    """Noise PSD (FS^2/Hz, one channel) at `freqs`, interpolated linearly in dB over log frequency
    from the detector's grid (held constant beyond its ends)."""
    fz = np.asarray(floor_hz, dtype=np.float64)
    db = np.asarray(floor_db, dtype=np.float64)
    if fz.size == 0:
        return np.zeros(freqs.shape)
    return 10 ** (np.interp(np.log(np.maximum(freqs, 1e-3)), np.log(fz), db) / 10)


def _moving_mean(x: np.ndarray, m: int) -> np.ndarray:
    """Centred moving average over axis 0 (odd m), edges held: contiguous slices, no strided pass."""
    h = m // 2
    p = np.concatenate([np.repeat(x[:1], h, axis=0), x, np.repeat(x[-1:], h, axis=0)])
    out = p[: x.shape[0]].copy()
    for j in range(1, m):
        out += p[j:j + x.shape[0]]
    out /= m
    return out


def dehiss(audio: np.ndarray, sample_rate: int, *, floor_hz: list[float], floor_db: list[float],
           low_hz: float | None = None, low_db: float | None = None, strength: float = DEFAULT_STRENGTH,
           gain_floor_db: float = DEFAULT_FLOOR_DB) -> np.ndarray:
    """Reduce stationary broadband noise of a known floor with a smoothed Wiener gain.

    audio: (channels, frames) float32. Returns the same shape, float32, time-aligned.
    floor_hz, floor_db: the noise PSD per channel (dB re FS^2/Hz) on a frequency grid, as the
    `noise` detector reports it; low_hz, low_db: the noise's power below low_hz (dB re FS^2 per
    channel: rumble, brown noise's slow wander), taken down to LOW_FLOOR_DB where it dominates.
    strength: over-subtraction (1 = the floor as measured; the default 2 takes out the noise's
    fluctuation above its mean too); gain_floor_db: the least gain (the default -20 dB; -12 dB
    keeps more of a music recording's ambience and its noise's character).
    """
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if low_hz is not None and low_db is not None and x.shape[1]:
        # Below low_hz (rumble, a slow wander) there is no programme to keep: that band is split
        # off with a linear-phase FIR and taken down to LOW_FLOOR_DB. Left in, a wander's slope
        # within a frame would leak into the bins above, where the floor is far lower.
        low = _lowpass(x, sample_rate, float(low_hz))
        rest = _spectral_gain(x - low, sample_rate, floor_hz, floor_db, strength, gain_floor_db)
        return (rest + np.float32(10 ** (LOW_FLOOR_DB / 20)) * low).astype(np.float32)
    return _spectral_gain(x, sample_rate, floor_hz, floor_db, strength, gain_floor_db)


def _lowpass(x: np.ndarray, sample_rate: int, cutoff: float) -> np.ndarray:
    """Zero-phase (symmetric FIR, Kaiser window, LOW_SPLIT_S long) low-pass of x along its last axis."""
    taps = int(LOW_SPLIT_S * sample_rate) | 1
    h = signal.firwin(taps, cutoff, fs=sample_rate, window=("kaiser", 8.0)).astype(np.float32)
    return signal.oaconvolve(x, h[None, :], mode="same", axes=1).astype(np.float32)


def _spectral_gain(x: np.ndarray, sample_rate: int, floor_hz: list[float], floor_db: list[float],
                   strength: float, gain_floor_db: float) -> np.ndarray:
    """The STFT part of `dehiss` on (channels, frames) float32."""
    channels, n = x.shape
    hop = hop_length(sample_rate)
    frame = FRAME_HOPS * hop
    if n == 0:
        return x.copy()
    nfft = sfft.next_fast_len(frame, real=True)
    w = signal.windows.hann(frame, sym=False).astype(np.float32)
    # Frames start at -(FRAME_HOPS - 1) hops so that every sample is covered by FRAME_HOPS frames.
    pad_l = frame - hop
    total = pad_l + n + frame
    total += (-total) % hop
    xp = np.zeros((channels, total), dtype=np.float32)
    xp[:, pad_l:pad_l + n] = x
    starts = np.arange(0, total - frame + 1, hop)
    frames = np.lib.stride_tricks.sliding_window_view(xp, frame, axis=1)[:, ::hop] * w  # (channels, T, frame)
    spec = sfft.rfft(frames, n=nfft, axis=2)  # (channels, T, K)
    del frames
    freqs = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    lam = noise_psd(freqs, floor_hz, floor_db) * sample_rate * float(np.sum(w * w)) / 2
    power = (spec.real**2 + spec.imag**2).mean(axis=0)  # (T, K) joint over channels
    gamma = power / np.maximum(lam, 1e-30)[None, :].astype(np.float32)
    smooth = uniform_filter1d(_moving_mean(gamma, SMOOTH_FRAMES), SMOOTH_BINS, axis=1, mode="nearest")
    xi = np.maximum(smooth - float(strength), 0.0)
    gain = xi / (xi + 1.0)
    gain = _moving_mean(gain, GAIN_FRAMES)
    gain = np.maximum(gain, np.float32(10 ** (gain_floor_db / 20)))
    spec *= gain[None]
    frames_out = sfft.irfft(spec, n=nfft, axis=2)
    del spec
    frames_out = frames_out[:, :, :frame] if nfft != frame else frames_out
    frames_out *= w
    out = np.zeros((channels, total), dtype=np.float32)
    for j in range(FRAME_HOPS):  # overlap-add, one vectorised pass per hop offset
        seg = frames_out[:, j::FRAME_HOPS]
        k = seg.shape[1]
        if k:
            s0 = starts[j]
            out[:, s0:s0 + k * frame] += seg.reshape(channels, -1)
    norm = np.float32(np.sum(w.astype(np.float64) ** 2) / hop)  # Hann^2 overlapped FRAME_HOPS times: constant
    return out[:, pad_l:pad_l + n] / norm


def _params(finding: Finding, sample_rate: int) -> dict:
    p = finding.params
    out = {"floor_hz": [float(v) for v in p["floor_hz"]], "floor_db": [float(v) for v in p["floor_db"]]}
    if p.get("low_db") is not None:
        out.update(low_hz=float(p["low_hz"]), low_db=float(p["low_db"]))
    return out


register_restorer(Restorer("dehiss", "noise", dehiss, _params, context_s=CONTEXT_S, version="1"))
