"""The restorer's check of the cut-off against the input (models/bwe_cutoff.py), the per-frame norm
and the rate-conditioned calibration, all without weights: a cut-off told below the input's edge is
raised to that edge, one at or above it is kept, a file with no edge is left alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import clip

from acetate.models.bwe_cutoff import refine_cutoff
from acetate.models.bwe_net import BweConfig, BweNet, band_levels
from acetate.ops.degrade import limit_bandwidth


@pytest.mark.parametrize("name,kind,cutoff", [("music-48k-stereo.flac", "mp3", 6000.0),
                                              ("speech-44k-stereo.flac", "lowpass", 5000.0),
                                              ("speech-16k-mono.flac", "mp3", 5000.0),
                                              ("music-16k-mono.flac", "lowpass", 4500.0)])
def test_a_cut_off_told_too_low_is_raised_to_the_edge_and_one_above_it_is_kept(name, kind, cutoff):
    x, sr = clip(name)
    y, _ = limit_bandwidth(x, sr, cutoff, kind=kind)
    told_low = refine_cutoff(y, sr, 0.5 * cutoff)  # a detector fooled by the programme's own tilt
    # raised to within 12 % of the edge (a brickwall's within a 1/12-octave band, an 8th-order
    # low-pass's where its fall reaches 30 dB/octave, ~1.03-1.1 x its -3 dB point)
    assert told_low is not None and 0.9 * cutoff <= told_low <= 1.12 * cutoff, told_low
    assert refine_cutoff(y, sr, 1.2 * cutoff) == pytest.approx(1.2 * cutoff)  # never lowered


@pytest.mark.parametrize("tilt_db", [0.0, 6.0, 12.0])
def test_a_file_whose_top_only_tilts_down_has_no_edge_and_gets_none(tilt_db):
    sr = 44100
    spec = np.fft.rfft(np.random.default_rng(1).standard_normal((2, 5 * sr)))
    f = np.fft.rfftfreq(5 * sr, 1 / sr)
    spec *= (np.maximum(f, 50.0) / 1000.0) ** (-tilt_db / 20 / np.log10(2))  # tilt_db per octave
    x = (np.fft.irfft(spec, n=5 * sr) * 0.01).astype(np.float32)
    assert refine_cutoff(x, sr, 5000.0) is None
    y, _ = limit_bandwidth(x, sr, 5000.0, kind="lowpass")  # the same with an edge
    assert 5000.0 <= refine_cutoff(y, sr, 5000.0) <= 5600.0


def test_the_frame_norm_makes_one_clip_independent_of_its_batch():
    torch.manual_seed(0)
    net = BweNet(BweConfig()).eval()
    torch.nn.init.normal_(net.head.weight, std=0.1)  # a non-trivial output
    grid = torch.randn(3, 1, 480, 50, dtype=torch.complex64)
    alone = band_levels(net, grid[:1], 48000, 100)
    batched = band_levels(net, grid, 48000, 100)[:1]
    assert torch.allclose(alone, batched, atol=1e-5)
    assert not torch.allclose(alone, band_levels(net, grid[1:2], 48000, 100), atol=1e-3)


def test_the_calibration_follows_the_rate_only():
    cfg = BweConfig(offset_db=-3.0, gate_db=None, wide_offset_db=-6.0, wide_gate_db=4.0)
    assert cfg.calibration(16000) == (-3.0, None)
    assert cfg.calibration(44100) == cfg.calibration(48000) == (-6.0, 4.0)
    assert BweConfig(offset_db=-1.5).calibration(48000) == (-1.5, None)  # no wide setting: the one setting
