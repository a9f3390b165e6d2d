"""Simulated broadband noise and mains hum, with ground truth.

Noise colours:
- white, pink (~1/f power), brown (~1/f^2): the textbook references;
- tape_hiss: white noise through a rising shelf (+10 dB above ~3 kHz, first order, centred where
  the hiss of analogue tape is heard) whose level wanders slowly by about +-0.5 dB (tape
  formulation and bias vary along the reel);
- surface: the roar of a played disc without its clicks: pinkish noise low-passed near 4 kHz,
  high-passed at 20 Hz, plus turntable rumble at 10-40 Hz, its level modulated once per
  revolution (78 rpm = 1.3 Hz, 33 1/3 rpm = 0.556 Hz) by about +-2 dB, as an eccentric or warped
  disc does.

Stereo noise is partly correlated: each channel is sqrt(rho) * common + sqrt(1 - rho) * own, so
the channels' correlation is about rho (default per colour in `NOISE_CORRELATION`: separate tape
tracks share little, both walls of one groove share most). Level modulation is common to all
channels.
"""

from __future__ import annotations

import numpy as np

from ._degrade_util import Label, as2d, like, power

NOISE_COLORS: tuple[str, ...] = ("white", "pink", "brown", "tape_hiss", "surface")
NOISE_CORRELATION: dict[str, float] = {"white": 0.5, "pink": 0.5, "brown": 0.5, "tape_hiss": 0.2,
                                       "surface": 0.8}
HISS_SHELF_HZ = 3000.0
HISS_SHELF_DB = 10.0
SURFACE_LOWPASS_HZ = 4000.0


def _shaped(frames: int, color: str, rng: np.random.Generator, sample_rate: int,
            expected: bool = False) -> np.ndarray:
    """Stationary noise of one colour (unit power except white, which is N(0, 1) as drawn).

    Unit power as drawn, or in expectation if `expected`: the few lowest bins that dominate a
    brown realisation's power then do not decide how loud it is against another draw.
    """
    white = rng.standard_normal(frames)
    if color == "white" or frames < 2:
        return white
    spec = np.fft.rfft(white)
    if color in ("pink", "brown"):
        slope = {"pink": 0.5, "brown": 1.0}[color]  # amplitude exponent
        f = np.arange(spec.size, dtype=np.float64)
        f[0] = 1.0
        spec[0] = 0.0  # no DC: the noise's power is all in its fluctuation
        gain2 = 1.0 / f ** (2 * slope)
        noise = np.fft.irfft(spec / f**slope, n=frames)
    else:
        f = np.fft.rfftfreq(frames, 1.0 / sample_rate)
        if color == "tape_hiss":
            r = (f / HISS_SHELF_HZ) ** 2
            gain2 = 1.0 + (10 ** (HISS_SHELF_DB / 10) - 1.0) * r / (1.0 + r)
        elif color == "surface":
            hp = (f / 20.0) ** 4 / (1.0 + (f / 20.0) ** 4)
            roar = 1.0 / (1.0 + f / 300.0) / (1.0 + (f / SURFACE_LOWPASS_HZ) ** 4) * hp
            with np.errstate(divide="ignore"):
                rumble = 5.0 * np.exp(-0.5 * (np.log(np.maximum(f, 1e-9) / 20.0) / 0.45) ** 2)
            gain2 = roar + rumble
        else:
            raise ValueError(f"unknown noise colour {color!r}; expected one of {NOISE_COLORS}")
        spec[0] = 0.0
        noise = np.fft.irfft(spec * np.sqrt(gain2), n=frames)
    if expected:
        return noise / np.sqrt(2.0 / frames * float(np.sum(gain2[1:])) + 1e-30)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-30)


def _envelope(frames: int, color: str, rng: np.random.Generator, sample_rate: int,
              rpm: float) -> np.ndarray | None:
    """Slow level modulation shared by all channels (None for the stationary colours)."""
    t = np.arange(frames) / sample_rate
    if color == "tape_hiss":
        rates = rng.uniform(0.1, 2.0, 3)
        phases = rng.uniform(0, 2 * np.pi, 3)
        wander = sum(np.sin(2 * np.pi * r * t + p) for r, p in zip(rates, phases, strict=True)) / 3
        return 1.0 + 0.06 * wander  # about +-0.5 dB
    if color == "surface":
        rev = rpm / 60.0
        p1, p2 = rng.uniform(0, 2 * np.pi, 2)
        return 1.0 + 0.2 * np.cos(2 * np.pi * rev * t + p1) + 0.06 * np.cos(4 * np.pi * rev * t + p2)
    return None


