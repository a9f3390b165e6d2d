"""Click spans grown along the click's decay (ops/_click_span.py)."""

from __future__ import annotations

import numpy as np

from acetate.ops import _click_find as cf
from acetate.ops import degrade
from acetate.ops._click_span import GROW_MAX_S, fill_clicks
from acetate.ops.ar import burg_interpolate
from acetate.ops.clicks import _POST, _POST_FRAC, _PRE, RESTORE_T
from acetate.ops.degrade_impulsive import add_clicks
from acetate.ops.measures import si_sdr

SR = 44100


def _found(y: np.ndarray) -> np.ndarray:
    """The spans declick fills: the residual test's, with declick's margins."""
    fc = cf.find_clicks(y, SR, cf.whitening_model(y[: 4 * SR]), threshold=RESTORE_T)
    miss = np.zeros(y.size, dtype=bool)
    ends = fc.end + _POST + (_POST_FRAC * (fc.end - fc.start)).astype(np.int64)
    for s, e in zip((fc.start - _PRE).tolist(), ends.tolist(), strict=True):
        miss[max(0, s):e] = True
    return miss


def test_wide_clicks_are_removed_further_when_their_spans_grow():
    # the simulator's 1-2 ms clicks, -12 to -3 dB under the peak, 100 a minute, on music-like
    # signals: filling the found spans gains +1.8 to +3.0 dB, growing them +3.6 to +8.3 dB
    gains = []
    for seed in (1, 2, 3):
        x = degrade.synth_music_like(SR, 6.0, seed=seed, channels=1)[0].astype(np.float64)
        y, _ = add_clicks(x[None].astype(np.float32), SR, rate_per_min=100, amplitude_db=(-12, -3),
                          width_ms=(1.0, 2.0), seed=seed)
        y = y[0].astype(np.float64)
        found = _found(y)
        plain = burg_interpolate(y, found, context=882, min_order=40)
        grown = fill_clicks(y, found, SR, context=882, min_order=40)
        gains.append(si_sdr(x, grown) - si_sdr(x, plain))
        changed = np.flatnonzero(grown != plain)  # growth reaches at most 1.5 x GROW_MAX_S past a span
        assert np.all(np.abs(changed[:, None] - np.flatnonzero(found)[None]).min(axis=1) <= 1.5 * GROW_MAX_S * SR)
    print("grown over found spans, dB:", np.round(gains, 2))
    assert min(gains) >= 0.3 and np.mean(gains) >= 2.0


def test_a_span_that_covers_its_click_is_left_as_it_is():
    # a short click fully inside its span: the estimate has decayed by the span's end, no growth
    x = degrade.synth_music_like(SR, 1.0, seed=3, channels=1)[0].astype(np.float64)
    starts = (8000, 20000, 31000)
    y2 = x.copy()
    short = np.zeros(x.size, dtype=bool)
    for s in starts:
        y2[s:s + 6] += 0.5 * np.max(np.abs(x)) * np.array([0.3, 1.0, 0.6, 0.3, 0.1, 0.02])
        short[s - 2:s + 14] = True
    plain = burg_interpolate(y2, short, context=882, min_order=40)
    assert np.array_equal(fill_clicks(y2, short, SR, context=882, min_order=40), plain)


def test_burg_interpolate_solves_only_the_runs_asked_for_and_keeps_the_base_elsewhere():
    x = degrade.synth_music_like(SR, 0.5, seed=4, channels=1)[0].astype(np.float64)
    missing = np.zeros(x.size, dtype=bool)
    missing[3000:3020] = missing[9000:9040] = True
    whole = burg_interpolate(x, missing, context=882, min_order=40)
    only = np.zeros(x.size, dtype=bool)
    only[9010] = True
    base = np.full(x.size, 7.0)
    part = burg_interpolate(x, missing, context=882, min_order=40, only=only, base=base)
    assert np.array_equal(part[9000:9040], whole[9000:9040])
    assert np.all(part[:9000] == 7.0) and np.all(part[9040:] == 7.0)


def test_channels_filled_together_give_each_channel_its_own_fill():
    # fill_clicks of (channels, frames) batches every channel's runs into one Burg fit per round;
    # each channel must come out exactly as filled alone (also a channel without clicks, and
    # clicks at the very ends, where one channel's islands meet the next one's)
    xs, found = [], []
    for seed in (5, 6, 7):
        x = degrade.synth_music_like(SR, 3.0, seed=seed, channels=1)[0].astype(np.float64)
        y, _ = add_clicks(x[None].astype(np.float32), SR, rate_per_min=120, amplitude_db=(-12, -3),
                          width_ms=(0.5, 2.0), seed=seed)
        xs.append(y[0].astype(np.float64))
        found.append(_found(xs[-1]))
    found[0][-30:] = True
    found[1][:25] = True
    found[2][:] = False
    together = fill_clicks(np.stack(xs), np.stack(found), SR, context=882, min_order=40)
    for c in range(3):
        assert np.array_equal(together[c], fill_clicks(xs[c], found[c], SR, context=882, min_order=40))
    assert np.array_equal(together[2], xs[2]) and not np.array_equal(together[0], xs[0])
