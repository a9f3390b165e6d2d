"""Several degradations at once, at a severity, in the order a recording's life applies them.

PHYSICAL_ORDER (what happens first comes first; it also keeps every label exact, because the only
step that moves samples in time runs before any step that labels regions):

    wow        playback speed of the original carrier (turntable, capstan): the signal as heard
    bandwidth  the medium and the transfer chain (horn, disc cut, telephone line, codec)
    hum        mains in the playback/transfer chain
    rumble     the turntable's bearing and motor, a warped disc (subsonic)
    noise      surface roar, tape hiss, amplifier noise
    crackle    surface wear: dense small clicks (before clicks, so a click's level is set
               against the signal's peak, not against the crackle)
    clicks     surface damage: scratches and dust
    dropouts   the signal lost on a tape copy (takes the noise and clicks with it)
    clipping   ADC overload at digitisation
    dc_offset  the converter's offset (added to everything, clipped levels included)

SEVERITY_RANGES[kind][severity] gives, per parameter, a (lo, hi) tuple drawn uniformly, or a
list of choices drawn with equal probability (click amplitudes and widths and dropout lengths are
drawn per event from their range, see PER_EVENT). Levels are relative to the signal as it reaches
the step. The ranges:

    kind       mild                         moderate                      severe
    noise      SNR 20-30 dB                 SNR 10-20 dB                  SNR 0-10 dB
    hum        -50..-40 dB re signal, 3 h.  -40..-30 dB, 5 harmonics      -30..-20 dB, 8 harmonics
    rumble     -36..-28 dB re signal        -28..-18 dB                   -18..-8 dB (8-16 Hz, warp)
    clicks     5-20 /min, -24..-12 dB pk    20-100 /min, -12..-3 dB pk    100-400 /min, -6..0 dB pk
    crackle    200-600 /min, -42..-36 dB    600-2000 /min, -36..-28 dB    2000-6000 /min, -28..-20 dB
    clipping   0.1-1 % of samples (hard)    1-5 %                         5-15 %
    bandwidth  lowpass/mp3 at 9-11 kHz      mp3/am/78rpm/lowpass 4.5-7k   telephone/lowpass 2.5-3.4k
    dropouts   1-3 /min, 5-20 ms, -6..-15 dB   3-10 /min, 10-80 ms, zero or -15..-30 dB   10-30 /min, 40-200 ms, zero
    wow        wow 0.05-0.15 %, flutter 0.01-0.03 %   0.15-0.5 %, 0.03-0.1 %   0.5-1.5 %, 0.1-0.3 %
    dc_offset  0.1-0.5 % FS                 0.5-2 % FS, drift <= 0.5 %    2-8 % FS, drift 0.5-2 %

Band limits are capped at 0.45 x the sample rate, so the step always removes something.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._degrade_util import Label, as2d, like
from .degrade_bandwidth import limit_bandwidth
from .degrade_impulsive import add_clicks, add_crackle
from .degrade_level import add_dc, add_dropouts, clip
from .degrade_noise import NOISE_COLORS, add_hum, add_noise
from .degrade_rumble import add_rumble
from .degrade_speed import add_wow_flutter

PHYSICAL_ORDER: tuple[str, ...] = ("wow", "bandwidth", "hum", "rumble", "noise", "crackle", "clicks", "dropouts",
                                   "clipping", "dc_offset")
# What degrade(kinds=None) and the tagger's recipe draw from: the kinds as they were before rumble
# was added, so every seeded draw made since (tests, the tagger's training set) stays as it was.
RANDOM_KINDS: tuple[str, ...] = tuple(k for k in PHYSICAL_ORDER if k != "rumble")
SEVERITIES: tuple[str, ...] = ("mild", "moderate", "severe")

SEVERITY_RANGES: dict[str, dict[str, dict[str, Any]]] = {
    "wow": {
        "mild": {"wow_depth_pct": (0.05, 0.15), "wow_rate_hz": (0.5, 3.0),
                 "flutter_depth_pct": (0.01, 0.03), "flutter_rate_hz": (5.0, 30.0)},
        "moderate": {"wow_depth_pct": (0.15, 0.5), "wow_rate_hz": (0.5, 3.0),
                     "flutter_depth_pct": (0.03, 0.1), "flutter_rate_hz": (5.0, 30.0)},
        "severe": {"wow_depth_pct": (0.5, 1.5), "wow_rate_hz": (0.5, 3.0),
                   "flutter_depth_pct": (0.1, 0.3), "flutter_rate_hz": (5.0, 30.0)},
    },
    "bandwidth": {
        "mild": {"kind": ["lowpass", "mp3"], "cutoff_hz": (9000.0, 11000.0)},
        "moderate": {"kind": ["mp3", "am", "78rpm", "lowpass"], "cutoff_hz": (4500.0, 7000.0)},
        "severe": {"kind": ["telephone", "lowpass"], "cutoff_hz": (2500.0, 3400.0)},
    },
    "hum": {
        "mild": {"level_db": (-50.0, -40.0), "fundamental": [50.0, 60.0], "harmonics": [3], "drift_hz": (0.0, 0.1)},
        "moderate": {"level_db": (-40.0, -30.0), "fundamental": [50.0, 60.0], "harmonics": [5],
                     "drift_hz": (0.0, 0.1)},
        "severe": {"level_db": (-30.0, -20.0), "fundamental": [50.0, 60.0], "harmonics": [8], "drift_hz": (0.0, 0.1)},
    },
    "rumble": {
        "mild": {"level_db": (-36.0, -28.0), "centre_hz": (8.0, 16.0), "rpm": [33.33, 45.0, 78.0],
                 "warp_share": (0.0, 0.5)},
        "moderate": {"level_db": (-28.0, -18.0), "centre_hz": (8.0, 16.0), "rpm": [33.33, 45.0, 78.0],
                     "warp_share": (0.0, 0.5)},
        "severe": {"level_db": (-18.0, -8.0), "centre_hz": (8.0, 16.0), "rpm": [33.33, 45.0, 78.0],
                   "warp_share": (0.0, 0.5)},
    },
    "noise": {
        "mild": {"snr_db": (20.0, 30.0), "color": list(NOISE_COLORS)},
        "moderate": {"snr_db": (10.0, 20.0), "color": list(NOISE_COLORS)},
        "severe": {"snr_db": (0.0, 10.0), "color": list(NOISE_COLORS)},
    },
    "clicks": {
        "mild": {"rate_per_min": (5.0, 20.0), "amplitude_db": (-24.0, -12.0), "width_ms": (0.05, 1.0)},
        "moderate": {"rate_per_min": (20.0, 100.0), "amplitude_db": (-12.0, -3.0), "width_ms": (0.05, 2.0)},
        "severe": {"rate_per_min": (100.0, 400.0), "amplitude_db": (-6.0, 0.0), "width_ms": (0.1, 3.0)},
    },
    "crackle": {
        "mild": {"density": (200.0, 600.0), "level_db": (-42.0, -36.0)},
        "moderate": {"density": (600.0, 2000.0), "level_db": (-36.0, -28.0)},
        "severe": {"density": (2000.0, 6000.0), "level_db": (-28.0, -20.0)},
    },
    "dropouts": {
        "mild": {"rate_per_min": (1.0, 3.0), "length_ms": (5.0, 20.0), "depth": ["attenuate"],
                 "attenuation_db": (6.0, 15.0)},
        "moderate": {"rate_per_min": (3.0, 10.0), "length_ms": (10.0, 80.0), "depth": ["zero", "attenuate"],
                     "attenuation_db": (15.0, 30.0)},
        "severe": {"rate_per_min": (10.0, 30.0), "length_ms": (40.0, 200.0), "depth": ["zero"],
                   "attenuation_db": (30.0, 60.0)},
    },
    "clipping": {
        "mild": {"clipped_fraction": (0.001, 0.01)},
        "moderate": {"clipped_fraction": (0.01, 0.05)},
        "severe": {"clipped_fraction": (0.05, 0.15)},
    },
    "dc_offset": {
        "mild": {"offset": (0.001, 0.005), "drift": (0.0, 0.0)},
        "moderate": {"offset": (0.005, 0.02), "drift": (0.0, 0.005)},
        "severe": {"offset": (0.02, 0.08), "drift": (0.005, 0.02)},
    },
}


# Ranges handed on whole: the function draws one value per event (each click, each gap).
PER_EVENT: frozenset[tuple[str, str]] = frozenset({("clicks", "amplitude_db"), ("clicks", "width_ms"),
                                                   ("dropouts", "length_ms")})


def _draw(spec: Any, rng: np.random.Generator) -> Any:
    if isinstance(spec, list):
        return spec[int(rng.integers(len(spec)))]
    lo, hi = spec
    return float(rng.uniform(lo, hi))


def _bandwidth(y: np.ndarray, sr: int, p: dict, seed: int) -> tuple[np.ndarray, Label]:
    return limit_bandwidth(y, sr, min(p["cutoff_hz"], 0.45 * sr), kind=p["kind"], seed=seed)


def _clicks(y: np.ndarray, sr: int, p: dict, seed: int) -> tuple[np.ndarray, Label]:
    count = max(1, int(round(p["rate_per_min"] * y.shape[-1] / sr / 60)))  # a labelled kind is never empty
    return add_clicks(y, sr, seed=seed, count=count, **p)


def _dropouts(y: np.ndarray, sr: int, p: dict, seed: int) -> tuple[np.ndarray, Label]:
    count = max(1, int(round(p["rate_per_min"] * y.shape[-1] / sr / 60)))
    return add_dropouts(y, sr, count, p["length_ms"], p["depth"], p["attenuation_db"], seed=seed)


def _clipping(y: np.ndarray, sr: int, p: dict, seed: int) -> tuple[np.ndarray, Label]:
    a = np.abs(y)
    level = float(np.quantile(a, 1.0 - p["clipped_fraction"])) if a.size else 0.0
    return clip(y, sr, level, relative=False)


def _dc(y: np.ndarray, sr: int, p: dict, seed: int) -> tuple[np.ndarray, Label]:
    rng = np.random.default_rng(seed)
    channels = 1 if y.ndim == 1 else y.shape[0]
    scale = rng.uniform(0.7, 1.0, channels) * np.where(rng.random(channels) < 0.5, -1.0, 1.0)
    offsets = (p["offset"] * scale).tolist()
    return add_dc(y, sr, offsets if channels > 1 else offsets[0], drift=p["drift"], seed=seed)


_APPLY: dict[str, Callable[[np.ndarray, int, dict, int], tuple[np.ndarray, Label]]] = {
    "wow": lambda y, sr, p, s: add_wow_flutter(y, sr, seed=s, **p),
    "bandwidth": _bandwidth,
    "hum": lambda y, sr, p, s: add_hum(y, sr, seed=s, **p),
    "rumble": lambda y, sr, p, s: add_rumble(y, sr, seed=s, **p),
    "noise": lambda y, sr, p, s: add_noise(y, sr, p["snr_db"], p["color"], seed=s),
    "clicks": _clicks,
    "crackle": lambda y, sr, p, s: add_crackle(y, sr, seed=s, **p),
    "dropouts": _dropouts,
    "clipping": _clipping,
    "dc_offset": _dc,
}


def degrade(audio: np.ndarray, sample_rate: int, kinds: list[str] | None = None, severity: str = "moderate",
            seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply several degradations at one severity, in PHYSICAL_ORDER whatever order `kinds` lists.

    audio: (channels, frames) or (frames,) float32; returns the same shape, float32.
    kinds: names from PHYSICAL_ORDER; None draws two or three distinct kinds of RANDOM_KINDS from `seed`.
    severity: mild | moderate | severe; each kind's parameters are drawn from
    SEVERITY_RANGES[kind][severity] (see the module docstring for the table).
    Returns (degraded, {"kinds": [applied, in order], "severity", "seed", "steps": [each step's
    label, in order], "regions": {kind: that step's regions}}).
    """
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}")
    rng = np.random.default_rng(seed)
    if kinds is None:
        picked = rng.choice(len(RANDOM_KINDS), size=int(rng.integers(2, 4)), replace=False)
        kinds = [RANDOM_KINDS[i] for i in picked]
    unknown = set(kinds) - set(PHYSICAL_ORDER)
    if unknown:
        raise ValueError(f"unknown degradation kinds {sorted(unknown)}; expected some of {PHYSICAL_ORDER}")
    ordered = [k for k in PHYSICAL_ORDER if k in kinds]
    y = as2d(audio)
    steps: list[Label] = []
    for kind in ordered:
        params = {name: spec if (kind, name) in PER_EVENT else _draw(spec, rng)
                  for name, spec in SEVERITY_RANGES[kind][severity].items()}
        step_seed = int(rng.integers(2**31))
        y, label = _APPLY[kind](y, sample_rate, params, step_seed)
        steps.append(label)
    combined = {"kinds": ordered, "severity": severity, "seed": seed, "steps": steps,
                "regions": {label["kind"]: label["regions"] for label in steps}}
    return like(y, audio), combined
