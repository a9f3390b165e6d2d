"""`acetate train MODEL`: reproduce a committed model from scratch on this machine's CPU.

Each recipe is deterministic for a seed (one torch thread, seeded numpy and torch), writes its
weights and their SHA-256 into models/weights/ (or --out), and its training history beside them;
the model card in models/cards/ states the data, the command, the validation figures and limits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

RECIPES = ("denoiser", "tagger", "bwe")


def _recipe(name: str) -> tuple[Any, Callable]:
    if name == "denoiser":
        from .train_denoiser import TrainSettings, train
    elif name == "tagger":
        from .train_tagger import TaggerSettings as TrainSettings
        from .train_tagger import train
    elif name == "bwe":
        from .train_bwe import BweSettings as TrainSettings
        from .train_bwe import train
    else:
        raise ValueError(f"unknown model {name!r}; choose one of {RECIPES}")
    return TrainSettings, train


def train_model(name: str, *, corpus: Path | None = None, out: Path | None = None, seed: int | None = None,
                steps: int | None = None, log: Callable[[str], None] = print) -> dict:
    """Run one recipe; returns its result (metrics, history, seconds) and writes history JSON."""
    settings_cls, run = _recipe(name)
    settings = settings_cls()
    names = {f.name for f in fields(settings)}
    changes: dict[str, Any] = {"out": out}
    if corpus is not None:
        changes["corpus"] = Path(corpus)
    if seed is not None:
        changes["seed"] = seed
    if steps is not None:
        changes["steps" if "steps" in names else "epochs"] = steps
    settings = replace(settings, **changes)
    if not (Path(settings.corpus) / "manifest.parquet").exists():
        raise FileNotFoundError(f"corpus {settings.corpus} not found: build it with `make corpus-train`")
    result = run(settings, log=log)
    target = Path(out) if out is not None else Path(__file__).resolve().parent / "weights"
    (target / f"{name}.history.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    return result
