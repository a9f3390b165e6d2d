"""Seeded clean test signals for the simulator: speech-like, music-like and plain sines.

Each returns (channels, frames) float32; the same seed gives the same signal on every machine, so a
test or a demo file explains its own input.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def _resonator(freq: float, bw: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.exp(-np.pi * bw / sr)
    a = np.array([1.0, -2 * r * np.cos(2 * np.pi * freq / sr), r * r])
    return np.array([a.sum()]), a  # unit gain at DC keeps formant levels comparable


def _spread(mono: np.ndarray, channels: int, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Correlated, not identical channels: each a slightly delayed, filtered, rebalanced copy."""
    out = [mono]
    for _ in range(1, channels):
        d = int(rng.integers(1, max(2, sr // 2000)))
        shifted = np.concatenate([np.zeros(d), mono[:-d]]) if mono.size > d else np.zeros_like(mono)
        b, a = signal.butter(1, min(0.9, 6000 / (sr / 2)))
        out.append(0.8 * signal.lfilter(b, a, shifted) + 0.2 * mono)
    return np.stack(out)


def _finish_signal(x: np.ndarray, peak: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    m = np.max(np.abs(x)) if x.size else 0.0
    return (x * (peak / m if m > 0 else 1.0)).astype(np.float32)


def synth_speech_like(sample_rate: int = 16000, seconds: float = 10.0, seed: int = 0,
                      channels: int = 1, peak: float = 0.5) -> np.ndarray:
    """A speech-like test signal: (channels, frames) float32, peak `peak`.

    A glottal pulse train with wandering, declining pitch through three formant resonators that
    change per syllable (~4 syllables/s with raised-cosine envelopes), some unvoiced noise
    syllables, and pauses of 0.2-0.6 s between phrases. Source-filter model after Fant (1960).
    """
    rng = np.random.default_rng(seed)
    sr = sample_rate
    n = max(1, int(round(seconds * sr)))
    t = np.arange(n) / sr
    base = rng.uniform(100, 200)
    f0 = base * (1 + 0.12 * np.sin(2 * np.pi * 0.35 * t + rng.uniform(0, 6.28))
                 + 0.05 * np.sin(2 * np.pi * 1.3 * t + rng.uniform(0, 6.28)))
    phase = np.cumsum(f0) / sr
    pulses = np.diff(np.floor(phase), prepend=0.0)
    glottal = signal.lfilter([1.0], [1.0, -1.9, 0.9025], pulses)  # two poles at 0.95: spectral tilt
    glottal = np.diff(glottal, prepend=0.0)  # lip radiation
    fric = signal.lfilter(*signal.butter(2, min(0.95, 3000 / (sr / 2)), "high"), rng.standard_normal(n))
    out = np.zeros(n)
    pos = int(rng.uniform(0.05, 0.2) * sr)
    phrase_end = pos + int(rng.uniform(1.2, 2.8) * sr)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410),
              (300, 870, 2240), (660, 1720, 2410), (490, 1350, 1690)]
    while pos < n:
        if pos >= phrase_end:  # a pause, then a new phrase
            pos += int(rng.uniform(0.2, 0.6) * sr)
            phrase_end = pos + int(rng.uniform(1.2, 2.8) * sr)
            continue
        dur = int(rng.uniform(0.14, 0.32) * sr)
        seg = slice(pos, min(n, pos + dur))
        m = seg.stop - seg.start
        if m <= 0:
            break
        env = np.sin(np.pi * np.linspace(0, 1, m, endpoint=False)) ** 1.5 * rng.uniform(0.4, 1.0)
        if rng.random() < 0.8:
            y = glottal[seg]
            for f, bw in zip(vowels[rng.integers(len(vowels))], (80, 100, 140), strict=True):
                if f < 0.45 * sr:
                    y = signal.lfilter(*_resonator(f * rng.uniform(0.9, 1.1), bw, sr), y)
            out[seg] += y * env
        else:
            out[seg] += 0.05 * fric[seg] * env
        pos += dur + int(rng.uniform(0.0, 0.06) * sr)
    return _finish_signal(_spread(out, channels, rng, sr), peak)


def synth_music_like(sample_rate: int = 44100, seconds: float = 10.0, seed: int = 0,
                     channels: int = 1, peak: float = 0.6) -> np.ndarray:
    """A music-like test signal: (channels, frames) float32, peak `peak`.

    Chords of three or four equal-tempered notes with a bass note, changing every 1-2 s, plus a
    melody in quarter/eighth notes; each note has 8 harmonics (1/k with random weights), a short
    attack, exponential decay and light vibrato; each note is panned at random between channels.
    """
    rng = np.random.default_rng(seed)
    sr = sample_rate
    n = max(1, int(round(seconds * sr)))
    out = np.zeros((channels, n))
    chords = [(0, 4, 7), (9, 12, 16), (5, 9, 12), (7, 11, 14), (2, 5, 9, 12), (4, 7, 11)]
    root = 48 + int(rng.integers(0, 5))  # MIDI note

    def note(midi: float, start: int, dur: int, amp: float) -> None:
        dur = min(dur, n - start)
        if dur <= 0:
            return
        f = 440.0 * 2 ** ((midi - 69) / 12)
        tt = np.arange(dur) / sr
        vib = 1 + 0.003 * np.sin(2 * np.pi * rng.uniform(4.5, 6) * tt) * (tt > 0.2)
        ph = 2 * np.pi * f * np.cumsum(vib) / sr
        env = (1 - np.exp(-tt / 0.01)) * np.exp(-tt / rng.uniform(0.3, 1.2))
        env *= np.minimum(1.0, (dur - np.arange(dur)) / (0.02 * sr))  # no click at the note's end
        tone = np.zeros(dur)
        for k in range(1, 9):
            if k * f < 0.45 * sr:
                tone += rng.uniform(0.3, 1.0) / k * np.sin(k * ph + rng.uniform(0, 6.28))
        pan = rng.uniform(0.2, 0.8)
        gains = np.array([1 - pan, pan]) if channels == 2 else np.full(channels, 1.0)
        out[:, start:start + dur] += (amp * env * tone)[None, :] * gains[:, None]

    pos = 0
    while pos < n:
        chord_len = int(rng.uniform(1.0, 2.0) * sr)
        steps = chords[rng.integers(len(chords))]
        note(root - 12 + steps[0], pos, chord_len, 0.8)
        for s in steps:
            note(root + s, pos + int(rng.uniform(0, 0.03) * sr), chord_len, 0.4)
        mpos = pos
        while mpos < pos + chord_len:
            mlen = int(sr * rng.choice([0.25, 0.5, 0.375]))
            note(root + 12 + steps[rng.integers(len(steps))] + rng.choice([0, 2, -1]), mpos, mlen, 0.5)
            mpos += mlen
        pos += chord_len
    return _finish_signal(out, peak)


def sine(sample_rate: int, seconds: float, freq: float, amplitude: float = 1.0, channels: int = 1,
         phase: float = 0.0) -> np.ndarray:
    """A plain sine: (channels, frames) float32, the same on every channel."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    x = amplitude * np.sin(2 * np.pi * freq * t + phase)
    return np.repeat(x[None, :], channels, axis=0).astype(np.float32)
