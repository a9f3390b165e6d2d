"""The shared noise-floor estimator: minimum statistics that read a stationary noise's level right."""

from __future__ import annotations

import numpy as np
import pytest

from acetate.ops import degrade
from acetate.ops.noise_floor import SpectralFloor


def feed(sf: SpectralFloor, audio: np.ndarray, block: int | None = None) -> SpectralFloor:
    step = block or max(1, audio.shape[1])
    for start in range(0, audio.shape[1], step):
        sf.update(audio[:, start:start + step])
    return sf


def _white(sr: int, channels: int, seconds: float, rms: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rms * rng.standard_normal((channels, int(seconds * sr)))).astype(np.float32)


@pytest.mark.parametrize(("sr", "channels"), [(16000, 1), (44100, 2)])
def test_white_noise_floor_reads_its_psd_within_a_db_in_every_band(sr, channels):
    x = _white(sr, channels, 8.0, 0.01, seed=1)
    sf = SpectralFloor(sr, channels)
    feed(sf, x, block=sr // 3)
    true_psd = channels * 1e-4 * 2 / sr  # one-sided, summed over channels
    err = 10 * np.log10(sf.floor(channels=channels)[1:-1] / true_psd)  # the first band loses to the DC removal
    # one-bin bands at low frequencies hold ~350 frames: their 10th percentile scatters by ~0.5 dB
    assert np.all(np.abs(err) < 1.5), err
    assert abs(np.median(err)) < 0.3
    assert 10 * np.log10(sf.power / (channels * 1e-4)) == pytest.approx(0.0, abs=0.1)


def test_block_size_does_not_change_any_statistic(music22k):
    x, sr = music22k
    a, b = SpectralFloor(sr, 2), SpectralFloor(sr, 2)
    feed(a, x)
    feed(b, x, block=777)
    assert np.array_equal(a.histogram(), b.histogram())
    assert np.allclose(a.ltas(), b.ltas(), rtol=1e-9)
    assert a.low_power() == pytest.approx(b.low_power(), rel=1e-9)
    assert np.allclose(a.min_spectrum_db(), b.min_spectrum_db())
    assert np.allclose(a.line_spectrum_db()[1], b.line_spectrum_db()[1])


def test_a_dc_offset_and_its_slow_drift_leak_into_no_band_and_not_into_the_low_path(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_noise(x, sr, 30.0, "white", seed=2)
    z, _ = degrade.add_dc(y, sr, 0.05, drift=0.005, seed=3)
    a, b = SpectralFloor(sr, 1), SpectralFloor(sr, 1)
    feed(a, y)
    feed(b, z)
    assert np.max(np.abs(10 * np.log10(b.floor()[1:] / a.floor()[1:]))) < 0.5
    # the low path measures about a line per 8 s: a 0.5 % drift adds less than -50 dB re the signal
    assert b.low_power()[1] - a.low_power()[1] < 1e-5 * b.power


def test_brown_noise_wander_is_measured_by_the_low_path(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_noise(x, sr, 15.0, "brown", seed=4)
    sf = SpectralFloor(sr, 1)
    feed(sf, y)
    signal_power = float(np.mean(x.astype(np.float64) ** 2))
    # the simulator's brown noise is mostly below 20 Hz: the low path finds it within 3 dB of its level
    assert 10 * np.log10(sf.low_power()[0] / signal_power) == pytest.approx(-15.0, abs=3.0)
    assert sf.low_spread_db() < 3.5


def test_digital_silence_is_left_out_of_the_floor():
    sr = 16000
    x = _white(sr, 1, 4.0, 0.01, seed=5)
    gapped = x.copy()
    gapped[:, sr: 2 * sr] = 0.0  # a quarter of the file is digital silence
    a, b = SpectralFloor(sr, 1), SpectralFloor(sr, 1)
    feed(a, x)
    feed(b, gapped)
    diff = 10 * np.log10(b.floor()[1:] / a.floor()[1:])
    # no bias from the silent frames or the windows at the gap's edges; a quarter fewer frames scatter more
    assert abs(np.median(diff)) < 0.1 and np.max(np.abs(diff)) < 1.5
