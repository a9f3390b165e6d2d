"""The `noise` detector and subsonic rumble (the `rumble` kind's, with its own restorer): rumble alone
is not broadband noise; brown noise, whose power also lies mostly below 20 Hz, still is, alone or
under rumble."""

from __future__ import annotations

import pytest
from ops_feed import feed, read_fixture

from acetate.ops import degrade
from acetate.ops.noise import NoiseDetector


def _rumble(x, sr, level_db):
    y, _ = degrade.add_rumble(x, sr, level_db=level_db, centre_hz=12.0, rpm=33.33, warp_share=0.3, seed=4)
    return y


def _detect(y, sr):
    return feed(NoiseDetector(sr, y.shape[0]), y)


@pytest.mark.parametrize("name", ["speech-16k-mono", "music-16k-mono", "speech-44k-stereo"])
def test_rumble_alone_is_not_broadband_noise(name):
    x, sr = read_fixture(name)
    f = _detect(_rumble(x, sr, -10.0), sr)
    # counted as noise, rumble 10 dB under the programme would read as an 11 dB SNR (score 1.0)
    assert f.score < 0.05 and f.severity > 50.0


def test_brown_noise_under_rumble_is_found_with_its_snr():
    x, sr = read_fixture("speech-44k-stereo")
    y, _ = degrade.add_noise(_rumble(x, sr, -20.0), sr, 10.0, "brown", seed=4)
    f = _detect(y, sr)
    assert f.score > 0.9 and f.severity == pytest.approx(10.0, abs=2.0)
    assert f.params["colour"] == "brown"


@pytest.mark.parametrize("name", ["speech-16k-mono", "music-16k-mono"])
def test_brown_noise_the_programme_hides_above_30_hz_is_found_by_its_low_band(name):
    x, sr = read_fixture(name)
    y, _ = degrade.add_noise(x, sr, 15.0, "brown", seed=4)
    f = _detect(y, sr)
    assert f.score > 0.9 and f.severity == pytest.approx(15.0, abs=1.0)
    assert f.params["low_db"] is not None


def test_pink_noise_under_rumble_keeps_its_snr_within_3_db():
    x, sr = read_fixture("speech-44k-stereo")
    y, _ = degrade.add_noise(_rumble(x, sr, -20.0), sr, 15.0, "pink", seed=4)
    f = _detect(y, sr)
    assert f.score > 0.9 and f.severity == pytest.approx(15.0, abs=3.0)
