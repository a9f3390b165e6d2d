"""The pipeline fingerprint: what a record was produced with. A rerun reprocesses an item when it
changes (new op versions, another policy, another acetate release)."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata

from acetate.models import installed_models, load_all
from acetate.ops.registry import DETECTORS, RESTORERS

from .policy import Policy


def acetate_version() -> str:
    try:
        return metadata.version("acetate")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"


def pipeline_fingerprint(policy: Policy, output_format: str = "flac") -> str:
    load_all()
    parts = {
        "acetate": acetate_version(),
        "policy": policy.fingerprint,
        "detectors": {k: getattr(v, "version", "?") for k, v in sorted(DETECTORS.items())},
        "restorers": {k: r.version for k, r in sorted(RESTORERS.items())},
        "models": installed_models(),  # new weights reprocess the archive, as a new op version does
        "output": output_format,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
