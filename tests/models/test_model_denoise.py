"""The committed denoiser on real clips: it removes noise, leaves clean audio and level alone, keeps
rate, channels, length and alignment, and runs the same in windows as on the whole file."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import clip

from acetate.models.denoise import CONTEXT_S, denoise
from acetate.ops.chunked import apply_windowed
from acetate.ops.degrade import add_noise
from acetate.ops.measures import si_sdr

CASES = [("speech-16k-mono.flac", "white", 10.0, 5.0), ("speech-44k-stereo.flac", "pink", 15.0, 4.0),
         ("music-16k-mono.flac", "tape_hiss", 15.0, 2.0), ("music-48k-stereo.flac", "brown", 15.0, 2.0)]


def _level_db(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(np.mean(a.astype(np.float64) ** 2) / np.mean(b.astype(np.float64) ** 2))


@pytest.mark.parametrize("name,color,snr,gain", CASES)
def test_noise_is_removed_with_at_least_the_stated_si_sdr_gain(name, color, snr, gain):
    x, sr = clip(name)
    noisy, _ = add_noise(x, sr, snr, color, seed=3)
    y = denoise(noisy, sr)
    assert y.shape == x.shape and y.dtype == np.float32
    assert si_sdr(x, y) - si_sdr(x, noisy) >= gain
    assert abs(_level_db(y, x)) < 1.0  # what it keeps keeps its level


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_clean_audio_passes_at_30_db_si_sdr_and_its_own_level(name):
    x, sr = clip(name)
    y = denoise(x, sr)
    assert si_sdr(x, y) >= 30.0
    assert abs(_level_db(y, x)) < 0.5


@pytest.mark.parametrize("rate,channels", [(8000, 1), (22050, 2), (96000, 1)])
def test_any_rate_keeps_length_and_alignment(rate, channels):
    t = np.arange(int(1.7 * rate)) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 1.5 * t))
    x = np.tile(tone.astype(np.float32), (channels, 1))
    noisy, _ = add_noise(x, rate, 20.0, "white", seed=1)
    y = denoise(noisy, rate)
    assert y.shape == x.shape
    lag = np.argmax(np.correlate(y[0, 2000:4000], x[0, 2000:4000], "full")) - 1999
    assert lag == 0
    assert si_sdr(x, y) > si_sdr(x, noisy)


def test_windowed_processing_matches_the_whole_file():
    x, sr = clip("speech-16k-mono.flac")
    noisy, _ = add_noise(x, sr, 10.0, "pink", seed=5)
    whole = denoise(noisy, sr)
    windowed = apply_windowed(denoise, noisy, sr, block_s=1.5, context_s=CONTEXT_S)
    assert si_sdr(whole, windowed) >= 30.0


def test_int8_costs_little_quality():
    x, sr = clip("speech-16k-mono.flac")
    noisy, _ = add_noise(x, sr, 10.0, "white", seed=2)
    gain32 = si_sdr(x, denoise(noisy, sr)) - si_sdr(x, noisy)
    gain8 = si_sdr(x, denoise(noisy, sr, precision="int8")) - si_sdr(x, noisy)
    assert gain8 >= gain32 - 1.0
