from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed
from scipy import signal

from acetate.ops import degrade
from acetate.ops.hum import HumDetector, dehum, notch_widths
from acetate.ops.registry import RESTORERS


def _hummed(clean_signals, which, f0, level_db, drift):
    x, sr = clean_signals[which]
    y, _ = degrade.add_hum(x, sr, fundamental=f0, level_db=level_db, harmonics=5, drift_hz=drift, seed=3)
    return x, y, sr


@pytest.mark.parametrize(("which", "f0", "drift"), [("speech", 50.0, 0.1), ("music", 60.0, 0.0),
                                                     ("music", 50.0, 0.5), ("speech", 60.0, 0.5)])
def test_hum_at_minus_35_db_is_found_with_family_fundamental_and_level(clean_signals, which, f0, drift):
    x, y, sr = _hummed(clean_signals, which, f0, -35.0, drift)
    f = feed(HumDetector(sr, x.shape[0]), y)
    assert f.score > 0.9
    assert f.params["family"] == f0
    assert abs(f.params["fundamental"] - f0) < (0.05 if drift == 0 else drift + 0.05)
    assert 1 in f.params["harmonics"]
    assert f.severity == pytest.approx(-35.0, abs=3.0)
    # the drift estimate (half the spread of per-segment fundamentals) sets the notch widths; a
    # 12 s file sees part of the 20 s drift cycle, averaged over 4 s segments
    assert (0.15 <= f.params["drift_hz"] <= drift + 0.15) if drift >= 0.5 else f.params["drift_hz"] < 0.2


@pytest.mark.parametrize("which", ["speech", "music", "speech_16bit", "sine_1k", "noise", "silence"])
def test_clean_signals_have_no_hum(clean_signals, which):
    x, sr = clean_signals[which]
    assert feed(HumDetector(sr, x.shape[0]), x).score < 0.5


def test_a_held_note_near_mains_frequency_is_not_hum():
    # a 98 Hz note (G2) that comes and goes is not stationary like a mains line
    sr, n = 8000, 12 * 8000
    t = np.arange(n) / sr
    gate = (np.sin(2 * np.pi * 0.2 * t) > 0.3).astype(float)
    x = (0.3 * gate * np.sin(2 * np.pi * 98.0 * t))[None, :].astype(np.float32)
    assert feed(HumDetector(sr, 1), x).score < 0.5


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [np.zeros((1, 1), np.float32), np.full((1, 1), 0.5, np.float32),
                               np.zeros((2, 44100), np.float32)])
def test_short_and_silent_inputs_score_zero(x):
    f = feed(HumDetector(44100, x.shape[0]), x)
    assert f.score == 0.0 and np.isfinite(f.severity)


def test_streaming_in_small_blocks_matches_one_block(clean_signals):
    x, y, sr = _hummed(clean_signals, "music", 50.0, -35.0, 0.1)
    whole = feed(HumDetector(sr, 2), y)
    small = feed(HumDetector(sr, 2), y, block=4321)
    assert small.score == pytest.approx(whole.score, abs=1e-6)
    assert small.severity == pytest.approx(whole.severity, abs=1e-6)
    assert small.params["fundamental"] == pytest.approx(whole.params["fundamental"], abs=1e-3)
    assert small.params["harmonics"] == whole.params["harmonics"]


def _third_octave_change_db(x, out, sr, fundamental, harmonics, widths):
    """Largest |change| of a third-octave band's power, 60 Hz to 0.9 Nyquist, leaving out each
    notch's neighbourhood (two widths + 4 Hz each side)."""
    fr, p0 = signal.welch(x, sr, nperseg=sr // 2)
    _, p1 = signal.welch(out, sr, nperseg=sr // 2)
    p0, p1 = np.atleast_2d(p0).sum(axis=0), np.atleast_2d(p1).sum(axis=0)
    keep = np.ones(fr.size, bool)
    for k, w in zip(harmonics, widths, strict=True):
        keep &= np.abs(fr - k * fundamental) > 2 * w + 4
    edges = 60 * 2 ** (np.arange(40) / 3)
    worst = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        band = keep & (fr >= lo) & (fr < hi) & (fr < 0.45 * sr)
        if band.any() and p0[band].sum() > 0:
            worst = max(worst, abs(10 * np.log10(p1[band].sum() / p0[band].sum())))
    return worst


@pytest.mark.parametrize(("which", "f0", "drift", "max_change_db"),
                         [("speech", 50.0, 0.1, 0.5), ("music", 60.0, 0.1, 0.5), ("music", 50.0, 0.0, 0.5),
                          ("speech", 60.0, 0.5, 1.0)])
def test_dehum_drops_hum_by_20_db_and_leaves_the_rest(clean_signals, which, f0, drift, max_change_db):
    x, y, sr = _hummed(clean_signals, which, f0, -30.0, drift)
    f = feed(HumDetector(sr, x.shape[0]), y)
    params = RESTORERS["dehum"].params_from(f, sr)
    hum = y.astype(np.float64) - x
    mid = slice(2 * sr, -2 * sr)  # away from the file's own edges
    residual = dehum(hum.astype(np.float32), sr, **params)  # the comb is linear: hum alone
    drop = 10 * np.log10(np.mean(hum[:, mid] ** 2) / np.mean(residual[:, mid].astype(np.float64) ** 2))
    out = dehum(x, sr, **params)
    widths = notch_widths(params["harmonics"], params["drift_hz"])
    change = _third_octave_change_db(x[:, mid], out[:, mid], sr, params["fundamental"], params["harmonics"], widths)
    print(f"dehum {which} {f0} Hz drift {drift}: hum -{drop:.1f} dB, programme bands change <= {change:.2f} dB")
    assert drop >= 20.0
    assert change < max_change_db
    after = feed(HumDetector(sr, x.shape[0]), dehum(y, sr, **params))
    assert after.severity <= f.severity - 20.0


def test_dehum_adds_no_delay(speech16k):
    x, sr = speech16k
    out = dehum(x, sr, fundamental=50.0, harmonics=[1, 2, 3, 4, 5])
    lags = signal.correlation_lags(x.shape[1], out.shape[1])
    xc = signal.correlate(out[0], x[0], method="fft")
    assert lags[np.argmax(xc)] == 0
    assert out.shape == x.shape and out.dtype == np.float32


@pytest.mark.parametrize("seed", [100, 101, 102])
def test_three_second_files_judged_on_one_second_segments(seed):
    # seed 102's steady 120 Hz voice fills one 4 s segment like a 60 Hz comb; 1 s segments see it move
    sr = 16000
    x = degrade.synth_speech_like(sr, 3.0, seed=seed)
    y, _ = degrade.add_hum(x, sr, fundamental=50.0, level_db=-30.0, drift_hz=0.1)
    assert feed(HumDetector(sr, 1), x).score < 0.5
    assert feed(HumDetector(sr, 1), y).score > 0.9


def test_dehum_removes_hum_up_to_the_file_edges(speech16k):
    x, sr = speech16k
    x = x[:, : 3 * sr]
    y, _ = degrade.add_hum(x, sr, fundamental=50.0, level_db=-30.0, drift_hz=0.1)
    params = RESTORERS["dehum"].params_from(feed(HumDetector(sr, 1), y), sr)
    hum = y.astype(np.float64) - x
    residual = dehum(hum.astype(np.float32), sr, **params).astype(np.float64)
    for edge in (slice(0, sr // 2), slice(-sr // 2, None)):
        assert 10 * np.log10(np.mean(hum[:, edge] ** 2) / np.mean(residual[:, edge] ** 2)) >= 20.0
