"""Fixtures for catalog tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_audio import write_audio


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A small archive tree:

    archive/
      root.wav                         16 kHz mono PCM_16, at the root (no collection)
      tapes/a/reel1.wav                 2 channels, 44.1 kHz
      tapes/a/reel2.flac
      tapes/b/side.ogg                  Vorbis
      discs/corrupt.wav                 not audio at all (text with a .wav name)
      discs/notes.txt                   not audio: ignored
      discs/.hidden.wav, discs/x.wav.tmp  hidden / temp: ignored
      .cache/inside.wav                 hidden folder: ignored
    """
    root = tmp_path / "archive"
    write_audio(root / "root.wav", seed=1)
    write_audio(root / "tapes/a/reel1.wav", channels=2, sample_rate=44100, seed=2)
    write_audio(root / "tapes/a/reel2.flac", seed=3)
    write_audio(root / "tapes/b/side.ogg", seconds=0.5, seed=4)
    (root / "discs").mkdir()
    (root / "discs/corrupt.wav").write_bytes(b"this is not a RIFF file at all\n" * 10)
    (root / "discs/notes.txt").write_text("notes")
    write_audio(root / "discs/.hidden.wav", seed=5)
    write_audio(root / "discs/x.wav.tmp", seed=6, format="WAV")
    write_audio(root / ".cache/inside.wav", seed=7)
    return root


@pytest.fixture(scope="session")
def demo_batch(tmp_path_factory) -> tuple[Path, Path, str]:
    """The demo archive processed once for the session: (archive, out, batch_id); see demo_batch.py."""
    from demo_batch import run_demo_batch

    return run_demo_batch(tmp_path_factory.mktemp("demo"))
