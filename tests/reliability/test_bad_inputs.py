"""Every kind of broken or unusual file an archive holds goes through one nightly batch (Prefect on
local Ray): each yields exactly one record with a clear status and reason, the batch finishes, NaN/Inf
never reach an output, unusual layouts keep their rate, channels and length, and no source changes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from archive_fixtures import tree_state
from bad_files import BAD_FILES, DC, OUTPUT_SUBTYPE, build

from acetate.catalog.schema import STATUSES
from acetate.catalog.store import read_quality
from acetate.flows.nightly import nightly

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch(tmp_path_factory, prefect_server, ray_local):
    base = tmp_path_factory.mktemp("bad-inputs")
    root, out = base / "archive", base / "out"
    files = build(root)
    before = tree_state(root)
    summary = nightly(source=str(root), out=str(out), engine="ray", workers=2)
    records = {r["source_path"]: r for r in read_quality(out).to_pylist()}
    return root, out, files, summary, records, before


def test_the_batch_finishes_with_exactly_one_record_per_file(batch):
    _, _, files, summary, records, _ = batch
    assert summary["scanned"] == summary["processed"] == len(BAD_FILES) == len(records)
    assert set(records) == set(files)
    assert all(r["status"] in STATUSES for r in records.values())
    assert summary["statuses"]["failed"] == sum(1 for b in BAD_FILES if b.expect == {"failed"})


@pytest.mark.parametrize("bad", BAD_FILES, ids=[b.path for b in BAD_FILES])
def test_each_input_yields_its_status_and_a_clear_reason(batch, bad):
    _, out, _, _, records, _ = batch
    rec = records[bad.path]
    assert rec["status"] in bad.expect, (rec["status"], rec["error"], rec["review_reason"])
    if rec["status"] == "failed":
        assert rec["error"] and rec["output_path"] is None
    else:
        assert rec["error"] is None
    if bad.says is not None:
        said = rec["error"] if rec["status"] == "failed" else rec["review_reason"]
        assert said and bad.says in said, said
    if rec["status"] in ("failed", "skipped", "clean"):
        assert rec["output_path"] is None and not rec["chain"]
    assert (rec["output_path"] is not None) == bad.copy


@pytest.mark.parametrize("bad", [b for b in BAD_FILES if b.copy], ids=[b.path for b in BAD_FILES if b.copy])
def test_access_copies_keep_the_layout_hold_only_finite_samples_and_lose_the_offset(batch, bad):
    root, out, _, _, records, _ = batch
    rec = records[bad.path]
    src, dst = sf.info(root / bad.path), sf.info(out / rec["output_path"])
    assert (dst.samplerate, dst.channels, dst.frames) == (src.samplerate, src.channels, src.frames)
    assert dst.subtype == ("FLOAT" if src.channels > 8 else OUTPUT_SUBTYPE[src.subtype])
    audio, _ = sf.read(out / rec["output_path"], dtype="float64", always_2d=True)
    assert np.isfinite(audio).all()
    assert np.abs(audio.mean(axis=0)).max() < 0.1 * DC  # the 0.05 offset is gone on every channel
    assert "remove_dc" in [step["op"] for step in rec["chain"]]


def test_nonfinite_samples_are_counted_and_read_as_silence(batch):
    _, out, _, _, records, _ = batch
    for name in ("float/nan-inf.wav", "float/nan-inf-64.wav"):
        rec = records[name]
        assert "102 non-finite samples" in rec["review_reason"] and "first at frame 8000" in rec["review_reason"]
        audio, _ = sf.read(out / rec["output_path"], dtype="float64")
        assert np.ptp(audio[8010:8090]) < 1e-3  # the NaN run reads as silence (flat, at minus the offset)


def test_sources_are_byte_identical_with_unchanged_mtimes_and_out_holds_no_temporary_files(batch):
    root, out, _, _, _, before = batch
    assert tree_state(root) == before
    leftovers = [p for p in out.rglob(".*") if p.name != ".acetate" and ".acetate" not in p.parts]
    assert leftovers == []
