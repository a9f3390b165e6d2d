"""Clipping under an offset that wanders after the clipping stage (ops/_clip_drift.py)."""

from __future__ import annotations

import numpy as np
from ops_feed import feed
from scipy.signal import butter, sosfiltfilt

from acetate.ops import degrade
from acetate.ops.chunked import apply_windowed
from acetate.ops.clipping import ClippingDetector
from acetate.ops.degrade_level import add_dc
from acetate.ops.measures import si_sdr
from acetate.ops.registry import RESTORERS

SR = 44100


def _q24(x: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(x, -1, 1) * 2**23) / 2**23).astype(np.float32)


def _hp(x: np.ndarray) -> np.ndarray:
    return sosfiltfilt(butter(2, 10.0, "highpass", fs=SR, output="sos"), x.astype(np.float64), axis=1)


def test_clipping_whose_level_wanders_is_found_and_repaired():
    # clipped at 0.3 of the peak, then an offset of 1 % full scale wandering by +-0.5 %: the
    # histogram's spike is spread over ~300 steps; the line test finds both polarities, and declip,
    # given the wandering levels, gains at least 3 dB (10 Hz high-passed, so the offset is not scored)
    x = degrade.synth_music_like(SR, 12.0, seed=7, channels=2)
    y, _ = degrade.clip(x, SR, 0.3)
    y, _ = add_dc(y, SR, [0.01, -0.008], drift=0.005, seed=3)
    y = _q24(y)
    f = feed(ClippingDetector(SR, 2), y)
    assert f.score >= 0.9
    assert f.params["drifting"] == [[True, True], [True, True]]
    restorer = RESTORERS["declip"]
    out = apply_windowed(restorer.fn, y, SR, block_s=10.0, context_s=restorer.context_s,
                         **restorer.params_from(f, SR))
    gain = si_sdr(_hp(x), _hp(out)) - si_sdr(_hp(x), _hp(y))
    print(f"wandering-level declip: {gain:+.1f} dB")
    assert gain >= 3.0


def test_a_wandering_offset_on_clean_signals_is_no_clipping():
    for seed, make in ((1, degrade.synth_music_like), (2, degrade.synth_speech_like)):
        x = make(SR, 12.0, seed=seed, channels=2)
        y, _ = add_dc(x, SR, 0.02, drift=0.02, seed=seed)
        f = feed(ClippingDetector(SR, 2), _q24(y))
        assert f.score < 0.1 and not any(any(d) for d in f.params["drifting"])
