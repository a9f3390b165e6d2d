"""The batch report on a batch of a million records: wall time and peak memory of `write_report`,
against the naive baseline measured in the same run (reading the batch into an Arrow table and
then into Python rows, which is what a report that aggregated in Python would start with).

    .venv/bin/python benchmarks/report_scale.py [--rows 1000000] [--work /tmp/x] [--results benchmarks/results]

Each measurement runs in its own process, so its peak RSS is its own. Synthetic records
(tests/catalog/synthetic_quality.py) with a second, older batch beside them, so the report must
also skip the other batch's partition. No sources exist, so the samples section shows its
"no excerpt" notes: this measures the aggregation, not the audio excerpts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, sys, time


def hwm_mb():  # this process's own peak RSS (ru_maxrss would count the parent's, across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


what, out, batch = sys.argv[1:4]
t = time.perf_counter()  # imports included: a report process pays them too
if what == "report":
    from acetate.catalog.report import write_report
    path = write_report(out, batch)
    extra = {"bytes": path.stat().st_size}
else:
    from acetate.catalog.store import read_quality
    table = read_quality(out, batch)
    rows = table.to_pylist() if what == "python_rows" else None
    extra = {"rows": table.num_rows}
print(json.dumps({"seconds": time.perf_counter() - t, "peak_rss_mb": hwm_mb(), **extra}))
"""


def measure(what: str, out: Path, batch: str) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _CHILD, what, str(out), batch], check=True,
                          capture_output=True, text=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - t
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/acetate-report-scale"))
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "tests" / "catalog"))
    from synthetic_quality import write_synthetic_batch

    out = args.work / "out"
    batch = "20261125T170000Z-big0"
    if not (out / "quality" / f"batch_id={batch}").exists():
        t = time.perf_counter()
        write_synthetic_batch(out, "20261124T170000Z-old0", args.rows // 10, parts=2, seed=1)
        write_synthetic_batch(out, batch, args.rows, parts=max(1, args.rows // 100_000), collections=500)
        print(f"wrote {args.rows} + {args.rows // 10} synthetic records in {time.perf_counter() - t:.1f} s")
    load_before = os.getloadavg()[0]
    results = {what: measure(what, out, batch) for what in ("report", "arrow_table", "python_rows")}
    results["rows"] = args.rows
    results["load_average"] = [load_before, os.getloadavg()[0]]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "report_scale.json").write_text(json.dumps(results, indent=2))
    r, a, p = results["report"], results["arrow_table"], results["python_rows"]
    md = [
        f"# Batch report at scale ({args.rows:,} records in one batch, plus an older batch)",
        "",
        f"`.venv/bin/python benchmarks/report_scale.py --rows {args.rows}` (each line its own process; "
        "seconds include imports; peak RSS (VmHWM) of that process).",
        "",
        "| what | seconds | peak RSS MB | notes |",
        "|---|---|---|---|",
        f"| `write_report` (DuckDB aggregates, plots, HTML) | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} |"
        f" page {r['bytes'] / 1e6:.2f} MB |",
        f"| baseline: read the batch into Arrow | {a['seconds']:.1f} | {a['peak_rss_mb']:.0f} | |",
        f"| baseline: ... and into Python rows | {p['seconds']:.1f} | {p['peak_rss_mb']:.0f} |"
        " what aggregating in Python would start with |",
        "",
        f"Report / Python-rows baseline: {r['seconds'] / p['seconds']:.2f}x the time, "
        f"{r['peak_rss_mb'] / p['peak_rss_mb']:.2f}x the peak memory. {os.cpu_count()} cores, 1-minute load "
        f"average {load_before:.1f} before and {results['load_average'][1]:.1f} after (other jobs share the machine).",
        "",
    ]
    (args.results / "report_scale.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
