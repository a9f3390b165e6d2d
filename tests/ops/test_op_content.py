from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed

from acetate.ops import degrade
from acetate.ops.content import LABELS, ContentAnalyzer


@pytest.mark.parametrize(("sr", "seed", "channels"), [(16000, 1, 1), (44100, 2, 2), (22050, 3, 1)])
def test_speech_like_signal_is_speech(sr, seed, channels):
    x = degrade.synth_speech_like(sr, 10.0, seed=seed, channels=channels)
    label, confidence = feed(ContentAnalyzer(sr, channels), x)
    assert label == "speech" and confidence > 0.7


@pytest.mark.parametrize(("sr", "seed", "channels"), [(16000, 1, 1), (44100, 2, 2), (22050, 3, 1)])
def test_music_like_signal_is_music(sr, seed, channels):
    x = degrade.synth_music_like(sr, 10.0, seed=seed, channels=channels)
    label, confidence = feed(ContentAnalyzer(sr, channels), x)
    assert label == "music" and confidence > 0.7


def test_speech_in_moderate_noise_is_still_speech(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_noise(x, sr, 20.0, "pink", seed=2)
    assert feed(ContentAnalyzer(sr, 1), y)[0] == "speech"


def test_speech_then_music_is_mixed():
    sr = 16000
    x = np.concatenate([degrade.synth_speech_like(sr, 8.0, seed=4), degrade.synth_music_like(sr, 8.0, seed=4)], axis=1)
    assert feed(ContentAnalyzer(sr, 1), x)[0] == "mixed"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [np.zeros((2, 32000), np.float32), np.zeros((1, 1), np.float32),
                               (1e-4 * np.random.default_rng(0).standard_normal((1, 48000))).astype(np.float32)])
def test_digital_silence_and_noise_below_minus_60_dbfs_are_silence(x):
    label, confidence = feed(ContentAnalyzer(16000, x.shape[0]), x)
    assert label == "silence" and 0.5 <= confidence <= 1.0


def test_streaming_in_small_blocks_matches_one_block(music22k):
    x, sr = music22k
    whole = feed(ContentAnalyzer(sr, 2), x)
    small = feed(ContentAnalyzer(sr, 2), x, block=1111)
    assert small[0] == whole[0] and small[1] == pytest.approx(whole[1], abs=1e-9)
    assert whole[0] in LABELS


def test_a_dc_offset_does_not_change_the_label(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_dc(x, sr, 0.03)
    assert feed(ContentAnalyzer(sr, 1), y)[0] == "speech"
    assert feed(ContentAnalyzer(sr, 1), np.full((1, 3 * sr), 0.03, np.float32))[0] == "silence"
