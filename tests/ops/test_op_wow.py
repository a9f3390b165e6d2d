from __future__ import annotations

import numpy as np
import pytest
from ops_feed import feed

from acetate.ops import degrade
from acetate.ops.wow import WowDetector


def _music(sr: int = 22050, seconds: float = 12.0, seed: int = 12, channels: int = 2) -> np.ndarray:
    return degrade.synth_music_like(sr, seconds, seed=seed, channels=channels)


@pytest.mark.parametrize(("sr", "channels", "wow", "wow_hz", "flutter", "flutter_hz"), [
    (22050, 2, 0.3, 1.3, 0.05, 12.0),  # a 78 rpm disc's rate
    (16000, 1, 0.3, 0.556, 0.03, 8.0),  # 33 1/3 rpm
    (44100, 1, 0.2, 2.5, 0.1, 20.0),
])
def test_moderate_wow_on_music_is_found_with_its_rate_and_depth(sr, channels, wow, wow_hz, flutter, flutter_hz):
    y, _ = degrade.add_wow_flutter(_music(sr, channels=channels), sr, wow, wow_hz, flutter, flutter_hz, seed=1)
    f = feed(WowDetector(sr, channels), y)
    print(f"wow {wow} % at {wow_hz} Hz: score {f.score:.3f}, {f.params}")
    assert f.score > 0.8
    assert f.params["wow_hz"] == pytest.approx(wow_hz, abs=0.03)
    assert f.params["wow_pct"] == pytest.approx(wow, rel=0.2)
    assert f.unit == "%" and f.severity >= f.params["wow_pct"]
    assert f.regions == ()  # global: the whole (single-segment) file


@pytest.mark.parametrize("which", ["speech", "music", "speech_16bit", "sine_1k", "noise", "silence"])
def test_clean_signals_have_no_wow(clean_signals, which):
    # the speech-like signal's pitch wanders by 12 % at 0.35 Hz and 5 % at 1.3 Hz (intonation);
    # the music-like one has 0.3 % vibrato at 4.5-6 Hz on every note
    x, sr = clean_signals[which]
    f = feed(WowDetector(sr, x.shape[0]), x)
    assert f.score < 0.5 and f.severity == 0.0


def _notes_with_own_movement(sr: int, seconds: float, rate_hz: float, depth: float, seed: int) -> np.ndarray:
    """Overlapping notes (5 harmonics each, 0.6-1.5 s long), each with its own pitch movement at
    `rate_hz` and `depth` (fraction) starting at a random phase: vibrato, or a singer's swoops."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n)
    pos = 0
    while pos < n:
        for _ in range(2):  # two voices
            dur = int(rng.uniform(0.6, 1.5) * sr)
            t = np.arange(min(dur, n - pos)) / sr
            f0 = 220 * 2 ** (rng.integers(0, 12) / 12)
            speed = 1 + depth * np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 2 * np.pi))
            phase = 2 * np.pi * f0 * np.cumsum(speed) / sr
            env = np.minimum(1, t / 0.02) * np.minimum(1, (t[-1] - t) / 0.05 + 1e-9)
            out[pos:pos + t.size] += env * sum(np.sin(k * phase) / k for k in range(1, 6))
        pos += int(rng.uniform(0.4, 1.0) * sr)
    return (0.2 * out / np.max(np.abs(out)))[None, :].astype(np.float32)


@pytest.mark.parametrize(("rate_hz", "depth"), [(5.5, 0.01), (1.5, 0.004), (2.5, 0.003)])
def test_each_note_moving_on_its_own_is_not_wow(rate_hz, depth):
    # vibrato at 5.5 Hz (1 %), or slow per-note swoops in the wow band: they restart with every
    # note, while wow keeps one phase through all of them
    x = _notes_with_own_movement(22050, 12.0, rate_hz, depth, seed=4)
    f = feed(WowDetector(22050, 1), x)
    assert f.score < 0.5, f.params


def test_streaming_in_small_blocks_matches_one_block():
    y, _ = degrade.add_wow_flutter(_music(), 22050, 0.3, 1.3, 0.05, 12.0, seed=1)
    whole = feed(WowDetector(22050, 2), y)
    small = feed(WowDetector(22050, 2), y, block=3001)
    assert small.score == pytest.approx(whole.score, abs=1e-9)
    assert small.params == whole.params


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("x", [np.zeros((1, 1), np.float32), np.full((2, 100), 0.5, np.float32),
                               np.zeros((2, 3 * 44100), np.float32)])
def test_short_and_silent_inputs_score_zero(x):
    f = feed(WowDetector(44100, x.shape[0]), x)
    assert f.score == 0.0 and f.severity == 0.0


def test_a_long_file_is_judged_segment_by_segment_in_bounded_memory():
    sr = 16000
    y, _ = degrade.add_wow_flutter(_music(sr, 48.0, seed=7, channels=1), sr, 0.3, 0.556, 0.05, 10.0, seed=2)
    det = WowDetector(sr, 1)
    biggest = 0
    for s in range(0, y.shape[1], sr):
        det.update(y[:, s:s + sr])
        biggest = max(biggest, det._buf.size)
    f = det.finish()
    assert biggest <= int(round(12.0 * det.rate)) + det.rate  # one segment plus a block, whatever the length
    assert f.params["segments"] >= 7
    # 0.556 Hz is the hardest rate (under 7 periods in a 12 s segment): most segments, not all, see it
    assert f.score > 0.6 and f.params["wow_hz"] == pytest.approx(0.556, abs=0.02) and f.regions == ()
    # the file is aligned on average: the fitted curve's mean displacement is well under a sample
    assert abs(f.params["offset_ms"]) < 1000 / sr
