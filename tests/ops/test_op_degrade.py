"""The degradation simulator: each kind does what its label says, by the numbers, deterministically."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from acetate.ops import degrade

SR = 16000


def _db(p: float, q: float) -> float:
    return 10 * np.log10(p / q)


def _band_power(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64), axis=-1)) ** 2
    f = np.fft.rfftfreq(x.shape[-1], 1 / sr)
    return float(spec[..., (f >= lo) & (f < hi)].sum())


def _lag(a: np.ndarray, b: np.ndarray) -> int:
    """Lag (samples) of b against a at the cross-correlation peak, over the whole file."""
    c = signal.correlate(b.astype(np.float64), a.astype(np.float64), mode="full", method="fft")
    return int(np.argmax(c)) - (a.size - 1)


@pytest.fixture(scope="module")
def stereo_speech() -> np.ndarray:
    return degrade.synth_speech_like(SR, 6.0, seed=5, channels=2)


# -- the clean signals and the existing kinds ------------------------------------------------------

@pytest.mark.parametrize("synth", [degrade.synth_speech_like, degrade.synth_music_like])
def test_synths_are_seeded_shaped_and_stereo_is_correlated_not_identical(synth):
    a = synth(16000, 4.0, seed=1, channels=2)
    assert a.shape == (2, 64000) and a.dtype == np.float32
    assert np.array_equal(a, synth(16000, 4.0, seed=1, channels=2))
    assert not np.array_equal(a, synth(16000, 4.0, seed=2, channels=2))
    corr = np.corrcoef(a)[0, 1]
    assert 0.3 < corr < 0.999
    assert np.abs(a).max() <= 0.61 and abs(float(a.mean())) < 1e-4


def test_pink_noise_falls_3_db_per_octave():
    n = degrade.colored_noise(2**18, "pink", np.random.default_rng(0))
    p = np.abs(np.fft.rfft(n)) ** 2
    f = np.arange(p.size)
    low, high = p[(f >= 1000) & (f < 2000)].mean(), p[(f >= 2000) & (f < 4000)].mean()
    assert 10 * np.log10(low / high) == pytest.approx(3.0, abs=0.3)


def test_add_hum_level_is_relative_to_the_signal(music22k):
    x, sr = music22k
    y, label = degrade.add_hum(x, sr, fundamental=60.0, level_db=-25.0, harmonics=[1, 3, 5], drift_hz=0.2)
    hum = y.astype(np.float64) - x
    assert 10 * np.log10(np.mean(hum**2) / np.mean(x.astype(np.float64) ** 2)) == pytest.approx(-25.0, abs=0.05)
    assert label["params"]["harmonics"] == [1, 3, 5] and label["kind"] == "hum"


def test_clip_hard_and_soft(speech16k):
    x, sr = speech16k
    y, label = degrade.clip(x, sr, 0.5)
    assert np.abs(y).max() == pytest.approx(0.25, abs=1e-7)
    assert label["params"]["clipped_fraction"] == pytest.approx(np.mean(np.abs(x) > 0.25))
    assert label["regions"] and all(e > s for s, e in label["regions"])
    z, _ = degrade.clip(x, sr, 0.3, relative=False, soft=True)
    assert np.abs(z).max() < 0.3


def test_asymmetric_clipping_flattens_one_polarity_first(speech16k):
    x, sr = speech16k
    y, label = degrade.clip(x, sr, 0.2, relative=False, asymmetry=0.5)
    assert y.max() == pytest.approx(0.2, abs=1e-7) and y.min() == pytest.approx(-0.1, abs=1e-7)
    assert label["params"]["levels"] == pytest.approx([-0.1, 0.2])
    assert label["params"]["clipped_fraction"] == pytest.approx(np.mean((x > 0.2) | (x < -0.1)))


def test_add_dc_per_channel_constant_or_drifting(music22k):
    x, sr = music22k
    y, label = degrade.add_dc(x, sr, [0.01, -0.02])
    assert np.allclose((y.astype(np.float64) - x).mean(axis=1), [0.01, -0.02], atol=1e-7)
    assert label["params"]["offset"] == [0.01, -0.02] and label["params"]["drift"] == 0.0
    z, label = degrade.add_dc(x, sr, 0.01, drift=0.005, drift_period_s=8.0, seed=1)
    d = z.astype(np.float64) - x
    assert np.allclose(d[0], d[1], atol=1e-7)  # one drift for every channel
    assert 0.005 < d[0].min() and d[0].max() < 0.015 and d[0].max() - d[0].min() > 0.004
    assert np.abs(np.diff(d[0])).max() < 1e-5  # slow: no step anywhere


# -- every kind: shape, dtype, determinism ---------------------------------------------------------

KINDS = {
    "noise": lambda x, s: degrade.add_noise(x, SR, 10.0, "surface", seed=s),
    "hum": lambda x, s: degrade.add_hum(x, SR, 50.0, -30.0, drift_hz=0.1, seed=s),
    "clicks": lambda x, s: degrade.add_clicks(x, SR, 60.0, seed=s),
    "crackle": lambda x, s: degrade.add_crackle(x, SR, 1500.0, -30.0, seed=s),
    "dropouts": lambda x, s: degrade.add_dropouts(x, SR, 3, seed=s),
    "bandwidth": lambda x, s: degrade.limit_bandwidth(x, SR, kind="78rpm", seed=s),
    "wow": lambda x, s: degrade.add_wow_flutter(x, SR, 0.3, 1.3, 0.05, 12.0, seed=s),
    "dc_offset": lambda x, s: degrade.add_dc(x, SR, 0.01, drift=0.002, seed=s),
    "several": lambda x, s: degrade.degrade(x, SR, None, "severe", seed=s),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_keeps_shape_and_dtype_and_is_seeded(kind):
    x = degrade.synth_speech_like(SR, 2.0, seed=3, channels=2)
    y, label = KINDS[kind](x, 4)
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    y2, label2 = KINDS[kind](x, 4)
    assert np.array_equal(y, y2) and label == label2
    if kind not in ("bandwidth", "several"):  # 78rpm with another seed moves the horn resonances
        assert not np.array_equal(y, KINDS[kind](x, 5)[0])
    assert not np.array_equal(y, x)
    mono, _ = KINDS[kind](x[0], 4)
    assert mono.shape == x[0].shape and mono.dtype == np.float32


# -- noise -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("color", degrade.NOISE_COLORS)
def test_noise_reaches_the_snr_and_stereo_noise_is_partly_correlated(color, speech16k, stereo_speech):
    x, sr = speech16k
    y, label = degrade.add_noise(x, sr, 15.0, color, seed=3)
    n = y.astype(np.float64) - x
    assert _db(np.mean(x.astype(np.float64) ** 2), np.mean(n**2)) == pytest.approx(15.0, abs=0.5)
    assert label["kind"] == "noise" and label["params"]["snr_db"] == 15.0 and label["params"]["color"] == color
    y2, label2 = degrade.add_noise(stereo_speech, SR, 5.0, color, seed=3)
    n2 = y2.astype(np.float64) - stereo_speech
    assert _db(np.mean(stereo_speech.astype(np.float64) ** 2), np.mean(n2**2)) == pytest.approx(5.0, abs=0.5)
    hp = signal.butter(2, 200, "high", fs=SR, output="sos")  # judge correlation where the noise is many samples
    corr = np.corrcoef(signal.sosfilt(hp, n2))[0, 1]
    assert corr == pytest.approx(label2["params"]["correlation"], abs=0.15) and corr < 0.95
    assert not np.array_equal(y2[0], y2[1])


def test_mono_white_noise_is_unchanged_by_the_stereo_model(speech16k):
    x, sr = speech16k
    y, _ = degrade.add_noise(x, sr, 20.0, "white", seed=9)
    n = degrade.colored_noise(x.shape[1], "white", np.random.default_rng(9))
    n *= np.sqrt(np.mean(x.astype(np.float64) ** 2) * 10 ** (-2.0) / np.mean(n**2))
    assert np.array_equal(y, (x + n[None, :]).astype(np.float32))


def test_tape_hiss_rises_above_3_khz_and_surface_noise_is_low_with_a_revolution_beat():
    sr = 44100
    rng = np.random.default_rng(0)
    hiss = degrade.colored_noise(sr * 4, "tape_hiss", rng, sample_rate=sr)
    assert _db(_band_power(hiss, sr, 8000, 16000) / 8000, _band_power(hiss, sr, 200, 1000) / 800) > 7.0
    surface = degrade.colored_noise(sr * 8, "surface", rng, sample_rate=sr, rpm=78.0)
    assert _db(_band_power(surface, sr, 200, 2000) / 1800, _band_power(surface, sr, 6000, 12000) / 6000) > 18.0
    env = signal.sosfiltfilt(signal.butter(2, 20, fs=sr, output="sos"), surface**2)[sr:-sr]
    spec = np.abs(np.fft.rfft(env - env.mean()))
    f = np.fft.rfftfreq(env.size, 1 / sr)
    assert f[np.argmax(spec * (f < 10))] == pytest.approx(78 / 60, abs=0.2)


# -- clicks and crackle ----------------------------------------------------------------------------

def test_clicks_count_matches_the_label_and_regions_cover_every_changed_sample(stereo_speech):
    x = stereo_speech
    y, label = degrade.add_clicks(x, SR, rate_per_min=100.0, amplitude_db=(-12.0, -3.0), width_ms=(0.05, 3.0),
                                  seed=7)
    p = label["params"]
    assert p["count"] == 10 == len(p["times_s"]) == len(p["widths_ms"]) == len(p["amplitudes_db"])
    assert p["clicks_per_min"] == pytest.approx(100.0)
    d = np.abs(y.astype(np.float64) - x).max(axis=0)
    inside = np.zeros(x.shape[1], bool)
    for s, e in label["regions"]:
        inside[int(round(s * SR)):int(round(e * SR))] = True
    assert np.all(d[~inside] == 0)  # nothing changed outside the labelled regions
    peak = np.abs(x).max()
    both = 0
    for t, w, a in zip(p["times_s"], p["widths_ms"], p["amplitudes_db"], strict=True):
        s = int(round(t * SR))
        span = slice(s, s + max(1, int(round(w * SR / 1000))))
        assert inside[span].all()
        change = np.abs(y[:, span].astype(np.float64) - x[:, span]).max(axis=1)
        assert change.max() == pytest.approx(peak * 10 ** (a / 20), rel=0.3)  # (overlapping clicks add)
        both += int(change.min() > 0.2 * change.max() and not np.isclose(change[0], change[1]))
    assert both >= 6  # a scratch hits both groove walls, with different amplitudes


def test_crackle_is_dense_and_small(stereo_speech):
    x = stereo_speech
    y, label = degrade.add_crackle(x, SR, density=2000.0, level_db=-36.0, seed=2)
    assert label["kind"] == "crackle" and label["params"]["count"] == 200
    d = np.abs(y.astype(np.float64) - x)
    assert 0.5 * d.max() < np.abs(x).max() * 10 ** ((-36 + 16) / 20)  # small: even the loudest is faint
    changed = d.max(axis=0) > 0
    assert 200 <= np.count_nonzero(changed) < 0.01 * x.shape[1]
    assert sum(e - s for s, e in label["regions"]) > 2.0  # spread all over the file


# -- dropouts --------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", ["zero", "attenuate"])
def test_dropouts_touch_exactly_the_labelled_gaps(depth, stereo_speech):
    x = stereo_speech
    y, label = degrade.add_dropouts(x, SR, 8, (5.0, 200.0), depth, attenuation_db=20.0, seed=1)
    g = 0.0 if depth == "zero" else 0.1
    regions = label["regions"]
    assert label["params"]["count"] == len(regions) == 8
    assert all(b[0] - a[1] >= 0.06 for a, b in zip(regions, regions[1:], strict=False))  # apart, in order
    assert all(0.005 - 1e-9 <= e - s <= 0.2 + 1e-9 for s, e in regions)
    outside = np.ones(x.shape[1], bool)
    fade = SR // 1000
    for s, e in regions:
        a, b = int(round(s * SR)), int(round(e * SR))
        outside[a:b] = False
        assert np.allclose(y[:, a + fade:b - fade], g * x[:, a + fade:b - fade], atol=1e-7)
        ramp = y[:, a:a + fade].astype(np.float64) / np.where(x[:, a:a + fade] == 0, 1, x[:, a:a + fade])
        assert np.all((ramp >= g - 1e-6) & (ramp <= 1 + 1e-6))
    assert np.array_equal(y[:, outside], x[:, outside])


# -- bandwidth -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "cutoff", "band"), [("mp3", 6000.0, (100, 5400)), ("telephone", None, (400, 3000)),
                                                      ("lowpass", 3000.0, (100, 1500)), ("am", None, (300, 3000)),
                                                      ("78rpm", None, (200, 4000))])
def test_limit_bandwidth_removes_the_top_keeps_the_band_and_stays_aligned(kind, cutoff, band):
    sr = 22050
    x = (0.1 * np.random.default_rng(4).standard_normal((2, sr * 3))).astype(np.float32)
    y, label = degrade.limit_bandwidth(x, sr, cutoff, kind=kind)
    hi = label["params"]["cutoff_hz"]
    assert label["kind"] == "bandwidth" and label["params"]["kind"] == kind
    # brickwall kinds remove everything above the cutoff; shaped ones fall steeply past it
    brick = kind in ("mp3", "telephone")
    top = hi if brick else 1.5 * hi
    assert _db(_band_power(x, sr, top, sr / 2), _band_power(y, sr, top, sr / 2) + 1e-30) > (40.0 if brick else 25.0)
    if kind in ("mp3", "telephone", "am"):
        assert abs(_db(_band_power(y, sr, *band), _band_power(x, sr, *band))) < 0.5
    if kind == "telephone":
        assert _db(_band_power(x, sr, 20, 240), _band_power(y, sr, 20, 240) + 1e-30) > 40.0
    assert _lag(x[0], y[0]) == 0 and np.corrcoef(x[0], y[0])[0, 1] > 0.3


# -- wow and flutter -------------------------------------------------------------------------------

def _inst_freq(y: np.ndarray, sr: int) -> np.ndarray:
    ph = np.unwrap(np.angle(signal.hilbert(y.astype(np.float64))))
    return np.diff(ph) * sr / (2 * np.pi)


@pytest.mark.parametrize(("wow", "flutter"), [(0.5, 0.0), (0.0, 0.2), (0.3, 0.1)])
def test_wow_flutter_deviates_by_the_requested_depth_without_drift(wow, flutter):
    sr = 16000
    x = degrade.sine(sr, 6.0, 1000.0, 0.5)
    y, label = degrade.add_wow_flutter(x, sr, wow, 0.556, flutter, 12.0, seed=2)
    f = _inst_freq(y[0], sr)[sr // 2:-sr // 2]
    assert (f.max() - f.min()) / 2 / 1000 * 100 == pytest.approx(wow + flutter, rel=0.1)
    assert label["params"]["speed"]["peak_deviation_pct"] == pytest.approx(wow + flutter, rel=0.02)
    # the same speed curve on a 50 Hz sine (period 20 ms, far above any displacement): the output
    # phase minus the input phase is 2 pi 50 Hz times the displacement: bounded, mean zero, no trend
    low = degrade.sine(sr, 6.0, 50.0, 0.5)
    z, _ = degrade.add_wow_flutter(low, sr, wow, 0.556, flutter, 12.0, seed=2)
    a, b = (signal.hilbert(v[0].astype(np.float64)) for v in (low, z))
    lag_s = np.angle(b * np.conj(a)) / (2 * np.pi * 50)
    t = np.arange(x.shape[1]) / sr
    p = label["params"]
    expected = sum(depth / 100 / (2 * np.pi * rate) * np.sin(2 * np.pi * rate * t + ph) for depth, rate, ph in
                   ((wow, 0.556, p["phases"][0]), (flutter, 12.0, p["phases"][1])))
    expected -= expected.mean()  # the labelled displacement: a speed curve integrated, zero mean
    most = p["speed"]["max_displacement_ms"] / 1000
    inner = slice(sr // 10, -sr // 10)
    assert np.abs(lag_s - expected)[inner].max() < 0.03 * most
    assert abs(lag_s[inner].mean()) < 0.05 * most and np.abs(lag_s[inner]).max() < 1.02 * most


def test_mild_wow_keeps_speech_aligned_over_the_whole_file(stereo_speech):
    x = stereo_speech
    y, label = degrade.add_wow_flutter(x, SR, 0.04, 1.3, 0.03, 9.0, seed=1)  # mild: within a sample
    assert label["params"]["speed"]["max_displacement_ms"] * SR / 1000 < 1.0
    assert _lag(x[0], y[0]) == 0 and _lag(x[1], y[1]) == 0
    # (with a severe curve, +-1.6 ms, the whole-file cross-correlation of a voiced signal fragments
    # across its formant ringing; the sine test above shows the alignment exactly at any depth)


# -- several at once -------------------------------------------------------------------------------

def test_degrade_applies_kinds_in_physical_order_and_labels_each_step(stereo_speech):
    x = stereo_speech
    y, label = degrade.degrade(x, SR, ["dc_offset", "clipping", "noise", "clicks", "wow"], "mild", seed=3)
    order = ["wow", "noise", "clicks", "clipping", "dc_offset"]
    assert label["kinds"] == order and [s["kind"] for s in label["steps"]] == order
    assert label["severity"] == "mild" and set(label["regions"]) == set(order)
    assert label["regions"]["clicks"] and label["regions"]["noise"] == []
    # clipping ran before the offset: the flat tops sit at the clip level plus the offset
    level = label["steps"][3]["params"]["level"]
    offset = label["steps"][4]["params"]["offset"]
    assert y[0].max() == pytest.approx(level + offset[0], abs=1e-6)
    assert y[1].min() == pytest.approx(-level + offset[1], abs=1e-6)
    assert 0.001 <= label["steps"][3]["params"]["clipped_fraction"] <= 0.01
    assert np.array_equal(y, degrade.degrade(x, SR, order[::-1], "mild", seed=3)[0])


def test_dropouts_come_after_noise_so_a_zeroed_gap_is_silent(stereo_speech):
    y, label = degrade.degrade(stereo_speech, SR, ["dropouts", "noise"], "severe", seed=4)
    assert label["kinds"] == ["noise", "dropouts"]
    for s, e in label["regions"]["dropouts"]:
        assert np.all(y[:, int(s * SR) + 20:int(e * SR) - 20] == 0)


@pytest.mark.parametrize("severity", degrade.SEVERITIES)
def test_severity_draws_stay_in_the_documented_ranges(severity, stereo_speech):
    x = stereo_speech
    y, label = degrade.degrade(x, SR, ["noise", "hum", "wow"], severity, seed=6)
    r = degrade.SEVERITY_RANGES
    steps = {s["kind"]: s["params"] for s in label["steps"]}
    assert r["noise"][severity]["snr_db"][0] <= steps["noise"]["snr_db"] <= r["noise"][severity]["snr_db"][1]
    assert r["hum"][severity]["level_db"][0] <= steps["hum"]["level_db"] <= r["hum"][severity]["level_db"][1]
    lo, hi = r["wow"][severity]["wow_depth_pct"]
    assert lo <= steps["wow"]["wow_depth_pct"] <= hi
    picked = degrade.degrade(x, SR, None, severity, seed=6)[1]["kinds"]
    assert 2 <= len(picked) <= 3 and picked == [k for k in degrade.PHYSICAL_ORDER if k in picked]
    assert "rumble" not in degrade.RANDOM_KINDS and set(degrade.RANDOM_KINDS) < set(degrade.PHYSICAL_ORDER)
    with pytest.raises(ValueError):
        degrade.degrade(x, SR, ["scratches"], severity)


def test_every_kind_runs_at_every_severity(stereo_speech):
    x = stereo_speech[:, : SR * 2]
    for severity in degrade.SEVERITIES:
        y, label = degrade.degrade(x, SR, list(degrade.PHYSICAL_ORDER), severity, seed=1)
        assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
        assert label["kinds"] == list(degrade.PHYSICAL_ORDER) and len(label["steps"]) == len(degrade.PHYSICAL_ORDER)
        assert json.loads(json.dumps(label)) == label  # plain JSON values, ready for a benchmark's manifest
