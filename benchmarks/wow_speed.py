"""Speed and memory of the `wow` detector and the `dewow` restorer, per core, at 44.1 kHz.

    .venv/bin/python benchmarks/wow_speed.py [--seconds 60] [--results benchmarks/results]

Music-like audio from the simulator with moderate wow (0.3 % at 1.3 Hz, flutter 0.05 % at 12 Hz),
mono and stereo. The detector is fed 10 s blocks, as the pipeline reads them; dewow runs window
by window with its context (ops/chunked.apply_windowed, 10 s blocks), so the figure includes the
context it re-reads. CPU time of this process (the best of 3 runs), so other load on the machine
does not count; BLAS on one thread. Baselines measured in the same run: the hum detector (an
analysis pass of its own) and the simulator's 32-tap interpolator reading the same warp as dewow.
Memory: the peak of Python allocations (tracemalloc) for 1x and 4x the length.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np

from acetate.ops import degrade
from acetate.ops.chunked import apply_windowed
from acetate.ops.degrade_speed import sinc_read
from acetate.ops.dewow import CONTEXT_S, dewow
from acetate.ops.hum import HumDetector
from acetate.ops.registry import RESTORERS
from acetate.ops.wow import WowDetector

SR = 44100
BLOCK_S = 10.0


def cpu(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def feed(det, audio: np.ndarray):
    step = int(BLOCK_S * SR)
    for s in range(0, audio.shape[1], step):
        det.update(audio[:, s:s + step])
    return det.finish()


def peak_mib(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results")
    args = ap.parse_args()
    rows = []
    for channels in (1, 2):
        x = degrade.synth_music_like(SR, args.seconds, seed=3, channels=channels)
        y, _ = degrade.add_wow_flutter(x, SR, 0.3, 1.3, 0.05, 12.0, seed=1)
        finding = feed(WowDetector(SR, channels), y)
        params = dict(RESTORERS["dewow"].params_from(finding, SR))
        n = y.shape[1]
        t_det = cpu(lambda: feed(WowDetector(SR, channels), y))  # noqa: B023
        t_hum = cpu(lambda: feed(HumDetector(SR, channels), y))  # noqa: B023
        t_dewow = cpu(lambda: apply_windowed(dewow, y, SR, block_s=BLOCK_S, context_s=CONTEXT_S, **params), 2)  # noqa: B023
        pos = np.arange(n) + 0.3 * np.sin(np.arange(n) / SR * 8.0)
        t_sim = cpu(lambda: sinc_read(y, pos), 1)  # noqa: B023
        seconds = n / SR
        rows.append({"channels": channels, "seconds": seconds, "score": finding.score, "wow_hz": finding.params["wow_hz"],
                     "detector_x_realtime": seconds / t_det, "hum_detector_x_realtime": seconds / t_hum,
                     "dewow_x_realtime": seconds / t_dewow, "simulator_interpolator_x_realtime": seconds / t_sim})
        print(rows[-1])
    x = degrade.synth_music_like(SR, 30.0, seed=3, channels=2)
    y, _ = degrade.add_wow_flutter(x, SR, 0.3, 1.3, 0.05, 12.0, seed=1)
    params = dict(RESTORERS["dewow"].params_from(feed(WowDetector(SR, 2), y), SR))
    memory = {}
    for reps in (1, 4):
        long = np.tile(y, (1, reps))
        memory[f"detector_{30 * reps}s_mib"] = peak_mib(lambda: feed(WowDetector(SR, 2), long))  # noqa: B023
        # dewow as the pipeline runs it: one window (block + context) at a time, output written away
        def windowed(long=long):
            step, ctx = int(BLOCK_S * SR), int(CONTEXT_S * SR)
            for s in range(0, long.shape[1], step):
                lo, hi = max(0, s - ctx), min(long.shape[1], s + step + ctx)
                dewow(np.ascontiguousarray(long[:, lo:hi]), SR, **params)
        memory[f"dewow_{30 * reps}s_mib"] = peak_mib(windowed)
    print(memory)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "wow_speed.json").write_text(json.dumps({"rows": rows, "memory": memory}, indent=1))
    lines = ["# wow detector and dewow: speed and memory", "", f"`benchmarks/wow_speed.py --seconds {args.seconds:g}`"
             " (CPU time of one process, best of 3, BLAS on one thread; music-like audio at 44.1 kHz with 0.3 % wow at 1.3 Hz).", "",
             "| channels | wow detector | hum detector (baseline) | dewow, windowed with context | simulator's interpolator (baseline) |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['channels']} | {r['detector_x_realtime']:.0f}x | {r['hum_detector_x_realtime']:.0f}x | "
                     f"{r['dewow_x_realtime']:.0f}x | {r['simulator_interpolator_x_realtime']:.0f}x |")
    lines += ["", "Peak Python allocations (MiB), stereo, for 30 s and 120 s: "
              + ", ".join(f"{k} {v:.1f}" for k, v in memory.items()), ""]
    (args.results / "wow_speed.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
