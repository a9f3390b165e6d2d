"""Fixtures for the ops tests: clean signals from the simulator with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from acetate.ops import degrade


@pytest.fixture(scope="session")
def speech16k() -> tuple[np.ndarray, int]:
    """12 s of mono speech-like signal at 16 kHz, peak 0.5."""
    return degrade.synth_speech_like(16000, 12.0, seed=11), 16000


@pytest.fixture(scope="session")
def music22k() -> tuple[np.ndarray, int]:
    """12 s of stereo music-like signal at 22.05 kHz, peak 0.6."""
    return degrade.synth_music_like(22050, 12.0, seed=12, channels=2), 22050


@pytest.fixture(scope="session")
def clean_signals(speech16k, music22k) -> dict[str, tuple[np.ndarray, int]]:
    """Clean inputs no detector may fire on."""
    rng = np.random.default_rng(13)
    return {
        "speech": speech16k,
        "music": music22k,
        "speech_16bit": (np.round(speech16k[0] * 32767) / 32767, 16000),
        "sine_1k": (degrade.sine(44100, 3.0, 1000.0, 0.9), 44100),
        "noise": ((0.1 * rng.standard_normal((1, 3 * 16000))).astype(np.float32), 16000),
        "silence": (np.zeros((2, 3 * 16000), dtype=np.float32), 16000),
    }
