from __future__ import annotations

import numpy as np
import pytest

from acetate.ops import degrade


@pytest.mark.parametrize("synth", [degrade.synth_speech_like, degrade.synth_music_like])
def test_synths_are_seeded_shaped_and_stereo_is_correlated_not_identical(synth):
    a = synth(16000, 4.0, seed=1, channels=2)
    assert a.shape == (2, 64000) and a.dtype == np.float32
    assert np.array_equal(a, synth(16000, 4.0, seed=1, channels=2))
    assert not np.array_equal(a, synth(16000, 4.0, seed=2, channels=2))
    corr = np.corrcoef(a)[0, 1]
    assert 0.3 < corr < 0.999
    assert np.abs(a).max() <= 0.61 and abs(float(a.mean())) < 1e-4


def test_add_noise_reaches_the_requested_snr(speech16k):
    x, sr = speech16k
    for color in ("white", "pink", "brown"):
        y, label = degrade.add_noise(x, sr, 15.0, color, seed=3)
        n = y.astype(np.float64) - x
        assert 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(n**2)) == pytest.approx(15.0, abs=0.05)
        assert label == {"kind": "noise", "params": {"snr_db": 15.0, "color": color}, "regions": []}


def test_pink_noise_falls_3_db_per_octave():
    n = degrade.colored_noise(2**18, "pink", np.random.default_rng(0))
    p = np.abs(np.fft.rfft(n)) ** 2
    f = np.arange(p.size)
    low, high = p[(f >= 1000) & (f < 2000)].mean(), p[(f >= 2000) & (f < 4000)].mean()
    assert 10 * np.log10(low / high) == pytest.approx(3.0, abs=0.3)


def test_add_hum_level_is_relative_to_the_signal(music22k):
    x, sr = music22k
    y, label = degrade.add_hum(x, sr, fundamental=60.0, level_db=-25.0, harmonics=[1, 3, 5], drift_hz=0.2)
    hum = y.astype(np.float64) - x
    assert 10 * np.log10(np.mean(hum**2) / np.mean(x.astype(np.float64) ** 2)) == pytest.approx(-25.0, abs=0.05)
    assert label["params"]["harmonics"] == [1, 3, 5] and label["kind"] == "hum"


def test_clip_hard_and_soft(speech16k):
    x, sr = speech16k
    y, label = degrade.clip(x, sr, 0.5)
    assert np.abs(y).max() == pytest.approx(0.25, abs=1e-7)
    assert label["params"]["clipped_fraction"] == pytest.approx(np.mean(np.abs(x) > 0.25))
    assert label["regions"] and all(e > s for s, e in label["regions"])
    z, _ = degrade.clip(x, sr, 0.3, relative=False, soft=True)
    assert np.abs(z).max() < 0.3


def test_add_dc_per_channel(music22k):
    x, sr = music22k
    y, label = degrade.add_dc(x, sr, [0.01, -0.02])
    assert np.allclose((y.astype(np.float64) - x).mean(axis=1), [0.01, -0.02], atol=1e-7)
    assert label["params"]["offset"] == [0.01, -0.02]
