"""Simulated subsonic rumble, with ground truth.

Two parts, as a turntable transfer has them:
- bearing and motor rumble: noise shaped like a log-normal bump centred at `centre_hz` (8-16 Hz,
  half a natural-log unit wide, so most of it lies below 20 Hz and a tail reaches 30-40 Hz), its
  level modulated by about +-2 dB once per revolution;
- warp: a warped or eccentric disc moves the stylus at the rotation rate (33 1/3 rpm = 0.556 Hz,
  45 rpm = 0.75 Hz, 78 rpm = 1.3 Hz) and its first few harmonics; `warp_share` of the rumble's
  power is there.
Rumble is mostly vertical groove motion, which a stereo pickup turns into opposite signals on the
two channels: channel 2 is `rho` x channel 1 plus independent rumble, rho drawn in [-0.9, 0.3].
level_db: the rumble's power relative to the signal's (all channels), unweighted.
"""

from __future__ import annotations

import numpy as np

from ._degrade_util import Label, as2d, like, power

RPM_HZ = {33.33: 0.5556, 45.0: 0.75, 78.0: 1.3}


def _bump(frames: int, sample_rate: int, centre_hz: float, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(frames))
    f = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    with np.errstate(divide="ignore"):
        gain = np.exp(-0.25 * (np.log(np.maximum(f, 1e-9) / centre_hz) / 0.5) ** 2)  # amplitude: power has sigma 0.5
    gain[0] = 0.0
    y = np.fft.irfft(spec * gain, n=frames)
    return y / (np.sqrt(np.mean(y**2)) + 1e-30)


def _warp(frames: int, sample_rate: int, rotation_hz: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(frames) / sample_rate
    y = sum(rng.uniform(0.3, 1.0) / k * np.sin(2 * np.pi * k * rotation_hz * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 5))
    return y / (np.sqrt(np.mean(y**2)) + 1e-30)


def add_rumble(audio: np.ndarray, sample_rate: int, level_db: float = -20.0, centre_hz: float = 12.0,
               rpm: float = 33.33, warp_share: float = 0.2, seed: int = 0) -> tuple[np.ndarray, Label]:
    """audio: (channels, frames) or (frames,); returns the same shape, float32, and the label."""
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    channels, frames = x.shape
    rotation = RPM_HZ.get(round(rpm, 2), rpm / 60.0)
    rho = float(rng.uniform(-0.9, 0.3))
    parts = []
    for _ in range(min(channels, 2)):
        t = np.arange(frames) / sample_rate
        swing = 10 ** (2.0 * np.sin(2 * np.pi * rotation * t + rng.uniform(0, 2 * np.pi)) / 20)
        r = np.sqrt(1 - warp_share) * _bump(frames, sample_rate, centre_hz, rng) * swing
        parts.append(r + np.sqrt(warp_share) * _warp(frames, sample_rate, rotation, rng) if frames else r)
    rumble = np.zeros((channels, frames))
    rumble[0] = parts[0]
    if channels > 1:
        rumble[1] = rho * parts[0] + np.sqrt(1 - rho**2) * parts[1]
        rumble[2:] = parts[0]  # more than two channels: the rest carry the first's
    p_sig, p_r = power(x), power(rumble)
    gain = np.sqrt(p_sig * 10 ** (level_db / 10) / p_r) if p_sig > 0 and p_r > 0 else 0.0
    y = (x + gain * rumble).astype(np.float32)
    label = {"kind": "rumble", "params": {"level_db": level_db, "centre_hz": centre_hz, "rpm": rpm,
                                          "warp_share": warp_share, "rho": rho}, "regions": []}
    return like(y, audio), label
