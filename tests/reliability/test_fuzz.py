"""Fuzzing the two doors data comes in by: the audio reader (scan's probe, the block reader and
process_item, on mutated WAV/FLAC/AIFF/Ogg bytes) and the manifest parser (CSV text and Parquet
columns of any content). Whatever the bytes, nothing raises past the documented errors, every
record has a valid status, and no accepted entry points outside the archive root.

Deterministic (derandomize) so CI sees the same cases every run; ACETATE_FUZZ_EXAMPLES raises the
budget for a longer local hunt.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acetate.catalog.scan import scan
from acetate.catalog.schema import STATUSES
from acetate.pipelines.audio_io import ReadStats, SourceReadError, read_blocks
from acetate.pipelines.item import ItemContext, process_item
from acetate.pipelines.policy import Policy

BUDGET = int(os.environ.get("ACETATE_FUZZ_EXAMPLES", "1"))


def fuzz(examples: int) -> settings:
    return settings(derandomize=True, database=None, deadline=None, max_examples=examples * BUDGET,
                    suppress_health_check=list(HealthCheck))


def _seed_files() -> dict[str, bytes]:
    """Small valid files to mutate: (name -> bytes)."""
    rng = np.random.default_rng(0)
    x = (0.3 * np.sin(2 * np.pi * 220 * np.arange(4000) / 16000) + 0.01 * rng.standard_normal(4000)).astype(np.float32)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in {"pcm16.wav": {"subtype": "PCM_16"}, "float.wav": {"subtype": "FLOAT"},
                         "u8-stereo.wav": {"subtype": "PCM_U8"}, "a.flac": {}, "a.aiff": {},
                         "a.ogg": {"subtype": "VORBIS"}}.items():
            data = np.stack([x, -x], axis=1) if "stereo" in name else x
            sf.write(Path(tmp) / name, data, 16000, **kw)
            out[name] = (Path(tmp) / name).read_bytes()
    return out


SEEDS = _seed_files()


@st.composite
def mutated_audio(draw) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "word", "header"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "word" and len(data) >= 4:  # a header field set to an extreme value
            pos = draw(st.integers(0, min(len(data), 80) - 4))
            data[pos:pos + 4] = draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 8, 192000])).to_bytes(4, "little")
        elif op == "header":
            n = draw(st.integers(1, 16))
            data[:n] = draw(st.binary(min_size=n, max_size=n))
    return name, bytes(data)


def _probe(name: str, data: bytes, folder: Path) -> tuple[Path, dict]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)
    root, table = scan(folder)  # must not raise, whatever the bytes
    assert table.num_rows == 1
    return root, table.to_pylist()[0]


@fuzz(150)
@given(mutated_audio())
def test_any_bytes_are_probed_and_read_without_an_undocumented_error(tmp_path_factory, case):
    name, data = case
    _, row = _probe(name, data, tmp_path_factory.getbasetemp() / "fuzz-reader")
    if row["error"] is not None:
        assert row["sample_rate"] is None or row["error"].startswith(("truncated", "unfinalized"))
        return
    assert row["sample_rate"] > 0 and row["channels"] > 0 and row["frames"] >= 0
    stats = ReadStats()
    path = tmp_path_factory.getbasetemp() / "fuzz-reader" / name
    try:
        for block in read_blocks(path, 4096, stats):
            assert block.dtype == np.float32 and block.shape[0] == row["channels"]
            assert np.isfinite(block).all()
    except SourceReadError as exc:
        assert "truncated or corrupt" in str(exc) or "unreadable audio" in str(exc)


@fuzz(25)
@given(mutated_audio())
def test_any_bytes_through_process_item_give_one_valid_record_and_a_whole_finite_copy(tmp_path_factory, case):
    name, data = case
    base = tmp_path_factory.getbasetemp()
    root, row = _probe(name, data, base / "fuzz-item")
    shutil.rmtree(base / "fuzz-item-out", ignore_errors=True)
    rec = process_item(row, ItemContext(str(root), str(base / "fuzz-item-out"), "b1", "fp", "local", Policy.load()))
    assert rec["status"] in STATUSES
    assert (rec["status"] == "failed") == bool(rec["error"])
    if rec["output_path"]:
        audio, sr = sf.read(base / "fuzz-item-out" / rec["output_path"], always_2d=True)
        assert (sr, audio.shape[1], audio.shape[0]) == (row["sample_rate"], row["channels"], row["frames"])
        assert np.isfinite(audio).all()


# --- manifests ------------------------------------------------------------------------------------

_SEGMENTS = ["..", ".", "", "talks", "good.wav", "secret", "secret.wav", "link-out.wav", "linked", "~",
             "%2e%2e", "a\\..\\..", "good.wav\x00.txt", " ", "talks\n", "\u202e"]


@st.composite
def manifest_path(draw, secret: str) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(max_size=40))
    parts = draw(st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=6))
    path = "/".join(parts)
    if kind == 1:
        return secret + "/" + path
    if kind == 2:
        return "/" + path
    return path


def _archive(base: Path) -> tuple[Path, Path]:
    root, secret = base / "archive", base / "secret"
    if not root.exists():
        (root / "talks").mkdir(parents=True)
        secret.mkdir()
        sf.write(root / "talks" / "good.wav", np.zeros(1600, np.float32), 16000)
        sf.write(secret / "secret.wav", np.zeros(1600, np.float32), 16000)
        (root / "talks" / "link-out.wav").symlink_to(secret / "secret.wav")
        (root / "linked").symlink_to(secret, target_is_directory=True)
    return root, secret


def _check_accepted(table: pa.Table, root: Path) -> None:
    real_root = os.path.realpath(root)
    for row in table.select(["source_path", "error"]).to_pylist():
        if row["error"] is None:
            real = os.path.realpath(os.path.join(root, row["source_path"]))
            assert real.startswith(real_root + os.sep) and os.path.isfile(real), row
    assert len(set(table["source_path"].to_pylist())) == table.num_rows  # duplicates dropped


@fuzz(100)
@given(st.data())
def test_any_csv_manifest_is_parsed_or_refused_and_never_accepts_a_path_outside_the_root(tmp_path_factory, data):
    root, secret = _archive(tmp_path_factory.getbasetemp() / "fuzz-manifest")
    paths = data.draw(st.lists(manifest_path(str(secret)), max_size=12))
    extra = data.draw(st.lists(st.text(min_size=1, max_size=8), max_size=3))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["path", *extra])
    for p in paths:
        writer.writerow([p, *data.draw(st.lists(st.text(max_size=8), min_size=len(extra), max_size=len(extra)))])
    text = buf.getvalue()
    if data.draw(st.booleans()):  # and sometimes raw, malformed text
        text = data.draw(st.text(max_size=200))
    manifest = root / "manifest.csv"
    manifest.write_text(text, errors="surrogateescape")
    try:
        _, table = scan(manifest)
    except ValueError:  # a usage error: no path column, unparsable CSV, duplicate column names
        return
    _check_accepted(table, root)


@fuzz(50)
@given(st.data())
def test_any_parquet_path_column_is_parsed_or_refused(tmp_path_factory, data):
    root, secret = _archive(tmp_path_factory.getbasetemp() / "fuzz-parquet")
    column = data.draw(st.one_of(
        st.lists(st.one_of(st.none(), manifest_path(str(secret))), max_size=8).map(lambda v: pa.array(v, pa.string())),
        st.lists(st.integers(-2**63, 2**63 - 1), max_size=8).map(lambda v: pa.array(v, pa.int64())),
        st.lists(st.floats(), max_size=8).map(lambda v: pa.array(v, pa.float64())),
        st.lists(st.binary(max_size=12), max_size=8).map(lambda v: pa.array(v, pa.binary())),
    ))
    pq.write_table(pa.table({"path": column}), root / "manifest.parquet")
    try:
        _, table = scan(root / "manifest.parquet")
    except ValueError:
        return
    _check_accepted(table, root)
