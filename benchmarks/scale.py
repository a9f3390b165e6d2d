"""Scale benchmark (issue 7): planning at archive size, throughput with 1 and 2 Ray workers on real
audio, and the cost of Prefect + Ray per item against bare process_item.

    .venv/bin/python benchmarks/scale.py [--work DIR] [--results DIR] [--catalog-rows N]
        [--quality-rows N] [--files N] [--seconds S] [--skip-plan] [--skip-throughput]

1. Planning: a synthetic catalog of --catalog-rows entries (every CATALOG_SCHEMA column, stored as
   the catalog snapshot a scan leaves) against a quality dataset of --quality-rows records (every
   QUALITY_SCHEMA column, 10 batches x 10 parts; a tenth under an older fingerprint, some for an
   older hash, some failed). A child process reads the snapshot, plans to a file with the collision
   column and reads the plan back in shards of 500; its wall time and peak RSS are the figures
   (targets: < 60 s, < 2 GB). The pending count is checked against numpy.
2. Throughput and overhead: --files files of --seconds s made from the corpus's *validation* clips
   (16 kHz mono, 44.1 kHz mono and stereo, 48 kHz stereo; concatenated to length) and degraded by the
   simulator (two or three kinds, moderate, fixed seeds). Bare: ItemProcessor in this process, one
   thread, each item timed (run before and after the flows; the mean is the baseline). Then the
   nightly flow (Prefect, local Ray already up, catalog already scanned) with 1 and 2 workers.
   Per-item overhead = time between consecutive records with one worker minus the bare time of
   the item (steady state: actor start-up and batch set-up are reported apart as fixed cost).
   Scaling ratio = items/s with 2 workers / items/s with 1 (restore stage, same files).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")  # slow on a busy machine

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# 1. planning


def build_plan_fixture(out: Path, n: int, m: int, seed: int = 0) -> int:
    """Catalog snapshot of n entries and m quality records under out; returns the expected pending."""
    from acetate.catalog.schema import CATALOG_SCHEMA, QUALITY_SCHEMA
    from acetate.catalog.store import write_catalog, write_quality

    rng = np.random.default_rng(seed)
    paths = pa.array([f"coll{i % 97:02d}/box{i // 1000:04d}/item{i:07d}.wav" for i in range(n)])
    hashes = pa.array([f"{i:064x}" for i in range(n)])
    now = pa.scalar(datetime.now(UTC), type=CATALOG_SCHEMA.field("scanned_at").type)
    catalog = pa.table({
        "item_id": paths, "source_path": paths,
        "collection": pa.array([f"coll{i % 97:02d}" for i in range(n)]),
        "size_bytes": pa.array(rng.integers(1e5, 1e9, n), pa.int64()),
        "mtime_ns": pa.array(rng.integers(1.6e18, 1.7e18, n), pa.int64()),
        "sha256": hashes,
        "sample_rate": pa.array(rng.choice([16000, 44100, 48000], n), pa.int32()),
        "channels": pa.array(rng.choice([1, 2], n), pa.int32()),
        "frames": pa.array(rng.integers(1e5, 1e8, n), pa.int64()),
        "duration_s": pa.array(rng.uniform(10, 3600, n)),
        "format": pa.array(["WAV"] * n), "subtype": pa.array(["PCM_16"] * n),
        "error": pa.nulls(n, pa.string()),
        "scanned_at": pa.array([now.as_py()] * n, CATALOG_SCHEMA.field("scanned_at").type),
    }, schema=CATALOG_SCHEMA)
    write_catalog(out, catalog)

    done = np.sort(rng.choice(n, size=m, replace=False))
    fp = np.where(rng.random(m) < 0.1, "fp0", "fp1")
    stale_hash = rng.random(m) < 0.02
    status = rng.choice(["restored", "clean", "needs_review", "failed"], m, p=[0.5, 0.35, 0.1, 0.05])
    rec_hash = np.where(stale_hash, "old", np.array(hashes.take(pa.array(done)).to_pylist(), dtype=object))
    cols = {
        "schema_version": pa.array(np.full(m, 2), pa.int16()),
        "item_id": paths.take(pa.array(done)), "source_path": paths.take(pa.array(done)),
        "source_sha256": pa.array(rec_hash.tolist()), "status": pa.array(status),
        "pipeline_fingerprint": pa.array(fp),
        "snr_db_before": pa.array(rng.uniform(5, 40, m)), "snr_db_after": pa.array(rng.uniform(5, 40, m)),
        "total_s": pa.array(rng.uniform(1, 60, m)),
    }
    table = pa.table({f.name: cols.get(f.name, pa.nulls(m, f.type)) for f in QUALITY_SCHEMA},
                     schema=QUALITY_SCHEMA)
    per_part = -(-m // 100)
    for k in range(100):
        write_quality(out, f"2026010{k // 10}T020000Z-{k // 10:04x}", table.slice(k * per_part, per_part),
                      part_name=f"w{k:02d}")
    terminal = (fp == "fp1") & ~stale_hash  # every status is terminal without --retry-failed
    return int(n - np.unique(done[terminal]).size)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def plan_child(out: Path) -> dict:
    """Run in a fresh process: import what the flow's process imports, then read the snapshot, plan
    to a file and read the plan back in shards."""
    t_imp = time.perf_counter()
    import acetate.flows.nightly  # noqa: F401  (the flow process has all of this loaded)
    from acetate.catalog.plan import plan_to_file
    from acetate.catalog.store import catalog_path
    from acetate.pipelines.batch import PLAN_SHARED_KEYS

    imports_s, imports_rss = time.perf_counter() - t_imp, _rss_mb()
    t0 = time.perf_counter()
    catalog = pq.read_table(catalog_path(out))
    t_read = time.perf_counter()
    pending = plan_to_file(catalog, out, "fp1", out / ".acetate" / "plans" / "bench.parquet", shared=PLAN_SHARED_KEYS)
    t_plan = time.perf_counter()
    rows = shards = 0
    for s in pending.shards(500):
        rows += s.num_rows
        shards += 1
    t_iter = time.perf_counter()
    pending.discard()
    return {"catalog_rows": catalog.num_rows, "pending": pending.rows, "rows_read_back": rows, "shards": shards,
            "read_s": t_read - t0, "plan_s": t_plan - t_read, "iterate_s": t_iter - t_plan,
            "total_s": t_iter - t0, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "imports_s": imports_s, "rss_after_imports_mb": imports_rss}


def bench_plan(work: Path, n: int, m: int) -> dict:
    out = work / "plan-out"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    expected = build_plan_fixture(out, n, m)
    print(f"plan fixture: {n} catalog rows, {m} quality records ({time.perf_counter() - t0:.0f} s to build)",
          flush=True)
    proc = subprocess.run([sys.executable, __file__, "--plan-child", str(out)], capture_output=True, text=True,
                          check=True)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(quality_rows=m, expected_pending=expected, correct=result["pending"] == expected == result["rows_read_back"])
    print(f"plan: {result['total_s']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
          f"{result['pending']} pending (expected {expected})", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------
# 2. throughput and overhead on real audio

GROUPS = [(16000, 1), (44100, 1), (44100, 2), (48000, 2)]


def build_audio(archive: Path, corpus: Path, files: int, seconds: float) -> list[dict]:
    """files degraded recordings of `seconds` s from the corpus's validation clips."""
    import soundfile as sf

    from acetate.ops.degrade import degrade

    manifest = pq.read_table(corpus / "manifest.parquet").to_pylist()
    made = []
    for i in range(files):
        sr, ch = GROUPS[i % len(GROUPS)]
        clips = [r for r in manifest if r["split"] == "validation" and (r["sample_rate"], r["channels"]) == (sr, ch)]
        if not clips:
            raise SystemExit(f"no validation clips at {sr} Hz / {ch} ch in {corpus}: run `make corpus`")
        path = archive / f"g{sr}-{ch}" / f"item-{i:03d}.flac"
        parts, length, j = [], 0, i
        while length < seconds * sr:
            audio, _ = sf.read(corpus / clips[j % len(clips)]["path"], dtype="float32", always_2d=True)
            parts.append(audio.T)
            length += audio.shape[0]
            j += 1
        clean = np.concatenate(parts, axis=1)[:, : int(seconds * sr)]
        degraded, label = degrade(clean, sr, None, "moderate", seed=1000 + i)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            sf.write(path, np.clip(degraded, -1, 1).T, sr, subtype="PCM_24")
        made.append({"path": str(path.relative_to(archive)), "sample_rate": sr, "channels": ch,
                     "kinds": label["kinds"]})
    return made


