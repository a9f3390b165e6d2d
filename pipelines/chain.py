"""A chain of configured restoration steps, applied to a long file window by window.

Like a pedalboard: `chain(audio, sample_rate)` runs every step in order. The same object is what the
quality record describes (`describe()`), so the record says exactly what was done.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from acetate.ops.registry import RESTORERS, Restorer


@dataclass(frozen=True)
class Step:
    op: str
    fixes: str
    version: str
    params_json: str  # JSON keeps the step hashable and the record column uniform
    context_s: float
    model: str | None = None
    model_version: str | None = None

    @classmethod
    def of(cls, restorer: Restorer, params: Mapping[str, Any]) -> Step:
        return cls(op=restorer.name, fixes=restorer.fixes, version=restorer.version,
                   params_json=json.dumps(dict(params), sort_keys=True), context_s=restorer.context_s,
                   model=restorer.model, model_version=restorer.model_version)

    @property
    def params(self) -> dict[str, Any]:
        return json.loads(self.params_json)

    def describe(self) -> dict[str, Any]:
        return {"op": self.op, "fixes": self.fixes, "version": self.version, "model": self.model,
                "model_version": self.model_version, "params": self.params_json}


@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.steps)

    @property
    def context_s(self) -> float:
        """Context each side of a block: each step may spoil its own context at the window edges."""
        return float(sum(s.context_s for s in self.steps))

    def __call__(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        for step in self.steps:
            audio = RESTORERS[step.op].fn(audio, sample_rate, **step.params)
            audio = np.asarray(audio, dtype=np.float32)
        return audio

    def describe(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.steps]
