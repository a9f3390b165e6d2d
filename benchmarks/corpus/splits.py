"""Deterministic train/validation/test assignment by voice group and by piece.

Rule: u = sha256(SALT + ":" + kind + ":" + name) read as a fraction in [0, 1); u < 0.25 -> test,
u < 0.40 -> validation, else train. Then a repair pass, in the order test, validation, train: while a split
misses its requirement, move into it the unit (from a split that stays valid without it) that reduces the
shortfall, the candidate with the smallest sha256(SALT + ":move:" + name) first. Requirements: speech, at
least 2 voice groups and voices from at least 2 engines per split (test: 3 engines); music, at least 3
pieces from at least 2 style collections; sentences, at least 3 per language per split. Names, not
sizes or seeds, decide, so every build of every size agrees on the split."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

SALT = "acetate-corpus-v1"
SPLITS = ("train", "validation", "test")


def unit_hash(kind: str, name: str) -> float:
    return int(hashlib.sha256(f"{SALT}:{kind}:{name}".encode()).hexdigest(), 16) / 2**256


def _initial(u: float) -> str:
    return "test" if u < 0.25 else "validation" if u < 0.40 else "train"


def assign(kind: str, names: Iterable[str], shortfall: Callable[[str, list[str]], int]) -> dict[str, str]:
    """name -> split. `shortfall(split, names_in_split)` is 0 when the split meets its requirement."""
    where = {n: _initial(unit_hash(kind, n)) for n in sorted(set(names))}

    def members(split: str) -> list[str]:
        return sorted(n for n, s in where.items() if s == split)

    for target in ("test", "validation", "train"):
        while (need := shortfall(target, members(target))) > 0:
            moves = sorted((unit_hash("move", n), n) for n, s in where.items() if s != target)
            for _, n in moves:
                donor = where[n]
                rest = [m for m in members(donor) if m != n]
                if shortfall(donor, rest) == 0 and shortfall(target, members(target) + [n]) < need:
                    where[n] = target
                    break
            else:
                raise RuntimeError(f"cannot satisfy the {kind} requirement of split {target!r}")
    return where


def speech_splits(groups: dict[str, set[str]]) -> dict[str, str]:
    """groups: group name -> engines its voices use."""

    def shortfall(split: str, names: list[str]) -> int:
        engines = set().union(*(groups[n] for n in names)) if names else set()
        want = 3 if split == "test" else 2
        return max(0, 2 - len(names)) + max(0, want - len(engines))

    return assign("voice", groups, shortfall)


def music_splits(collections: dict[str, str]) -> dict[str, str]:
    """collections: piece name -> its style collection."""

    def shortfall(split: str, names: list[str]) -> int:
        return max(0, 3 - len(names)) + max(0, 2 - len({collections[n] for n in names}))

    return assign("piece", collections, shortfall)


def sentence_splits(lang: str, count: int) -> dict[int, str]:
    """Sentence index -> split, so no sentence text is spoken in two splits."""
    where = assign(f"sentence-{lang}", [f"{i:04d}" for i in range(count)],
                   lambda split, names: max(0, 3 - len(names)))
    return {int(n): s for n, s in where.items()}
