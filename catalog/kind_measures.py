"""Which before/after measure tells how much of each degradation kind is left, and which way is
better: what the report's "improvements" and the canned `worse` query compare."""

from __future__ import annotations

from dataclasses import dataclass

from acetate.catalog.schema import KINDS, MEASURES


@dataclass(frozen=True)
class KindMeasure:
    kind: str
    measure: str  # a MEASURES key: columns <measure>_before and <measure>_after
    better: str  # "higher", "lower" or "nearer_zero"
    worse_by: float  # a change in the wrong direction beyond this counts as worse (measure's unit)

    @property
    def unit(self) -> str:
        return MEASURES[self.measure]

    def badness_sql(self, when: str) -> str:
        """SQL for how bad the item is on this measure, `when` = before | after (bigger is worse)."""
        col = f"{self.measure}_{when}"
        return {"higher": f"-{col}", "lower": col, "nearer_zero": f"abs({col})"}[self.better]

    def worse_sql(self) -> str:
        """SQL true where the restored copy is worse than the source by more than `worse_by`."""
        b, a = f"{self.measure}_before", f"{self.measure}_after"
        change = {"higher": f"{b} - {a}", "lower": f"{a} - {b}", "nearer_zero": f"abs({a}) - abs({b})"}[self.better]
        return f"({change} > {self.worse_by!r})"


KIND_MEASURES: dict[str, KindMeasure] = {m.kind: m for m in (
    KindMeasure("noise", "snr_db", "higher", 1.0),
    KindMeasure("hum", "hum_db", "lower", 1.0),
    KindMeasure("clicks", "clicks_per_min", "lower", 1.0),
    KindMeasure("clipping", "clipped_fraction", "lower", 1e-4),
    KindMeasure("bandwidth", "bandwidth_hz", "higher", 200.0),
    KindMeasure("dropouts", "dropouts_s", "lower", 0.05),
    KindMeasure("wow", "wow_pct", "lower", 0.05),
    KindMeasure("dc_offset", "dc_offset", "nearer_zero", 1e-3),
    KindMeasure("rumble", "rumble_db", "lower", 1.0),
)}


def kind_measures() -> list[KindMeasure]:
    """The kinds of the schema that have a measure, in schema order (a new kind without one is skipped)."""
    return [KIND_MEASURES[k] for k in KINDS if k in KIND_MEASURES]
