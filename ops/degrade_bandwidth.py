"""Simulated band limitation with ground truth: a transfer chain or medium that lost the extremes.

Every kind is applied as a real, zero-phase gain curve on the whole signal's spectrum (FFT with
zero padding against wrap-around), so the output stays sample-aligned with the input.

- lowpass: Butterworth-shaped magnitude, 8th order (48 dB/octave), -3 dB at cutoff_hz.
- telephone: brickwall band-pass, 300-3400 Hz by default (ITU-T G.712 voice channel); nothing
  outside the band, raised-cosine edges 15 % (low) and 5 % (high) wide inside it.
- am: AM broadcast and receiver, ~100-4500 Hz: 2nd-order high-pass and 8th-order low-pass shapes.
- 78rpm: acoustic 78 rpm disc, ~80-5000 Hz (3rd-order high-pass, 6th-order low-pass shapes) with
  the resonant colouring of the recording horn: four peaks of +3 to +6 dB, about 0.12 octave wide
  (near 550, 1100, 2300 and 3400 Hz; `seed` moves them by up to +-15 % and +-2 dB).
- mp3: a lossy codec's lowpass, brickwall at cutoff_hz (4-11 kHz at low bit rates) with a
  raised-cosine edge 3 % wide inside it: nothing at all above cutoff_hz.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

from ._degrade_util import Label, as2d, like

BANDWIDTH_KINDS: dict[str, tuple[float | None, float]] = {
    "lowpass": (None, 4000.0), "telephone": (300.0, 3400.0), "am": (100.0, 4500.0),
    "78rpm": (80.0, 5000.0), "mp3": (None, 8000.0),
}
HORN_RESONANCES: tuple[tuple[float, float], ...] = ((550.0, 5.0), (1100.0, 3.0), (2300.0, 6.0), (3400.0, 4.0))


def _butter_lp(f: np.ndarray, fc: float, order: int) -> np.ndarray:
    return 1.0 / np.sqrt(1.0 + (f / fc) ** (2 * order))


def _butter_hp(f: np.ndarray, fc: float, order: int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 1.0 / np.sqrt(1.0 + (fc / np.maximum(f, 1e-12)) ** (2 * order))


def _brick_lp(f: np.ndarray, fc: float, width: float) -> np.ndarray:
    """1 below fc * (1 - width), raised cosine down to 0 at fc, 0 above."""
    f0 = fc * (1 - width)
    g = np.clip((fc - f) / (fc - f0), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * g)


def _brick_hp(f: np.ndarray, fc: float, width: float) -> np.ndarray:
    """0 below fc, raised cosine up to 1 at fc * (1 + width), 1 above."""
    f1 = fc * (1 + width)
    g = np.clip((f - fc) / (f1 - fc), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * g)


def _gain(kind: str, f: np.ndarray, low: float | None, high: float,
          resonances: list[list[float]]) -> np.ndarray:
    if kind == "lowpass":
        g = _butter_lp(f, high, 8)
    elif kind == "mp3":
        g = _brick_lp(f, high, 0.03)
    elif kind == "telephone":
        g = _brick_lp(f, high, 0.05) * (_brick_hp(f, low, 0.15) if low else 1.0)
    elif kind == "am":
        g = _butter_lp(f, high, 8) * (_butter_hp(f, low, 2) if low else 1.0)
    else:  # 78rpm
        g = _butter_lp(f, high, 6) * (_butter_hp(f, low, 3) if low else 1.0)
        with np.errstate(divide="ignore"):
            octaves = np.log2(np.maximum(f, 1e-9))
        db = np.zeros_like(f)
        for fr, gain_db in resonances:
            db += gain_db * np.exp(-0.5 * ((octaves - np.log2(fr)) / 0.12) ** 2)
        g = g * 10 ** (db / 20)
    return g


def limit_bandwidth(audio: np.ndarray, sample_rate: int, cutoff_hz: float | tuple[float, float] | None = None,
                    kind: str = "lowpass", seed: int | None = None) -> tuple[np.ndarray, Label]:
    """Limit the bandwidth as a medium or transfer chain does; zero-phase, sample-aligned.

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32.
    kind: lowpass | telephone | am | 78rpm | mp3 (see the module docstring). cutoff_hz: the upper
    edge, or (low, high) for the band kinds; None takes BANDWIDTH_KINDS[kind]. seed: only for
    78rpm, draws the horn's resonances around HORN_RESONANCES (None: exactly those).
    Label params: kind, cutoff_hz (upper), low_cutoff_hz (None for low-pass kinds), resonances.
    """
    if kind not in BANDWIDTH_KINDS:
        raise ValueError(f"unknown bandwidth kind {kind!r}; expected one of {tuple(BANDWIDTH_KINDS)}")
    low, high = BANDWIDTH_KINDS[kind]
    if cutoff_hz is not None:
        if np.ndim(cutoff_hz) == 0:
            high = float(cutoff_hz)  # type: ignore[arg-type]
        else:
            low, high = (float(c) for c in cutoff_hz)  # type: ignore[union-attr]
    resonances: list[list[float]] = []
    if kind == "78rpm":
        rng = np.random.default_rng(seed) if seed is not None else None
        for fr, gdb in HORN_RESONANCES:
            if rng is not None:
                fr, gdb = fr * rng.uniform(0.85, 1.15), gdb + rng.uniform(-2.0, 2.0)
            resonances.append([float(fr), float(gdb)])
    x = as2d(audio)
    n = x.shape[1]
    y = x.astype(np.float64)
    if n:
        pad = min(n, int(0.25 * sample_rate))
        nfft = sfft.next_fast_len(n + 2 * pad, real=True)
        f = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
        g = _gain(kind, f, low, high, resonances)
        spec = sfft.rfft(np.pad(y, ((0, 0), (pad, 0))), n=nfft, axis=1)
        y = sfft.irfft(spec * g[None, :], n=nfft, axis=1)[:, pad:pad + n]
    params = {"kind": kind, "cutoff_hz": float(high), "low_cutoff_hz": None if low is None else float(low)}
    if resonances:
        params["resonances"] = resonances
    return like(y, audio), {"kind": "bandwidth", "params": params, "regions": []}
