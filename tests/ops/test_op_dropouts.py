from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from ops_feed import FIXTURES, apply_restorer, feed, read_fixture

from acetate.ops import degrade
from acetate.ops.chunked import apply_windowed
from acetate.ops.dropouts import CONTEXT_S, MAX_FILL_S, DropoutsDetector, fill_gaps
from acetate.ops.measures import si_sdr
from acetate.ops.registry import DETECTORS, RESTORERS, load_all


def _covered(found, truth, slack=0.003) -> float:
    """Share of the labelled gaps that overlap a reported region."""
    return float(np.mean([any(s < te + slack and e > ts - slack for s, e in found) for ts, te in truth]))



@pytest.mark.parametrize("name", ["speech-44k-stereo.flac", "music-48k-stereo.flac", "music-16k-mono.flac"])
def test_zeroed_gaps_are_found_measured_and_filled(name):
    x, sr = read_fixture(name)
    y, label = degrade.add_dropouts(x, sr, 3, (15, 60), "zero", seed=7)
    f = feed(DropoutsDetector(sr, x.shape[0]), y)
    assert f.score > 0.95 and f.unit == "s"
    assert _covered(f.regions, label["regions"]) >= 2 / 3
    assert f.params["count"] == len(f.regions) and f.params["lost_count"] == f.params["count"]
    assert f.severity == pytest.approx(sum(e - s for s, e in f.regions))
    assert f.severity >= 0.6 * sum(label["params"]["lengths_ms"]) / 1000
    z = apply_restorer("fill_gaps", y, sr, f)
    assert si_sdr(x, z) - si_sdr(x, y) > 0.0
    # nothing changes away from the gaps (a frame and a millisecond of slack each side)
    keep = np.ones(x.shape[1], dtype=bool)
    for s, e in f.regions:
        keep[max(0, int((s - 0.003) * sr)): int((e + 0.003) * sr)] = False
    assert np.array_equal(z[:, keep], y[:, keep])


def test_zeroed_gaps_in_music_come_back_by_3_db():
    x, sr = read_fixture("music-16k-mono.flac")
    y, _ = degrade.add_dropouts(x, sr, 3, (15, 60), "zero", seed=7)
    z = apply_restorer("fill_gaps", y, sr, feed(DropoutsDetector(sr, 1), y))
    assert si_sdr(x, z) - si_sdr(x, y) > 3.0


@pytest.mark.parametrize("name", ["speech-44k-stereo.flac", "music-48k-stereo.flac"])
def test_weakened_gaps_get_their_gain_back_by_10_db(name):
    x, sr = read_fixture(name)
    y, label = degrade.add_dropouts(x, sr, 3, (15, 60), "attenuate", attenuation_db=20.0, seed=7)
    f = feed(DropoutsDetector(sr, x.shape[0]), y)
    assert f.score > 0.5 and f.params["weakened_count"] >= 2
    assert si_sdr(x, apply_restorer("fill_gaps", y, sr, f)) - si_sdr(x, y) > 10.0


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.flac")))
def test_clean_real_clips_have_no_dropouts(name):
    x, sr = read_fixture(name)
    f = feed(DropoutsDetector(sr, x.shape[0]), x)
    assert f.score < 0.4 and f.severity == 0.0 and f.regions == ()
    assert np.array_equal(fill_gaps(x, sr), x)


@pytest.mark.parametrize("which", ["speech", "music", "speech_16bit", "sine_1k", "noise", "silence"])
def test_clean_signals_have_no_dropouts(clean_signals, which):
    x, sr = clean_signals[which]
    x = np.atleast_2d(x)
    f = feed(DropoutsDetector(sr, x.shape[0]), x)
    assert f.score < 0.4 and f.regions == ()


