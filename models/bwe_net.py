"""Bandwidth extension: a generator that rebuilds the band above a detected cut-off.

Spectral band replication with a learned envelope. Above the cut-off bin kc the spectrum is rebuilt
from the octave below it (bin kc + j takes the complex value of bin kc - W + (j mod W), W = kc / 2:
harmonic structure and phase come from the recording itself), and a network predicts, per ERB band
and frame, the level that copy must have there. The network sees the log power of the bands below
the cut-off, which bands are missing, and each band's distance above the cut-off in octaves, so one
set of weights serves any cut-off and any rate. It also predicts where the recording's content
would have ended (a TTS voice at 16 kHz has nothing above 8 kHz): the envelope may fall to silence.
Below the cut-off the input passes untouched; above it the copy is added to whatever a gentle
low-pass let through (nothing, after a brickwall).
References: M. Dietz et al., "Spectral band replication, a novel approach in audio coding", AES 112
(2002); the envelope is learned adversarially, after J. Su et al., "HiFi-GAN-2"-style multi-resolution
spectral + adversarial training (Kong et al., "HiFi-GAN", NeurIPS 2020).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .spectral import BIN_HZ, NET_BINS, Framing, band_power, bands_to_bins, erb_matrix, to_net_bins
from .tcn import tcn

_EPS = 1e-12


@dataclass(frozen=True)
class BweConfig:
    bands: int = 32
    channels: int = 96
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8, 16)
    min_db: float = -100.0  # the predicted envelope's floor relative to the band below the cut-off

    def to_dict(self) -> dict:
        return asdict(self)


def band_centres(bands: int) -> torch.Tensor:
    m = erb_matrix(bands)
    return torch.as_tensor((m * torch.arange(NET_BINS).numpy()).sum(axis=1) / m.sum(axis=1) * BIN_HZ)


class BweNet(nn.Module):
    def __init__(self, cfg: BweConfig = BweConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Conv1d(4 * cfg.bands, cfg.channels, 1)
        self.body = tcn(cfg.channels, cfg.dilations)
        self.head = nn.Conv1d(cfg.channels, cfg.bands, 1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """feat (B, 4*bands, T) -> log10 band power (B, bands, T) relative to the reference level."""
        return self.head(self.body(self.inp(feat)))


def features(logp: torch.Tensor, present: torch.Tensor, target: torch.Tensor, octaves: torch.Tensor) -> torch.Tensor:
    """Stack the inputs: log band power where present, the masks, and octaves above the cut-off."""
    return torch.cat([logp * present, present.expand_as(logp), target.expand_as(logp),
                      octaves.expand_as(logp)], dim=1)


def cutoff_bin(cutoff_hz: float) -> int:
    return max(8, int(cutoff_hz // BIN_HZ))


def replicate(spec: torch.Tensor, kc: int) -> torch.Tensor:
    """(..., n, T): bins >= kc replaced by copies of the octave below kc (complex, phase kept)."""
    n = spec.shape[-2]
    if kc >= n:
        return spec
    width = max(4, kc // 2)
    src = kc - width + (torch.arange(n - kc) % width)
    return torch.cat([spec[..., :kc, :], spec[..., src, :]], dim=-2)


def extend(net: BweNet, audio: torch.Tensor, sample_rate: int, cutoff_hz: float) -> torch.Tensor:
    """(B, channels, frames) band-limited at cutoff_hz -> same shape with the band above rebuilt up to
    min(Nyquist, 24 kHz). Differentiable (training runs exactly this)."""
    cfg = net.cfg
    framing = Framing.for_rate(sample_rate)
    spec = framing.stft(audio)
    grid = to_net_bins(spec)  # (B, C, n, T)
    n = grid.shape[-2]
    kc = cutoff_bin(cutoff_hz)
    if kc >= n - 1:
        return audio
    power = (grid.real**2 + grid.imag**2).mean(dim=1)
    ref = power[:, :kc].mean(dim=(1, 2), keepdim=True) + _EPS
    bp = band_power(power / ref, cfg.bands)
    logp = torch.log10(bp + _EPS)
    centres = band_centres(cfg.bands).to(audio.dtype)
    nyq = min(sample_rate / 2, NET_BINS * BIN_HZ)
    present = (centres < kc * BIN_HZ).to(audio.dtype).view(1, -1, 1)
    target = ((centres >= kc * BIN_HZ) & (centres < nyq)).to(audio.dtype).view(1, -1, 1)
    octaves = torch.log2(centres.clamp_min(50.0) / (kc * BIN_HZ)).clamp(-4, 4).view(1, -1, 1)
    pred = net(features(logp / 4.0, present, target, octaves))  # log10 relative power per band
    pred = pred.clamp(min=cfg.min_db / 10)
    copy = replicate(grid, kc)
    cpow = band_power((copy.real**2 + copy.imag**2).mean(dim=1) / ref, cfg.bands)
    # gain per band so the copy has the predicted power; log-domain interpolation across bins
    log_gain = 0.5 * (pred - torch.log10(cpow + _EPS))
    gain = 10 ** bands_to_bins(log_gain, cfg.bands, n)  # (B, n, T)
    ramp = torch.clamp((torch.arange(n, dtype=audio.dtype) - kc + 1) / 2, 0, 1).view(1, 1, n, 1)
    out = grid + copy * gain.unsqueeze(1) * ramp  # added: a gentle low-pass keeps what it let through
    if framing.bins > n:  # above 24 kHz: left as it was (nothing to rebuild from)
        out = torch.cat([out, spec[..., n:, :]], dim=-2)
    return framing.istft(out, audio.shape[-1])


def fold(audio: torch.Tensor, sample_rate: int, cutoff_hz: float) -> torch.Tensor:
    """The spectral-folding baseline: bins above the cut-off mirror those below it (bin kc + j takes
    bin kc - 1 - j), no envelope; what bandwidth extension is measured against."""
    framing = Framing.for_rate(sample_rate)
    spec = framing.stft(audio)
    n, kc = spec.shape[-2], cutoff_bin(cutoff_hz)
    if kc >= n - 1:
        return audio
    src = (kc - 1 - torch.arange(n - kc)).clamp_min(0)
    out = torch.cat([spec[..., :kc, :], spec[..., src, :]], dim=-2)
    return framing.istft(out, audio.shape[-1])