class Arrivals:
    """A progress sink that timestamps the restore stage and every record."""

    def __init__(self) -> None:
        self.stage_at: float | None = None
        self.records: list[tuple[float, str, float]] = []  # (arrived, source_path, total_s)

    def stage(self, name, total):
        if name == "restore":
            self.stage_at = time.monotonic()

    def advance(self, n=1):
        pass

    def position(self, done, total):
        pass

    def record(self, record):
        self.records.append((time.monotonic(), record["source_path"], record["total_s"]))


def bare(archive: Path, out: Path) -> dict[str, float]:
    """process_item on every file in this process (one thread), each timed."""
    from acetate.catalog.scan import scan
    from acetate.pipelines.fingerprint import pipeline_fingerprint
    from acetate.pipelines.item import ItemContext
    from acetate.pipelines.policy import Policy
    from acetate.pipelines.worker import ItemProcessor, limit_threads

    limit_threads(1)
    shutil.rmtree(out, ignore_errors=True)
    root, catalog = scan(archive)
    policy = Policy.load()
    processor = ItemProcessor(ItemContext(str(root), str(out), "bare", pipeline_fingerprint(policy), "local", policy))
    times = {}
    for item in catalog.to_pylist():
        t0 = time.perf_counter()
        processor(item)
        times[item["source_path"]] = time.perf_counter() - t0
    return times


