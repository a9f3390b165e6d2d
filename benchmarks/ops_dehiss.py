"""The `dehiss` DSP baseline measured directly (it is not routed by default, so the quality benchmark
does not show it): SI-SDR gain on noisy corpus clips, do-no-harm on clean ones, speed.

    .venv/bin/python benchmarks/ops_dehiss.py [--split test] [--clips 6] [--results benchmarks/results]

Per clip of the split (`--clips` per content x rate group): the simulator's broadband noise in each
of its colours at an SNR drawn from the moderate range (10-20 dB, seeded), the `noise` detector's
floor as dehiss's parameters (as the router passes them), dehiss at its defaults. Clean clips:
dehiss with the floor the detector reports on them. Speed: one core, 60 s of 44.1 kHz stereo noise.
Writes <results>/ops_dehiss.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from acetate.ops import degrade
from acetate.ops.dehiss import dehiss
from acetate.ops.measures import si_sdr
from acetate.ops.noise import NoiseDetector
from acetate.ops.registry import RESTORERS

REPO = Path(__file__).resolve().parents[1]
COLOURS = ("white", "pink", "brown", "tape_hiss", "surface")


def _params(y: np.ndarray, sr: int) -> dict:
    det = NoiseDetector(sr, y.shape[0])
    det.update(y)
    return RESTORERS["dehiss"].params_from(det.finish(), sr)


def _clips(corpus: Path, split: str, per_group: int):
    rows = [r for r in pq.read_table(corpus / "manifest.parquet").to_pylist() if r["split"] == split]
    groups: dict[tuple, list] = {}
    for r in rows:
        key = (r["content"], "16k" if r["sample_rate"] == 16000 else "44-48k")
        if len(groups.setdefault(key, [])) < per_group:
            groups[key].append(r)
    for key, rs in sorted(groups.items()):
        for r in rs:
            x, sr = sf.read(corpus / r["path"], dtype="float32", always_2d=True, frames=int(8 * r["sample_rate"]))
            yield key, r["id"], np.ascontiguousarray(x.T), sr


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test")
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--corpus", type=Path, default=REPO / ".corpus")
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = ap.parse_args()
    rng = np.random.default_rng(20261201)
    gains: dict[tuple, list[float]] = {}
    clean: dict[tuple, list[tuple[float, float]]] = {}
    for key, _cid, x, sr in _clips(args.corpus, args.split, args.clips):
        for colour in COLOURS:
            snr = float(rng.uniform(10.0, 20.0))
            y, _ = degrade.add_noise(x, sr, snr, colour, seed=int(rng.integers(1 << 30)))
            out = dehiss(y, sr, **_params(y, sr))
            gains.setdefault(key, []).append(si_sdr(x, out) - si_sdr(x, y))
            gains.setdefault(("colour", colour), []).append(gains[key][-1])
        out = dehiss(x, sr, **_params(x, sr))
        level = 10 * np.log10(np.mean(out.astype(np.float64) ** 2) / np.mean(x.astype(np.float64) ** 2))
        clean.setdefault(key, []).append((si_sdr(x, out), level))
    sr = 44100
    z = (0.05 * np.random.default_rng(1).standard_normal((2, 60 * sr))).astype(np.float32)
    p = _params(z, sr)
    t0 = time.process_time()
    dehiss(z, sr, **p)
    speed = 60.0 / (time.process_time() - t0)
    lines = [f"# dehiss (DSP baseline) on the {args.split} split", "",
             f"`.venv/bin/python benchmarks/ops_dehiss.py --split {args.split} --clips {args.clips}`; "
             "noise in 5 colours at 10-20 dB SNR, the noise detector's floor, dehiss defaults.", "",
             "| group | noisy items | mean ΔSI-SDR (dB) | clean items | clean SI-SDR min (dB) | clean level max |Δ| (dB) |",
             "|---|---|---|---|---|---|"]
    for key in sorted(k for k in gains if k[0] != "colour"):
        c = np.array(clean.get(key, [(np.nan, np.nan)]))
        lines.append(f"| {key[0]} {key[1]} | {len(gains[key])} | {np.mean(gains[key]):+.2f} | {len(c)} | "
                     f"{np.min(c[:, 0]):.1f} | {np.max(np.abs(c[:, 1])):.2f} |")
    lines += ["", "| colour | mean ΔSI-SDR (dB) |", "|---|---|"]
    lines += [f"| {k[1]} | {np.mean(v):+.2f} |" for k, v in sorted(gains.items()) if k[0] == "colour"]
    lines += ["", f"Speed: {speed:.0f}x real time on one core (60 s of 44.1 kHz stereo, CPU time).", ""]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "ops_dehiss.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
