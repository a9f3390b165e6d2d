"""The `dehiss` DSP baseline on the real fixture clips: noise taken down, clean input kept, windowed
processing equal to whole-file processing."""

from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed, read_fixture

from acetate.ops import degrade
from acetate.ops.chunked import apply_windowed
from acetate.ops.dehiss import CONTEXT_S, dehiss
from acetate.ops.measures import si_sdr
from acetate.ops.noise import NoiseDetector
from acetate.ops.registry import RESTORERS


def _params(y: np.ndarray, sr: int) -> dict:
    return RESTORERS["dehiss"].params_from(feed(NoiseDetector(sr, y.shape[0]), y), sr)


@pytest.mark.parametrize(("name", "colour", "gain_db"), [("speech-16k-mono", "white", 4.0),
                                                         ("speech-44k-stereo", "tape_hiss", 8.0),
                                                         ("music-16k-mono", "white", 2.0)])
def test_noise_at_15_db_is_taken_down_by_the_detectors_floor(name, colour, gain_db):
    x, sr = read_fixture(name)
    y, _ = degrade.add_noise(x, sr, 15.0, colour, seed=3)
    out = dehiss(y, sr, **_params(y, sr))
    assert si_sdr(x, out) - si_sdr(x, y) > gain_db


@pytest.mark.parametrize("name", ["speech-16k-mono", "music-48k-stereo"])
def test_clean_input_is_kept_within_30_db_and_its_level(name):
    x, sr = read_fixture(name)
    out = dehiss(x, sr, **_params(x, sr))
    level = 10 * np.log10(np.mean(out.astype(np.float64) ** 2) / np.mean(x.astype(np.float64) ** 2))
    assert si_sdr(x, out) >= 30.0 and abs(level) < 0.5


@pytest.mark.parametrize("sr", [16000, 44100])
def test_windowed_processing_matches_the_whole_file(sr):
    x, src_sr = read_fixture("speech-44k-stereo")
    if sr != src_sr:
        x = np.ascontiguousarray(x[:1, : 5 * src_sr])
        from scipy import signal
        x = signal.resample_poly(x, sr, src_sr, axis=1).astype(np.float32)
    y, _ = degrade.add_noise(x, sr, 12.0, "pink", seed=4)
    p = _params(y, sr)
    whole = dehiss(y, sr, **p)
    windowed = apply_windowed(dehiss, y, sr, block_s=1.0, context_s=CONTEXT_S, **p)
    assert np.max(np.abs(whole - windowed)) < 1e-5