def colored_noise(frames: int, color: str = "white", rng: np.random.Generator | None = None, *,
                  sample_rate: int = 44100, rpm: float = 78.0) -> np.ndarray:
    """One channel of noise: (frames,) float64, unit power (white: N(0, 1) as drawn).

    color: white | pink (~1/f) | brown (~1/f^2) | tape_hiss | surface (see the module docstring);
    sample_rate places the hiss shelf and the surface roar in Hz; rpm sets the surface noise's
    once-per-revolution modulation.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    noise = _shaped(frames, color, rng, sample_rate)
    env = _envelope(frames, color, rng, sample_rate, rpm)
    if env is None:
        return noise
    noise = noise * env
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-30)


def noise_channels(channels: int, frames: int, color: str, rng: np.random.Generator, sample_rate: int,
                   correlation: float, rpm: float = 78.0) -> np.ndarray:
    """(channels, frames) noise, channels correlated by about `correlation`, unit power overall."""
    stereo = channels > 1
    own = [_shaped(frames, color, rng, sample_rate, expected=stereo) for _ in range(channels)]
    noise = np.stack(own) if own else np.zeros((0, frames))
    if stereo and correlation > 0:
        rho = min(1.0, float(correlation))
        common = _shaped(frames, color, rng, sample_rate, expected=True)
        noise = np.sqrt(rho) * common[None, :] + np.sqrt(1.0 - rho) * noise
    env = _envelope(frames, color, rng, sample_rate, rpm)
    if env is not None:
        noise = noise * env[None, :]
    return noise


def add_noise(audio: np.ndarray, sample_rate: int, snr_db: float, color: str = "white", seed: int = 0,
              *, correlation: float | None = None, rpm: float = 78.0) -> tuple[np.ndarray, Label]:
    """Add broadband noise at `snr_db` (signal power over noise power, all channels together).

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32.
    color: one of NOISE_COLORS. correlation: between channels (None: NOISE_CORRELATION[color]).
    rpm: revolutions per minute of the surface noise's modulation (78 or 33.33).
    A mono signal gets the same noise for a seed as before stereo noise was correlated.
    """
    if color not in NOISE_COLORS:
        raise ValueError(f"unknown noise colour {color!r}; expected one of {NOISE_COLORS}")
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    rho = NOISE_CORRELATION[color] if correlation is None else float(correlation)
    noise = noise_channels(x.shape[0], x.shape[1], color, rng, sample_rate, rho, rpm)
    noise *= np.sqrt(power(x) * 10 ** (-snr_db / 10) / max(float(np.mean(noise**2)) if noise.size else 0.0,
                                                          1e-30))
    y = (x + noise).astype(np.float32)
    params = {"snr_db": snr_db, "color": color, "correlation": rho}
    if color == "surface":
        params["rpm"] = rpm
    return like(y, audio), {"kind": "noise", "params": params, "regions": []}


def add_hum(audio: np.ndarray, sample_rate: int, fundamental: float = 50.0, level_db: float = -30.0,
            harmonics: int | list[int] = 5, drift_hz: float = 0.0, drift_period_s: float = 20.0,
            seed: int = 0) -> tuple[np.ndarray, Label]:
    """Add mains hum: a fundamental and harmonics (amplitudes falling as 1/k, random phases).

    level_db: hum power relative to the signal's power (all channels). drift_hz: the fundamental
    wanders sinusoidally by +-drift_hz over drift_period_s, as mains frequency does. The hum is
    the same on every channel (one mains supply).
    """
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    ks = list(range(1, harmonics + 1)) if isinstance(harmonics, int) else [int(k) for k in harmonics]
    n = x.shape[1]
    t = np.arange(n) / sample_rate
    f_inst = fundamental + drift_hz * np.sin(2 * np.pi * t / drift_period_s + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f_inst) / sample_rate
    hum = np.zeros(n)
    for k in ks:
        if k * (fundamental + drift_hz) < sample_rate / 2:
            hum += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k
    p_sig = power(x)
    p_hum = float(np.mean(hum**2)) if n else 0.0
    gain = np.sqrt(p_sig * 10 ** (level_db / 10) / p_hum) if p_hum > 0 and p_sig > 0 else 0.0
    y = (x + gain * hum[None, :]).astype(np.float32)
    label = {"kind": "hum", "params": {"fundamental": fundamental, "level_db": level_db, "harmonics": ks,
                                       "drift_hz": drift_hz, "amplitude": float(gain)}, "regions": []}
    return like(y, audio), label
