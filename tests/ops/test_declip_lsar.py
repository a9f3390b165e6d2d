"""declip v3 (ops/declip_lsar.py): banded LSAR over pieces and groups of clipped runs."""

from __future__ import annotations

import numpy as np
from ops_feed import feed

from acetate.ops import declip_lsar, degrade
from acetate.ops.chunked import apply_windowed
from acetate.ops.clipping import ClippingDetector, declip, default_order
from acetate.ops.measures import si_sdr
from acetate.ops.registry import RESTORERS

SR = 44100


def _clipped_music(level: float) -> tuple[np.ndarray, np.ndarray, dict]:
    x = degrade.synth_music_like(SR, 4.0, seed=5, channels=2)
    y, _ = degrade.clip(x, SR, level)
    f = feed(ClippingDetector(SR, 2), y)
    return x, y, RESTORERS["declip"].params_from(f, SR)


def test_gaps_in_a_sum_of_sinusoids_are_recovered_by_the_banded_solve():
    # runs of 3-40 missing samples, some closer than the order (one piece), no bounds: the
    # interpolation of a noiseless tonal signal is exact to rounding (error 100 dB under its RMS; zero fill: +5 dB)
    t = np.arange(SR // 2) / SR
    x = sum(a * np.sin(2 * np.pi * f0 * t + ph) for a, f0, ph in ((0.5, 220.0, 0.1), (0.3, 1375.0, 1.0),
                                                                 (0.1, 4100.0, 2.0)))
    missing = np.zeros(x.size, dtype=bool)
    for s, n in ((3000, 40), (3060, 12), (9000, 3), (15000, 25), (15030, 25)):
        missing[s: s + n] = True
    y = np.where(missing, 0.0, x)
    inf = np.full(x.size, np.inf)
    out = declip_lsar.lsar_declip(y, missing, -inf, inf, order=40, context=706, hop=10, group=353, reach=4410)
    err = np.abs(out - x)[missing].max() / np.sqrt(np.mean(x**2))
    assert np.array_equal(out[~missing], y[~missing])
    assert 20 * np.log10(err) < -100.0


def test_dense_clipping_of_stereo_music_gains_4_db():
    # 8 % of samples clipped at a quarter of the peak, runs every few ms
    x, y, params = _clipped_music(0.25)
    out = declip(y, SR, **params)
    gain = si_sdr(x, out) - si_sdr(x, y)
    print(f"dense declip: +{gain:.1f} dB")
    assert gain >= 4.0


def test_long_clusters_are_cut_and_windowed_processing_still_matches_the_whole_file():
    # a quarter of the samples clipped: clusters of runs hundreds of ms long are cut into pieces,
    # and 0.7 s blocks with the restorer's context give the same samples as the whole signal
    x, y, params = _clipped_music(0.15)
    pos = np.flatnonzero(np.abs(y[0]) >= params["positive"][0] - 1e-6)
    p = default_order(SR)
    clusters = 1 + int(np.count_nonzero(np.diff(pos) > p))
    pieces = int(declip_lsar._pieces(pos, p, declip_lsar._PIECE_SPAN * p).sum())
    assert pieces > clusters
    restorer = RESTORERS["declip"]
    whole = declip(y, SR, **params)
    windowed = apply_windowed(declip, y, SR, block_s=0.7, context_s=restorer.context_s, **params)
    rms = np.sqrt(np.mean(y.astype(np.float64) ** 2))
    assert 20 * np.log10(np.abs(windowed - whole).max() / rms + 1e-300) < -60.0
    assert si_sdr(x, whole) > si_sdr(x, y)


def test_one_solve_at_high_rates_keeps_every_restored_sample_past_its_level():
    # at 44.1 kHz declip solves once and clips to the bounds (clipping.bound_rounds); the active set
    # (2 solves) gives other samples, and both keep each restored sample at or beyond its clip level
    x, y, params = _clipped_music(0.3)
    hi = params["positive"][0]
    up = y[0] >= hi - 1e-6
    one = declip(y, SR, **params)
    assert np.all(one[0][up] >= hi - 1e-6)
    missing = up | (y[0] <= params["negative"][0] + 1e-6)
    lower = np.where(up, hi, -np.inf)
    upper = np.where(y[0] <= params["negative"][0] + 1e-6, params["negative"][0], np.inf)
    two = declip_lsar.lsar_declip(y[0].astype(np.float64), missing, lower, upper, default_order(SR), 706, 10, 353,
                                  4410, rounds=2)
    assert np.all(two[up] >= hi - 1e-6)
    assert np.abs(two - one[0]).max() > 1e-3
