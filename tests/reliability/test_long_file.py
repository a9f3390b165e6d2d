"""A three-hour transfer (8 kHz mono PCM_16, about 170 MB, written block by block) goes through
process_item in bounded memory: its peak RSS is within a fixed margin of a five-minute file's, far
below the 345 MB its audio takes as float32, and the restored copy is whole and time-aligned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acetate.ops import degrade

pytestmark = pytest.mark.slow

SR = 8000
HOURS = float(os.environ.get("ACETATE_LONG_HOURS", "3"))
MARGIN_MB = 150  # what the longer file may add to the peak RSS (its float32 audio is 345 MB)

RUN = """
import json, sys
def peak_mb():
    # VmHWM, not ru_maxrss: after fork + exec ru_maxrss keeps the parent's (pytest's) peak
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
from acetate.catalog.scan import scan
from acetate.pipelines.item import ItemContext, process_item
from acetate.pipelines.policy import Policy
root, out = sys.argv[1:3]
_, catalog = scan(root)
rec = process_item(catalog.to_pylist()[0], ItemContext(root, out, "b1", "fp", "local", Policy.load()))
print(json.dumps({"status": rec["status"], "error": rec["error"], "review": rec["review_reason"],
                  "output": rec["output_path"], "chain": [s["op"] for s in rec["chain"] or []],
                  "analyze_s": rec["analyze_s"], "restore_s": rec["restore_s"],
                  "rss_mb": peak_mb()}))
"""


def write_long(path: Path, seconds: int) -> None:
    """Quiet speech-like audio with a 0.05 DC offset, streamed to disk one minute at a time (the
    minute repeats: what matters is the length)."""
    minute = degrade.add_dc(degrade.synth_speech_like(SR, 60.0, seed=5, peak=0.3), SR, offset=0.05)[0][0]
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        for start in range(0, seconds, 60):
            f.write(minute[: (min(60, seconds - start)) * SR])


def _process(folder: Path, seconds: int) -> dict:
    (folder / "in").mkdir(parents=True)
    write_long(folder / "in" / "reel.wav", seconds)
    proc = subprocess.run([sys.executable, "-c", RUN, str(folder / "in"), str(folder / "out")],
                          capture_output=True, text=True, timeout=7200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_three_hour_file_is_restored_in_bounded_memory(tmp_path):
    seconds = int(HOURS * 3600)
    short = _process(tmp_path / "short", 300)  # five minutes: the same baseline (imports, models, buffers)
    long = _process(tmp_path / "long", seconds)
    print(f"\n5 min: {short}\n{HOURS:g} h: {long}")
    for rec in (short, long):
        assert rec["status"] in ("restored", "needs_review") and rec["chain"][0] == "remove_dc", rec
    assert long["rss_mb"] - short["rss_mb"] < MARGIN_MB, (short["rss_mb"], long["rss_mb"])

    out = tmp_path / "long" / "out" / long["output"]
    assert sf.info(out).frames == seconds * SR
    with sf.SoundFile(out) as f:  # the last minute is the first one, DC removed, in place
        f.seek((seconds - 60) * SR)
        tail = f.read(60 * SR)
    with sf.SoundFile(tmp_path / "long" / "in" / "reel.wav") as f:
        f.seek((seconds - 60) * SR)
        source = f.read(60 * SR)
    assert abs(float(np.mean(tail))) < 5e-3 < abs(float(np.mean(source)))
    assert np.corrcoef(tail, source)[0, 1] > 0.99  # time-aligned to the sample
