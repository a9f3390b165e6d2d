"""The peers the quality benchmark compares acetate with must hand back files it can score sample
for sample: same rate, channel count and length as the input, and no added delay.

Needs benchmarks/peers/.venv (built by benchmarks/peers/setup.sh, which the benchmark runs; CI
does not), so the module is skipped without it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

PEERS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "peers"

pytestmark = [
    pytest.mark.peers,
    pytest.mark.skipif(
        not (PEERS_DIR / ".venv" / "bin" / "python").exists(),
        reason="benchmarks/peers/.venv not built (run benchmarks/peers/setup.sh)",
    ),
]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


api, signals = _load("api"), _load("signals")

# (file name, rate, channels, subtype): mono speech at 16 kHz in 16-bit PCM and stereo music-ish
# speech at 44.1 kHz in float, so resampling, per-channel runs and both WAV kinds are covered.
CASES = [("mono16k.wav", 16000, 1, "PCM_16"), ("stereo44k.wav", 44100, 2, "FLOAT")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, np.ndarray]:
    root = tmp_path_factory.mktemp("peers")
    out = {}
    for name, rate, channels, subtype in CASES:
        cols = [
            signals.add_noise(signals.speech_like(rate, 2.5, seed=c), 35, seed=10 + c)
            for c in range(channels)
        ]
        x = np.stack(cols, axis=1)
        sf.write(root / name, x, rate, subtype=subtype)
        out[str(root / name)], _ = sf.read(root / name, dtype="float32", always_2d=True)
    return out


@pytest.mark.parametrize("peer", sorted(api.PEERS))
def test_peer_keeps_shape_and_timing(peer, inputs, tmp_path):
    pairs = [(Path(src), tmp_path / Path(src).name) for src in inputs]
    results = api.run_peer(peer, pairs, timeout=900)
    assert [r["ok"] for r in results] == [True] * len(pairs), results
    for (src, dst), (_, rate, channels, _) in zip(pairs, CASES, strict=True):
        x = inputs[str(src)]
        info = sf.info(dst)
        assert (info.samplerate, info.channels, info.frames) == (rate, channels, len(x))
        assert info.subtype == "FLOAT"
        y, _ = sf.read(dst, dtype="float32", always_2d=True)
        if peer == "none":
            assert np.array_equal(x, y)
            continue
        for c in range(channels):
            assert np.all(np.isfinite(y[:, c]))
            assert signals.lag(x[:, c], y[:, c], max_lag=rate // 10) == 0, (peer, src.name, c)


def test_list_names_every_peer():
    import json
    import subprocess

    proc = subprocess.run(
        [str(PEERS_DIR / ".venv" / "bin" / "python"), str(PEERS_DIR / "run_peer.py"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = {row["peer"]: row for row in map(json.loads, proc.stdout.splitlines())}
    assert set(listed) == set(api.PEERS)
    assert all(row["version"] != "missing" for row in listed.values())
    assert {row["kind"] for row in listed.values()} == {"denoise", "declick", "declip", "none"}


def test_failing_job_is_reported_and_the_rest_still_run(inputs, tmp_path):
    good = next(iter(inputs))
    results = api.run_peer(
        "none", [(tmp_path / "missing.wav", tmp_path / "a.wav"), (Path(good), tmp_path / "b.wav")]
    )
    assert [r["ok"] for r in results] == [False, True]
    assert "error" in results[0]
