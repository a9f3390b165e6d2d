"""Saving and loading the committed model weights, safely.

Weights live in models/weights/<name>.pt beside manifest.json, which records each file's SHA-256,
version and config. Loading checks the hash before unpickling anything and then uses
`torch.load(weights_only=True)`, so a tampered or swapped file is refused with a clear error instead
of running code or silently changing the restoration.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch

MANIFEST = "manifest.json"


class WeightsError(RuntimeError):
    """A weight file is missing, does not match its recorded hash, or cannot be loaded safely."""


def weights_dir() -> Path:
    return Path(str(resources.files("acetate.models").joinpath("weights")))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(directory: Path | None = None) -> dict[str, Any]:
    path = (directory or weights_dir()) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def save_weights(name: str, state: dict[str, torch.Tensor], *, version: str, config: dict[str, Any],
                 metrics: dict[str, Any] | None = None, directory: Path | None = None) -> Path:
    """Write <name>.pt (tensors only) and record its hash, version, config and metrics."""
    directory = directory or weights_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.pt"
    tmp = path.with_suffix(".pt.tmp")
    torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, tmp)
    tmp.replace(path)
    manifest = read_manifest(directory)
    manifest[name] = {"file": path.name, "sha256": _sha256(path), "version": version, "config": config,
                      "metrics": metrics or {}}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def load_weights(name: str, directory: Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict, manifest entry) of a committed model, refusing anything whose hash differs."""
    directory = directory or weights_dir()
    entry = read_manifest(directory).get(name)
    if entry is None:
        raise WeightsError(f"model {name!r} is not in {directory / MANIFEST}")
    path = directory / entry["file"]
    if not path.exists():
        raise WeightsError(f"model {name!r}: weight file {path} is missing")
    digest = _sha256(path)
    if digest != entry["sha256"]:
        raise WeightsError(f"model {name!r}: {path} has SHA-256 {digest[:16]}..., the manifest records "
                           f"{entry['sha256'][:16]}...; refusing a modified weight file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a file that is not a plain tensor dict
        raise WeightsError(f"model {name!r}: {path} cannot be loaded safely: {exc}") from exc
    return state, entry
