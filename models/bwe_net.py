"""Bandwidth extension: a generator that rebuilds the band above a detected cut-off.

Spectral band replication with a learned, gated envelope. Above the cut-off bin kc the spectrum is
rebuilt from the octave below it (bin kc + j takes the phase of bin kc - W + (j mod W), W = kc / 2),
with its magnitude whitened and set, per ERB band and frame, to the level a network predicts. The
network sees the absolute log power of every band (in the benchmark's STFT scaling), which bands lie
below the cut-off, which are to be rebuilt, and each band's distance above the cut-off in octaves,
so one set of weights serves any cut-off, rate and level.

Why whitened and gated: the log-spectral distance between two independent noise-like fine structures
with the same envelope is ~7.9 dB RMS per bin, while a smooth magnitude at the reference's log-mean
level leaves only the reference's own ~5.6 dB; and where the reference band is within a few dB of
silence (a TTS voice rendered at 22.05 kHz has nothing above 11 kHz), emitting anything costs more
than emitting nothing. The network therefore predicts the log-mean level of the band (what the
log-spectral distance rewards), and that level may fall below silence, which is how it gates.
Below the cut-off the input passes untouched; above it the rebuilt band is added to whatever a
gentle low-pass let through (nothing, after a brickwall).
References: M. Dietz et al., "Spectral band replication, a novel approach in audio coding", AES 112
(2002) (replication, envelope, noise floor); the envelope is trained on the log-spectral distance
with a multi-resolution STFT term (Yamamoto et al., "Parallel WaveGAN", ICASSP 2020) and an optional
adversarial phase (Kong et al., "HiFi-GAN", NeurIPS 2020).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .spectral import BIN_HZ, NET_BINS, Framing, band_power, bands_to_bins, erb_matrix, to_net_bins
from .tcn import tcn

FLOOR = 1e-10  # the log-spectral distance's power floor (benchmarks/quality_lib/metrics.py)
_SILENT = -13.0  # lowest predicted log10 level: 30 dB below the floor, i.e. nothing emitted
_LOUD = -1.0  # highest: a full-scale sine's bin is -6 dB (log10 0.25); this is 4 dB below it
WIDE_RATE_HZ = 32000  # from here up a file takes the config's wide_* calibration


@dataclass(frozen=True)
class BweConfig:
    """Network sizes, and the inference calibration chosen on validation after training
    (train_bwe.calibrate): `offset_db` added to every predicted band level, then `gate_db`: a band
    predicted at most that far above the LSD's floor is not emitted at all (None: no gate). The
    calibration depends only on what inference sees, the rate: `offset_db`/`gate_db` apply below
    WIDE_RATE_HZ (16 kHz files, whose band above a 4.5-7 kHz cut-off is narrow), `wide_offset_db`/
    `wide_gate_db` at WIDE_RATE_HZ and above (44.1/48 kHz); None there: the narrow-rate setting."""

    bands: int = 48
    channels: int = 96
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 1, 2, 4, 8, 16)
    norm: str = "frame"  # "frame": LayerNorm over channels per frame; "batch": the TCN's BatchNorm (version 3)
    offset_db: float = 0.0
    gate_db: float | None = None
    wide_offset_db: float | None = None
    wide_gate_db: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def calibration(self, sample_rate: int) -> tuple[float, float | None]:
        """(offset_db, gate_db) for a file at sample_rate."""
        if sample_rate >= WIDE_RATE_HZ and self.wide_offset_db is not None:
            return self.wide_offset_db, self.wide_gate_db
        return self.offset_db, self.gate_db


def band_centres(bands: int) -> torch.Tensor:
    m = erb_matrix(bands)
    return torch.as_tensor((m * torch.arange(NET_BINS).numpy()).sum(axis=1) / m.sum(axis=1) * BIN_HZ)


@lru_cache(maxsize=16)
def power_scale(sample_rate: int) -> float:
    """Factor taking |X|^2 of the model's STFT to the benchmark's |Z|^2 (scipy.signal.stft, 2048-point
    Hann, 'spectrum' scaling) for a noise-like signal: sum(h^2) / sum(h)^2 / sum(w^2)."""
    h = np.hanning(2049)[:-1]
    w = Framing.for_rate(sample_rate).window().double().numpy()
    return float((h**2).sum() / h.sum() ** 2 / (w**2).sum())


class FrameNorm(nn.Module):
    """LayerNorm over the channels of each frame, (B, C, T) -> (B, C, T). Replaces the TCN's BatchNorm:
    a training batch holds one rate and one band limit, so batch statistics normalised the rate and
    the cut-off masks away in training but not at inference (one mixed set of running statistics),
    which swung the validation LSD by up to 8 dB between checkpoints. Per frame, nothing depends on
    the batch, the file's length or the window the restorer cuts (Ba et al., "Layer normalization", 2016)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class BweNet(nn.Module):
    def __init__(self, cfg: BweConfig = BweConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.inp = nn.Conv1d(4 * cfg.bands, cfg.channels, 1)
        self.body = tcn(cfg.channels, cfg.dilations)
        if cfg.norm == "frame":
            for block in self.body:
                block.norm = FrameNorm(cfg.channels)
        self.head = nn.Conv1d(cfg.channels, cfg.bands, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # start at the floor, where the loss still has a gradient

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """feat (B, 4*bands, T) -> log10 band level (B, bands, T), in units of 4 above log10(FLOOR)."""
        return self.head(self.body(self.inp(feat)))


def features(logp: torch.Tensor, present: torch.Tensor, target: torch.Tensor, octaves: torch.Tensor) -> torch.Tensor:
    """Stack the inputs: log band power (0 at the floor), the masks, and octaves above the cut-off."""
    return torch.cat([logp, present.expand_as(logp), target.expand_as(logp), octaves.expand_as(logp)], dim=1)


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


def band_levels(net: BweNet, grid: torch.Tensor, sample_rate: int, kc: int) -> torch.Tensor:
    """grid (B, C, n, T) complex -> the predicted log10 level per band and frame (B, bands, T) in the
    benchmark's scaling, softly within [_SILENT, _LOUD]."""
    cfg = net.cfg
    power = (grid.real**2 + grid.imag**2).mean(dim=1) * power_scale(sample_rate)
    logp = (torch.log10(band_power(power, cfg.bands) + FLOOR) - np.log10(FLOOR)) / 4.0
    centres = band_centres(cfg.bands).to(grid.real.dtype)
    nyq = min(sample_rate / 2, NET_BINS * BIN_HZ)
    present = (centres < kc * BIN_HZ).to(logp.dtype).view(1, -1, 1)
    target = ((centres >= kc * BIN_HZ) & (centres < nyq)).to(logp.dtype).view(1, -1, 1)
    octaves = torch.log2(centres.clamp_min(50.0) / (kc * BIN_HZ)).clamp(-4, 4).view(1, -1, 1)
    raw = net(features(logp, present, target, octaves)) * 4.0 + np.log10(FLOOR)
    level = _SILENT + F.softplus(raw - _SILENT)  # soft bounds: the gradient never dies, nothing blows up
    return _LOUD - F.softplus(_LOUD - level)


def calibrated(level: torch.Tensor, offset_db: float, gate_db: float | None) -> torch.Tensor:
    """Predicted log10 band levels shifted by offset_db, and those within gate_db of the floor silenced."""
    level = level + offset_db / 10
    if gate_db is None:
        return level
    return torch.where(level > np.log10(FLOOR) + gate_db / 10, level, torch.full_like(level, _SILENT))


def extend(net: BweNet, audio: torch.Tensor, sample_rate: int, cutoff_hz: float,
           return_levels: bool = False, calibration: tuple[float, float | None] | None = None,
           ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """(B, channels, frames) band-limited at cutoff_hz -> same shape with the band above rebuilt up to
    min(Nyquist, 24 kHz). Differentiable (training runs exactly this); return_levels adds the
    predicted band levels (B, bands, T) (None when there is nothing to rebuild). In eval mode the
    config's calibration for the rate applies, or `calibration` when given; in training mode none."""
    framing = Framing.for_rate(sample_rate)
    spec = framing.stft(audio)
    grid = to_net_bins(spec)  # (B, C, n, T)
    n = grid.shape[-2]
    kc = cutoff_bin(cutoff_hz)
    if kc >= n - 1:
        return (audio, None) if return_levels else audio
    level = band_levels(net, grid, sample_rate, kc)
    if not net.training:
        level = calibrated(level, *(calibration or net.cfg.calibration(sample_rate)))
    copy = replicate(grid, kc)
    phase = copy / (copy.abs() + 1e-20)  # whitened: unit magnitude, the copy's phase
    # per-bin magnitude so the benchmark's STFT sees the predicted level; log-domain interpolation
    log_gain = 0.5 * (level - np.log10(power_scale(sample_rate)))
    gain = 10 ** bands_to_bins(log_gain, net.cfg.bands, n)  # (B, n, T)
    ramp = torch.clamp((torch.arange(n, dtype=audio.dtype) - kc + 1) / 2, 0, 1).view(1, 1, n, 1)
    out = grid + phase * gain.unsqueeze(1) * ramp
    if framing.bins > n:  # above 24 kHz: left as it was (nothing to rebuild from)
        out = torch.cat([out, spec[..., n:, :]], dim=-2)
    y = framing.istft(out, audio.shape[-1])
    return (y, level) if return_levels else y


def target_levels(clean: torch.Tensor, sample_rate: int, bands: int) -> torch.Tensor:
    """(B, C, frames) reference -> (B, bands, T): per band, the mean over its bins of the log10 power
    floored at FLOOR (benchmark scaling), the constant the log-spectral distance is least for; the
    level the network should predict is log10(10^target - FLOOR)."""
    grid = to_net_bins(Framing.for_rate(sample_rate).stft(clean))
    power = (grid.real**2 + grid.imag**2).mean(dim=1) * power_scale(sample_rate)
    return band_power(torch.log10(power + FLOOR), bands)


def band_mask(bands: int, sample_rate: int, cutoff_hz: float) -> torch.Tensor:
    """(1, bands, 1) float: 1 for the bands extend rebuilds (above the cut-off, below Nyquist)."""
    centres = band_centres(bands)
    kc = cutoff_bin(cutoff_hz)
    nyq = min(sample_rate / 2, NET_BINS * BIN_HZ)
    return ((centres >= kc * BIN_HZ) & (centres < nyq)).float().view(1, -1, 1)


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
