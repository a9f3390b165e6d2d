"""The routing policy: a TOML file merged over the packaged defaults."""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class Policy:
    """Routing settings; `for_item` resolves collection and content overrides."""

    data: dict[str, Any]

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        text = resources.files("acetate.pipelines").joinpath("default_policy.toml").read_text()
        data = tomllib.loads(text)
        if path is not None:
            try:
                user = tomllib.loads(Path(path).read_text())
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"policy {path}: {exc}") from exc
            data = _merge(data, user)
        unknown = set(data.get("kinds", {})) - set(_known_kinds())
        if unknown:
            raise ValueError(f"policy names unknown kinds: {sorted(unknown)}")
        _check_detection(data.get("detection", {}))
        _check_detection(data.get("detection_whole_band", {}))
        return cls(data)

    def detection(self, sample_rate: int) -> dict[str, str]:
        """Whose score decides each kind in a file at `sample_rate`: `[detection]`, overridden by
        `[detection_whole_band]` where the tagger hears the file's whole band (rate at or under
        `whole_band_max_rate_hz`, the rate it listens at)."""
        rules = dict(self.data.get("detection", {}))
        if sample_rate <= int(self.data.get("whole_band_max_rate_hz", 0)):
            rules.update(self.data.get("detection_whole_band", {}))
        return rules

    @property
    def fingerprint(self) -> str:
        blob = json.dumps(self.data, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def for_item(self, collection: str | None, content: str | None) -> ItemPolicy:
        data = self.data
        if collection and collection in data.get("collections", {}):
            data = _merge(data, data["collections"][collection])
        content_over = data.get("content", {}).get(content or "", {})
        return ItemPolicy(data=data, content_over=content_over)


@dataclass(frozen=True)
class ItemPolicy:
    data: dict[str, Any]
    content_over: dict[str, Any]

    def kind(self, kind: str) -> dict[str, Any]:
        base = {"threshold": self.data["threshold"], "review_margin": self.data["review_margin"]}
        base = _merge(base, self.data.get("kinds", {}).get(kind, {}))
        return _merge(base, self.content_over.get("kinds", {}).get(kind, {}))

    def skipped(self, kind: str) -> bool:
        return kind in self.content_over.get("skip", [])

    @property
    def order(self) -> list[str]:
        return list(self.data["order"])


def _check_detection(rules: dict[str, Any]) -> None:
    """Refuse a bad [detection] table when the policy loads, not item by item in the batch."""
    from .fusion import FUSIONS

    unknown = set(rules) - set(_known_kinds())
    if unknown:
        raise ValueError(f"policy detection table names unknown kinds: {sorted(unknown)}")
    bad = {k: v for k, v in rules.items() if v not in FUSIONS}
    if bad:
        raise ValueError(f"policy detection rules must be one of {FUSIONS}: {bad}")


def _known_kinds() -> tuple[str, ...]:
    from acetate.ops.findings import KINDS

    return KINDS
