"""Burg models fitted in batches (declick's and fill_gaps' interpolation) are the one-at-a-time models."""

from __future__ import annotations

import numpy as np
import pytest

from acetate.ops.ar import _lsar, _runs, burg, burg_batch, burg_interpolate


def _cases(seed: int):
    rng = np.random.default_rng(seed)
    segs, known, orders = [], [], []
    for t in range(40):
        n = int(rng.integers(5, 1500))
        x = np.cumsum(rng.standard_normal(n)) * rng.uniform(0.01, 1.0)
        if t == 3:
            x[:] = 0.0  # digital silence: no model
        k = np.ones(n, dtype=bool)
        for _ in range(int(rng.integers(0, 4))):
            s = int(rng.integers(0, n))
            k[s: s + int(rng.integers(1, 50))] = False
        if t == 5:
            k[:] = False
            k[::5] = True  # only one-sample stretches: nothing to fit
        segs.append(x)
        known.append(k)
        orders.append(int(rng.integers(1, 120)))
    return segs, known, orders


@pytest.mark.parametrize("seed", [0, 1])
def test_burg_batch_gives_each_segments_burg_model(seed):
    segs, known, orders = _cases(seed)
    batch = burg_batch(segs, known, orders)
    nones = 0
    for x, k, p, b in zip(segs, known, orders, batch, strict=True):
        a = burg(x, k, p)
        assert (a is None) == (b is None)
        if a is None:
            nones += 1
            continue
        assert b.shape == (p + 1,) and b[0] == 1.0
        assert np.max(np.abs(a - b)) < 1e-9 * max(1.0, np.max(np.abs(a)))
    assert nones >= 2  # the silent and the one-sample cases


def test_interpolation_of_many_clicks_matches_one_run_at_a_time():
    rng = np.random.default_rng(7)
    sr = 16000
    t = np.arange(sr) / sr
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1330 * t) + 0.01 * rng.standard_normal(t.size)
    missing = np.zeros(x.size, dtype=bool)
    for s in rng.choice(x.size - 40, 60, replace=False):
        missing[s: s + int(rng.integers(2, 20))] = True
    damaged = np.where(missing, 1.0, x)
    out = burg_interpolate(damaged, missing, context=320)
    # one run at a time, as before batching: the same fill to rounding
    ref = damaged.copy()
    for s, e in zip(*_runs(missing), strict=True):
        lo, hi = max(0, s - 320), min(x.size, e + 320)
        miss = missing[lo:hi]
        p = min(int(min(200, max(16, round(3.0 * (e - s))))), max(1, int((~miss).sum()) // 4))
        a = burg(damaged[lo:hi], ~miss, p)
        ref[s:e] = _lsar(np.where(miss, 0.0, damaged[lo:hi]), miss, a, None, None, 1)[s - lo: e - lo]
    assert np.max(np.abs(out - ref)) < 1e-9
    err = np.sqrt(np.mean((out - x)[missing] ** 2)) / np.sqrt(np.mean(x**2))
    assert err < 0.1  # and the gaps are filled with the tones (error under -20 dB of the signal)
