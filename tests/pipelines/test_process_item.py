"""process_item end to end on real files: what it finds, what it writes, what it records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from archive_fixtures import tree_state

from acetate.catalog.scan import scan
from acetate.catalog.schema import MEASURES
from acetate.pipelines.fingerprint import pipeline_fingerprint
from acetate.pipelines.item import ItemContext, process_item
from acetate.pipelines.policy import Policy


@pytest.fixture
def processed(small_archive: Path, tmp_path: Path):
    out = tmp_path / "out"
    before = tree_state(small_archive)
    root, catalog = scan(small_archive)
    policy = Policy.load()
    ctx = ItemContext(str(root), str(out), "b1", pipeline_fingerprint(policy), "local", policy)
    records = {row["source_path"]: process_item(row, ctx) for row in catalog.to_pylist()}
    return small_archive, out, records, before


def test_each_degraded_file_is_found_and_restored(processed):
    _, out, records, _ = processed
    hum = records["talks/hum50.wav"]
    assert hum["status"] == "restored" and hum["has_hum"] and not hum["has_clipping"]
    assert [s["op"] for s in hum["chain"]] == ["dehum"]
    assert hum["hum_db_before"] - hum["hum_db_after"] >= 20.0
    clipped = records["talks/clipped.flac"]
    assert clipped["has_clipping"] and clipped["clipped_fraction_after"] < clipped["clipped_fraction_before"] / 5
    both = records["music/hum60_dc.flac"]
    assert [s["op"] for s in both["chain"]] == ["remove_dc", "dehum"]
    assert abs(both["dc_offset_after"]) < 1e-3 < abs(both["dc_offset_before"])


def test_hum_and_wow_are_measured_again_only_where_touched(processed):
    """A chain that neither fixes nor found hum or wow keeps their before values (no step adds mains
    lines or changes speed); every other measure is taken on the restored copy."""
    _, _, records, _ = processed
    clipped = records["talks/clipped.flac"]
    assert clipped["status"] == "restored" and not clipped["has_hum"] and not clipped["has_wow"]
    assert "dehum" not in [s["op"] for s in clipped["chain"]]
    assert clipped["hum_db_after"] == clipped["hum_db_before"]
    assert clipped["wow_pct_after"] == clipped["wow_pct_before"] is not None
    assert clipped["true_peak_dbtp_after"] != clipped["true_peak_dbtp_before"]  # measured again
    for rec in records.values():
        if rec["output_path"] is not None:
            for m in MEASURES:
                assert (rec[f"{m}_after"] is None) == (rec[f"{m}_before"] is None), (rec["source_path"], m)
    hum = records["talks/hum50.wav"]  # fixed: measured again, and much lower
    assert hum["hum_db_after"] < hum["hum_db_before"] - 20.0


def test_clean_files_are_left_alone(processed):
    _, out, records, _ = processed
    for name in ("talks/clean.wav", "music/clean.wav"):
        rec = records[name]
        assert rec["status"] == "clean" and rec["output_path"] is None and rec["chain"] == []
        assert not any(rec[f"has_{k}"] for k in ("hum", "clipping", "dc_offset"))
    assert not (out / "restored" / "music" / "clean.flac").exists()


def test_outputs_match_sources_in_rate_channels_and_length(processed):
    archive, out, records, _ = processed
    for rec in records.values():
        if rec["output_path"] is None:
            continue
        src = sf.info(archive / rec["source_path"])
        dst = sf.info(out / rec["output_path"])
        assert (dst.samplerate, dst.channels, dst.frames) == (src.samplerate, src.channels, src.frames)
        assert dst.format == "FLAC" and rec["output_sha256"]


def test_restoration_is_time_aligned_with_the_source(processed):
    archive, out, records, _ = processed
    rec = records["talks/hum50.wav"]
    src, _ = sf.read(archive / rec["source_path"])
    dst, _ = sf.read(out / rec["output_path"])
    lags = np.arange(-20, 21)
    corr = [np.dot(src[50 + lag: -50 + lag], dst[50:-50]) for lag in lags]
    assert lags[int(np.argmax(corr))] == 0


def test_sources_are_byte_identical_after_processing(processed):
    archive, _, _, before = processed
    assert tree_state(archive) == before


def test_corrupt_file_is_recorded_as_failed(tmp_path):
    root = tmp_path / "a"
    root.mkdir()
    (root / "bad.wav").write_bytes(b"RIFF....WAVEnot really")
    _, catalog = scan(root)
    policy = Policy.load()
    ctx = ItemContext(str(root), str(tmp_path / "out"), "b1", pipeline_fingerprint(policy), "local", policy)
    rec = process_item(catalog.to_pylist()[0], ctx)
    assert rec["status"] == "failed" and rec["error"]
    assert not (tmp_path / "out").exists()


def test_item_outside_the_root_is_refused_even_if_the_catalog_lists_it(tmp_path, small_archive):
    secret = tmp_path / "secret.wav"
    sf.write(secret, np.zeros(1600, np.float32), 16000)
    policy = Policy.load()
    ctx = ItemContext(str(small_archive), str(tmp_path / "out"), "b1", "fp", "local", policy)
    item = {"item_id": "x", "source_path": "../secret.wav", "sha256": "0", "sample_rate": 16000,
            "channels": 1, "frames": 1600, "subtype": "PCM_16"}
    rec = process_item(item, ctx)
    assert rec["status"] == "failed" and "escapes the archive root" in rec["error"]


def test_small_blocks_give_the_same_output_as_one_block(small_archive, tmp_path):
    root, catalog = scan(small_archive)
    row = next(r for r in catalog.to_pylist() if r["source_path"] == "music/hum60_dc.flac")
    outputs = []
    for block_s in (0.5, 60.0):
        data = dict(Policy.load().data, block_seconds=block_s)
        policy = Policy(data)
        out = tmp_path / f"out{block_s}"
        rec = process_item(row, ItemContext(str(root), str(out), "b", "fp", "local", policy))
        outputs.append(sf.read(out / rec["output_path"])[0])
    assert np.max(np.abs(outputs[0] - outputs[1])) < 1e-4


def test_a_file_too_long_to_keep_is_read_again_with_the_same_result(small_archive, tmp_path, monkeypatch):
    """Analysis keeps a short file's blocks for the restore pass; past KEEP_BYTES it decodes the
    source again: both give the same copy and the same measures."""
    from acetate.pipelines import item as item_module

    root, catalog = scan(small_archive)
    row = next(r for r in catalog.to_pylist() if r["source_path"] == "music/hum60_dc.flac")
    policy = Policy.load()
    results = []
    for keep in (item_module._KeptBlocks.KEEP_BYTES, 1000):  # the file: 3 s of 44.1 kHz stereo, 1 MB as float32
        monkeypatch.setattr(item_module._KeptBlocks, "KEEP_BYTES", keep)
        out = tmp_path / f"out{keep}"
        rec = process_item(row, ItemContext(str(root), str(out), "b", "fp", "local", policy))
        results.append((rec, sf.read(out / rec["output_path"])[0]))
    (kept, x_kept), (reread, x_reread) = results
    assert kept["status"] == reread["status"] == "restored"
    assert np.array_equal(x_kept, x_reread)
    assert all(kept[f"{m}_after"] == reread[f"{m}_after"] for m in MEASURES)


def test_sources_that_would_share_an_output_name_keep_their_suffix(tmp_path):
    from acetate.pipelines.batch import mark_collisions

    root = tmp_path / "a"
    root.mkdir()
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000) + 0.05).astype(np.float32)  # DC offset
    sf.write(root / "take.wav", x, 16000)
    sf.write(root / "take.flac", x, 16000)
    sf.write(root / "other.wav", x, 16000)
    _, catalog = scan(root)
    pending = mark_collisions(catalog, catalog)
    policy = Policy.load()
    ctx = ItemContext(str(root), str(tmp_path / "out"), "b1", pipeline_fingerprint(policy), "local", policy)
    outputs = {r["source_path"]: process_item(r, ctx)["output_path"] for r in pending.to_pylist()}
    assert outputs == {"take.wav": "restored/take.wav.flac", "take.flac": "restored/take.flac.flac",
                       "other.wav": "restored/other.flac"}
    assert all((tmp_path / "out" / p).is_file() for p in outputs.values())
