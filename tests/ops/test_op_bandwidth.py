"""The `bandwidth` detector's cut-off (its severity, in Hz) on the real fixture clips."""

from __future__ import annotations

import pytest
from ops_feed import feed, read_fixture

from acetate.ops import degrade
from acetate.ops.bandwidth import BandwidthDetector

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


def test_block_size_does_not_change_the_cutoff():
    x, sr = read_fixture("music-48k-stereo")
    y, _ = degrade.limit_bandwidth(x, sr, 5000.0, "mp3")
    a, b = feed(BandwidthDetector(sr, 2), y), feed(BandwidthDetector(sr, 2), y, block=10007)
    assert a.severity == b.severity and a.params == b.params
