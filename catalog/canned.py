"""Named questions archivists ask every morning, each one SQL statement over the `quality` and
`catalog` views. `acetate query --list` shows them; `acetate query NAME` runs one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CannedQuery:
    name: str
    question: str
    sql: str


_LATEST = "(SELECT max(batch_id) FROM quality)"

CANNED: dict[str, CannedQuery] = {q.name: q for q in (
    CannedQuery("status", "How many items ended in each status, per batch?",
                "SELECT batch_id, status, count(*) AS items FROM quality GROUP BY ALL ORDER BY batch_id DESC, items DESC"),
    CannedQuery("failures", "Which items failed in the latest batch, grouped by error type?",
                "SELECT split_part(error, ':', 1) AS error_type, count(*) AS items, min(source_path) AS example "
                f"FROM quality WHERE status = 'failed' AND batch_id = {_LATEST} GROUP BY ALL ORDER BY items DESC"),
    CannedQuery("review", "What is waiting for a person (needs_review), and why?",
                "SELECT batch_id, source_path, review_reason FROM quality WHERE status = 'needs_review' "
                "ORDER BY batch_id DESC, source_path"),
    CannedQuery("degradations", "How often was each degradation found in the latest batch?",
                "SELECT sum(has_noise::INT) AS noise, sum(has_hum::INT) AS hum, sum(has_clicks::INT) AS clicks, "
                "sum(has_clipping::INT) AS clipping, sum(has_bandwidth::INT) AS bandwidth, "
                "sum(has_dropouts::INT) AS dropouts, sum(has_wow::INT) AS wow, sum(has_dc_offset::INT) AS dc_offset, "
                f"count(*) AS items FROM quality WHERE batch_id = {_LATEST}"),
    CannedQuery("hum-gain", "Hum level before and after, per collection, in the latest batch (restored items)",
                "SELECT coalesce(collection, '(root)') AS collection, count(*) AS items, "
                "round(avg(hum_db_before), 1) AS hum_db_before, round(avg(hum_db_after), 1) AS hum_db_after "
                f"FROM quality WHERE batch_id = {_LATEST} AND has_hum AND output_path IS NOT NULL "
                "GROUP BY ALL ORDER BY collection"),
    CannedQuery("snr-gain", "Estimated SNR gain per collection in the latest batch (restored items)",
                "SELECT coalesce(collection, '(root)') AS collection, count(*) AS items, "
                "round(avg(snr_db_after - snr_db_before), 2) AS snr_gain_db "
                f"FROM quality WHERE batch_id = {_LATEST} AND output_path IS NOT NULL GROUP BY ALL ORDER BY collection"),
    CannedQuery("worse", "Which restored items got measurably worse on a measure (more clipping, hum or a big level change)?",
                "SELECT batch_id, source_path, clipped_fraction_before, clipped_fraction_after, hum_db_before, "
                "hum_db_after, round(loudness_lufs_after - loudness_lufs_before, 2) AS loudness_change "
                "FROM quality WHERE output_path IS NOT NULL AND (clipped_fraction_after > clipped_fraction_before "
                "OR hum_db_after > hum_db_before + 1 OR abs(loudness_lufs_after - loudness_lufs_before) > 3) "
                "ORDER BY batch_id DESC, source_path"),
    CannedQuery("slowest", "The ten slowest items of the latest batch, with their real-time factor",
                "SELECT source_path, round(duration_s, 1) AS duration_s, round(total_s, 2) AS total_s, "
                "round(duration_s / nullif(total_s, 0), 1) AS x_real_time "
                f"FROM quality WHERE batch_id = {_LATEST} ORDER BY total_s DESC NULLS LAST LIMIT 10"),
    CannedQuery("chains", "Which chains of ops were applied, and how often?",
                "SELECT array_to_string(list_transform(chain, lambda s: s.op), ' > ') AS chain, count(*) AS items "
                "FROM quality WHERE len(chain) > 0 GROUP BY ALL ORDER BY items DESC"),
)}
