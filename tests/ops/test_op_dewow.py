from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed

from acetate.ops import degrade
from acetate.ops._warp import read_at
from acetate.ops.chunked import apply_windowed
from acetate.ops.dewow import CONTEXT_S, dewow
from acetate.ops.measures import si_sdr
from acetate.ops.registry import RESTORERS
from acetate.ops.wow import WowDetector


@pytest.fixture(scope="module")
def wowed() -> dict[str, tuple[np.ndarray, np.ndarray, int, dict]]:
    """Music-like clips with wow and flutter from the simulator, fixed seeds: (clean, degraded, rate, finding params)."""
    out = {}
    for name, sr, channels, seed, (wow, wow_hz, flutter, flutter_hz) in (
            ("stereo 22k, 0.3 % at 1.3 Hz", 22050, 2, 12, (0.3, 1.3, 0.05, 12.0)),
            ("mono 44k, 0.2 % at 2.5 Hz", 44100, 1, 5, (0.2, 2.5, 0.1, 20.0))):
        x = degrade.synth_music_like(sr, 9.0, seed=seed, channels=channels)
        y, _ = degrade.add_wow_flutter(x, sr, wow, wow_hz, flutter, flutter_hz, seed=1)
        finding = feed(WowDetector(sr, channels), y)
        out[name] = (x, y, sr, dict(RESTORERS["dewow"].params_from(finding, sr)))
    return out


@pytest.mark.parametrize("name", ["stereo 22k, 0.3 % at 1.3 Hz", "mono 44k, 0.2 % at 2.5 Hz"])
def test_dewow_gains_10_db_si_sdr_keeping_length_and_alignment(wowed, name):
    x, y, sr, params = wowed[name]
    z = dewow(y, sr, **params)
    before, after = si_sdr(x, y), si_sdr(x, z)
    print(f"dewow {name}: SI-SDR {before:.1f} -> {after:.1f} dB")
    assert z.shape == y.shape and z.dtype == np.float32
    assert after > before + 10.0 and after > 15.0
    # no drift: the restored copy lines up with the clean one within a tenth of a sample
    mid = slice(2 * sr, 6 * sr)
    t = np.arange(mid.start, mid.stop, dtype=np.float64)
    shifts = np.linspace(-0.2, 0.2, 9)
    best = shifts[int(np.argmax([si_sdr(x[:, mid], read_at(z, t + s)) for s in shifts]))]
    assert abs(best) <= 0.1


def test_window_by_window_matches_whole_file(wowed):
    x, y, sr, params = wowed["stereo 22k, 0.3 % at 1.3 Hz"]
    whole = dewow(y, sr, **params)
    windowed = apply_windowed(dewow, y, sr, block_s=4.0, context_s=CONTEXT_S, **params)
    assert windowed.shape == whole.shape
    assert si_sdr(whole, windowed) > 80.0  # the same frames and tracks: differences are rounding
    assert np.max(np.abs(windowed - whole)) < 1e-3


def test_a_clean_recording_routed_to_dewow_by_mistake_is_left_alone():
    # held notes with no common movement: the fit at 1.3 Hz explains under 10 % of the partials'
    # movement, so the curve is not trusted and the audio comes back bit for bit
    x = degrade.synth_music_like(22050, 9.0, seed=12, channels=2)
    z = dewow(x, 22050, wow_hz=1.3, spread=0.0015, depth=0.003)
    assert np.array_equal(z, x)


@pytest.mark.parametrize(("sr", "seed"), [(16000, 100), (44100, 102), (22050, 103)])
@pytest.mark.parametrize("wow_hz", [0.6, 1.3, 2.5])
def test_speech_is_never_warped_by_its_own_intonation(sr, seed, wow_hz):
    # the speech-like signal's pitch moves by 12 % at 0.35 Hz and 5 % at 1.3 Hz on every harmonic
    # together, exactly as a speed change would: a fit at the finding's rate comes out 3-5 times
    # deeper than the 0.4 % finding and leaves 0.4-0.6 % of movement besides, so dewow declines
    # (the demo archive's voices; warping them by the fit cost 10-45 dB of SI-SDR)
    x = degrade.synth_speech_like(sr, 10.0, seed=seed)
    z = dewow(x, sr, wow_hz=wow_hz, spread=0.003, depth=0.004)
    assert np.array_equal(z, x)


def test_a_finding_deeper_than_any_turntable_is_declined(wowed):
    _, y, sr, params = wowed["stereo 22k, 0.3 % at 1.3 Hz"]
    assert np.array_equal(dewow(y, sr, **{**params, "depth": 0.025}), y)


def test_silence_and_tiny_inputs_pass_through():
    for x in (np.zeros((2, 44100), np.float32), np.full((1, 1), 0.25, np.float32), np.zeros((1, 0), np.float32)):
        z = dewow(x, 44100, wow_hz=1.0)
        assert z.shape == x.shape and np.array_equal(z, x)


def test_warp_is_exact_at_whole_samples_and_band_limited_between():
    sr = 44100
    t = np.arange(2 * sr)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((2, t.size)).astype(np.float32)
    assert np.array_equal(read_at(noise, t.astype(np.float64)), noise)
    pos = t + 0.37 + 8 * np.sin(2 * np.pi * 1.1 * t / sr)  # a moving fractional read, +-8 samples
    for f, limit_db in ((0.05, -65.0), (0.2, -65.0), (0.35, -60.0)):
        x = np.sin(2 * np.pi * f * t)[None, :]
        err = read_at(x, pos)[0, 50:-50] - np.sin(2 * np.pi * f * pos)[50:-50]
        assert 10 * np.log10(np.mean(err**2) / 0.5) < limit_db, f


def test_wow_in_one_passage_is_corrected_there_and_windows_still_match_the_whole_file():
    # 24 s of music, wow (0.3 % at 1.3 Hz) only in the last 12 s: the curve is trusted there and
    # not over the clean first part, which comes back as it was; window by window = whole file
    sr = 16000
    x = degrade.synth_music_like(sr, 24.0, seed=21, channels=1)
    half = 12 * sr
    tail, _ = degrade.add_wow_flutter(x[:, half:], sr, 0.3, 1.3, 0.0, 0.0, seed=3)
    y = np.concatenate([x[:, :half], tail], axis=1)
    params = {"wow_hz": 1.3, "spread": 0.0015, "depth": 0.003}
    whole = dewow(y, sr, **params)
    windowed = apply_windowed(dewow, y, sr, block_s=5.0, context_s=CONTEXT_S, **params)
    assert np.max(np.abs(windowed - whole)) < 1e-3
    first, last = slice(0, 6 * sr), slice(16 * sr, 24 * sr)
    print(f"first part kept at {si_sdr(x[:, first], whole[:, first]):.1f} dB; wowed part "
          f"{si_sdr(x[:, last], y[:, last]):.1f} -> {si_sdr(x[:, last], whole[:, last]):.1f} dB")
    assert si_sdr(x[:, first], whole[:, first]) > 40.0
    assert si_sdr(x[:, last], whole[:, last]) > si_sdr(x[:, last], y[:, last]) + 10.0
