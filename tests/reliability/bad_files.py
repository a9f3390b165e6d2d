"""An archive of the inputs a real archive holds besides good transfers, each made deterministically
and paired with the record it must yield.

`expect` is the status set allowed (a valid but unusual file carries a 0.05 DC offset, so it must be
restored, or restored and flagged by another detector: either way with an access copy) and `says` a
fragment its `error` (failed) or `review_reason` (skipped, needs_review) must hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from acetate.ops import degrade

COPY = frozenset({"restored", "needs_review"})  # statuses with an access copy for a DC-offset file
DC = 0.05


@dataclass(frozen=True)
class BadFile:
    path: str
    make: Callable[[Path], None]
    expect: frozenset[str]
    says: str | None = None  # fragment of the error / review reason
    copy: bool = False  # an access copy must exist, match the source's layout and have its DC removed


def voice(sr: int, seconds: float = 2.0, channels: int = 1, seed: int = 1) -> np.ndarray:
    """(frames, channels) float32: the simulator's speech-like signal with a DC offset of DC."""
    x = degrade.synth_speech_like(sr, seconds, seed=seed, channels=channels, peak=0.5)
    return degrade.add_dc(x, sr, offset=DC)[0].T.copy()


def _wav_bytes(tmp: Path, x: np.ndarray, sr: int, **kw) -> bytes:
    sf.write(tmp, x, sr, **kw)
    data = tmp.read_bytes()
    tmp.unlink()
    return data


def write_audio(sr: int, channels: int = 1, subtype: str | None = None, fmt: str | None = None,
                seconds: float = 2.0) -> Callable[[Path], None]:
    return lambda p: sf.write(p, voice(sr, seconds, channels), sr, subtype=subtype, format=fmt)


def truncated(fmt: str, keep: float | int) -> Callable[[Path], None]:
    """A 4-second file cut to `keep` of its bytes (a fraction, or a byte count), as a transfer
    interrupted mid-copy."""
    def make(p: Path) -> None:
        whole = _wav_bytes(p.with_name("." + p.name + ".whole"), voice(16000, 4.0), 16000, format=fmt)
        p.write_bytes(whole[: keep if isinstance(keep, int) else int(len(whole) * keep)])
    return make


def with_nonfinite(subtype: str) -> Callable[[Path], None]:
    """A float WAV with a run of NaN and single +Inf/-Inf samples in the middle of speech."""
    def make(p: Path) -> None:
        x = voice(16000).astype(np.float64 if subtype == "DOUBLE" else np.float32)
        x[8000:8100] = np.nan
        x[12000], x[12500] = np.inf, -np.inf
        sf.write(p, x, 16000, subtype=subtype)
    return make


def raw(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


BAD_FILES: tuple[BadFile, ...] = (
    BadFile("broken/zero-bytes.wav", raw(b""), frozenset({"failed"}), "empty file (0 bytes)"),
    BadFile("broken/no-frames.wav", lambda p: sf.write(p, np.zeros((0, 1), np.float32), 16000),
            frozenset({"skipped"}), "0 frames"),
    BadFile("broken/one-sample.wav", lambda p: sf.write(p, np.full((1, 1), 0.1, np.float32), 16000),
            frozenset({"skipped"}), "too short to analyze: 1 frame"),
    BadFile("broken/truncated-half.wav", truncated("WAV", 0.5), frozenset({"failed"}), "truncated file"),
    BadFile("broken/truncated-header.wav", truncated("WAV", 30), frozenset({"failed"}), "unreadable audio"),
    BadFile("broken/truncated-half.flac", truncated("FLAC", 0.5), frozenset({"failed"}), "truncated or corrupt"),
    BadFile("broken/truncated-end.flac", truncated("FLAC", 0.97), frozenset({"failed"}), "truncated or corrupt"),
    BadFile("broken/notes.wav", raw(b"Side A: interview, 1962. Side B: blank.\n" * 20), frozenset({"failed"}),
            "unreadable audio"),
    BadFile("broken/noise.flac", raw(np.random.default_rng(7).bytes(50_000)), frozenset({"failed"}),
            "unreadable audio"),
    BadFile("float/nan-inf.wav", with_nonfinite("FLOAT"), frozenset({"needs_review"}), "non-finite samples",
            copy=True),
    BadFile("float/nan-inf-64.wav", with_nonfinite("DOUBLE"), frozenset({"needs_review"}), "non-finite samples",
            copy=True),
    BadFile("silence/all-zero.wav", lambda p: sf.write(p, np.zeros((32000, 1), np.float32), 16000),
            frozenset({"clean"})),
    BadFile("layout/ten-channels.wav", write_audio(16000, 10, "PCM_16"), COPY, copy=True),
    BadFile("layout/eight-channels.flac", write_audio(16000, 8, "PCM_16"), COPY, copy=True),
    BadFile("rates/8k.wav", write_audio(8000), COPY, copy=True),
    BadFile("rates/192k.wav", write_audio(192000, 1, "PCM_24", seconds=1.0), COPY, copy=True),
    BadFile("depth/u8.wav", write_audio(16000, 1, "PCM_U8"), COPY, copy=True),
    BadFile("depth/int16.wav", write_audio(16000, 1, "PCM_16"), COPY, copy=True),
    BadFile("depth/int24.wav", write_audio(16000, 1, "PCM_24"), COPY, copy=True),
    BadFile("depth/int32.wav", write_audio(16000, 1, "PCM_32"), COPY, copy=True),
    BadFile("depth/float64.wav", write_audio(16000, 1, "DOUBLE"), COPY, copy=True),
    BadFile("names/ünïcödé — 日本語 (take 2).wav", write_audio(16000), COPY, copy=True),
    BadFile("names/with  spaces/side a.flac", write_audio(22050), COPY, copy=True),
)

# What the output keeps of the source's sample format (FLAC holds 8-24 bit; wider becomes 24 bit,
# more than 8 channels a 32-bit float WAV).
OUTPUT_SUBTYPE = {"PCM_U8": "PCM_S8", "PCM_16": "PCM_16", "PCM_24": "PCM_24", "PCM_32": "PCM_24",
                  "FLOAT": "PCM_24", "DOUBLE": "PCM_24"}


def build(root: Path) -> dict[str, BadFile]:
    """Write every BAD_FILES entry under root; returns them by relative path."""
    for bad in BAD_FILES:
        path = root / bad.path
        path.parent.mkdir(parents=True, exist_ok=True)
        bad.make(path)
    return {bad.path: bad for bad in BAD_FILES}
