"""Speed and int8 cost of acetate's learned models (`make bench-models`).

    .venv/bin/python benchmarks/models.py [--seconds 60] [--corpus .corpus]

Per model and rate, real-time factor on one core (torch and BLAS on one thread: what a worker gets),
float32 and int8, on real corpus audio looped to `--seconds`; for the denoiser, the SI-SDR cost of int8
against float32 on noisy test-split clips; for bandwidth extension, the log-spectral distance per group
against the input and spectral folding (benchmarks/models_bwe.py). `--models` measures a subset and
keeps the other models' rows. Results: benchmarks/results/models.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from acetate.models.denoise import denoise  # noqa: E402
from acetate.models.weights_io import read_manifest  # noqa: E402
from acetate.ops.degrade import add_noise  # noqa: E402
from acetate.ops.measures import si_sdr  # noqa: E402

FORMATS = ((16000, 1), (44100, 1), (44100, 2), (48000, 2))


def _clip(corpus: Path, rate: int, channels: int, seconds: float) -> np.ndarray:
    rows = pq.read_table(corpus / "manifest.parquet").to_pylist()
    row = next(r for r in rows if r["split"] == "test" and r["sample_rate"] == rate and r["channels"] == channels)
    x, _ = sf.read(corpus / row["path"], dtype="float32", always_2d=True)
    x = np.ascontiguousarray(x.T)
    reps = int(np.ceil(seconds * rate / x.shape[1]))
    return np.tile(x, (1, reps))[:, : int(seconds * rate)]


def _rtf(fn, audio: np.ndarray, rate: int, repeats: int = 3) -> float:
    fn(audio[:, : rate])  # warm-up: model load, allocator
    best = min(_timed(fn, audio) for _ in range(repeats))
    return audio.shape[1] / rate / best


def _timed(fn, audio: np.ndarray) -> float:
    """CPU seconds of this process (one thread): the cost on one core, whatever else the machine
    runs; wall time on a shared machine would count other jobs' time slices."""
    t = time.process_time()
    fn(audio)
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--corpus", type=Path, default=REPO / ".corpus")
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--models", default="denoiser,tagger,bwe",
                    help="models to measure; the others' rows are kept from the existing results")
    ap.add_argument("--bwe-clips", type=int, default=40,
                    help="test clips per group for the BWE quality table (at most 20 at 16 kHz, 40 at 44.1/48 kHz)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    installed = set(read_manifest()) & set(args.models.split(","))
    rows = []
    for rate, ch in FORMATS:
        audio = _clip(args.corpus, rate, ch, args.seconds)
        for precision in ("float32", "int8"):
            if "denoiser" in installed:
                rtf = _rtf(lambda a, p=precision, r=rate: denoise(a, r, precision=p), audio, rate)
                rows.append({"model": "denoiser", "rate": rate, "channels": ch, "precision": precision, "x_realtime": rtf})
            if "bwe" in installed:
                from acetate.models.extend_bandwidth import extend_bandwidth

                # the network on every frame (refine=False: on a full-band clip the cut-off check would return early)
                rtf = _rtf(lambda a, p=precision, r=rate: extend_bandwidth(a, r, cutoff_hz=5000.0, precision=p,
                                                                           refine=False), audio, rate)
                rows.append({"model": "bwe", "rate": rate, "channels": ch, "precision": precision, "x_realtime": rtf})
        if "tagger" in installed:
            from acetate.models.tagger import TaggerAnalyzer

            def tag(a, r=rate, c=ch):
                t = TaggerAnalyzer(r, c)
                for i in range(0, a.shape[1], 10 * r):
                    t.update(a[:, i: i + 10 * r])
                return t.finish()
            rows.append({"model": "tagger", "rate": rate, "channels": ch, "precision": "float32",
                         "x_realtime": _rtf(tag, audio, rate)})
    result = {"speed": rows, "int8": _int8_cost(args.corpus) if "denoiser" in installed else []}
    if "bwe" in installed:
        from models_bwe import bwe_quality

        result["bwe_lsd"] = bwe_quality(args.corpus, args.bwe_clips)
        result["bwe_clips"] = args.bwe_clips
    result = _merge(args.results / "models.json", result, installed)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "models.json").write_text(json.dumps(result, indent=1))
    lines = _markdown(result, args.seconds)
    (args.results / "models.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _merge(path: Path, new: dict, measured: set[str]) -> dict:
    """The new figures, plus the existing file's rows of the models not measured this run."""
    if not path.exists():
        return new
    old = json.loads(path.read_text())
    keep = [r for r in old.get("speed", []) if r["model"] not in measured]
    merged = {**old, **new, "speed": keep + new["speed"]}
    if "denoiser" not in measured:
        merged["int8"] = old.get("int8", [])
    return merged


def _markdown(result: dict, seconds: float) -> list[str]:
    rows, cost = result["speed"], result.get("int8", [])
    lines = ["# Learned models: speed on one core, and the cost of int8", "",
             f"`benchmarks/models.py --seconds {seconds:g}`: real-time factor per core (audio seconds per CPU "
             "second of this process, best of 3) with torch and BLAS on one thread, on a test-split clip looped to "
             f"{seconds:g} s. The tagger analyses the first four 2 s patches and every other one after.", "",
             "| model | rate | channels | precision | x real time |", "|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['rate']} | {r['channels']} | {r['precision']} | {r['x_realtime']:.0f} |" for r in rows]
    if cost:
        lines += ["", "## int8 against float32 (denoiser, noisy test-split clips at 10-20 dB SNR)", "",
                  "| rate | channels | ΔSI-SDR float32 dB | ΔSI-SDR int8 dB | int8 vs float32 output SI-SDR dB |",
                  "|---|---|---|---|---|"]
        lines += [f"| {c['rate']} | {c['channels']} | {c['gain_f32']:.2f} | {c['gain_int8']:.2f} | {c['agreement']:.1f} |"
                  for c in cost]
    if result.get("bwe_lsd"):
        from models_bwe import bwe_markdown

        lines += bwe_markdown(result["bwe_lsd"], result.get("bwe_clips", 8))
    return lines


def _int8_cost(corpus: Path, per_format: int = 4) -> list[dict]:
    rows = pq.read_table(corpus / "manifest.parquet").to_pylist()
    out = []
    for rate, ch in ((16000, 1), (48000, 2)):
        clips = [r for r in rows if r["split"] == "test" and r["sample_rate"] == rate and r["channels"] == ch]
        g32, g8, agree = [], [], []
        for i, r in enumerate(clips[:per_format]):
            x, _ = sf.read(corpus / r["path"], dtype="float32", always_2d=True)
            clean = np.ascontiguousarray(x.T)[:, : 8 * rate]
            noisy, _ = add_noise(clean, rate, 15.0, ("white", "pink", "brown", "tape_hiss")[i % 4], seed=i)
            y32, y8 = denoise(noisy, rate), denoise(noisy, rate, precision="int8")
            base = si_sdr(clean, noisy)
            g32.append(si_sdr(clean, y32) - base)
            g8.append(si_sdr(clean, y8) - base)
            agree.append(si_sdr(y32, y8))
        out.append({"rate": rate, "channels": ch, "gain_f32": float(np.mean(g32)), "gain_int8": float(np.mean(g8)),
                    "agreement": float(np.mean(agree))})
    return out


if __name__ == "__main__":
    main()
