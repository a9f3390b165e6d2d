"""What the batch report shows, aggregated in DuckDB: every function returns a few dozen rows at
most, whatever the batch size, so a report over millions of records never loads them into Python.
Quantiles are exact (quantile_cont), so DuckDB holds 8 bytes per restored item and measure while it
aggregates; approx_quantile would be bounded, but under FILTER it returned 2.2e-308 for small
groups (DuckDB 2.0.1).

All queries read the view `b` (one batch of the `quality` view), made by `batch_view`.
"""

from __future__ import annotations

from typing import Any

import duckdb

from acetate.catalog.kind_measures import kind_measures
from acetate.catalog.schema import KINDS, STATUSES

SCORE_BINS = 20
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
TOP_COLLECTIONS = 25
LIST_LIMIT = 100  # rows of a per-item list (failures, review queue) shown in the report
_OPS = "array_to_string(list_transform(chain, lambda s: s.op), ' > ')"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def batch_view(con: duckdb.DuckDBPyConnection, batch: str) -> None:
    """Define `b`: the batch's records. A view, so each query reads only the columns it needs and
    DuckDB prunes the other batches' partitions. (No progress bar: the report runs unattended.)"""
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE OR REPLACE TEMP VIEW b AS SELECT * FROM quality WHERE batch_id = {_lit(batch)}")


def totals(con) -> dict[str, Any]:
    return rows(con, """
        SELECT count(*) AS items, coalesce(sum(duration_s), 0) / 3600 AS audio_hours,
               coalesce(sum(total_s), 0) AS compute_s,
               count(*) FILTER (output_path IS NOT NULL) AS outputs,
               min(processed_at) AS first_at, max(processed_at) AS last_at,
               string_agg(DISTINCT acetate_version, ', ') AS versions,
               string_agg(DISTINCT pipeline_fingerprint, ', ') AS fingerprints,
               string_agg(DISTINCT engine, ', ') AS engines,
               median(duration_s / nullif(total_s, 0)) AS median_x_real_time
        FROM b""")[0]


def by_status(con) -> list[dict[str, Any]]:
    order = ", ".join(_lit(s) for s in STATUSES)
    return rows(con, f"""
        SELECT status, count(*) AS items, round(coalesce(sum(duration_s), 0) / 3600, 2) AS audio_hours
        FROM b GROUP BY status ORDER BY list_position([{order}], status) NULLS LAST""")


def by_collection(con) -> list[dict[str, Any]]:
    """Items per collection and status: the largest TOP_COLLECTIONS, the rest summed in one row."""
    counts = ", ".join(f"count(*) FILTER (status = {_lit(s)}) AS {s}" for s in STATUSES)
    sums = ", ".join(f"sum({s})::BIGINT AS {s}" for s in STATUSES)
    return rows(con, f"""
        WITH c AS (SELECT coalesce(collection, '(root)') AS collection, count(*) AS items, {counts}
                   FROM b GROUP BY ALL),
             r AS (SELECT *, row_number() OVER (ORDER BY items DESC, collection) AS rank,
                          rank > {TOP_COLLECTIONS} AS rest FROM c)
        SELECT CASE WHEN rest THEN '(' || count(*) || ' more collections)' ELSE any_value(collection) END
                   AS collection, sum(items)::BIGINT AS items, {sums}
        FROM r GROUP BY rest, CASE WHEN rest THEN NULL ELSE collection END ORDER BY min(rank)""")


