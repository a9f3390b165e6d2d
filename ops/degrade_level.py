"""Simulated level damage with ground truth: clipping, DC offset, dropouts.

Clipping is ADC or amplifier overload (hard: flat runs at the level; soft: tanh saturation as tape
and valves give; optionally asymmetric, as a biased stage clips one polarity first). A DC offset
is a converter's or amplifier's constant offset, optionally drifting slowly (a warming stage).
Dropouts are gaps where the signal is lost (digital: zeroed) or weakened (tape: oxide shed, poor
head contact), faded in and out over ~1 ms so an attenuated gap has no click at its edges.
"""

from __future__ import annotations

import numpy as np

from ._degrade_util import Label, as2d, as_range, like, log_uniform, spans

DROPOUT_MIN_GAP_S = 0.06  # dropouts stay this far apart, so their regions never merge


def add_dc(audio: np.ndarray, sample_rate: int, offset: float | list[float], drift: float = 0.0,
           drift_period_s: float = 30.0, seed: int = 0) -> tuple[np.ndarray, Label]:
    """Add a constant offset (fraction of full scale; one value or one per channel).

    drift: the offset also wanders by up to +-drift (full scale), smoothly, over about
    drift_period_s (two slow sinusoids with random phases, the same on every channel).
    """
    x = as2d(audio)
    off = np.broadcast_to(np.asarray(offset, dtype=np.float64), (x.shape[0],))
    params: dict = {"offset": off.tolist(), "drift": float(drift), "drift_period_s": float(drift_period_s)}
    if drift == 0:
        y = (x + off[:, None]).astype(np.float32)
        return like(y, audio), {"kind": "dc_offset", "params": params, "regions": []}
    rng = np.random.default_rng(seed)
    t = np.arange(x.shape[1]) / sample_rate
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    wander = drift * (0.7 * np.sin(2 * np.pi * t / drift_period_s + p1)
                      + 0.3 * np.sin(2 * np.pi * 2.3 * t / drift_period_s + p2))
    y = (x + off[:, None] + wander[None, :]).astype(np.float32)
    return like(y, audio), {"kind": "dc_offset", "params": params, "regions": []}


def clip(audio: np.ndarray, sample_rate: int, level: float, soft: bool = False,
         relative: bool = True, asymmetry: float = 0.0) -> tuple[np.ndarray, Label]:
    """Clip at `level` (a fraction of the signal's peak if `relative`, else of full scale).

    Hard clipping flattens every sample beyond the level; soft clipping is `level * tanh(x / level)`
    (no flat runs: the kind of saturation tape and valves give).
    asymmetry in (-1, 1): 0 is symmetric; a > 0 clips the negative half at level * (1 - a), a < 0
    the positive half at level * (1 + a); the other half clips at `level`.
    Label params: level, soft, clipped_fraction (samples beyond the level), asymmetry,
    levels [negative, positive]; regions: spans of affected samples merged within 50 ms.
    """
    x = as2d(audio)
    pk = float(np.max(np.abs(x))) if x.size else 0.0
    lvl = float(level) * pk if relative else float(level)
    if lvl <= 0:
        return like(x.copy(), audio), {"kind": "clipping", "params": {"level": lvl, "soft": soft}, "regions": []}
    if not -1.0 < asymmetry < 1.0:
        raise ValueError("asymmetry must lie in (-1, 1)")
    hi = lvl * (1.0 - max(0.0, -asymmetry))
    lo = lvl * (1.0 - max(0.0, asymmetry))
    beyond = (x > hi) | (x < -lo)
    if soft:
        y = lvl * np.tanh(x / lvl) if hi == lo else np.where(x >= 0, hi * np.tanh(x / hi), lo * np.tanh(x / lo))
        affected = (x > 0.5 * hi) | (x < -0.5 * lo)
    else:
        y = np.clip(x, -lo, hi)
        affected = beyond
    frac = float(np.mean(beyond)) if x.size else 0.0
    label = {"kind": "clipping",
             "params": {"level": lvl, "soft": soft, "clipped_fraction": frac, "asymmetry": float(asymmetry),
                        "levels": [-lo, hi]},
             "regions": spans(affected.any(axis=0), sample_rate)}
    return like(y, audio), label


