"""Rate-agnostic STFT framing and ERB bands shared by the learned models.

Every model sees the same frequency grid whatever the file's rate: 20 ms windows (10 ms hop) give
50 Hz bins at 16, 22.05, 32, 44.1 and 48 kHz alike, so bin k is always k * 50 Hz. The networks work
on a fixed grid of NET_BINS bins (0-24 kHz); a lower rate leaves the top of the grid empty (marked
invalid), a higher rate's bins above 24 kHz take the top band's treatment. That is how one set of weights
serves 8 to 192 kHz without resampling inside the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

WINDOW_S = 0.02
BIN_HZ = 1.0 / WINDOW_S  # 50 Hz
NET_MAX_HZ = 24000.0
NET_BINS = int(NET_MAX_HZ / BIN_HZ) + 1  # 481


@dataclass(frozen=True)
class Framing:
    """STFT sizes for one sample rate: window = hop * 2 ~ 20 ms, sqrt-Hann analysis and synthesis
    (perfect reconstruction at 50 % overlap), centred frames so output is time-aligned."""

    sample_rate: int
    win: int
    hop: int

    @classmethod
    def for_rate(cls, sample_rate: int) -> Framing:
        hop = max(1, int(round(sample_rate * WINDOW_S / 2)))
        return cls(int(sample_rate), 2 * hop, hop)

    @property
    def bins(self) -> int:
        return self.win // 2 + 1

    @property
    def bin_hz(self) -> float:
        return self.sample_rate / self.win

    def window(self, device: torch.device | str = "cpu") -> torch.Tensor:
        return _sqrt_hann(self.win, str(device))

    def stft(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., frames) float -> (..., bins, stft_frames) complex."""
        shape = x.shape
        spec = torch.stft(x.reshape(-1, shape[-1]), self.win, self.hop, window=self.window(x.device),
                          center=True, return_complex=True)
        return spec.reshape(*shape[:-1], *spec.shape[-2:])

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        """(..., bins, stft_frames) complex -> (..., length) float: inverse FFTs, the synthesis window
        and a 50 % overlap-add of the two halves of each frame. The sqrt-Hann windows' product sums
        to exactly 1 at this overlap, so torch.istft's envelope division matters only past the last
        frame's centre; its general overlap-add cost 2.7x this (the same output to float32 rounding)."""
        frames = torch.fft.irfft(spec.transpose(-1, -2), n=self.win) * self.window(spec.device)  # (..., T, win)
        lead, t, hop = frames.shape[:-2], frames.shape[-2], self.hop
        out = torch.zeros(*lead, max((t + 1) * hop, hop + length), dtype=frames.dtype, device=frames.device)
        out[..., : t * hop] += frames[..., :hop].reshape(*lead, t * hop)
        out[..., hop: (t + 1) * hop] += frames[..., hop:].reshape(*lead, t * hop)
        # past the last frame's centre only its second half overlaps: divide by its window there,
        # as torch.istft divides by the window envelope (1 everywhere else)
        env = self.window(spec.device)[hop:] ** 2
        tail = out[..., t * hop: (t + 1) * hop]
        tail /= torch.where(env > 1e-11, env, torch.ones_like(env))
        return out[..., hop: hop + length]


@lru_cache(maxsize=32)
def _sqrt_hann(win: int, device: str) -> torch.Tensor:
    with torch.inference_mode(False):  # cached: must serve training too, even if made under inference
        return torch.hann_window(win, periodic=True, device=device).sqrt()


def to_net_bins(spec: torch.Tensor) -> torch.Tensor:
    """(..., bins, T) -> (..., min(bins, NET_BINS), T): the file's bins up to 24 kHz (a lower rate's
    grid simply stops at its Nyquist; bands above it are empty)."""
    return spec[..., :NET_BINS, :]


def valid_bins(sample_rate: int) -> int:
    """How many grid bins lie below the file's Nyquist frequency."""
    return min(NET_BINS, int(math.floor(sample_rate / 2 / BIN_HZ)) + 1)


def _erb(f: np.ndarray) -> np.ndarray:
    return 21.4 * np.log10(1 + 0.00437 * f)


@lru_cache(maxsize=8)
def erb_matrix(bands: int, min_width: int = 2) -> np.ndarray:
    """(bands, NET_BINS) triangular ERB filterbank over 0-24 kHz; columns sum to 1, so it both
    pools bins into bands (rows normalised separately by the caller) and spreads band values back
    to bins (`bands_to_bins`). Low bands are at least `min_width` bins wide.
    Reference: B. R. Glasberg and B. C. J. Moore, Hearing Research 47 (1990) (ERB-rate scale).
    """
    freqs = np.arange(NET_BINS) * BIN_HZ
    centres = _erb_centres(bands, min_width)
    m = np.zeros((bands, NET_BINS))
    for b, c in enumerate(centres):
        lo = centres[b - 1] if b > 0 else c - (centres[1] - c)
        hi = centres[b + 1] if b + 1 < bands else c + (c - centres[b - 1])
        up = (freqs - lo) / max(c - lo, 1e-9)
        down = (hi - freqs) / max(hi - c, 1e-9)
        m[b] = np.clip(np.minimum(up, down), 0, 1)
    m[0, freqs <= centres[0]] = 1.0
    m[-1, freqs >= centres[-1]] = 1.0
    return m / m.sum(axis=0, keepdims=True)


def _erb_centres(bands: int, min_width: int) -> np.ndarray:
    """Band centres (Hz): uniform on the ERB-rate scale, but never closer than min_width bins."""
    e = np.linspace(_erb(np.array(0.0)), _erb(np.array(NET_MAX_HZ)), bands)
    centres = (10 ** (e / 21.4) - 1) / 0.00437
    out = [0.0]
    for i in range(1, bands):
        remaining = bands - i
        step = max(centres[i] - out[-1], min_width * BIN_HZ)
        step = min(step, (NET_MAX_HZ - out[-1]) / remaining) if remaining else step
        out.append(out[-1] + step)
    return np.array(out)


def band_power(power: torch.Tensor, bands: int) -> torch.Tensor:
    """(..., n, T) power on the first n <= NET_BINS grid bins -> (..., bands, T) mean power per ERB
    band over the bins that exist (0 for bands wholly above the file's Nyquist)."""
    n = power.shape[-2]
    m = torch.as_tensor(erb_matrix(bands)[:, :n], dtype=power.dtype, device=power.device)
    w = m / m.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.einsum("bf,...ft->...bt", w, power)


def bands_to_bins(values: torch.Tensor, bands: int, n: int = NET_BINS) -> torch.Tensor:
    """(..., bands, T) -> (..., n, T): band values interpolated across the first n grid bins."""
    m = torch.as_tensor(erb_matrix(bands)[:, :n], dtype=values.dtype, device=values.device)
    return torch.einsum("bf,...bt->...ft", m, values)
