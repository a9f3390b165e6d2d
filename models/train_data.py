"""Training material for the learned models: clean corpus clips in memory, random crops, and noise.

The clean clips are the corpus's train split (benchmarks/corpus: TTS voices, soundfont music, rooms).
Noise is generated, not recorded: the simulator's five colours plus random smooth spectra, slow
level modulation and mixtures of two, a superset of what the benchmark uses, so a model learns
"stationary-ish broadband noise" rather than five particular spectra.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf
from scipy.signal import resample_poly

from acetate.ops.degrade_noise import NOISE_COLORS, colored_noise

# Rates a batch is drawn at; 22.05 and 32 kHz are made from 44.1 and 48 kHz clips.
RATES = {16000: 0.45, 22050: 0.1, 32000: 0.05, 44100: 0.2, 48000: 0.2}
_SOURCE_RATE = {22050: 44100, 32000: 48000}


@dataclass
class Clip:
    audio: np.ndarray  # (channels, frames) float32
    sample_rate: int
    content: str
    name: str


def load_clips(corpus: Path, split: str, contents: Sequence[str] = ("speech", "music")) -> list[Clip]:
    """Every clip of a split of a corpus built by benchmarks/corpus/build.py, decoded into memory."""
    manifest = pq.read_table(Path(corpus) / "manifest.parquet").to_pylist()
    clips = []
    for row in manifest:
        if row["split"] != split or row["content"] not in contents:
            continue
        audio, sr = sf.read(Path(corpus) / row["path"], dtype="float32", always_2d=True)
        clips.append(Clip(np.ascontiguousarray(audio.T), int(sr), row["content"], row["id"]))
    if not clips:
        raise FileNotFoundError(f"no {split} clips in {corpus}: build it with `make corpus-train`")
    return clips


class ClipPool:
    """Clips grouped by (rate, content) for drawing balanced batches."""

    def __init__(self, clips: Sequence[Clip]) -> None:
        self.groups: dict[tuple[int, str], list[Clip]] = {}
        for c in clips:
            self.groups.setdefault((c.sample_rate, c.content), []).append(c)

    def draw_rate(self, rng: np.random.Generator) -> int:
        rates = [r for r in RATES if any(k[0] == _SOURCE_RATE.get(r, r) for k in self.groups)]
        p = np.array([RATES[r] for r in rates])
        return int(rng.choice(rates, p=p / p.sum()))

    def crop(self, rng: np.random.Generator, rate: int, content: str, seconds: float) -> np.ndarray:
        """A mono crop of `seconds` at `rate` (zero-padded at a random place when the clip is shorter)."""
        src_rate = _SOURCE_RATE.get(rate, rate)
        pool = self.groups[(src_rate, content)]
        clip = pool[int(rng.integers(len(pool)))]
        ch = clip.audio[int(rng.integers(clip.audio.shape[0]))]
        need = int(round(seconds * src_rate)) + 64
        if ch.size > need:
            start = int(rng.integers(ch.size - need))
            seg = ch[start: start + need]
        else:
            seg = np.zeros(need, np.float32)
            off = int(rng.integers(need - ch.size + 1))
            seg[off: off + ch.size] = ch
        if rate != src_rate:
            ratio = Fraction(rate, src_rate)
            seg = resample_poly(seg, ratio.numerator, ratio.denominator).astype(np.float32)
        n = int(round(seconds * rate))
        return seg[:n]


def random_spectrum_noise(frames: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Stationary noise with a random smooth spectrum: a tilt of -12..+6 dB/octave plus up to four
    broad bumps or dips (+-12 dB) on a log-frequency axis. Unit power."""
    spec = np.fft.rfft(rng.standard_normal(frames))
    f = np.fft.rfftfreq(frames, 1.0 / sample_rate)
    octaves = np.log2(np.maximum(f, 20.0) / 1000.0)
    gain_db = rng.uniform(-12, 6) * octaves
    for _ in range(int(rng.integers(0, 5))):
        centre, width = rng.uniform(-5, 4), rng.uniform(0.3, 2.0)
        gain_db += rng.uniform(-12, 12) * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    noise = np.fft.irfft(spec * 10 ** (gain_db / 20), n=frames)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-30)


def random_noise(frames: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One draw of training noise (unit power): a simulator colour, a random spectrum, or a mix of
    two, sometimes with a slow level modulation (0.1-4 Hz, up to +-3 dB)."""
    def one() -> np.ndarray:
        if rng.random() < 0.55:
            color = NOISE_COLORS[int(rng.integers(len(NOISE_COLORS)))]
            rpm = float(rng.choice([78.0, 45.0, 33.33]))
            return colored_noise(frames, color, rng, sample_rate=sample_rate, rpm=rpm)
        return random_spectrum_noise(frames, sample_rate, rng)

    noise = one()
    if rng.random() < 0.2:
        noise = noise + rng.uniform(0.3, 1.0) * one()
    if rng.random() < 0.3:
        t = np.arange(frames) / sample_rate
        depth = rng.uniform(0.0, 0.3)
        noise = noise * (1 + depth * np.sin(2 * np.pi * rng.uniform(0.1, 4.0) * t + rng.uniform(0, 6.3)))
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-30)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """clean + noise scaled so that clean power / noise power = snr_db (over the whole crop)."""
    p = float(np.mean(clean.astype(np.float64) ** 2))
    if p <= 0:
        p = 10 ** (-50 / 10)  # a silent crop: noise at -50 dBFS-ish
    return (clean + noise * np.sqrt(p * 10 ** (-snr_db / 10))).astype(np.float32)
