"""The quality benchmark (`make bench-quality`): acetate end to end against the strongest open tools.

    .venv/bin/python benchmarks/quality.py [--quick] [--seed 20261125] [--no-peers]

1. the clean corpus's held-out test split (built by benchmarks/corpus if missing);
2. a degraded test archive from it (benchmarks/quality_lib/testset.py), fixed seed;
3. `acetate run` on that archive, reading its quality Parquet back;
4. each peer (benchmarks/peers) on the files of the kind it repairs, plus clean files (do no harm);
5. every output scored against the clean reference; tables to benchmarks/results/quality.md and
   the raw per-file figures to benchmarks/results/quality.json (a rerun with the same seed gives
   the same figures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from peers import api as peers  # noqa: E402
from quality_lib import tables  # noqa: E402
from quality_lib.components import COMPONENTS, run_component  # noqa: E402
from quality_lib.score import score_file  # noqa: E402
from quality_lib.testset import SETS, build_testset  # noqa: E402

from acetate.catalog.store import read_quality  # noqa: E402
from acetate.ops.degrade import SEVERITIES, SEVERITY_RANGES  # noqa: E402

PEER_TARGETS = {"denoise": "noise", "declick": "clicks", "declip": "clipping"}
# Peers too slow to run on every file of their kind here: at most this many files of their kind per
# (set, content). ffmpeg's adeclip needs minutes per 6 s stereo clip at moderate clipping.
PEER_FILE_CAP = {"ffmpeg_adeclip": 3}
PEER_SETS = {"ffmpeg_adeclip": {"16k-mono"}}  # and only where it finishes in seconds, not minutes


def ensure_corpus(corpus: Path, size: str, seed: int) -> None:
    if (corpus / "manifest.parquet").exists():
        return
    subprocess.run([sys.executable, str(HERE / "corpus" / "build.py"), "--size", size, "--out", str(corpus),
                    "--seed", str(seed)], check=True)


def run_acetate(root: Path, out: Path, workers: int) -> dict[str, dict]:
    shutil.rmtree(out, ignore_errors=True)
    acetate = Path(sys.executable).parent / "acetate"
    proc = subprocess.run([str(acetate), "run", str(root / "manifest.csv"), "--out", str(out),
                           "--workers", str(workers)], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"acetate run exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return {r["source_path"]: r for r in read_quality(out).to_pylist()}


def _first_per_group(rows: list[dict], cap: int | None) -> list[dict]:
    seen: dict[tuple[str, str], int] = {}
    chosen = []
    for r in rows:
        key = (r["set"], r["content"])
        seen[key] = seen.get(key, 0) + 1
        if cap is None or seen[key] <= cap:
            chosen.append(r)
    return chosen


def peer_rows(rows: list[dict], name: str, clean_per_group: int) -> list[dict]:
    """The files a peer is run on: its own degradation (alone or combined) and some clean files."""
    kind = peers.PEERS[name]["kind"]
    if name in PEER_SETS:
        rows = [r for r in rows if r["set"] in PEER_SETS[name]]
    if kind == "none":
        return rows
    target = [r for r in rows if PEER_TARGETS[kind] in r["kinds"].split(",")]
    clean = [r for r in rows if not r["kinds"]]
    cap = PEER_FILE_CAP.get(name)
    return _first_per_group(target, cap) + _first_per_group(clean, min(clean_per_group, cap or clean_per_group))


def testset_key(rows: list[dict]) -> str:
    """A hash of the degraded test set's description: peers' outputs from a run with the same key
    were made from the same input files."""
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def run_peers(names: list[str], rows: list[dict], root: Path, work: Path, clean_per_group: int,
              reuse: bool = False) -> dict:
    """{peer: {source path: output path or error}}, two peers at a time (one core each). With
    `reuse`, a peer whose every output exists from a run on the same test set is not run again."""
    key = testset_key(rows)
    stamp = work / "testset.sha256"
    reuse = reuse and stamp.exists() and stamp.read_text() == key
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key)

    def one(name: str) -> tuple[str, dict]:
        chosen = peer_rows(rows, name, clean_per_group)
        pairs = [(root / r["path"], work / name / r["path"]) for r in chosen]
        for _, dst in pairs:
            dst.parent.mkdir(parents=True, exist_ok=True)
        if reuse and all(dst.exists() for _, dst in pairs):
            return name, {r["path"]: dst for r, (_, dst) in zip(chosen, pairs, strict=True)}
        results = peers.run_peer(name, pairs)
        return name, {r["path"]: (Path(res["out"]) if res.get("ok") else res.get("error", "failed"))
                      for r, res in zip(chosen, results, strict=True)}

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, names))


def _score(job: tuple[dict, str, str, str | None]) -> dict:
    row, root, system, output = job
    return {**row, "system": system, **score_file(row, Path(root), Path(output) if output else None)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a small subset for development")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--corpus", type=Path, default=REPO / ".corpus")
    ap.add_argument("--work", type=Path, default=HERE / "work" / "quality")
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--components", nargs="*", default=None,
                    help=f"acetate's models run alone (default: all of {', '.join(COMPONENTS)} whose weights exist)")
    ap.add_argument("--peers", nargs="*", default=None, help="peer names (default: all)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reuse-peers", action="store_true",
                    help="keep the peers' outputs of an earlier run on the same test set (acetate is rerun)")
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite the markdown from the JSON of the last run, without running anything")
    ap.add_argument("--clips", type=int, default=None,
                    help="clips per (rate set, content) from the test split (default 8; 3 with --quick)")
    args = ap.parse_args()
    if args.render_only:
        saved = json.loads((args.results / f"{_name(args)}.json").read_text())
        write_markdown(args, saved["rows"], saved["failures"], saved["timings"], saved["peers"], saved["files"])
        return

    timings: dict[str, float] = {}
    t = time.perf_counter()
    ensure_corpus(args.corpus, "quick" if args.quick else "bench", args.seed)
    timings["corpus"] = time.perf_counter() - t

    t = time.perf_counter()
    root = args.work / "testset"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    rows = build_testset(args.corpus, root, seed=args.seed, clips_per_group=args.clips or (3 if args.quick else 8),
                         max_seconds=6.0).to_pylist()
    timings["testset"] = time.perf_counter() - t

    t = time.perf_counter()
    records = run_acetate(root, args.work / "acetate-out", args.workers)
    timings["acetate"] = time.perf_counter() - t

    t = time.perf_counter()
    components = _components(args.components)
    component_outputs = {c: run_component(c, rows, root, args.work / "components", 3 if args.quick else 10)
                         for c in components}
    timings["components"] = time.perf_counter() - t

    names = [] if args.no_peers else (args.peers if args.peers is not None else list(peers.PEERS))
    t = time.perf_counter()
    peer_outputs = (run_peers(names, rows, root, args.work / "peers", 3 if args.quick else 10, args.reuse_peers)
                    if names else {})
    timings["peers"] = time.perf_counter() - t

    t = time.perf_counter()
    jobs, failures = [], []
    for r in rows:
        rec = records.get(r["path"])
        if rec is None or rec["status"] == "failed":
            failures.append(("acetate", r["path"], rec["error"] if rec else "no record"))
            continue
        output = str(args.work / "acetate-out" / rec["output_path"]) if rec["output_path"] else None
        r_ac = {**r, "content_found": rec["content"],
                **{k: rec[k] for k in rec if k.startswith("has_") or k.endswith("_score")}}
        jobs.append((r_ac, str(root), "acetate", output))
    for name, outputs in [*component_outputs.items(), *peer_outputs.items()]:
        for r in rows:
            if r["path"] in outputs:
                out = outputs[r["path"]]
                if isinstance(out, Path):
                    jobs.append((r, str(root), name, str(out)))
                else:
                    failures.append((name, r["path"], out))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        scored = list(pool.map(_score, jobs, chunksize=8))
    timings["scoring"] = time.perf_counter() - t

    write_results(args, scored, failures, timings, [*components, *names], len(rows))


def _components(asked: list[str] | None) -> list[str]:
    from acetate.models.weights_io import read_manifest

    installed = read_manifest()
    needs = {"acetate_denoise": "denoiser", "acetate_denoise_int8": "denoiser", "acetate_bwe": "bwe",
             "spectral_folding": None}
    names = list(COMPONENTS) if asked is None else asked
    unknown = set(names) - set(COMPONENTS)
    if unknown:
        raise SystemExit(f"unknown components {sorted(unknown)}; choose from {COMPONENTS}")
    return [c for c in names if needs[c] is None or needs[c] in installed]


def _name(args) -> str:
    return "quality-quick" if args.quick else "quality"


def write_results(args, scored: list[dict], failures: list, timings: dict, names: list[str], n_files: int) -> None:
    """Per-file figures to <name>.json (what a rerun is compared on), then the tables."""
    args.results.mkdir(parents=True, exist_ok=True)
    rows = [{k: v for k, v in r.items() if not isinstance(v, bytes)} for r in scored]
    saved = {"seed": args.seed, "quick": args.quick, "timings": timings, "peers": names, "files": n_files,
             "failures": [list(f) for f in failures], "rows": rows}
    (args.results / f"{_name(args)}.json").write_text(json.dumps(saved, indent=0, sort_keys=True, default=str))
    write_markdown(args, rows, failures, timings, names, n_files)


def _severity_table() -> str:
    header = ["kind", *SEVERITIES]
    body = [[kind] + ["; ".join(f"{k} {v}" for k, v in SEVERITY_RANGES[kind][sev].items()) for sev in SEVERITIES]
            for kind in SEVERITY_RANGES]
    return tables.markdown(header, body)


def write_markdown(args, scored: list[dict], failures: list, timings: dict, names: list[str], n_files: int) -> None:
    systems = ["acetate"] + names
    caps = "".join(f"`{p}` is slow here (minutes per stereo clip), so it ran on at most {n} files of its kind "
                   f"and {n} clean files per table, in {', '.join(sorted(PEER_SETS[p]))} only. "
                   for p, n in PEER_FILE_CAP.items() if p in names)
    lines = [
        "# Quality benchmark",
        "",
        f"`benchmarks/quality.py{' --quick' if args.quick else ''} --seed {args.seed}`: {n_files} files from the "
        "corpus's held-out test split (voices and pieces no model or threshold was tuned on), each clip "
        "clean, with three single degradations and one combination, at moderate severity. Figures are means "
        "over files; Δ = after minus before; **bold** = best in its column. A peer runs only on the "
        "degradation it repairs (plus clean files), so its other columns are empty. `none` leaves every "
        f"file as it is. {caps}SI-SDR is capped at 100 dB (an untouched file).",
        "",
        f"Stage times (s): {', '.join(f'{k} {v:.0f}' for k, v in timings.items())}.",
        "",
    ]
    for set_name in SETS:
        for content in ("speech", "music"):
            rows = [r for r in scored if r["set"] == set_name and r["content"] == content]
            if not rows:
                continue
            present = [s for s in systems if any(r["system"] == s for r in rows)]
            lines += [f"## {content}, {set_name} ({len({r['clip_id'] for r in rows})} clips)", "",
                      tables.markdown(*tables.restoration_table(rows, content, present)), ""]
    for set_name in SETS:
        rows = [r for r in scored if r["set"] == set_name and r["system"] == "acetate"]
        if rows:
            acc = tables.content_accuracy(rows)
            lines += [f"## Detection by acetate, {set_name}", "",
                      tables.markdown(*tables.detection_table(rows)), "",
                      f"Content class accuracy (speech vs music): {acc:.3f}" if acc is not None else "", ""]
    lines += ["## Severity ranges (the simulator's; this run uses moderate)", "", _severity_table(), ""]
    if failures:
        lines += ["## Failures", ""] + [f"- {s}: {p}: {e[:200]}" for s, p, e in failures[:50]] + [""]
    (args.results / f"{_name(args)}.md").write_text("\n".join(lines))
    print(f"wrote {args.results / (_name(args) + '.md')}")


if __name__ == "__main__":
    main()
