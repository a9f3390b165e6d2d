"""The denoiser network: ERB-band gains for the whole spectrum plus a deep filter for 0-8 kHz.

One network for every rate (see `spectral`): its inputs are the mix's log power in 32 ERB bands,
that power's long-term floor per band (what stationary noise looks like in this recording, so
music's own sustained sound is not mistaken for noise), a validity flag per band (bands above the
file's Nyquist) and the compressed complex spectrum of the lowest 160 bins (0-8 kHz). A TCN turns them into
a gain per band (applied to every bin, interpolated) and a 3-tap complex filter per bin below 8 kHz across
neighbouring frames, which restores harmonics that a real gain cannot separate from noise in the
same bin. Stereo files share the gains and filters, computed from the channels' mean power, so
the image does not wander.
References: H. Schroeter et al., "DeepFilterNet", ICASSP 2022 (ERB gains + deep filtering);
J.-M. Valin, "A hybrid DSP/deep learning approach to real-time full-band speech enhancement"
(RNNoise), MMSP 2018 (band gains).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from .spectral import (
    BIN_HZ,
    NET_BINS,
    Framing,
    band_power,
    bands_to_bins,
    erb_matrix,
    to_net_bins,
)
from .tcn import tcn

_EPS = 1e-10


@dataclass(frozen=True)
class DenoiserConfig:
    bands: int = 32
    df_bins: int = 160
    df_order: int = 3
    channels: int = 128
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32)
    causal: bool = False
    floor_quantile: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)


class DenoiserNet(nn.Module):
    def __init__(self, cfg: DenoiserConfig = DenoiserConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.erb_in = nn.Conv1d(3 * cfg.bands, c, 1)
        self.df_in = nn.Conv1d(2 * cfg.df_bins, c, 1)
        self.mix = nn.Sequential(nn.PReLU(2 * c), nn.Conv1d(2 * c, c, 1))
        self.body = tcn(c, cfg.dilations, causal=cfg.causal)
        self.gain_head = nn.Conv1d(c, cfg.bands, 1)
        self.df_head = nn.Conv1d(c, 2 * cfg.df_order * cfg.df_bins, 1)
        nn.init.zeros_(self.df_head.weight)
        nn.init.zeros_(self.df_head.bias)
        nn.init.constant_(self.gain_head.bias, 3.0)  # start near pass-through

    def forward(self, erb_feat: torch.Tensor, df_feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """erb_feat (B, 3*bands, T), df_feat (B, 2*df_bins, T) -> gains (B, bands, T) in [0, 1],
        filter (B, order, df_bins, T) complex."""
        h = self.mix(torch.cat([self.erb_in(erb_feat), self.df_in(df_feat)], dim=1))
        h = self.body(h)
        gains = torch.sigmoid(self.gain_head(h))
        b, _, t = h.shape
        coef = self.df_head(h).view(b, self.cfg.df_order, 2, self.cfg.df_bins, t)
        centre = self.cfg.df_order // 2 if not self.cfg.causal else self.cfg.df_order - 1
        identity = torch.zeros_like(coef)
        identity[:, centre, 0] = 1.0  # the filter starts as "pass the centre frame"
        coef = coef + identity
        return gains, torch.complex(coef[:, :, 0], coef[:, :, 1])


def features(spec: torch.Tensor, sample_rate: int, cfg: DenoiserConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """spec: (B, channels, n, T) complex on the 50 Hz grid (n <= NET_BINS) -> (erb_feat, df_feat).

    Levels are relative to the window's mean power, so the network never sees absolute level.
    """
    power = (spec.real.square() + spec.imag.square()).mean(dim=1)  # (B, n, T), channels pooled
    ref = power.mean(dim=(1, 2), keepdim=True) + _EPS
    bp = band_power(power / ref, cfg.bands)
    logp = torch.log10(bp + _EPS * 1e-2) / 4.0  # ~[-3, 1]
    floor = torch.quantile(logp, cfg.floor_quantile, dim=2, keepdim=True).expand_as(logp)
    valid = band_validity(sample_rate, cfg.bands, logp)
    logp, floor = logp * valid, floor * valid
    erb_feat = torch.cat([logp, floor, valid.expand_as(logp)], dim=1)
    mid = spec[:, :, : cfg.df_bins].mean(dim=1) / ref.sqrt()  # only the bins the filter sees are pooled
    mag = mid.abs()
    comp = mid * (mag + 1e-6).pow(-0.5)  # magnitude^0.5 with the phase kept
    comp = nn.functional.pad(comp, (0, 0, 0, cfg.df_bins - comp.shape[1]))  # rates under 9.6 kHz
    df_feat = torch.cat([comp.real, comp.imag], dim=1)
    return erb_feat, df_feat


def band_validity(sample_rate: int, bands: int, like: torch.Tensor) -> torch.Tensor:
    """(1, bands, 1) 1.0 for bands whose centre lies below the file's Nyquist."""
    m = erb_matrix(bands)
    centres = (m * torch.arange(NET_BINS).numpy()).sum(axis=1) / m.sum(axis=1) * BIN_HZ
    v = torch.as_tensor(centres < sample_rate / 2 * 0.98, dtype=like.dtype, device=like.device)
    return v.view(1, bands, 1)


def apply(spec: torch.Tensor, gains: torch.Tensor, coef: torch.Tensor, cfg: DenoiserConfig) -> torch.Tensor:
    """Enhanced spectrum: band gains on every bin, the deep filter on the lowest df_bins.

    spec (B, channels, n, T) complex; gains (B, bands, T); coef (B, order, df_bins, T).
    """
    g = bands_to_bins(gains, cfg.bands, spec.shape[-2]).unsqueeze(1)  # (B, 1, n, T)
    high = spec[:, :, cfg.df_bins:] * g[:, :, cfg.df_bins:]  # the deep filter replaces the gains below
    low = spec[:, :, : cfg.df_bins]
    coef = coef[:, :, : low.shape[2]]  # a rate below 9.6 kHz has fewer low bins
    order = cfg.df_order
    past = order - 1 if cfg.causal else order // 2
    padded = nn.functional.pad(low, (past, order - 1 - past))
    t = low.shape[-1]
    filtered = coef[:, 0].unsqueeze(1) * padded[..., :t]
    for k in range(1, order):
        filtered = filtered.add_(coef[:, k].unsqueeze(1) * padded[..., k: k + t])
    return torch.cat([filtered, high], dim=2)


def enhance(net: DenoiserNet, audio: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Waveform in, waveform out: (B, channels, frames) float -> same shape, time-aligned.

    Differentiable end to end, so training and inference run exactly this path.
    """
    framing = Framing.for_rate(sample_rate)
    spec = framing.stft(audio)  # (B, C, bins, T)
    grid = to_net_bins(spec)
    erb_feat, df_feat = features(grid, sample_rate, net.cfg)
    gains, coef = net(erb_feat, df_feat)
    out = apply(grid, gains, coef, net.cfg)
    if framing.bins > NET_BINS:  # above 24 kHz: the top band's gain
        out = torch.cat([out, spec[..., NET_BINS:, :] * gains[:, None, -1:, :]], dim=-2)
    return framing.istft(out, audio.shape[-1])
