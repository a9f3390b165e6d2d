"""Training losses for the restoration models.

- compressed spectral loss: magnitudes to the power 0.3 (close to loudness perception) and the
  complex spectrum with that compressed magnitude, so phase counts but loud bins don't dominate
  (DeepFilterNet's loss, after Braun & Tashev, "A consolidated view of loss functions for
  supervised deep learning-based speech enhancement", 2021);
- multi-resolution STFT magnitude loss (Yamamoto et al., "Parallel WaveGAN", ICASSP 2020) at window
  lengths fixed in seconds, so every sample rate is judged on the same time-frequency tiles;
- SNR (not scale-invariant: the level must come out right), capped at 40 dB so clean examples,
  whose target is their input, don't dominate.
"""

from __future__ import annotations

import torch

from .spectral import _sqrt_hann


def _stft(x: torch.Tensor, win: int) -> torch.Tensor:
    return torch.stft(x.reshape(-1, x.shape[-1]), win, win // 4, window=_sqrt_hann(win, str(x.device)),
                      center=True, return_complex=True)


def compressed_spectral(est: torch.Tensor, ref: torch.Tensor, sample_rate: int, c: float = 0.3,
                        seconds: float = 0.02) -> torch.Tensor:
    win = 2 * max(1, int(round(sample_rate * seconds / 2)))
    e, r = _stft(est, win), _stft(ref, win)
    em, rm = (e.abs() + 1e-8).pow(c), (r.abs() + 1e-8).pow(c)
    mag = (em - rm).pow(2).mean()
    cplx = (em * e / (e.abs() + 1e-8) - rm * r / (r.abs() + 1e-8)).abs().pow(2).mean()
    return mag + cplx


def multi_resolution(est: torch.Tensor, ref: torch.Tensor, sample_rate: int,
                     seconds: tuple[float, ...] = (0.008, 0.032, 0.128)) -> torch.Tensor:
    """Spectral convergence + log-magnitude L1, averaged over the resolutions."""
    total = est.new_zeros(())
    for s in seconds:
        win = 2 * max(8, int(round(sample_rate * s / 2)))
        e, r = _stft(est, win).abs(), _stft(ref, win).abs()
        sc = torch.linalg.norm(r - e) / (torch.linalg.norm(r) + 1e-8)
        logmag = (torch.log(e + 1e-5) - torch.log(r + 1e-5)).abs().mean()
        total = total + sc + logmag
    return total / len(seconds)


def snr_loss(est: torch.Tensor, ref: torch.Tensor, cap_db: float = 40.0) -> torch.Tensor:
    """Negative SNR in dB per example (mean over the batch), at most cap_db good."""
    dims = tuple(range(1, ref.dim()))
    p_ref = ref.pow(2).sum(dim=dims)
    p_err = (ref - est).pow(2).sum(dim=dims)
    eps = p_ref * 10 ** (-cap_db / 10) + 1e-10
    return -(10 * torch.log10((p_ref + 1e-10) / (p_err + eps))).mean()