def flow_run(archive: Path, out: Path, workers: int) -> dict:
    from acetate.catalog.scan import rescan
    from acetate.flows import progress
    from acetate.flows.nightly import nightly

    shutil.rmtree(out, ignore_errors=True)
    rescan(archive, out)  # catalogued before: the flow's scan reuses every hash, as on a nightly rerun
    sink = Arrivals()
    progress.use(sink)
    t0 = time.monotonic()
    try:
        summary = nightly(source=str(archive), out=str(out), engine="ray", workers=workers)
    finally:
        progress.use(None)
    wall = time.monotonic() - t0
    assert summary["processed"] == len(sink.records), summary
    return {"workers": workers, "wall_s": wall, "stage_at": sink.stage_at - t0, "t0": t0,
            "records": [(t - t0, p, s) for t, p, s in sink.records], "statuses": summary["statuses"]}


def bench_throughput(work: Path, corpus: Path, files: int, seconds: float) -> dict:
    import ray

    from acetate.flows.nightly import nightly

    archive = work / "audio"
    made = build_audio(archive, corpus, files, seconds)
    print(f"audio: {files} files of {seconds:.0f} s from {corpus}/validation", flush=True)
    t0 = time.monotonic()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray_init_s = time.monotonic() - t0
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    t0 = time.monotonic()
    nightly(source=str(empty), out=str(work / "warm-out"), engine="local")  # starts Prefect's server
    prefect_start_s = time.monotonic() - t0

    bare_a = bare(archive, work / "bare-out")
    print(f"bare: {sum(bare_a.values()):.1f} s", flush=True)
    runs = {}
    for workers in (1, 2):
        runs[workers] = flow_run(archive, work / f"flow-out-{workers}", workers)
        print(f"flow, {workers} worker(s): {runs[workers]['wall_s']:.1f} s", flush=True)
    bare_b = bare(archive, work / "bare-out")
    print(f"bare again: {sum(bare_b.values()):.1f} s", flush=True)
    baseline = {p: (bare_a[p] + bare_b[p]) / 2 for p in bare_a}
    ray.shutdown()

    one = runs[1]["records"]
    steps = [(one[k][0] - one[k - 1][0], one[k][1], one[k][2]) for k in range(1, len(one))]
    steady_wall = sum(d for d, _, _ in steps)
    steady_bare = sum(baseline[p] for _, p, _ in steps)
    steady_worker = sum(s for _, _, s in steps)
    total_bare = sum(baseline.values())

    def throughput(run: dict) -> float:  # from the restore stage's start: worker start-up included
        return len(run["records"]) / (run["records"][-1][0] - run["stage_at"])

    def steady(run: dict) -> float:  # between the first and the last record: workers up and busy
        recs = run["records"]
        return (len(recs) - 1) / (recs[-1][0] - recs[0][0])

    return {
        "files": made, "seconds": seconds, "ray_init_s": ray_init_s, "prefect_start_s": prefect_start_s,
        "bare_a_s": sum(bare_a.values()), "bare_b_s": sum(bare_b.values()), "bare_mean_s": total_bare,
        "bare_per_item_s": total_bare / len(baseline),
        "flow": {w: {k: v for k, v in r.items() if k != "t0"} for w, r in runs.items()},
        "overhead_steady_vs_bare": (steady_wall - steady_bare) / steady_bare,
        "overhead_steady_vs_worker": (steady_wall - steady_worker) / steady_worker,
        "overhead_per_item_s": (steady_wall - steady_bare) / len(steps),
        "overhead_whole_run_1w": (runs[1]["wall_s"] - total_bare) / total_bare,
        "fixed_s_1w": runs[1]["wall_s"] - steady_wall - baseline[one[0][1]],
        "throughput_1w": throughput(runs[1]), "throughput_2w": throughput(runs[2]),
        "steady_1w": steady(runs[1]), "steady_2w": steady(runs[2]),
        "scaling_ratio": steady(runs[2]) / steady(runs[1]),
        "scaling_ratio_stage": throughput(runs[2]) / throughput(runs[1]),
        "worker_vs_bare": steady_worker / steady_bare,
    }


