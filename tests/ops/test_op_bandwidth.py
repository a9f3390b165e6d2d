"""The `bandwidth` detector on the real fixture clips: its decision (score) and its cut-off (severity, Hz)."""

from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed, read_fixture
from scipy import signal

from acetate.ops import degrade
from acetate.ops.bandwidth import BandwidthDetector
from acetate.ops.noise import NoiseDetector
from acetate.ops.registry import link_detectors

CLIPS = ("speech-16k-mono", "music-16k-mono", "speech-44k-stereo", "music-48k-stereo")



@pytest.mark.parametrize("name", CLIPS)
@pytest.mark.parametrize("cutoff", [4500.0, 6000.0])
def test_a_codecs_brickwall_is_reported_at_its_cutoff_within_10_percent(name, cutoff):
    x, sr = read_fixture(name)
    y, _ = degrade.limit_bandwidth(x, sr, cutoff, "mp3")
    f = feed(BandwidthDetector(sr, x.shape[0]), y)
    assert f.unit == "Hz" and f.params["shape"] == "brickwall"
    assert f.severity == pytest.approx(cutoff, rel=0.10)


def test_a_gentle_lowpass_on_speech_is_reported_near_its_cutoff():
    x, sr = read_fixture("speech-44k-stereo")
    y, _ = degrade.limit_bandwidth(x, sr, 6000.0, "lowpass")
    f = feed(BandwidthDetector(sr, 2), y)
    assert f.params["shape"] in ("lowpass", "bandpass") and f.severity == pytest.approx(6000.0, rel=0.10)


def test_reading_the_noise_detectors_floor_gives_the_same_findings():
    # linked as analysis links them, bandwidth keeps no floor of its own and both findings are unchanged
    x, sr = read_fixture("speech-44k-stereo")
    y, _ = degrade.limit_bandwidth(x, sr, 5000.0, "mp3")
    alone = feed(NoiseDetector(sr, 2), y), feed(BandwidthDetector(sr, 2), y)
    noise, bandwidth = NoiseDetector(sr, 2), BandwidthDetector(sr, 2)
    link_detectors([noise, bandwidth])
    assert bandwidth.floor is noise.floor
    for start in range(0, y.shape[1], 44100):
        noise.update(y[:, start:start + 44100])
        bandwidth.update(y[:, start:start + 44100])
    assert noise.floor.samples == y.shape[1]  # fed once, not twice
    assert (noise.finish(), bandwidth.finish()) == alone
    assert alone[1].score >= 0.5


def test_block_size_does_not_change_the_cutoff():
    x, sr = read_fixture("music-48k-stereo")
    y, _ = degrade.limit_bandwidth(x, sr, 5000.0, "mp3")
    a, b = feed(BandwidthDetector(sr, 2), y), feed(BandwidthDetector(sr, 2), y, block=10007)
    assert a.severity == b.severity and a.params == b.params


def _quantised(y):
    """As the archive writes it: 24-bit PCM."""
    return (np.round(np.clip(y, -1.0, 1.0) * 2**23) / 2**23).astype(np.float32)


@pytest.mark.parametrize("name", CLIPS)
def test_a_clean_clip_is_not_taken_for_lost_bandwidth(name):
    x, sr = read_fixture(name)
    assert feed(BandwidthDetector(sr, x.shape[0]), _quantised(x)).score < 0.1


@pytest.mark.parametrize("name", CLIPS)
@pytest.mark.parametrize("seed", [1, 2])  # tape hiss and white noise at 10-20 dB SNR
def test_hiss_on_a_clean_clip_is_not_taken_for_lost_bandwidth(name, seed):
    x, sr = read_fixture(name)
    y, label = degrade.degrade(x, sr, ["noise"], "moderate", seed=seed)
    assert label["steps"][0]["params"]["color"] in ("tape_hiss", "white")
    assert feed(BandwidthDetector(sr, x.shape[0]), _quantised(y)).score < 0.1


@pytest.mark.parametrize(("name", "severity", "seed", "rel"), [
    ("speech-44k-stereo", "moderate", 0, 0.15),  # 8th-order low-pass at 5174 Hz
    ("speech-44k-stereo", "moderate", 1, 0.15),  # AM band, 6876 Hz
    ("music-48k-stereo", "moderate", 3, 0.10),  # low-pass at 5092 Hz on bright music
    ("music-48k-stereo", "severe", 1, 0.10),  # telephone, 3355 Hz
    ("speech-16k-mono", "severe", 1, 0.12),  # telephone at 16 kHz
    ("music-16k-mono", "severe", 0, 0.12),  # low-pass at 2743 Hz at 16 kHz
])
def test_a_simulated_band_loss_is_found_at_its_cutoff(name, severity, seed, rel):
    x, sr = read_fixture(name)
    y, label = degrade.degrade(x, sr, ["bandwidth"], severity, seed=seed)
    f = feed(BandwidthDetector(sr, x.shape[0]), _quantised(y))
    assert f.score >= 0.5
    assert f.severity == pytest.approx(label["steps"][0]["params"]["cutoff_hz"], rel=rel)


def test_band_loss_under_hum_and_clicks_is_still_found():
    x, sr = read_fixture("speech-44k-stereo")
    y, label = degrade.degrade(x, sr, ["bandwidth", "hum", "clicks"], "moderate", seed=5)  # 78 rpm, 6520 Hz
    f = feed(BandwidthDetector(sr, 2), _quantised(y))
    assert f.score >= 0.5 and f.severity == pytest.approx(label["steps"][0]["params"]["cutoff_hz"], rel=0.15)


@pytest.mark.parametrize(("name", "up", "down", "rate"), [
    ("speech-16k-mono", 3, 1, 48000),  # a 16 kHz voice delivered at 48 kHz: nothing above 8 kHz
    ("music-48k-stereo", 147, 320, 44100),  # 48 kHz music taken through 22.05 kHz (x2 below)
])
def test_a_resampled_production_rate_is_not_taken_for_damage(name, up, down, rate):
    x, _ = read_fixture(name)
    y = signal.resample_poly(x, up, down, axis=1)
    if rate == 44100:
        y = signal.resample_poly(y, 2, 1, axis=1)
    assert feed(BandwidthDetector(rate, x.shape[0]), _quantised(y)).score < 0.1



@pytest.mark.parametrize("rate", [22050, 32000, 44100, 48000])
def test_a_16k_programme_upsampled_by_a_brickwall_resampler_is_not_taken_for_damage(rate):
    """Nothing at all above 8 kHz, an edge as sharp as a codec's: the 16 kHz production rate explains it."""
    x, sr = read_fixture("music-16k-mono")
    y = signal.resample(x, int(round(x.shape[1] * rate / sr)), axis=1)  # FFT: a perfect brickwall
    f = feed(BandwidthDetector(rate, 1), _quantised(y))
    assert f.score < 0.1 and f.params["native_rate_hz"] == 16000
