from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed

from acetate.ops import degrade
from acetate.ops.ar import ar_fit, ar_interpolate
from acetate.ops.clipping import ClippingDetector, declip
from acetate.ops.measures import si_sdr


def _q16(x: np.ndarray) -> np.ndarray:
    return (np.round(x * 32767) / 32767).astype(np.float32)


def test_clipping_at_three_tenths_of_full_scale_is_found_with_exact_levels():
    x = degrade.synth_speech_like(16000, 8.0, seed=21, peak=0.9)
    y, label = degrade.clip(x, 16000, 0.3, relative=False)
    f = feed(ClippingDetector(16000, 1), _q16(y))
    assert f.score > 0.9
    assert f.params["positive"][0] == pytest.approx(0.3, abs=1 / 32767)
    assert f.params["negative"][0] == pytest.approx(-0.3, abs=1 / 32767)
    assert f.severity == pytest.approx(label["params"]["clipped_fraction"], rel=0.2)
    # every labelled clipped span lies inside a reported region, to within 10 ms (the detector
    # reports runs of 2+ samples; a lone sample at the level may extend a labelled span)
    regions = np.array(f.regions)
    for s, e in label["regions"]:
        assert np.any((regions[:, 0] <= s + 0.01) & (regions[:, 1] >= e - 0.01))


def test_moderate_clipping_of_stereo_music_is_found(music22k):
    x, sr = music22k
    y, _ = degrade.clip(x, sr, 0.5)
    f = feed(ClippingDetector(sr, 2), y)
    assert f.score > 0.9
    assert max(f.params["positive"]) == pytest.approx(0.3, abs=1e-6)  # 0.5 x peak 0.6


@pytest.mark.parametrize("which", ["speech", "music", "speech_16bit", "sine_1k", "noise", "silence"])
def test_clean_signals_are_not_clipping(clean_signals, which):
    x, sr = clean_signals[which]
    f = feed(ClippingDetector(sr, x.shape[0]), x)
    assert f.score < 0.1
    assert f.regions == ()


def test_low_frequency_sine_stored_at_16_bit_is_not_clipping():
    # its peaks span 2-3 equal 16-bit samples every period: flat runs, but no histogram spike
    x = _q16(degrade.sine(44100, 3.0, 50.0, 0.5))
    assert feed(ClippingDetector(44100, 1), x).score < 0.1


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [np.full((1, 44100), 0.2, np.float32), np.zeros((1, 1), np.float32),
                               np.full((2, 1), 0.7, np.float32)])
def test_dc_only_one_sample_and_silence_score_zero(x):
    assert feed(ClippingDetector(44100, x.shape[0]), x).score == 0.0


def test_streaming_in_small_blocks_matches_one_block(speech16k):
    x, sr = speech16k
    y, _ = degrade.clip(x, sr, 0.4)
    whole = feed(ClippingDetector(sr, 1), y)
    small = feed(ClippingDetector(sr, 1), y, block=1234)
    assert small.score == pytest.approx(whole.score, abs=1e-12)
    assert small.severity == whole.severity
    assert small.params == whole.params
    assert small.regions == whole.regions


def test_stored_regions_are_capped():
    # 2000 separate 2-sample plateaus 60 ms apart: more spans than the cap
    sr = 8000
    x = 0.1 * np.sin(2 * np.pi * 3.0 * np.arange(120 * sr) / sr)
    starts = np.arange(2000) * int(0.06 * sr) + 100
    x[starts] = x[starts + 1] = 0.5
    f = feed(ClippingDetector(sr, 1), x[None, :].astype(np.float32), block=10 * sr)
    assert f.score > 0.5
    assert 0 < len(f.regions) <= 1000
    assert f.regions[0][0] <= starts[0] / sr and f.regions[-1][1] >= (starts[-1] + 2) / sr


@pytest.mark.parametrize(("which", "min_gain_db"), [("speech", 10.0), ("music", 3.0)])
def test_declip_improves_si_sdr_at_half_of_peak(clean_signals, which, min_gain_db):
    x, sr = clean_signals[which]
    x = x[:, : 6 * sr]
    y, _ = degrade.clip(x, sr, 0.5)
    f = feed(ClippingDetector(sr, x.shape[0]), y)
    out = declip(y, sr, positive=f.params["positive"], negative=f.params["negative"])
    before, after = si_sdr(x, y), si_sdr(x, out)
    print(f"declip {which}: SI-SDR {before:.1f} -> {after:.1f} dB")
    assert after - before >= min_gain_db


def test_declip_keeps_unclipped_samples_and_reaches_past_the_level(speech16k):
    x, sr = speech16k
    y, label = degrade.clip(x, sr, 0.5)
    level = label["params"]["level"]
    out = declip(y, sr, positive=[level], negative=[-level])
    clipped = np.abs(y) >= level - 1e-6
    assert np.array_equal(out[~clipped], y[~clipped])
    assert np.all(np.abs(out[clipped]) >= level - 1e-6)
    assert np.all(np.sign(out[clipped]) == np.sign(y[clipped]))


def test_declip_with_no_clipped_polarity_is_identity(speech16k):
    x, sr = speech16k
    assert np.array_equal(declip(x, sr, positive=[0.0], negative=[0.0]), x)


def test_ar_interpolate_recovers_a_gap_in_a_tonal_signal():
    rng = np.random.default_rng(5)
    n = np.arange(4000)
    x = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * f * n / 8000 + rng.uniform(0, 6)) for f in (220, 330, 470))
    missing = np.zeros(n.size, bool)
    missing[2000:2040] = True
    y = ar_interpolate(np.where(missing, 0.0, x), missing, order=16)
    err = np.sum((y - x)[missing] ** 2) / np.sum(x[missing] ** 2)
    assert 10 * np.log10(err) < -30
    assert np.array_equal(y[~missing], x[~missing])


def test_ar_fit_finds_the_coefficients_of_a_known_process():
    rng = np.random.default_rng(6)
    a_true = np.array([1.0, -1.6, 0.8])  # poles at 0.89 e^{+-j0.46}
    from scipy.signal import lfilter

    x = lfilter([1.0], a_true, rng.standard_normal(20000))
    assert np.allclose(ar_fit(x, order=2), a_true, atol=0.02)
