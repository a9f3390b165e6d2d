"""What to build: the list of clip specs for a size and a seed.

A clip is fully described by its spec (a JSON-able dict). Clip i of a (split, content) pair is the same
in every size, so quick is a prefix of bench and bench of train, and a rebuild reuses files. Voices rotate
by engine (each engine gets an equal share of a split's speech), pieces rotate in hash order, and each
voice or piece cycles through the soundfonts and output formats, so even small sizes cover them all."""

from __future__ import annotations

import hashlib
import json
from functools import cache

import numpy as np

import pieces as pc
import sentences as sn
import splits
import voices as vc

BUILDER_VERSION = 1
FORMATS = [(16000, 1), (44100, 1), (44100, 2), (48000, 2)]
SIZES = {  # (split) -> (speech clips, music clips)
    "quick": {"train": (6, 6), "validation": (4, 4), "test": (6, 6)},
    "bench": {"train": (40, 40), "validation": (24, 24), "test": (80, 80)},
    "train": {"train": (600, 360), "validation": (60, 60), "test": (80, 80)},
}


def _ordered(kind: str, names) -> list[str]:
    return sorted(names, key=lambda n: splits.unit_hash(f"order-{kind}", n))


@cache
def _sentence_indices(lang: str, split: str) -> list[int]:
    where = splits.sentence_splits(lang, len(sn.sentences(lang)))
    return [n for n, s in sorted(where.items()) if s == split]


def _clip_rng(seed: int, split: str, content: str, i: int) -> np.random.Generator:
    return np.random.default_rng([seed, splits.SPLITS.index(split), ("speech", "music").index(content), i])


def speech_specs(split: str, count: int, seed: int) -> list[dict]:
    groups = vc.groups()
    where = splits.speech_splits({g: {v.engine for v in vs} for g, vs in groups.items()})
    mine = [v for g, vs in groups.items() if where[g] == split for v in vs]
    engines = sorted({v.engine for v in mine})
    by_engine = {e: _ordered("voice", [v.key for v in mine if v.engine == e]) for e in engines}
    lookup = {v.key: v for v in mine}
    specs = []
    for i in range(count):
        e_idx = i % len(engines)
        keys, k = by_engine[engines[e_idx]], i // len(engines)
        j = k % len(keys)
        voice = lookup[keys[j]]
        rate, channels = FORMATS[(k // len(keys) + j + e_idx) % len(FORMATS)]
        rng = _clip_rng(seed, split, "speech", i)
        pool = sn.sentences(voice.language)
        idx = _sentence_indices(voice.language.split("-")[0], split)
        text, n_sent = "", int(rng.choice([1, 1, 2, 2, 3]))
        for n in rng.permutation(idx)[:n_sent]:
            if text and len(text) + len(pool[n]) > 230:
                break
            text = f"{text} {pool[n]}".strip()
        specs.append({
            "content": "speech", "split": split, "index": i, "engine": voice.engine, "voice": voice.name,
            "voice_group": voice.group, "language": voice.language, "text": text,
            "sample_rate": rate, "channels": channels, "speed": round(float(rng.uniform(0.85, 1.15)), 3),
            "pitch": round(float(rng.uniform(0, 1)), 3), "lead_s": round(float(rng.uniform(0.15, 0.5)), 3),
            "tail_s": round(float(rng.uniform(0.2, 0.6)), 3), "target_rms_dbfs": round(float(rng.uniform(-30, -16)), 2),
            "seed": int(rng.integers(0, 2**31 - 1)),
        })
    return specs


def music_specs(split: str, count: int, seed: int) -> list[dict]:
    all_p = {p.name: p for p in pc.all_pieces()}
    where = splits.music_splits({n: p.collection for n, p in all_p.items()})
    names = _ordered("piece", [n for n in all_p if where[n] == split])
    palettes = sorted(pc.PALETTES)
    specs = []
    for i in range(count):
        j, m = i % len(names), i // len(names)
        piece = all_p[names[j]]
        sf = pc.SOUNDFONTS[(m + j) % len(pc.SOUNDFONTS)]
        rate, channels = FORMATS[(m + m // len(pc.SOUNDFONTS) + j) % len(FORMATS)]
        rng = _clip_rng(seed, split, "music", i)
        specs.append({
            "content": "music", "split": split, "index": i, "engine": "fluidsynth", "piece": piece.name,
            "collection": piece.collection, "soundfont": sf.name, "sample_rate": rate, "channels": channels,
            "target_s": round(float(rng.uniform(5, 20)), 2), "tempo_factor": round(float(rng.uniform(0.85, 1.2)), 3),
            "palette": palettes[int(rng.integers(0, len(palettes)))],
            "solo_program": int(pc.SOLO[int(rng.integers(0, len(pc.SOLO)))]),
            "target_rms_dbfs": round(float(rng.uniform(-30, -16)), 2), "seed": int(rng.integers(0, 2**31 - 1)),
        })
    return specs


def build_plan(size: str, seed: int) -> list[dict]:
    specs = []
    for split, (n_speech, n_music) in SIZES[size].items():
        specs += speech_specs(split, n_speech, seed) + music_specs(split, n_music, seed)
    for s in specs:
        s["id"] = f"{s['split']}-{s['content']}-{s['index']:05d}"
        s["params_hash"] = spec_hash(s)
    return specs


def spec_hash(spec: dict) -> str:
    body = {k: v for k, v in spec.items() if k not in ("params_hash",)}
    return hashlib.sha256(json.dumps([BUILDER_VERSION, body], sort_keys=True).encode()).hexdigest()[:16]