def _pauses_rests_and_fades(sr: int) -> np.ndarray:
    """Natural silences a gap filler must leave alone, in a noise floor at -70 dBFS: a tone
    stopping into a 0.3 s room tail, a 40 ms fade out and in (a 100 ms hole), a note damped
    within 20 ms into an 80 ms rest, and a gate closing over 20 ms for 0.3 s (opening at once)."""
    rng = np.random.default_rng(4)
    t = np.arange(int(4.0 * sr)) / sr
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1320 * t)
    g = np.ones_like(t)
    tail = (t >= 0.5) & (t < 1.0)
    g[tail] = np.exp(-(t[tail] - 0.5) / 0.05)  # -60 dB in 0.35 s
    fade = (t >= 1.5) & (t < 1.64)
    g[fade] = np.clip(np.abs(t[fade] - 1.57) / 0.04 - 0.75, 0, 1)
    rest = (t >= 2.2) & (t < 2.3)
    g[rest] = np.where(t[rest] < 2.22, np.exp(-(t[rest] - 2.2) / 0.004), 0.0)  # -43 dB, then nothing
    gate = (t >= 3.0) & (t < 3.5)  # closes over 20 ms, opens at once
    g[gate] = np.clip((3.2 - t[gate]) / 0.02, 0, 1)
    noise = 10 ** (-70 / 20) * rng.standard_normal(t.size)
    return (tone * g + noise).astype(np.float32)[None, :]


@pytest.mark.parametrize("sr", [16000, 44100])
def test_room_tails_fades_rests_and_gates_are_no_dropouts(sr):
    x = _pauses_rests_and_fades(sr)
    f = feed(DropoutsDetector(sr, 1), x)
    assert f.score < 0.4 and f.regions == ()


def test_streaming_in_odd_blocks_finds_what_the_whole_file_finds_across_block_edges():
    x, sr = read_fixture("speech-44k-stereo.flac")
    y, label = degrade.add_dropouts(x, sr, 3, (20, 60), "zero", seed=11)
    whole = feed(DropoutsDetector(sr, 2), y)
    # blocks of 37 ms: every gap straddles at least one block boundary
    blocks = feed(DropoutsDetector(sr, 2), y, block=int(0.037 * sr))
    assert whole.params["count"] >= 2
    assert blocks.regions == whole.regions and blocks.score == pytest.approx(whole.score)


def test_gaps_too_long_to_fill_are_listed_and_left_alone():
    x, sr = read_fixture("music-48k-stereo.flac")
    y, label = degrade.add_dropouts(x, sr, 1, (150, 151), "zero", seed=2)
    f = feed(DropoutsDetector(sr, 2), y)
    assert f.score > 0.95 and f.params["unfilled_count"] == 1
    (s, e), = f.params["unfilled"]
    assert e - s > MAX_FILL_S and _covered([(s, e)], label["regions"]) == 1.0
    assert np.array_equal(apply_restorer("fill_gaps", y, sr, f), y)
    # the record says so: routing turns the finding's review sentence into a reason to listen
    from acetate.pipelines.policy import Policy
    from acetate.pipelines.route import decide

    decision = decide({"dropouts": f}, "music", Policy.load().for_item(None, "music"), sr)
    assert [s.op for s in decision.chain.steps] == ["fill_gaps"]
    assert any("longer than 80 ms left unfilled" in u for u in decision.unsure)


def test_windowed_fill_equals_whole_file_fill():
    x, sr = read_fixture("music-16k-mono.flac")
    y, _ = degrade.add_dropouts(x, sr, 4, (15, 60), "zero", seed=3)
    y2, _ = degrade.add_dropouts(y, sr, 2, (15, 40), "attenuate", attenuation_db=25.0, seed=9)
    whole = fill_gaps(y2, sr)
    windowed = apply_windowed(fill_gaps, y2, sr, block_s=1.0, context_s=CONTEXT_S)
    assert not np.array_equal(whole, y2)
    np.testing.assert_allclose(windowed, whole, atol=1e-6)


def test_registered_for_routing():
    load_all()
    assert DETECTORS["dropouts"] is DropoutsDetector
    r = RESTORERS["fill_gaps"]
    assert r.fixes == "dropouts" and r.context_s == CONTEXT_S