DROPOUT_AUDIBLE_DB = -40.0  # a gap's programme level (re the clip's RMS) that a dropout audibly loses


def _audible_gaps(x: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> int:
    """How many gaps fall on programme: a dropout over digital silence or a pause 40 dB down leaves
    the file (nearly) as it was, and labelling it would ask detection for the impossible."""
    ref = float(np.mean(np.square(x, dtype=np.float64)))
    if ref <= 0:
        return int(starts.size)
    level = [float(np.mean(np.square(x[:, s:s + L], dtype=np.float64))) for s, L in zip(starts.tolist(), lengths.tolist(), strict=True)]
    return int(np.sum(np.array(level) >= ref * 10 ** (DROPOUT_AUDIBLE_DB / 10)))


def add_dropouts(audio: np.ndarray, sample_rate: int, count: int = 3,
                 length_ms: float | tuple[float, float] = (5.0, 200.0), depth: str = "zero",
                 attenuation_db: float = 30.0, seed: int = 0, fade_ms: float = 1.0) -> tuple[np.ndarray, Label]:
    """Zero or attenuate `count` non-overlapping gaps, each `length_ms` long (log-uniform in a range).

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32; all channels
    drop together. depth: "zero" (gain 0) or "attenuate" (gain -attenuation_db). The gain ramps
    over fade_ms (raised cosine) at each end inside the gap; outside the gaps the signal is
    untouched sample for sample. Gaps keep 60 ms apart; if they cannot all fit, fewer are made
    (params.count says how many). params.audible: how many gaps fall on programme within 40 dB of
    the clip's RMS; a dropout over digital silence or a deep pause changes (nearly) nothing, so a
    file with none audible has no damage to find (benchmarks score it as such). Regions: each gap,
    fades included.
    """
    if depth not in ("zero", "attenuate"):
        raise ValueError("depth must be 'zero' or 'attenuate'")
    x = as2d(audio)
    rng = np.random.default_rng(seed)
    n = x.shape[1]
    lo, hi = as_range(length_ms)
    lengths = np.maximum(1, np.round(log_uniform(rng, lo, hi, max(0, int(count))) * sample_rate / 1000)).astype(np.int64)
    gap = int(round(DROPOUT_MIN_GAP_S * sample_rate))
    while lengths.size and lengths.sum() + (lengths.size - 1) * gap > n:
        lengths = lengths[:-1]
    k = lengths.size
    free = n - int(lengths.sum()) - max(0, k - 1) * gap
    offsets = np.sort(rng.integers(0, free + 1, k)) if k else np.zeros(0, np.int64)
    starts = offsets + np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) + np.arange(k) * gap
    g = 0.0 if depth == "zero" else 10 ** (-attenuation_db / 20)
    gain = np.ones(n)
    fade = int(round(fade_ms * sample_rate / 1000))
    for s, L in zip(starts.tolist(), lengths.tolist(), strict=True):
        seg = np.full(L, g)
        f = min(fade, L // 2)
        if f > 0:
            ramp = g + (1 - g) * 0.5 * (1 + np.cos(np.pi * np.arange(1, f + 1) / (f + 1)))  # just below 1 ... g
            seg[:f] = ramp
            seg[L - f:] = ramp[::-1]
        gain[s:s + L] = seg
    y = (x * gain[None, :]).astype(np.float32)
    params = {"count": k, "depth": depth, "attenuation_db": None if depth == "zero" else float(attenuation_db),
              "length_ms": [lo, hi], "lengths_ms": (lengths * 1000.0 / sample_rate).tolist(),
              "fade_ms": float(fade_ms), "audible": _audible_gaps(x, starts, lengths)}
    regions = [[s / sample_rate, (s + L) / sample_rate] for s, L in zip(starts.tolist(), lengths.tolist(), strict=True)]
    return like(y, audio), {"kind": "dropouts", "params": params, "regions": regions}
