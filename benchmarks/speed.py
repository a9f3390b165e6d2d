"""Speed benchmark (issue 10): real-time factor per core of every op and of the pipeline, against
the decode + FLAC encode floor; peak RSS against file length; throughput with 1 and 2 Ray workers.

    .venv/bin/python benchmarks/speed.py [--work DIR] [--results DIR] [--corpus .corpus] [--seconds 30]
        [--repeats 2] [--rss-lengths 60,600,3600,10800] [--skip-throughput] [--skip-rss] [--quick]
        [--ab-against COMMIT [--ab-rounds 3] [--ab-only FILE,FILE]]

1. Per format (16, 44.1 and 48 kHz, mono and stereo): test-split clips looped to --seconds and
   degraded by the simulator (moderate): for each detector and restorer, the clip with its kind
   alone; for the floor, analysis and process_item, the typical route's four kinds (DC, clicks,
   hum, noise) written as 24-bit FLAC. CPU seconds of this process on one thread (torch, OpenMP,
   OpenBLAS and MKL set to 1 before import), the best of --repeats. Detectors are fed 10 s blocks;
   restorers run window by window with their context (ops/chunked.apply_windowed), as the pipeline
   runs them; the floor is soundfile decoding the same file in 10 s blocks and encoding it to FLAC.
   process_item runs twice: routed by the default policy, and with a policy that routes exactly the
   typical chain (remove_dc, declick, dehum, denoise).
2. Profiles (cProfile, 44.1 kHz mono): analysis, the typical process_item, each op; top self time.
3. Peak RSS (VmHWM of the child) of process_item on the typical route, each length in a fresh process:
   8 kHz mono from 1 minute to 3 hours, and 44.1 kHz stereo up to 10 minutes.
4. Throughput with 1 and 2 Ray workers: benchmarks/scale.py's throughput section, reused as is.
5. With --ab-against COMMIT: process_item on the typical route at 44.1 kHz, that commit's code
   against the working tree in turns, each in a fresh process (speed_lib/ab.py): a ratio that the
   machine's load affects alike on both sides.
Results: benchmarks/results/speed.md and speed.json. A section skipped (--skip-*) keeps its figures
from the last run's speed.json in --results, or from --keep-from JSON (say, benchmarks/results/
speed.json when --results is a fresh folder); each section says when it ran.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one core per worker, before numpy/torch load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from speed_lib.report import render  # noqa: E402

QUICK = {"formats": [(16000, 1), (44100, 2)], "seconds": 3.0, "repeats": 1, "rss_lengths": [20, 40],
         "rss_44k_lengths": [], "profile_seconds": 3.0}


def stamp(argv: list[str]) -> dict:
    return {"command": " ".join(["speed.py", *argv]), "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}


def bench_formats(args, formats, work: Path) -> list[dict]:
    from speed_lib.audio import TYPICAL_KINDS, clean_audio, degraded, write
    from speed_lib.timing import time_format

    from acetate.ops.registry import DETECTORS, RESTORERS

    rows = []
    for i, (rate, ch) in enumerate(formats):
        clean = clean_audio(args.corpus, rate, ch, args.seconds)
        kinds = {*DETECTORS, *(r.fixes for r in RESTORERS.values())}
        audio = {k: degraded(clean, rate, [k], seed=100 * i + j) for j, k in enumerate(sorted(kinds))}
        audio["typical"] = degraded(clean, rate, TYPICAL_KINDS, seed=100 * i + 99)
        folder = work / f"fmt-{rate}-{ch}"
        files = {"typical": write(folder / "in" / "typical.flac", audio["typical"], rate)}
        for r in time_format(files, audio, rate, ch, folder, 10.0, args.repeats):
            rows.append({"rate": rate, "channels": ch, **r})
        print(f"{rate} Hz x{ch}: " + ", ".join(f"{r['name'].split(' (')[0]} {r['x_realtime'] or 0:.0f}x"
                                              for r in rows if r["rate"] == rate and r["channels"] == ch),
              flush=True)
    return rows


def bench_profiles(args, work: Path) -> dict:
    from speed_lib.audio import TYPICAL_KINDS, clean_audio, degraded, write
    from speed_lib.profiling import hot_spots
    from speed_lib.timing import catalog_item, feed, forced_policy, run_item

    from acetate.ops.chunked import apply_windowed
    from acetate.ops.registry import DETECTORS, RESTORERS
    from acetate.pipelines.audio_io import read_blocks
    from acetate.pipelines.item import analyze
    from acetate.pipelines.policy import Policy

    rate, ch, block = 44100, 1, 441000
    clean = clean_audio(args.corpus, rate, ch, args.profile_seconds)
    typical = degraded(clean, rate, TYPICAL_KINDS, seed=5)
    folder = work / "profile"
    src = write(folder / "in" / "typical.flac", typical, rate)
    detection = Policy.load().detection(rate)
    root, item = catalog_item(src)
    policy = forced_policy(folder)
    out = {"rate": rate, "channels": ch, "seconds": args.profile_seconds,
           "analysis": hot_spots(lambda: analyze(read_blocks(src, block), rate, ch, detection), 8),
           "typical route (process_item)": hot_spots(lambda: run_item(root, item, folder, policy), 8)}
    findings = {}
    for kind, cls in DETECTORS.items():
        x = degraded(clean, rate, [kind], seed=7)
        findings[kind] = (x, feed(cls(rate, ch), x, block))
        out[f"detector {kind}"] = hot_spots(lambda cls=cls, x=x: feed(cls(rate, ch), x, block), 4)
    for name, r in RESTORERS.items():
        if r.fixes not in findings:
            continue
        x, finding = findings[r.fixes]
        params = dict(r.params_from(finding, rate))
        out[f"restorer {name}"] = hot_spots(lambda r=r, x=x, params=params: apply_windowed(
            r.fn, x, rate, block_s=10.0, context_s=r.context_s, **params), 4)
    return out


def bench_ab(args, work: Path) -> dict:
    """process_item on the typical route at 44.1 kHz, mono and stereo: the code of --ab-against
    against the working tree, in turns (speed_lib/ab.py)."""
    from speed_lib.ab import ab
    from speed_lib.audio import TYPICAL_KINDS, clean_audio, degraded, write

    files = {}
    for ch in (1, 2):
        clean = clean_audio(args.corpus, 44100, ch, args.seconds)
        x = degraded(clean, 44100, TYPICAL_KINDS, seed=99 + ch)
        files[f"44.1 kHz {'mono' if ch == 1 else 'stereo'}"] = (
            write(work / f"ab-in-{ch}" / "typical.flac", x, 44100), x.shape[1] / 44100)
    return ab(args.ab_against, files, work / "ab", rounds=args.ab_rounds, repeats=args.repeats, only=args.ab_only)


def bench_rss(args, work: Path) -> list[dict]:
    from speed_lib.memory import peak_rss
    from speed_lib.timing import forced_policy_file

    policy = forced_policy_file(work)
    rows = peak_rss(work, args.corpus, 8000, 1, args.rss_lengths, policy, parallel=args.quick)
    if args.rss_44k_lengths:
        rows += peak_rss(work, args.corpus, 44100, 2, args.rss_44k_lengths, policy)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=Path("/tmp/acetate-speed"))
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--corpus", type=Path, default=REPO / ".corpus")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--profile-seconds", type=float, default=20.0)
    ap.add_argument("--rss-lengths", type=lambda s: [int(v) for v in s.split(",") if v], default=[60, 600, 3600, 10800])
    ap.add_argument("--rss-44k-lengths", type=lambda s: [int(v) for v in s.split(",") if v], default=[60, 600])
    ap.add_argument("--throughput-files", type=int, default=8)
    ap.add_argument("--throughput-seconds", type=float, default=20.0)
    ap.add_argument("--skip-formats", action="store_true")
    ap.add_argument("--skip-profile", action="store_true")
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--ab-against", metavar="COMMIT", help="also time process_item with this commit's code against "
                    "the working tree, in turns (section 5)")
    ap.add_argument("--ab-rounds", type=int, default=3)
    ap.add_argument("--ab-only", type=lambda s: [v for v in s.split(",") if v], default=None, metavar="PATHS",
                    help="comma-separated files: the new side is --ab-against's code with just these from the working tree")
    ap.add_argument("--quick", action="store_true", help="two formats, 3 s clips, short RSS files, no Ray")
    ap.add_argument("--render", action="store_true", help="only re-render speed.md from speed.json")
    ap.add_argument("--keep-from", type=Path, default=None, metavar="JSON",
                    help="the speed.json whose figures a skipped section keeps (default: --results' own); "
                         "e.g. benchmarks/results/speed.json for a run into a fresh folder")
    args = ap.parse_args()
    if args.render:
        (args.results / "speed.md").write_text(render(json.loads((args.results / "speed.json").read_text())))
        return
    from speed_lib.audio import FORMATS

    formats = list(FORMATS)
    if args.quick:
        formats = QUICK["formats"]
        args.seconds, args.repeats, args.profile_seconds = QUICK["seconds"], QUICK["repeats"], QUICK["profile_seconds"]
        args.rss_lengths, args.rss_44k_lengths, args.skip_throughput = QUICK["rss_lengths"], QUICK["rss_44k_lengths"], True
    import torch

    torch.set_num_threads(1)
    args.work.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    previous = args.keep_from or args.results / "speed.json"
    skipping = args.skip_formats or args.skip_profile or args.skip_rss or args.skip_throughput or not args.ab_against
    # A section skipped in this run keeps its figures from the last run (each says when it ran).
    results = json.loads(previous.read_text()) if previous.is_file() and skipping and not args.quick else {}
    results.update(machine=f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
                           f"torch {torch.__version__}", quick=args.quick)
    argv = sys.argv[1:]
    sections = [("formats", args.skip_formats, lambda: {"seconds": args.seconds, "repeats": args.repeats,
                                                         "rows": bench_formats(args, formats, args.work)}),
                ("profile", args.skip_profile, lambda: bench_profiles(args, args.work)),
                ("rss", args.skip_rss, lambda: {"rows": bench_rss(args, args.work)}),
                ("throughput", args.skip_throughput, lambda: bench_throughput(args)),
                ("ab", not args.ab_against, lambda: bench_ab(args, args.work))]
    for name, skip, run in sections:
        if skip:
            if args.quick:
                results.pop(name, None)
            continue
        start = stamp(argv)
        results[name] = {**start, **run(), "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg())}
        (args.results / "speed.json").write_text(json.dumps(results, indent=1, default=str))
    (args.results / "speed.md").write_text(render(results))
    print(render(results))


def bench_throughput(args) -> dict:
    import scale  # benchmarks/scale.py: the same throughput measurement, fewer and shorter files

    tp = scale.bench_throughput(args.work / "throughput", args.corpus, args.throughput_files, args.throughput_seconds)
    for run in tp["flow"].values():
        run.pop("records", None)
    return tp


if __name__ == "__main__":
    main()
