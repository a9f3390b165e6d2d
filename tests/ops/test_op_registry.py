"""The op set as routing sees it: registration, JSON params, and windowed processing."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from ops_feed import feed

import acetate.ops
from acetate.ops import degrade
from acetate.ops.chunked import apply_windowed
from acetate.ops.findings import KINDS
from acetate.ops.registry import DETECTORS, RESTORERS, load_all

load_all()


def test_load_all_registers_the_foundation_ops():
    assert {"dc_offset", "clipping", "hum"} <= set(DETECTORS)
    assert {"remove_dc", "declip", "dehum"} <= set(RESTORERS)
    for kind, cls in DETECTORS.items():
        assert kind in KINDS and isinstance(cls.version, str) and cls.kind == kind
    for name, r in RESTORERS.items():
        assert r.fixes in KINDS and r.context_s >= 0 and isinstance(r.version, str), name


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("kind", ["dc_offset", "clipping", "hum"])
@pytest.mark.parametrize("x", [np.zeros((1, 1), np.float32), np.zeros((2, 22050), np.float32)],
                         ids=["one-sample", "silence"])
def test_every_detector_finishes_on_one_sample_and_silence_with_score_zero(kind, x):
    f = feed(DETECTORS[kind](22050, x.shape[0]), x)
    assert f.score == 0.0 and f.kind == kind and np.isfinite(f.severity)


def _degraded(kind: str) -> tuple[np.ndarray, int]:
    sr = 16000
    x = degrade.synth_music_like(sr, 16.0, seed=31, channels=2)
    if kind == "dc_offset":
        return degrade.add_dc(x, sr, [0.01, -0.005])[0], sr
    if kind == "clipping":
        return degrade.clip(x, sr, 0.4)[0], sr
    return degrade.add_hum(x, sr, fundamental=50.0, level_db=-30.0, drift_hz=0.1)[0], sr


@pytest.mark.parametrize("name", ["remove_dc", "declip", "dehum"])
def test_windowed_processing_with_context_matches_whole_file(name):
    restorer = RESTORERS[name]
    y, sr = _degraded(restorer.fixes)
    finding = feed(DETECTORS[restorer.fixes](sr, 2), y)
    assert finding.score > 0.5
    params = restorer.params_from(finding, sr)
    assert json.loads(json.dumps(params)) == params  # plain JSON values
    whole = restorer.fn(y, sr, **params)
    assert whole.shape == y.shape and whole.dtype == np.float32
    windowed = apply_windowed(restorer.fn, y, sr, block_s=5.0, context_s=restorer.context_s, **params)
    seam_db = 20 * np.log10(np.abs(windowed - whole).max() / np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-300)
    print(f"{name}: windowed vs whole {seam_db:.0f} dB")
    assert seam_db < -60.0


def test_ops_import_no_other_layer_and_no_io_or_engine():
    forbidden = ("acetate.catalog", "acetate.pipelines", "acetate.models", "acetate.flows", "soundfile",
                 "ray", "apache_beam", "prefect", "torch")
    for path in Path(acetate.ops.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for n in names:
                assert not n.startswith(forbidden), f"{path.name} imports {n}"
