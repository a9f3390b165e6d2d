"""Peak RSS of process_item against file length: each length in a fresh process.

The peak is the child's VmHWM (/proc/self/status), its own address space's high-water mark.
ru_maxrss is kept beside it but is not the figure: Linux carries the pre-exec high-water mark
across execve, so a child forked from a 1.2 GB benchmark process reports 1.2 GB whatever it does.

The long file is written block by block (one degraded minute of test-split audio, repeated), so
neither this process nor the disk holds more than the file itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from .audio import SUBTYPE, TYPICAL_KINDS, clean_audio, degraded

CHILD = """
import json, resource, sys, time
t = time.perf_counter()
from acetate.catalog.scan import scan
from acetate.models import load_all
from acetate.pipelines.item import ItemContext, process_item
from acetate.pipelines.policy import Policy
from acetate.pipelines.worker import limit_threads
limit_threads(1)
load_all()
def status(key):
    return int(open('/proc/self/status').read().split(key + ':')[1].split()[0]) / 1024
import_rss = status('VmRSS')
root, out, policy_path = sys.argv[1:4]
_, catalog = scan(root)
policy = Policy.load(policy_path)
rec = process_item(catalog.to_pylist()[0], ItemContext(root, out, "rss", policy.fingerprint, "local", policy))
print(json.dumps({"status": rec["status"], "error": rec["error"], "chain": [s["op"] for s in rec["chain"] or []],
                  "analyze_s": rec["analyze_s"], "restore_s": rec["restore_s"], "total_s": rec["total_s"],
                  "import_rss_mb": import_rss,
                  "peak_rss_mb": status('VmHWM'),
                  "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_long(path: Path, minute: np.ndarray, rate: int, seconds: int) -> None:
    """minute: (channels, 60 * rate) float32, written over and over up to `seconds`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(path, "w", rate, minute.shape[0], subtype=SUBTYPE) as f:
        for start in range(0, seconds, 60):
            f.write(minute[:, : min(60, seconds - start) * rate].T)


def minute_at(corpus: Path, rate: int, channels: int) -> np.ndarray:
    """One minute of test-split audio with the typical route's degradations, at `rate` (8 kHz is
    made from 16 kHz clips, as a telephone-band transfer would be)."""
    src_rate = 16000 if rate == 8000 else rate
    clean = clean_audio(corpus, src_rate, channels, 60.0)
    if src_rate != rate:
        clean = resample_poly(clean, rate, src_rate, axis=1).astype(np.float32)
    return degraded(clean, rate, TYPICAL_KINDS, seed=77)


def peak_rss(work: Path, corpus: Path, rate: int, channels: int, lengths: list[int], policy_path: Path,
             parallel: bool = False) -> list[dict]:
    """One fresh process per length; `parallel` starts them together (RSS is per process; only the
    wall times in the table then share the machine)."""
    minute = minute_at(corpus, rate, channels)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    rows = []

    def start(seconds: int) -> tuple[int, Path, subprocess.Popen]:
        folder = work / f"rss-{rate}-{channels}-{seconds}"
        write_long(folder / "in" / "reel.flac", minute, rate, seconds)
        return seconds, folder, subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder / "in"), str(folder / "out"), str(policy_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def collect(seconds: int, folder: Path, proc: subprocess.Popen) -> None:
        stdout, stderr = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"RSS child for {seconds} s failed: {stderr[-2000:]}")
        rec = json.loads(stdout.strip().splitlines()[-1])
        rec.update(rate=rate, channels=channels, seconds=seconds,
                   file_mb=(folder / "in" / "reel.flac").stat().st_size / 2**20,
                   float32_mb=seconds * rate * channels * 4 / 2**20)
        print(f"  RSS {rate} Hz x{channels} {seconds} s: {rec['peak_rss_mb']:.0f} MB peak, "
              f"{rec['total_s']:.0f} s, {rec['status']} {rec['chain']}", flush=True)
        rows.append(rec)
        shutil.rmtree(folder, ignore_errors=True)

    if parallel:
        for job in [start(s) for s in lengths]:
            collect(*job)
    else:
        for s in lengths:
            collect(*start(s))
    return rows