def _one_scan(con, aggregates: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """Many aggregates in one pass over `b`: {group: {name: SQL}} -> {group: {name: value}}."""
    cols = [(g, n, sql) for g, named in aggregates.items() for n, sql in named.items()]
    sql = ", ".join(f"{expr} AS c{i}" for i, (_, _, expr) in enumerate(cols))
    values = con.execute(f"SELECT {sql} FROM b").fetchone()
    out: dict[str, dict[str, Any]] = {g: {} for g in aggregates}
    for (g, n, _), v in zip(cols, values, strict=True):
        out[g][n] = v
    return out


def degradations(con) -> list[dict[str, Any]]:
    """Per kind: items found, of which restored, and the mean score of all scored items."""
    got = _one_scan(con, {k: {"found": f"count(*) FILTER (has_{k})",
                              "with_output": f"count(*) FILTER (has_{k} AND output_path IS NOT NULL)",
                              "scored": f"count({k}_score)", "mean_score": f"avg({k}_score)"} for k in KINDS})
    return [{"kind": k, **v} for k, v in got.items()]


def score_histograms(con) -> dict[str, dict[str, list[int]]]:
    """kind -> {"found": counts per score bin, "not_found": ...}, SCORE_BINS bins over [0, 1].
    One pass: each kind's bins are a histogram() aggregate over bin numbers."""
    def bins(k: str, found: bool) -> str:
        cond = f"{k}_score IS NOT NULL AND " + (f"has_{k}" if found else f"NOT coalesce(has_{k}, false)")
        return f"histogram(least(floor({k}_score * {SCORE_BINS}), {SCORE_BINS - 1})::INT) FILTER ({cond})"

    got = _one_scan(con, {k: {"found": bins(k, True), "not_found": bins(k, False)} for k in KINDS})
    hist = {}
    for k, v in got.items():
        hist[k] = {}
        for side, counts in v.items():
            dense = [0] * SCORE_BINS
            for b, c in (counts or {}).items():
                dense[max(int(b), 0)] += int(c)
            hist[k][side] = dense
    return hist


def improvements(con) -> list[dict[str, Any]]:
    """Per kind, over the copies whose chain has a step that fixes it: quantiles (QUANTILES) of the
    kind's measure before and after, and how many got better or worse on it. One pass, a FILTER per
    kind. (A kind found but not routed to any op is no improvement of that op, so it is left out.)"""
    q = list(QUANTILES)
    aggs = {}
    for m in kind_measures():
        before, after = f"{m.measure}_before", f"{m.measure}_after"
        fixed = f"list_contains(list_transform(chain, lambda s: s.fixes), {_lit(m.kind)})"
        cond = f"output_path IS NOT NULL AND {fixed} AND {before} IS NOT NULL AND {after} IS NOT NULL"
        aggs[m.kind] = {
            "measure": f"{_lit(m.measure)}", "items": f"count(*) FILTER ({cond})",
            "before_q": f"quantile_cont({before}, {q}) FILTER ({cond})",
            "after_q": f"quantile_cont({after}, {q}) FILTER ({cond})",
            "better": f"count(*) FILTER ({cond} AND {m.badness_sql('after')} < {m.badness_sql('before')})",
            "worse": f"count(*) FILTER ({cond} AND {m.worse_sql()})",
        }
    got = _one_scan(con, aggs)
    return [{"kind": k, **v} for k, v in got.items() if v["items"]]


def side_effects(con) -> list[dict[str, Any]]:
    """Changes every restored item should barely show: loudness and true peak (quantiles)."""
    q = list(QUANTILES)
    return [r for r in rows(con, f"""
        SELECT 'loudness_lufs' AS measure, count(*) AS items,
               quantile_cont(loudness_lufs_after - loudness_lufs_before, {q}) AS change_q FROM b
        WHERE output_path IS NOT NULL AND loudness_lufs_after IS NOT NULL AND loudness_lufs_before IS NOT NULL
        UNION ALL
        SELECT 'true_peak_dbtp', count(*), quantile_cont(true_peak_dbtp_after - true_peak_dbtp_before, {q}) FROM b
        WHERE output_path IS NOT NULL AND true_peak_dbtp_after IS NOT NULL AND true_peak_dbtp_before IS NOT NULL""")
        if r["items"]]


def chains(con, limit: int = 15) -> list[dict[str, Any]]:
    return rows(con, f"""
        SELECT array_to_string(list_transform(chain, lambda s: s.op), ' > ') AS chain, count(*) AS items
        FROM b WHERE len(chain) > 0 GROUP BY ALL ORDER BY items DESC, chain LIMIT {limit}""")


def failures_by_type(con) -> list[dict[str, Any]]:
    return rows(con, """
        SELECT split_part(error, ':', 1) AS error_type, count(*) AS items, min(source_path) AS example
        FROM b WHERE status = 'failed' GROUP BY ALL ORDER BY items DESC, error_type LIMIT 30""")


def failures(con, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    return rows(con, f"""
        SELECT source_path, error FROM b WHERE status = 'failed' ORDER BY source_path LIMIT {limit}""")


def review_reasons(con) -> list[dict[str, Any]]:
    """The review queue's reasons, numbers replaced by N so that alike reasons group together."""
    return rows(con, r"""
        SELECT regexp_replace(trim(reason), '-?[0-9]+(\.[0-9]+)?', 'N', 'g') AS reason, count(*) AS items
        FROM (SELECT unnest(string_split(review_reason, '; ')) AS reason FROM b WHERE status = 'needs_review')
        GROUP BY ALL ORDER BY items DESC, reason LIMIT 30""")


def review_queue(con, limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    return rows(con, f"""
        SELECT source_path, coalesce(collection, '(root)') AS collection, review_reason,
               output_path IS NOT NULL AS has_output
        FROM b WHERE status = 'needs_review' ORDER BY source_path LIMIT {limit}""")


def slowest(con, limit: int = 10) -> list[dict[str, Any]]:
    return rows(con, f"""
        SELECT source_path, status, duration_s, analyze_s, restore_s, total_s,
               duration_s / nullif(total_s, 0) AS x_real_time,
               array_to_string(list_transform(chain, lambda s: s.op), ' > ') AS chain
        FROM b WHERE total_s IS NOT NULL ORDER BY total_s DESC LIMIT {limit}""")


def samples(con, n: int) -> list[dict[str, Any]]:
    """Up to n items with an access copy, one per distinct chain first (the most common chains),
    then more of the common ones; a stable choice (by item_id hash) so reruns show the same items.
    Picks ids with one hash aggregate (arg_min with n), then reads only those rows' details."""
    if n <= 0:
        return []
    found = " || ".join(f"CASE WHEN has_{k} THEN [{_lit(k)}] ELSE [] END" for k in KINDS)
    return rows(con, f"""
        WITH g AS (SELECT {_OPS} AS chain, count(*) AS chain_items, arg_min(item_id, hash(item_id), {n}) AS ids
                   FROM b WHERE output_path IS NOT NULL GROUP BY ALL),
             p AS (SELECT chain, chain_items, unnest(ids) AS item_id, generate_subscripts(ids, 1) AS nth FROM g
                   ORDER BY nth, chain_items DESC, chain LIMIT {n})
        SELECT b.item_id, source_path, output_path, content, status, duration_s, p.chain,
               array_to_string({found}, ', ') AS found
        FROM p JOIN b USING (item_id) WHERE b.output_path IS NOT NULL ORDER BY nth, chain_items DESC, p.chain""")


def count(con, where: str) -> int:
    return con.execute(f"SELECT count(*) FROM b WHERE {where}").fetchone()[0]
