from __future__ import annotations

import numpy as np
import pytest
from ops_feed import apply_restorer, feed, read_fixture
from scipy.signal import butter, sosfiltfilt, welch

from acetate.ops import degrade
from acetate.ops.measures import si_sdr
from acetate.ops.rumble import RumbleDetector, remove_rumble

CLIPS = ["speech-16k-mono", "music-16k-mono", "speech-44k-stereo", "music-48k-stereo"]


def _band_db(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    f, p = welch(x.astype(np.float64), fs=sr, nperseg=4 * sr, axis=-1)
    return float(10 * np.log10(p[..., (f >= lo) & (f <= hi)].sum()))


@pytest.mark.parametrize("clip", CLIPS)
def test_real_clips_are_clean_and_moderate_rumble_is_found(clip):
    x, sr = read_fixture(clip)
    assert feed(RumbleDetector(sr, x.shape[0]), x).score < 0.2
    y, label = degrade.degrade(x, sr, ["rumble"], "moderate", seed=3)
    f = feed(RumbleDetector(sr, x.shape[0]), y, block=sr * 3 + 17)
    assert f.score > 0.7  # found, and outside the review margin (moderate starts at -28 dB)
    # severity: the 1-20 Hz share of the added rumble, within a few dB of the label's whole level
    assert label["steps"][0]["params"]["level_db"] - 8 < f.severity < label["steps"][0]["params"]["level_db"] + 3
    assert 1.0 <= f.params["peak_hz"] <= 20.0


def test_dc_offset_and_its_drift_are_not_rumble():
    x, sr = read_fixture("music-16k-mono")
    y, _ = degrade.degrade(x, sr, ["dc_offset"], "severe", seed=1)
    assert feed(RumbleDetector(sr, 1), y).score < 0.2


def test_streaming_in_small_blocks_matches_one_block():
    x, sr = read_fixture("speech-44k-stereo")
    y, _ = degrade.add_rumble(x, sr, level_db=-22.0, seed=2)
    whole, small = feed(RumbleDetector(sr, 2), y), feed(RumbleDetector(sr, 2), y, block=4099)
    assert small.severity == pytest.approx(whole.severity, abs=1e-6)


def test_silence_and_too_short_input_are_not_judged():
    sr = 16000
    assert feed(RumbleDetector(sr, 1), np.zeros((1, sr * 5), np.float32)).score == 0.0
    t = np.arange(sr // 2) / sr
    burst = (0.3 * np.sin(2 * np.pi * 8 * t)).astype(np.float32)[None]  # half a second of 8 Hz
    assert feed(RumbleDetector(sr, 1), burst).score == 0.0


@pytest.mark.parametrize("clip", ["music-16k-mono", "speech-44k-stereo"])
def test_removing_rumble_restores_the_programme_and_keeps_its_bass(clip):
    x, sr = read_fixture(clip)
    y, _ = degrade.add_rumble(x, sr, level_db=-20.0, centre_hz=10.0, seed=4)
    f = feed(RumbleDetector(sr, x.shape[0]), y)
    out = apply_restorer("remove_rumble", y, sr, f)
    assert out.shape == y.shape and out.dtype == np.float32
    assert si_sdr(x, out) - si_sdr(x, y) > 4.0  # what is left lies above the corner, with the bass
    assert _band_db(out, sr, 1, 15) < _band_db(y, sr, 1, 15) - 20
    # the programme above 40 Hz passes within 0.1 dB (the clean clip through the same filter)
    clean_out = remove_rumble(x, sr)
    assert abs(_band_db(clean_out, sr, 40, sr / 2) - _band_db(x, sr, 40, sr / 2)) < 0.1


def test_the_high_pass_has_zero_phase_and_long_files_have_no_seams():
    sr = 8000
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((1, sr * 70))).astype(np.float32)
    t = np.arange(sr) / sr
    x[0, sr * 40: sr * 41] += (0.5 * np.sin(2 * np.pi * 60 * t) * np.hanning(sr)).astype(np.float32)
    out = remove_rumble(x, sr)  # 70 s: three 30-s windows with context
    lags = np.arange(-20, 21)
    seg_in, seg_out = x[0, sr * 40: sr * 41], out[0, sr * 40: sr * 41]
    xc = [float(np.dot(np.roll(seg_out, k), seg_in)) for k in lags]
    assert lags[int(np.argmax(xc))] == 0  # no delay of a 60 Hz burst
    # window by window equals one pass of the same filter over the whole file: no seams
    ref = sosfiltfilt(butter(4, 20.0, "highpass", fs=sr, output="sos"), x.astype(np.float64), axis=1,
                      padlen=3 * 400)
    assert np.max(np.abs(out - ref)) < 1e-4
