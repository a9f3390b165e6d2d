from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed
from scipy import signal

from acetate.ops import degrade
from acetate.ops.clipping import ClippingDetector
from acetate.ops.dc import DcOffsetDetector
from acetate.ops.hum import HumDetector
from acetate.ops.measures import MEASURE_KEYS, SEVERITY_MEASURES, Measurer, k_weighting_sos, si_sdr
from acetate.ops.registry import DETECTORS


def test_k_weighting_at_48k_matches_the_coefficients_of_bs1770():
    sos = k_weighting_sos(48000)
    assert np.allclose(sos[0], [1.53512485958697, -2.69169618940638, 1.19839281085285,
                                1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    assert np.allclose(sos[1], [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


@pytest.mark.parametrize(("sr", "channels", "amplitude_db", "expected_lufs"),
                         [(48000, 1, 0.0, -3.01), (44100, 1, -20.0, -23.01), (48000, 2, -23.0, -23.0),
                          (16000, 2, -20.0, -20.0)])
def test_bs1770_loudness_of_a_1khz_sine(sr, channels, amplitude_db, expected_lufs):
    x = degrade.sine(sr, 5.0, 1000.0, 10 ** (amplitude_db / 20), channels)
    assert feed(Measurer(sr, channels), x)["loudness_lufs"] == pytest.approx(expected_lufs, abs=0.05)


def test_loudness_gates_out_silence_between_tones():
    sr = 48000
    tone = degrade.sine(sr, 3.0, 1000.0, 0.1)
    x = np.concatenate([tone, np.zeros((1, 6 * sr), np.float32), tone], axis=1)
    # ungated it would read 10*log10(6/12) = 3 dB lower; the blocks straddling an edge that pass
    # the relative gate pull it down a little
    assert -23.4 < feed(Measurer(sr, 1), x, block=sr)["loudness_lufs"] < -22.95


def test_true_peak_finds_the_peak_between_samples():
    # a sine at fs/4 sampled 45 degrees off its peaks: samples reach 0.707 of the true peak
    sr = 48000
    x = degrade.sine(sr, 1.0, sr / 4, 0.5, phase=np.pi / 4)
    x[:, :480] *= np.linspace(0, 1, 480)  # fades: an abrupt start rings in any interpolator
    x[:, -480:] *= np.linspace(1, 0, 480)
    m = feed(Measurer(sr, 1), x, block=1000)
    sample_peak_db = 20 * np.log10(np.abs(x).max())
    assert m["true_peak_dbtp"] > sample_peak_db + 2.5
    assert m["true_peak_dbtp"] == pytest.approx(20 * np.log10(0.5), abs=0.1)


def test_keys_are_exactly_the_measures_and_silence_gives_none():
    m = feed(Measurer(16000, 2), np.zeros((2, 16000), np.float32))
    assert tuple(m) == MEASURE_KEYS
    undetected = {m for m, kind in SEVERITY_MEASURES.items() if kind not in DETECTORS}
    assert {k for k, v in m.items() if v is None} == {"snr_db", "hum_db", "bandwidth_hz", "loudness_lufs",
                                                       "true_peak_dbtp", "rumble_db"} | undetected
    assert m["clipped_fraction"] == 0.0 and m["dc_offset"] == 0.0


@pytest.mark.parametrize("snr_db", [10.0, 20.0, 30.0])
def test_snr_estimate_of_speech_in_white_noise(speech16k, snr_db):
    x, sr = speech16k
    y, _ = degrade.add_noise(x, sr, snr_db, "white", seed=4)
    assert feed(Measurer(sr, 1), y)["snr_db"] == pytest.approx(snr_db, abs=3.0)


def test_bandwidth_of_noise_low_passed_at_4khz():
    sr = 44100
    rng = np.random.default_rng(8)
    w = rng.standard_normal(5 * sr)
    x = 0.1 * signal.sosfilt(signal.butter(8, 4000, fs=sr, output="sos"), w) + 1e-4 * w
    assert 3800 <= feed(Measurer(sr, 1), x[None, :].astype(np.float32))["bandwidth_hz"] <= 5000
    white = feed(Measurer(sr, 1), (0.1 * w[None, :]).astype(np.float32))["bandwidth_hz"]
    assert white > 0.9 * sr / 2


def test_measures_reuse_the_detectors_severities(speech16k):
    x, sr = speech16k
    y, _ = degrade.clip(x, sr, 0.5)
    y, _ = degrade.add_hum(y, sr, fundamental=50.0, level_db=-30.0)
    y, _ = degrade.add_dc(y, sr, 0.01)
    m = feed(Measurer(sr, 1), y)
    assert m["hum_db"] == pytest.approx(feed(HumDetector(sr, 1), y).severity)
    assert m["clipped_fraction"] == pytest.approx(feed(ClippingDetector(sr, 1), y).severity)
    assert m["dc_offset"] == pytest.approx(feed(DcOffsetDetector(sr, 1), y).severity)
    assert m["hum_db"] == pytest.approx(-30.0, abs=3.0)


def test_streaming_in_small_blocks_matches_one_block(music22k):
    x, sr = music22k
    whole = feed(Measurer(sr, 2), x)
    small = feed(Measurer(sr, 2), x, block=3000)
    for key in MEASURE_KEYS:
        if whole[key] is None:
            assert small[key] is None
        else:
            assert small[key] == pytest.approx(whole[key], rel=1e-6, abs=1e-9), key


@pytest.mark.filterwarnings("error")
def test_one_sample_gives_finite_values_without_warnings():
    m = feed(Measurer(44100, 1), np.full((1, 1), 0.5, np.float32))
    assert all(v is None or np.isfinite(v) for v in m.values())


def test_si_sdr_of_a_scaled_copy_is_infinite_and_of_noise_is_its_snr():
    rng = np.random.default_rng(1)
    r = rng.standard_normal(10000)
    assert si_sdr(r, 0.5 * r) == np.inf
    n = rng.standard_normal(10000)
    n -= r * (n @ r) / (r @ r)  # orthogonal to the reference
    assert si_sdr(r, r + 0.1 * n / np.std(n) * np.std(r)) == pytest.approx(20.0, abs=0.01)


def test_a_dc_offset_is_neither_signal_nor_noise(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_noise(x, sr, 20.0, "white", seed=4)
    y, _ = degrade.add_dc(y, sr, 0.02)
    m = feed(Measurer(sr, 1), y)
    assert m["snr_db"] == pytest.approx(20.0, abs=3.0)
    assert m["dc_offset"] == pytest.approx(0.02, abs=1e-4)
    dc_only = feed(Measurer(sr, 1), np.full((1, sr), 0.02, np.float32))
    assert dc_only["snr_db"] is None and dc_only["dc_offset"] == pytest.approx(0.02, abs=1e-6)


def test_skipped_kinds_are_left_out_and_the_other_measures_are_unchanged():
    sr = 16000
    clean = degrade.sine(sr, 6.0, 440.0, 0.2)
    y, _ = degrade.degrade(clean, sr, ["hum", "clicks"], "moderate", seed=3)
    full = feed(Measurer(sr, 1), y)
    part = feed(Measurer(sr, 1, skip={"hum", "wow"}), y)
    assert full["hum_db"] > -60.0  # the hum is there, so leaving it out is a real difference
    assert set(full) - set(part) == {"hum_db", "wow_pct"}
    assert {k: part[k] for k in part} == {k: full[k] for k in part}
