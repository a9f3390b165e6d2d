"""The vocabulary that detectors, routing, records and tests share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Degradation kinds every quality record carries (has_K, K_score). Mirrors acetate.catalog.schema.KINDS;
# a test keeps the two equal, because ops must not import catalog.
KINDS: tuple[str, ...] = ("noise", "hum", "clicks", "clipping", "bandwidth", "dropouts", "wow", "dc_offset",
                          "rumble")


@dataclass(frozen=True)
class Finding:
    """What one detector concluded about a whole file.

    score: calibrated evidence in [0, 1] that the degradation is present (0.5 = undecided).
    severity: the physical measure behind it, in `unit` (dB, fraction, Hz, clicks/min, ...).
    regions: affected (start_s, end_s) spans; empty when the kind is global (hum, DC).
    params: what a restorer needs to undo it (e.g. hum fundamental, per-channel clip levels).
    """

    kind: str
    score: float
    severity: float
    unit: str
    regions: tuple[tuple[float, float], ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"{self.kind}: score {self.score} outside [0, 1]")
