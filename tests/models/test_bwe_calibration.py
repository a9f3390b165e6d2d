"""The bandwidth extension's inference calibration (BweConfig.offset_db, gate_db), without weights:
the offset moves every predicted band level by exactly that many dB, and the gate stops a band
predicted within gate_db of the log-spectral distance's floor from being emitted at all."""

from __future__ import annotations

import numpy as np
import torch

from acetate.models.bwe_net import FLOOR, BweConfig, BweNet, calibrated, extend


def test_offset_shifts_levels_and_gate_silences_bands_near_the_floor():
    level = torch.tensor([[[np.log10(FLOOR) + 0.2], [np.log10(FLOOR) + 0.5], [-6.0]]])  # 2 dB, 5 dB, 40 dB up
    shifted = calibrated(level, -3.0, None)
    assert torch.allclose(10 * (shifted - level), torch.full_like(level, -3.0))
    gated = calibrated(level, 0.0, 3.0)
    assert gated[0, 0, 0] < np.log10(FLOOR) - 2.5  # 2 dB above the floor: silenced (30 dB below it)
    assert torch.equal(gated[0, 1:], level[0, 1:])  # 5 and 40 dB above: kept as they were


def _high_band_energy(x: torch.Tensor, sr: int, cutoff: float) -> float:
    spec = torch.fft.rfft(x[0, 0].double())
    f = torch.fft.rfftfreq(x.shape[-1], 1 / sr)
    return float((spec[f > cutoff + 200].abs() ** 2).sum())


def test_a_gated_model_emits_nothing_above_the_cut_off_and_an_ungated_one_does():
    torch.manual_seed(0)
    sr, cutoff = 16000, 4000.0
    t = torch.arange(sr) / sr
    x = (0.1 * torch.sin(2 * torch.pi * 440 * t) + 0.01 * torch.randn(sr)).view(1, 1, -1)
    x = torch.fft.irfft(torch.fft.rfft(x) * (torch.fft.rfftfreq(sr, 1 / sr) < cutoff), n=sr)  # brickwall
    net = BweNet(BweConfig(gate_db=3.0)).eval()  # untrained head: every band predicted at the floor
    with torch.inference_mode():
        gated = extend(net, x, sr, cutoff)
        ungated = extend(net, x, sr, cutoff, calibration=(0.0, None))
    e_in, e_gated, e_ungated = (_high_band_energy(y, sr, cutoff) for y in (x, gated, ungated))
    total = _high_band_energy(x, sr, 0.0)
    assert e_gated < 1e-7 * total  # gated: above the cut-off only the float32 STFT round trip (-79 dB)
    assert e_ungated > 100 * e_gated  # ungated: the floor-level band is there (measured 1100x)
