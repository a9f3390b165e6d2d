from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from acetate.pipelines.audio_io import AtomicAudioWriter, output_format, read_windows


@pytest.mark.parametrize("block,context", [(1000, 0), (1000, 300), (777, 2500), (50_000, 100)])
def test_windows_cover_the_file_exactly_once_with_context(tmp_path, block, context):
    frames = 10_007
    audio = np.random.default_rng(1).uniform(-0.5, 0.5, (2, frames)).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, audio.T, 8000, subtype="FLOAT")
    kept = []
    for win in read_windows(path, block, context):
        assert win.keep.start <= context and win.audio.shape[1] <= block + 2 * context
        # the context really is the neighbouring audio
        np.testing.assert_array_equal(win.audio, audio[:, win.start:win.start + win.audio.shape[1]])
        kept.append(win.audio[:, win.keep])
    np.testing.assert_array_equal(np.concatenate(kept, axis=1), audio)


def test_interrupted_write_leaves_no_file(tmp_path):
    target = tmp_path / "out" / "a.flac"
    with pytest.raises(RuntimeError), AtomicAudioWriter(target, 16000, 1, "FLAC", "PCM_16") as w:
        w.write(np.zeros((1, 1600), np.float32))
        raise RuntimeError("killed")
    assert list((tmp_path / "out").iterdir()) == []


def test_committed_write_appears_under_its_name_only(tmp_path):
    target = tmp_path / "a.flac"
    with AtomicAudioWriter(target, 16000, 2, "FLAC", "PCM_24") as w:
        w.write(np.full((2, 800), 1.5, np.float32))  # over full scale: clipped, counted
        w.commit()
    assert [p.name for p in tmp_path.iterdir()] == ["a.flac"]
    data, sr = sf.read(target, always_2d=True)
    assert sr == 16000 and data.shape == (800, 2) and w.clipped_samples == 1600
    assert np.max(data) <= 1.0


def test_output_format_keeps_depth_and_falls_back_for_many_channels():
    assert output_format(2, "PCM_16") == ("FLAC", "PCM_16", ".flac")
    assert output_format(1, "FLOAT") == ("FLAC", "PCM_24", ".flac")
    assert output_format(12, "PCM_16") == ("WAV", "FLOAT", ".wav")
