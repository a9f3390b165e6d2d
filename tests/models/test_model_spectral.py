"""The rate-agnostic grid the models share: perfect reconstruction, 50 Hz bins, ERB bands."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from acetate.models.spectral import BIN_HZ, NET_BINS, Framing, band_power, bands_to_bins, erb_matrix


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
def test_stft_round_trip_is_exact_and_bins_are_50_hz(rate):
    framing = Framing.for_rate(rate)
    assert framing.bin_hz == pytest.approx(BIN_HZ, rel=0.01)
    x = torch.randn(2, rate + 123)
    y = framing.istft(framing.stft(x), x.shape[-1])
    assert torch.max(torch.abs(y - x)) < 1e-5  # no delay, no gain, same length (float32)


@pytest.mark.parametrize("rate", [8000, 22050, 44100])
def test_istft_is_torch_istft_also_on_modified_spectra_and_odd_lengths(rate):
    # the overlap-add is hand-written for speed: it must match torch.istft on spectra a model has
    # changed (not only on exact round trips), at every length, up to float32 rounding
    framing = Framing.for_rate(rate)
    for n in (framing.hop + 1, 5 * framing.hop, 5 * framing.hop + 7, rate + 123):
        spec = framing.stft(torch.randn(3, n))
        spec = spec * torch.rand(spec.shape)  # a gain per bin and frame, as a mask applies
        ref = torch.istft(spec, framing.win, framing.hop, window=framing.window(), center=True, length=n)
        y = framing.istft(spec, n)
        assert y.shape == ref.shape
        assert torch.max(torch.abs(y - ref)) <= 1e-5 * torch.max(torch.abs(ref))


def test_erb_bands_cover_every_bin_and_spread_back_as_they_pool():
    m = erb_matrix(32)
    assert m.shape == (32, NET_BINS)
    np.testing.assert_allclose(m.sum(axis=0), 1.0)
    flat = torch.ones(1, NET_BINS, 3)
    assert torch.allclose(band_power(flat, 32), torch.ones(1, 32, 3), atol=1e-6)
    assert torch.allclose(bands_to_bins(torch.ones(1, 32, 3), 32), flat, atol=1e-6)


def test_band_power_over_a_low_rate_grid_leaves_bands_above_nyquist_empty():
    n = 161  # 16 kHz: bins up to 8 kHz
    bp = band_power(torch.ones(1, n, 2), 32)
    centres_hz = (erb_matrix(32)[:, :] * np.arange(NET_BINS)).sum(axis=1) / erb_matrix(32).sum(axis=1) * BIN_HZ
    assert torch.all(bp[0, centres_hz < 7000] > 0.99)
    assert torch.all(bp[0, centres_hz > 9000] == 0)