def test_loud_clicks_in_digital_silence_are_no_dropouts():
    # a 0.4 s digital-silence lead-in (as synthesised and edited files have) under severe clicks:
    # a click followed by silence drops by 80 dB at once, but nothing was there to lose
    x, sr = read_fixture("speech-16k-mono.flac")
    x = np.concatenate([np.zeros((1, int(0.4 * sr)), np.float32), x], axis=1)
    y, _ = degrade.add_clicks(x, sr, rate_per_min=400.0, amplitude_db=(-6, 0), width_ms=(0.1, 3.0), seed=4)
    f = feed(DropoutsDetector(sr, 1), y)
    assert f.score < 0.4 and f.regions == ()


def _pcm16(x: np.ndarray, sr: int, tmp_path: Path, name: str) -> np.ndarray:
    """x written to and read back from a 16-bit WAV, as the demo archive stores it."""
    path = tmp_path / name
    sf.write(path, np.clip(x, -1.0, 1.0).T, sr, subtype="PCM_16")
    return _clip_at(path)


def _clip_at(path: Path) -> np.ndarray:
    audio, _ = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(audio.T)


@pytest.mark.parametrize("sr", [16000, 44100])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 102])
def test_synthetic_speech_pauses_of_digital_silence_are_no_dropouts(sr, seed, tmp_path):
    """Syllables whose sin^1.5 envelopes fall to exact zero before a gap of digital silence and rise
    from it after (seed 102 at 16 kHz is the small test archive's talks/clean.wav): pauses."""
    x = _pcm16(degrade.synth_speech_like(sr, 3.0 if seed == 102 else 6.0, seed=seed), sr, tmp_path, "s.wav")
    f = feed(DropoutsDetector(sr, 1), x)
    assert f.score < 0.5, f.regions


def test_clipped_synthetic_speech_has_no_dropouts(tmp_path):
    """The demo archive's oral-history/lecture-1971.flac: 44.1 kHz synthetic speech clipped at 0.5."""
    sr = 44100
    x = degrade.clip(degrade.synth_speech_like(sr, 10.0, seed=102), sr, level=0.5)[0]
    f = feed(DropoutsDetector(sr, 1), _pcm16(x, sr, tmp_path, "c.wav"))
    assert f.score < 0.5, f.regions


@pytest.mark.parametrize("sr", [16000, 44100])
def test_zeroed_gaps_in_synthetic_speech_are_still_found(sr, tmp_path):
    """Cutting a stationary stretch leaves energy growing with distance on both sides (~10 dB from 3
    to 30 ms), unlike a syllable's envelope reaching zero: the pause rule does not hide real gaps."""
    x = degrade.synth_speech_like(sr, 6.0, seed=3)
    y, label = degrade.add_dropouts(x, sr, 4, (20, 60), "zero", seed=5)
    f = feed(DropoutsDetector(sr, 1), _pcm16(y, sr, tmp_path, "d.wav"))
    assert f.score > 0.8 and f.params["lost_count"] >= 2
    assert _covered(f.regions, label["regions"]) >= 0.5


@pytest.mark.parametrize("sr", [16000, 44100])
def test_a_gap_just_after_the_level_rose_is_still_a_dropout(sr):
    # a voice's level swings by 10 dB within a glottal period or two: a gap lost right after a
    # louder stretch began is a dropout (only a rise out of the floor, a burst in silence, is not)
    rng = np.random.default_rng(1)
    t = np.arange(int(2.0 * sr)) / sr
    tone = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 540 * t + 1.0)
    gain = np.full(t.size, 0.03)
    gain[: int(0.5 * sr)] = 0.0  # a pause: the recording's floor is its noise, 50 dB down
    at = int(1.0 * sr)
    gain[at - int(0.008 * sr):] = 0.1  # 10 dB up 8 ms before the gap, and on after it
    x = (tone * gain + 1e-4 * rng.standard_normal(t.size)).astype(np.float32)[None]
    y = x.copy()
    y[:, at: at + int(0.02 * sr)] = 0.0
    f = feed(DropoutsDetector(sr, 1), y)
    assert f.score > 0.5 and f.params["lost_count"] == 1
    assert _covered(f.regions, [[at / sr, at / sr + 0.02]]) == 1.0
    assert feed(DropoutsDetector(sr, 1), x).score < 0.4  # the rise alone is no dropout
