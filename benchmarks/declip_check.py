"""Declip on validation (or train) clips: SI-SDR gain per content group and CPU real-time factor per format.

    .venv/bin/python benchmarks/declip_check.py [--splits validation] [--severities moderate,severe]
        [--rates 16000,44100,48000] [--corpus .corpus] [--cache /tmp/declip-check]

Each clip of the splits is clipped by the simulator (kind "clipping" alone, seeded per clip), stored as
24-bit values, found by the clipping detector and repaired by the registered `declip` restorer window by
window with its context (`chunked.apply_windowed`, 10 s blocks), as the pipeline runs it. Prints the mean
SI-SDR gain (per channel, dB) per group (16k speech, 16k music, 44-48k speech, 44-48k music) and severity,
and audio seconds per CPU second on one thread (OpenBLAS/OMP/MKL set to 1) per format and severity.
Never run it on the test split: that one is the benchmark's.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import soundfile as sf  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from quality_lib.metrics import si_sdr  # noqa: E402

import acetate.ops.clipping  # noqa: E402, F401  (registers declip)
from acetate.ops.chunked import apply_windowed  # noqa: E402
from acetate.ops.clipping import ClippingDetector  # noqa: E402
from acetate.ops.degrade import degrade  # noqa: E402
from acetate.ops.registry import RESTORERS  # noqa: E402


def clip_case(corpus: Path, row: dict, severity: str, cache: Path) -> tuple[np.ndarray, np.ndarray, object]:
    """(clean, clipped, finding) of one clip, cached: the simulator and detector are not what is timed."""
    path = cache / f"{row['id']}-{severity}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    x, sr = sf.read(corpus / row["path"], dtype="float32", always_2d=True)
    clean = np.ascontiguousarray(x.T)
    y, _ = degrade(clean, sr, ["clipping"], severity, seed=zlib.crc32(row["id"].encode()) % 1000 + 7)
    y = (np.round(np.clip(y, -1, 1) * 2**23) / 2**23).astype(np.float32)  # as a 24-bit file stores it
    det = ClippingDetector(sr, clean.shape[0])
    det.update(y)
    case = (clean, y, det.finish())
    path.write_bytes(pickle.dumps(case))
    return case


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--splits", default="validation")
    ap.add_argument("--severities", default="moderate,severe")
    ap.add_argument("--rates", default="16000,44100,48000")
    ap.add_argument("--corpus", type=Path, default=HERE.parent / ".corpus")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/declip-check"))
    args = ap.parse_args()
    if "test" in args.splits.split(","):
        raise SystemExit("the test split is the benchmark's: tune on train or validation")
    args.cache.mkdir(parents=True, exist_ok=True)
    rates = {int(r) for r in args.rates.split(",")}
    rows = sorted((r for r in pq.read_table(args.corpus / "manifest.parquet").to_pylist()
                   if r["split"] in args.splits.split(",") and r["sample_rate"] in rates), key=lambda r: r["id"])
    restorer = RESTORERS["declip"]
    gains: dict[tuple[str, str], list[float]] = {}
    clock: dict[tuple[int, int, str], list[float]] = {}
    for row in rows:
        sr = row["sample_rate"]
        for severity in args.severities.split(","):
            clean, y, finding = clip_case(args.corpus, row, severity, args.cache)
            params = restorer.params_from(finding, sr)
            cpu = time.process_time()
            out = apply_windowed(restorer.fn, y, sr, block_s=10.0, context_s=restorer.context_s, **params)
            cpu = time.process_time() - cpu
            gain = np.mean([si_sdr(clean[c], out[c]) - si_sdr(clean[c], y[c]) for c in range(clean.shape[0])])
            group = ("16k " if sr == 16000 else "44-48k ") + row["content"]
            gains.setdefault((group, severity), []).append(float(gain))
            t = clock.setdefault((sr, clean.shape[0], severity), [0.0, 0.0])
            t[0] += y.shape[1] / sr
            t[1] += cpu
    print("dSI-SDR (dB, mean per group)")
    for (group, severity), g in sorted(gains.items()):
        print(f"  {group:16s} {severity:9s} {np.mean(g):+6.2f}  (n={len(g)})")
    print("CPU real-time factor, one thread")
    for (sr, ch, severity), (audio_s, cpu_s) in sorted(clock.items()):
        print(f"  {sr} Hz x{ch} {severity:9s} {audio_s / cpu_s:7.1f}x")


if __name__ == "__main__":
    main()