# ---------------------------------------------------------------------------------------------
# report


def render(results: dict) -> str:
    lines = ["# Scale benchmark (issue 7)", "", f"{results['machine']}; `make bench-scale` "
             "(benchmarks/scale.py). Each section says when it ran and the machine's load average then.", ""]

    def when(section: dict) -> str:
        return f"`{section['command']}`, {section['when']}, load average {section['load']}"

    plan = results.get("plan")
    if plan:
        ok = lambda v, lim: "yes" if v < lim else "**no**"  # noqa: E731
        lines += [
            "## Planning", "", when(plan), "",
            f"A catalog of {plan['catalog_rows']:,} entries against {plan['quality_rows']:,} quality records "
            f"(100 parts, 10 batches), in a fresh process that first imports the flow's modules "
            f"({plan['imports_s']:.1f} s, not counted): read the catalog snapshot, DuckDB anti-join + "
            f"collision column over the whole catalog, write the plan, read it back in {plan['shards']:,} "
            f"shards of 500.", "",
            "| figure | value | target | met |", "|---|---|---|---|",
            f"| wall time | {plan['total_s']:.1f} s (read {plan['read_s']:.1f}, plan {plan['plan_s']:.1f}, "
            f"shards {plan['iterate_s']:.1f}) | < 60 s | {ok(plan['total_s'], 60)} |",
            f"| peak RSS | {plan['peak_rss_mb']:.0f} MB ({plan['rss_after_imports_mb']:.0f} MB after importing "
            f"the flow's modules, torch included) | < 2048 MB | {ok(plan['peak_rss_mb'], 2048)} |",
            f"| pending | {plan['pending']:,} (numpy: {plan['expected_pending']:,}) | equal | "
            f"{'yes' if plan['correct'] else '**no**'} |", ""]
    tp = results.get("throughput")
    if tp:
        flows = {int(k): v for k, v in tp["flow"].items()}  # JSON keys are strings
        one, two = flows[1], flows[2]
        lines += [
            "## Throughput and overhead on real audio", "", when(tp), "",
            f"{len(tp['files'])} files of {tp['seconds']:.0f} s made from the corpus's validation clips "
            f"(16 kHz mono, 44.1 kHz mono and stereo, 48 kHz stereo), each degraded by the simulator "
            f"(two or three kinds, moderate). Local Ray with 2 CPUs, already up; catalog already scanned.", "",
            "| run | wall | items/s, first to last record | items/s, whole restore stage | statuses |",
            "|---|---|---|---|---|",
            f"| bare process_item, one thread (mean of a run before and after) | {tp['bare_mean_s']:.1f} s "
            f"({tp['bare_per_item_s']:.2f} s per item) | {1 / tp['bare_per_item_s']:.3f} | | |",
            f"| nightly flow, Ray, 1 worker | {one['wall_s']:.1f} s | {tp['steady_1w']:.3f} | "
            f"{tp['throughput_1w']:.3f} | {one['statuses']} |",
            f"| nightly flow, Ray, 2 workers | {two['wall_s']:.1f} s | {tp['steady_2w']:.3f} | "
            f"{tp['throughput_2w']:.3f} | {two['statuses']} |",
            "",
            "| figure | value | target |", "|---|---|---|",
            f"| scaling ratio, 2 workers / 1 (first to last record; whole stage: {tp['scaling_ratio_stage']:.2f}) | "
            f"{tp['scaling_ratio']:.2f} | (2 cores shared with other jobs: load average {tp['load']} "
            f"before, {tp['load_after']} after) |",
            f"| Prefect + Ray overhead per item, steady state, vs bare | {100 * tp['overhead_steady_vs_bare']:+.1f} % "
            f"({tp['overhead_per_item_s']:+.3f} s per item) | < 5 % |",
            f"| the same vs process_item's own time inside the actor (same run) | "
            f"{100 * tp['overhead_steady_vs_worker']:+.1f} % | |",
            f"| fixed cost per batch, 1 worker (scan of an unchanged catalog, plan, Prefect tasks, worker "
            f"start-up, report) | {tp['fixed_s_1w']:.1f} s | |",
            f"| whole run with 1 worker vs bare, fixed cost included ({len(tp['files'])} items) | "
            f"{100 * tp['overhead_whole_run_1w']:+.1f} % | |",
            f"| once per process: ray.init (local) / Prefect's temporary server | {tp['ray_init_s']:.1f} s / "
            f"{tp['prefect_start_s']:.1f} s | |", ""]
        if tp["overhead_steady_vs_bare"] < 0:
            lines += ["The flow came out faster than bare process_item: the bare runs (before and after the flows) "
                      "met more contention from the machine's other jobs than the flow's run did. The figure "
                      "measured within one run, time between records against process_item's own time in the "
                      "actor, compares like with like.", ""]
    lines += ["Figures from a 2-core machine shared with other work; ratios are measured within one run "
              "of this script. Raw numbers: scale.json.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/acetate-scale"))
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    ap.add_argument("--corpus", type=Path, default=REPO / ".corpus")
    ap.add_argument("--catalog-rows", type=int, default=1_000_000)
    ap.add_argument("--quality-rows", type=int, default=500_000)
    ap.add_argument("--files", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--skip-plan", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--render", action="store_true", help="only re-render scale.md from scale.json")
    ap.add_argument("--plan-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plan_child:
        print(json.dumps(plan_child(args.plan_child)))
        return
    if args.render:
        (args.results / "scale.md").write_text(render(json.loads((args.results / "scale.json").read_text())))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    previous = args.results / "scale.json"
    # A section skipped in this run keeps its figures from the last run (each says when it ran).
    results = json.loads(previous.read_text()) if previous.is_file() and (args.skip_plan or args.skip_throughput) else {}
    results.update(machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")

    def stamp() -> dict:
        return {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}

    if not args.skip_plan:
        results["plan"] = {**stamp(), **bench_plan(args.work, args.catalog_rows, args.quality_rows)}
    if not args.skip_throughput:
        start = stamp()
        results["throughput"] = {**start, **bench_throughput(args.work, args.corpus, args.files, args.seconds)}
        results["throughput"]["load_after"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    (args.results / "scale.json").write_text(json.dumps(results, indent=1, default=str))
    (args.results / "scale.md").write_text(render(results))
    print(render(results))


if __name__ == "__main__":
    main()
