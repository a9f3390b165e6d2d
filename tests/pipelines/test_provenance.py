"""Provenance stamped into restored files (FLAC Vorbis comments, BWF bext) matches the quality record."""

from __future__ import annotations

import struct
from pathlib import Path

import mutagen.flac
import numpy as np
import pytest
import soundfile as sf

from acetate.catalog.fixity import sha256_file
from acetate.catalog.scan import scan
from acetate.ops import degrade
from acetate.pipelines.bwf import Bext, append_bext, read_bext
from acetate.pipelines.fingerprint import acetate_version, pipeline_fingerprint
from acetate.pipelines.item import ItemContext, process_item
from acetate.pipelines.policy import Policy
from acetate.pipelines.provenance import FLAC_TAG_RESERVE, read_provenance

FIELDS = ("acetate_version", "pipeline_fingerprint", "source_sha256", "chain", "coding_history")


def _process_all(root: Path, out: Path) -> dict[str, dict]:
    root, catalog = scan(root)
    policy = Policy.load()
    ctx = ItemContext(str(root), str(out), "b1", pipeline_fingerprint(policy), "local", policy)
    return {row["source_path"]: process_item(row, ctx) for row in catalog.to_pylist()}


@pytest.fixture
def processed(small_archive: Path, tmp_path: Path):
    out = tmp_path / "out"
    return small_archive, out, _process_all(small_archive, out)


def test_flac_copies_carry_the_provenance_of_their_record(processed):
    archive, out, records = processed
    restored = [r for r in records.values() if r["output_path"]]
    assert len(restored) >= 3  # hum50, clipped, hum60_dc at least (more as detectors are added)
    for rec in restored:
        path = out / rec["output_path"]
        back = read_provenance(path)
        assert back == {k: rec[k] for k in FIELDS}, rec["source_path"]
        assert back["source_sha256"] == sha256_file(archive / rec["source_path"])
        assert back["acetate_version"] == acetate_version() and len(back["chain"]) >= 1
        # the recorded hash is of the final file, tags included; nothing left under a temp name
        assert sha256_file(path) == rec["output_sha256"]
        assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
        tags = mutagen.flac.FLAC(path).tags
        assert tags["ACETATE_SOURCE_PATH"] == [rec["source_path"]]
        assert "COMMENT" not in tags  # the reserved placeholder is gone


def test_flac_tags_fill_the_reserved_space_without_moving_the_audio(processed):
    _, out, records = processed
    rec = records["music/hum60_dc.flac"]
    flac = mutagen.flac.FLAC(out / rec["output_path"])
    blocks = {type(b).__name__: b for b in flac.metadata_blocks}
    tags_len = len(blocks["VCFLACDict"].write())
    # the tags took part of the reserve and the rest stayed as padding: header size did not grow
    assert tags_len < FLAC_TAG_RESERVE and "Padding" in blocks
    assert tags_len + blocks["Padding"].length + 4 >= FLAC_TAG_RESERVE


def test_coding_history_is_two_r98_lines_naming_source_and_chain(processed):
    _, _, records = processed
    rec = records["talks/hum50.wav"]
    lines = rec["coding_history"].split("\r\n")
    assert lines[-1] == "" and len(lines) == 3
    assert lines[0] == f"A=PCM,F=16000,W=16,M=mono,T=source sha256 {rec['source_sha256']}"
    assert lines[1].startswith(f"A=PCM,F=16000,W=16,M=mono,T=acetate {rec['acetate_version']}; "
                               f"pipeline {rec['pipeline_fingerprint']}; chain [")
    assert '"op":"dehum"' in lines[1] and '"fundamental"' in lines[1]


def test_same_source_and_pipeline_give_byte_identical_copies(processed, tmp_path):
    archive, _, records = processed
    again = _process_all(archive, tmp_path / "again")
    for path, rec in records.items():
        assert again[path]["output_sha256"] == rec["output_sha256"], path


def test_wav_copy_of_a_nine_channel_source_carries_a_bext_chunk(tmp_path):
    sr = 16000
    clean = degrade.synth_speech_like(sr, 2.0, seed=7, channels=9)
    hummed, _ = degrade.add_hum(clean, sr, fundamental=50.0, level_db=-25.0, harmonics=5)
    root = tmp_path / "archive"
    root.mkdir()
    sf.write(root / "wide.wav", np.clip(hummed, -1, 1).T, sr, subtype="PCM_16")
    out = tmp_path / "out"
    rec = _process_all(root, out)["wide.wav"]
    assert rec["output_path"] == "restored/wide.wav" and rec["chain"]
    path = out / rec["output_path"]
    assert read_provenance(path) == {k: rec[k] for k in FIELDS}
    bext = read_bext(path)
    assert bext.originator == "acetate" and rec["source_sha256"] in bext.description
    assert bext.coding_history.startswith(f"A=PCM,F=16000,W=16,M=multitrack,T=source sha256 {rec['source_sha256']}")
    assert "A=PCM,F=16000,W=32,M=multitrack,T=acetate " in bext.coding_history
    info = sf.info(path)  # libsndfile still reads the file, every frame of it
    assert (info.channels, info.frames, info.subtype) == (9, hummed.shape[1], "FLOAT")
    assert sha256_file(path) == rec["output_sha256"]


def test_bext_append_keeps_the_riff_size_right_after_an_odd_chunk(tmp_path):
    path = tmp_path / "odd.wav"
    sf.write(path, np.zeros((3, 1), np.float32), 8000, subtype="PCM_U8")  # 3-byte data chunk: odd
    before = path.stat().st_size
    bext = Bext(description="d", originator="o", coding_history="A=PCM,F=8000,W=8,M=mono,T=x\r\n")
    append_bext(path, bext)
    data = path.read_bytes()
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8 and len(data) % 2 == 0
    assert len(data) >= before + 8 + 602
    assert read_bext(path) == bext
    assert sf.read(path)[0].shape == (3,)


def test_tags_longer_than_the_reserve_still_land_and_audio_is_intact(tmp_path):
    from acetate.pipelines.audio_io import AtomicAudioWriter
    from acetate.pipelines.provenance import Provenance

    sr = 16000
    audio = (degrade.synth_speech_like(sr, 1.0, seed=3, channels=1) * 0.5).astype(np.float32)
    chain = [{"op": f"op{i}", "fixes": "hum", "version": "1", "model": "m" if i % 2 else None,
              "model_version": "7" if i % 2 else None, "params": '{"x": "' + "y" * 300 + '"}'} for i in range(20)]
    record = {"acetate_version": "0.1.0", "pipeline_fingerprint": "f" * 16, "source_path": "ä/ö.wav",
              "source_sha256": "a" * 64, "sample_rate": sr, "channels": 1, "chain": chain}
    prov = Provenance.from_record(record, "PCM_16", "PCM_16")
    assert len(prov.coding_history) > FLAC_TAG_RESERVE
    path = tmp_path / "long.flac"
    with AtomicAudioWriter(path, sr, 1, "FLAC", "PCM_16", provenance=prov) as w:
        w.write(audio)
        w.commit()
    back = read_provenance(path)
    assert back["chain"] == chain and back["coding_history"] == prov.coding_history
    assert mutagen.flac.FLAC(path).tags["ACETATE_SOURCE_PATH"] == ["ä/ö.wav"]
    decoded, _ = sf.read(path, dtype="float32")
    assert np.max(np.abs(decoded - audio[0])) < 1 / 32768 + 1e-6  # 16-bit rounding only
