"""Degradation simulator with ground truth, and seeded clean test signals.

Every degradation returns `(degraded, label)`: the degraded (channels, frames) float32 array and a
label dict `{"kind", "params", "regions"}` (regions as (start_s, end_s) lists, empty for global
damage), so a test or a demo file explains its own input. All randomness goes through
`numpy.random.default_rng(seed)`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import signal

Label = dict[str, Any]


def _as2d(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    return x[None, :] if x.ndim == 1 else x


def _spans(mask: np.ndarray, sample_rate: int, merge_s: float = 0.05) -> list[list[float]]:
    """(start_s, end_s) spans of True samples of a 1-D mask, merging spans closer than merge_s."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts = np.flatnonzero(np.diff(m) == 1)
    ends = np.flatnonzero(np.diff(m) == -1)
    out: list[list[float]] = []
    for s, e in zip(starts, ends, strict=True):
        if out and s / sample_rate - out[-1][1] < merge_s:
            out[-1][1] = e / sample_rate
        else:
            out.append([s / sample_rate, e / sample_rate])
    return out


def add_dc(audio: np.ndarray, sample_rate: int, offset: float | list[float]) -> tuple[np.ndarray, Label]:
    """Add a constant offset (fraction of full scale; one value or one per channel)."""
    x = _as2d(audio)
    off = np.broadcast_to(np.asarray(offset, dtype=np.float64), (x.shape[0],))
    y = (x + off[:, None]).astype(np.float32)
    return y, {"kind": "dc_offset", "params": {"offset": off.tolist()}, "regions": []}


def clip(audio: np.ndarray, sample_rate: int, level: float, soft: bool = False,
         relative: bool = True) -> tuple[np.ndarray, Label]:
    """Clip symmetrically at `level` (a fraction of the signal's peak if `relative`, else of full scale).

    Hard clipping flattens every sample beyond the level; soft clipping is `level * tanh(x / level)`
    (no flat runs: the kind of saturation tape and valves give).
    """
    x = _as2d(audio)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    lvl = float(level) * peak if relative else float(level)
    if lvl <= 0:
        return x.copy(), {"kind": "clipping", "params": {"level": lvl, "soft": soft}, "regions": []}
    if soft:
        y = lvl * np.tanh(x / lvl)
        affected = np.abs(x) > 0.5 * lvl
    else:
        y = np.clip(x, -lvl, lvl)
        affected = np.abs(x) > lvl
    frac = float(np.mean(np.abs(x) > lvl)) if x.size else 0.0
    label = {"kind": "clipping", "params": {"level": lvl, "soft": soft, "clipped_fraction": frac},
             "regions": _spans(affected.any(axis=0), sample_rate)}
    return y.astype(np.float32), label


def add_hum(audio: np.ndarray, sample_rate: int, fundamental: float = 50.0, level_db: float = -30.0,
            harmonics: int | list[int] = 5, drift_hz: float = 0.0, drift_period_s: float = 20.0,
            seed: int = 0) -> tuple[np.ndarray, Label]:
    """Add mains hum: a fundamental and harmonics (amplitudes falling as 1/k, random phases).

    level_db: hum power relative to the signal's power (all channels). drift_hz: the fundamental
    wanders sinusoidally by +-drift_hz over drift_period_s, as mains frequency does.
    """
    x = _as2d(audio)
    rng = np.random.default_rng(seed)
    ks = list(range(1, harmonics + 1)) if isinstance(harmonics, int) else [int(k) for k in harmonics]
    n = x.shape[1]
    t = np.arange(n) / sample_rate
    f_inst = fundamental + drift_hz * np.sin(2 * np.pi * t / drift_period_s + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(f_inst) / sample_rate
    hum = np.zeros(n)
    for k in ks:
        if k * (fundamental + drift_hz) < sample_rate / 2:
            hum += np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k
    p_sig = float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0
    p_hum = float(np.mean(hum**2)) if n else 0.0
    gain = np.sqrt(p_sig * 10 ** (level_db / 10) / p_hum) if p_hum > 0 and p_sig > 0 else 0.0
    y = (x + gain * hum[None, :]).astype(np.float32)
    label = {"kind": "hum", "params": {"fundamental": fundamental, "level_db": level_db, "harmonics": ks,
                                       "drift_hz": drift_hz, "amplitude": float(gain)}, "regions": []}
    return y, label


def colored_noise(frames: int, color: str = "white", rng: np.random.Generator | None = None) -> np.ndarray:
    """Unit-power noise with a power spectrum flat (white), ~1/f (pink) or ~1/f^2 (brown)."""
    rng = rng if rng is not None else np.random.default_rng(0)
    white = rng.standard_normal(frames)
    if color == "white" or frames < 2:
        return white
    slope = {"pink": 0.5, "brown": 1.0}[color]  # amplitude exponent
    spec = np.fft.rfft(white)
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec[0] = 0.0  # no DC: the noise's power is all in its fluctuation
    noise = np.fft.irfft(spec / f**slope, n=frames)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-30)


def add_noise(audio: np.ndarray, sample_rate: int, snr_db: float, color: str = "white",
              seed: int = 0) -> tuple[np.ndarray, Label]:
    """Add independent noise per channel at `snr_db` (signal power over noise power, all channels)."""
    x = _as2d(audio)
    rng = np.random.default_rng(seed)
    noise = np.stack([colored_noise(x.shape[1], color, rng) for _ in range(x.shape[0])])
    p_sig = float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0
    noise *= np.sqrt(p_sig * 10 ** (-snr_db / 10) / max(float(np.mean(noise**2)), 1e-30))
    y = (x + noise).astype(np.float32)
    return y, {"kind": "noise", "params": {"snr_db": snr_db, "color": color}, "regions": []}


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
