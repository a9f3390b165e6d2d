"""Named questions archivists ask every morning, each one SQL statement over the `quality` and
`catalog` views. `acetate query --list` shows them; `acetate query NAME [--param k=v]` runs one.

"Latest batch" is the batch with the greatest id (ids sort by time). "Current record" is the latest
record of each item, whichever batch wrote it: the state of the archive now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from acetate.catalog.kind_measures import kind_measures
from acetate.catalog.schema import KINDS


@dataclass(frozen=True)
class CannedQuery:
    name: str
    question: str
    template: str  # the SQL; may hold {param} placeholders, filled by render() with numbers only
    params: Mapping[str, float] = field(default_factory=dict)  # name -> default

    @property
    def sql(self) -> str:
        """The SQL with the parameters' defaults."""
        return self.render()

    def render(self, values: Mapping[str, str | float] | None = None) -> str:
        """The SQL with its parameters filled (numbers, so nothing can be injected)."""
        values = dict(values or {})
        unknown = set(values) - set(self.params)
        if unknown:
            raise ValueError(f"{self.name} takes {sorted(self.params) or 'no parameters'}, not {sorted(unknown)}")
        filled = {}
        for key, default in self.params.items():
            raw = values.get(key, default)
            try:
                filled[key] = repr(float(raw))
            except (TypeError, ValueError):
                raise ValueError(f"{self.name}: {key} must be a number, not {raw!r}") from None
        return self.template.format(**filled) if self.params else self.template


_LATEST = "(SELECT max(batch_id) FROM quality)"
_CURRENT = "(SELECT * FROM quality QUALIFY row_number() OVER (PARTITION BY item_id ORDER BY processed_at DESC) = 1)"
_OPS = "array_to_string(list_transform(chain, lambda s: s.op), ' > ')"


def _worse_sql() -> str:
    checks = [(m.measure, m.worse_sql()) for m in kind_measures()]
    checks.append(("loudness_lufs", "abs(loudness_lufs_after - loudness_lufs_before) > 3.0"))
    names = ", ".join(f"CASE WHEN {cond} THEN '{name}' END" for name, cond in checks)
    return (f"SELECT batch_id, source_path, {_OPS} AS chain, "
            f"array_to_string(list_filter([{names}], lambda x: x IS NOT NULL), ', ') AS worse_on, "
            "round(snr_db_after - snr_db_before, 2) AS snr_change_db, "
            "round(loudness_lufs_after - loudness_lufs_before, 2) AS loudness_change_lu "
            f"FROM {_CURRENT} WHERE output_path IS NOT NULL AND ({' OR '.join(c for _, c in checks)}) "
            "ORDER BY batch_id DESC, source_path")


CANNED: dict[str, CannedQuery] = {q.name: q for q in (
    CannedQuery("status", "How many items ended in each status, per batch?",
                "SELECT batch_id, status, count(*) AS items FROM quality GROUP BY ALL ORDER BY batch_id DESC, items DESC"),
    CannedQuery("failures", "Which items failed in the latest batch, grouped by error type?",
                "SELECT split_part(error, ':', 1) AS error_type, count(*) AS items, min(source_path) AS example "
                f"FROM quality WHERE status = 'failed' AND batch_id = {_LATEST} GROUP BY ALL ORDER BY items DESC"),
    CannedQuery("review", "What is waiting for a person (needs_review, current records), and why?",
                f"SELECT batch_id, source_path, review_reason FROM {_CURRENT} WHERE status = 'needs_review' "
                "ORDER BY batch_id DESC, source_path"),
    CannedQuery("degradations", "How often was each degradation found in the latest batch? (empty where no "
                "detector for the kind ran)",
                "SELECT " + ", ".join(f"sum(has_{k}::INT)::BIGINT AS {k}" for k in KINDS)
                + f", count(*) AS items FROM quality WHERE batch_id = {_LATEST}"),
    CannedQuery("hum-gain", "Hum level before and after, per collection, in the latest batch (restored items)",
                "SELECT coalesce(collection, '(root)') AS collection, count(*) AS items, "
                "round(avg(hum_db_before), 1) AS hum_db_before, round(avg(hum_db_after), 1) AS hum_db_after "
                f"FROM quality WHERE batch_id = {_LATEST} AND has_hum AND output_path IS NOT NULL "
                "GROUP BY ALL ORDER BY collection"),
    CannedQuery("snr-gain", "Estimated SNR gain per collection in the latest batch (restored items)",
                "SELECT coalesce(collection, '(root)') AS collection, count(*) AS items, "
                "round(avg(snr_db_after - snr_db_before), 2) AS snr_gain_db, "
                "round(median(snr_db_after - snr_db_before), 2) AS median_snr_gain_db "
                f"FROM quality WHERE batch_id = {_LATEST} AND output_path IS NOT NULL GROUP BY ALL ORDER BY collection"),
    CannedQuery("clicks-left", "Which access copies (current records) still have more than PER_MIN clicks per "
                "minute after restoration? (--param per_min=N, default 5)",
                "SELECT batch_id, source_path, round(clicks_per_min_before, 1) AS clicks_per_min_before, "
                f"round(clicks_per_min_after, 1) AS clicks_per_min_after, {_OPS} AS chain FROM {_CURRENT} "
                "WHERE output_path IS NOT NULL AND clicks_per_min_after > {per_min} "
                "ORDER BY clicks_per_min_after DESC, source_path",
                params={"per_min": 5.0}),
    CannedQuery("worse", "Which access copies (current records) got measurably worse on a measure than their "
                "source: less SNR or bandwidth, more hum, clicks, clipping, dropouts, wow or DC, or a level "
                "change over 3 LU?", _worse_sql()),
    CannedQuery("slowest", "The ten slowest items of the latest batch, with their real-time factor",
                "SELECT source_path, round(duration_s, 1) AS duration_s, round(total_s, 2) AS total_s, "
                "round(duration_s / nullif(total_s, 0), 1) AS x_real_time "
                f"FROM quality WHERE batch_id = {_LATEST} ORDER BY total_s DESC NULLS LAST LIMIT 10"),
    CannedQuery("chains", "Which chains of ops were applied, and how often?",
                f"SELECT {_OPS} AS chain, count(*) AS items "
                "FROM quality WHERE len(chain) > 0 GROUP BY ALL ORDER BY items DESC"),
    CannedQuery("backlog", "Which catalogued files have no record for their current content yet (new or changed "
                "since they were processed), per collection?",
                "SELECT coalesce(c.collection, '(root)') AS collection, count(*) AS items, "
                "round(sum(c.duration_s) / 3600, 2) AS audio_hours, min(c.source_path) AS example "
                "FROM catalog c ANTI JOIN quality q ON q.source_path = c.source_path AND q.source_sha256 = c.sha256 "
                "WHERE c.error IS NULL GROUP BY ALL ORDER BY items DESC"),
)}


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """`["per_min=10"]` -> `{"per_min": "10"}` (values checked by CannedQuery.render)."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param takes NAME=VALUE, not {pair!r}")
        out[key.strip()] = value.strip()
    return out
