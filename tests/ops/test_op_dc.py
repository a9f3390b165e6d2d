from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed

from acetate.ops import degrade
from acetate.ops.dc import DcOffsetDetector, remove_dc


@pytest.mark.parametrize("which", ["speech", "music"])
def test_half_percent_offset_is_clearly_detected_with_its_value(clean_signals, which):
    x, sr = clean_signals[which]
    y, _ = degrade.add_dc(x, sr, 0.005)
    f = feed(DcOffsetDetector(sr, x.shape[0]), y)
    assert f.score > 0.9
    assert f.severity == pytest.approx(0.005, abs=1e-4)
    assert np.allclose(f.params["offsets"], 0.005, atol=1e-4)


@pytest.mark.parametrize("which", ["speech", "music", "speech_16bit", "sine_1k", "noise", "silence"])
def test_clean_signals_score_low(clean_signals, which):
    x, sr = clean_signals[which]
    assert feed(DcOffsetDetector(sr, x.shape[0]), x).score < 0.1


def test_offset_below_five_hundredths_of_a_percent_counts_as_clean(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_dc(x, sr, 0.0003)
    assert feed(DcOffsetDetector(sr, 1), y).score < 0.1


def test_streaming_in_small_blocks_matches_one_block(music22k):
    x, sr = music22k
    y, _ = degrade.add_dc(x, sr, [0.004, -0.002])
    whole = feed(DcOffsetDetector(sr, 2), y)
    small = feed(DcOffsetDetector(sr, 2), y, block=997)
    assert small.score == pytest.approx(whole.score, abs=1e-9)
    assert np.allclose(small.params["offsets"], whole.params["offsets"], atol=1e-9)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [np.zeros((1, 1), np.float32), np.full((1, 1), 0.3, np.float32),
                               np.zeros((2, 48000), np.float32)])
def test_one_sample_and_silence_give_score_zero_without_warnings(x):
    f = feed(DcOffsetDetector(48000, x.shape[0]), x)
    assert f.score == pytest.approx(0.0, abs=1e-3)


def test_remove_dc_leaves_residual_below_1e_minus_4_per_channel(music22k):
    x, sr = music22k
    y, _ = degrade.add_dc(x, sr, [0.03, -0.01])
    f = feed(DcOffsetDetector(sr, 2), y)
    out = remove_dc(y, sr, offsets=f.params["offsets"])
    assert out.shape == y.shape and out.dtype == np.float32
    residual = np.abs(out.astype(np.float64).mean(axis=1))
    assert residual.max() < 1e-4
    assert np.max(np.abs(out - x)) < 1e-4  # the waveform itself is untouched


def test_remove_dc_on_a_constant_is_exact():
    y = np.full((1, 1000), 0.25, np.float32)
    assert np.max(np.abs(remove_dc(y, 8000, offsets=[0.25]))) < 1e-7


def test_clipping_a_voice_is_not_an_offset_but_an_offset_after_clipping_is_found(speech16k):
    # clipping 3 % of a voice's samples at one level shifts its mean (the taller polarity loses
    # more); an offset added after the overload moves both clip levels, and is found exactly
    x, sr = speech16k
    level = float(np.quantile(np.abs(x), 0.97))
    y, _ = degrade.clip(x, sr, level, relative=False)
    assert abs(float(y.mean()) - float(x.mean())) > 2e-4  # the clipping's own shift of the mean
    f = feed(DcOffsetDetector(sr, 1), y)
    assert f.score < 0.1 and abs(f.params["offsets"][0]) < 1e-5
    z, _ = degrade.add_dc(y, sr, 0.01)
    g = feed(DcOffsetDetector(sr, 1), z, block=997)
    assert g.score > 0.9 and g.params["offsets"][0] == pytest.approx(0.01, abs=1e-5)
