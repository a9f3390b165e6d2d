"""Scanning folders and manifests into the catalog."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from catalog_audio import snapshot, write_audio

from acetate.catalog import scan as scan_mod
from acetate.catalog.scan import item_id_for, scan, scan_stats
from acetate.catalog.schema import CATALOG_SCHEMA
from acetate.catalog.store import read_catalog, write_catalog


def rows_by_path(table: pa.Table) -> dict[str, dict]:
    return {r["source_path"]: r for r in table.to_pylist()}


def test_folder_scan_catalogs_audio_files_sorted_with_hash_and_info(archive: Path) -> None:
    root, table = scan(archive, workers=2)

    assert root == archive
    assert table.schema.names == CATALOG_SCHEMA.names
    assert table.schema.field("scanned_at").type == CATALOG_SCHEMA.field("scanned_at").type
    # Sorted walk; non-audio, hidden and temp files are left out.
    assert table["source_path"].to_pylist() == [
        "discs/corrupt.wav",
        "root.wav",
        "tapes/a/reel1.wav",
        "tapes/a/reel2.flac",
        "tapes/b/side.ogg",
    ]
    rows = rows_by_path(table)

    reel1 = rows["tapes/a/reel1.wav"]
    assert reel1["sha256"] == hashlib.sha256((archive / "tapes/a/reel1.wav").read_bytes()).hexdigest()
    assert (reel1["sample_rate"], reel1["channels"], reel1["frames"]) == (44100, 2, 11025)
    assert reel1["duration_s"] == pytest.approx(0.25)
    assert (reel1["format"], reel1["subtype"]) == ("WAV", "PCM_16")
    assert reel1["size_bytes"] == (archive / "tapes/a/reel1.wav").stat().st_size
    assert reel1["mtime_ns"] == (archive / "tapes/a/reel1.wav").stat().st_mtime_ns
    assert reel1["collection"] == "tapes"
    assert reel1["item_id"] == item_id_for("tapes/a/reel1.wav") == hashlib.sha1(b"tapes/a/reel1.wav").hexdigest()[:16]
    assert reel1["error"] is None

    assert rows["tapes/a/reel2.flac"]["format"] == "FLAC"
    assert rows["tapes/b/side.ogg"]["format"] == "OGG"
    assert rows["tapes/b/side.ogg"]["subtype"] == "VORBIS"
    assert rows["root.wav"]["collection"] is None

    corrupt = rows["discs/corrupt.wav"]
    assert corrupt["error"].startswith("unreadable audio: ")
    assert len(corrupt["error"]) > len("unreadable audio: ")
    assert corrupt["sha256"] == hashlib.sha256((archive / "discs/corrupt.wav").read_bytes()).hexdigest()
    assert corrupt["sample_rate"] is None

    assert scan_stats(table).hashed == 5
    assert len(set(table["scanned_at"].to_pylist())) == 1


def test_scan_is_deterministic_and_leaves_sources_untouched(archive: Path) -> None:
    before = snapshot(archive)
    _, first = scan(archive, workers=3)
    _, second = scan(archive, workers=1)
    assert snapshot(archive) == before  # byte-identical, mtimes unchanged
    cols = [c for c in CATALOG_SCHEMA.names if c != "scanned_at"]
    assert first.select(cols).equals(second.select(cols))


def test_progress_reports_done_and_total(archive: Path) -> None:
    calls: list[tuple[int, int]] = []
    scan(archive, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (5, 5)
    assert all(total == 5 for _, total in calls)


def test_folder_scan_refuses_symlink_leading_outside(tmp_path: Path, archive: Path) -> None:
    outside = write_audio(tmp_path / "outside" / "secret.wav", seed=9)
    (archive / "tapes/escape.wav").symlink_to(outside)
    (archive / "tapes/escape_dir").symlink_to(outside.parent, target_is_directory=True)
    (archive / "tapes/inside_link.wav").symlink_to(archive / "root.wav")

    _, table = scan(archive)
    rows = rows_by_path(table)
    for name in ("tapes/escape.wav", "tapes/escape_dir"):
        assert rows[name]["error"] == f"path escapes the archive root: {name}"
        assert rows[name]["sha256"] is None and rows[name]["size_bytes"] is None
    assert "tapes/escape_dir/secret.wav" not in rows
    # A symlink that stays inside the root is an ordinary entry.
    assert rows["tapes/inside_link.wav"]["sha256"] == rows["root.wav"]["sha256"]


def _write_manifest_csv(path: Path, rows: list[dict]) -> Path:
    pacsv.write_csv(pa.Table.from_pylist(rows), path)
    return path


def test_csv_manifest_carries_extra_columns_verbatim(archive: Path) -> None:
    manifest = _write_manifest_csv(
        archive / "manifest.csv",
        [
            {"path": "tapes/a/reel1.wav", "collection": "Oral History", "shelfmark": "007", "date": "1962-05-01"},
            {"path": "./root.wav", "collection": "Misc", "shelfmark": "12", "date": ""},
            {"path": "missing.wav", "collection": "Misc", "shelfmark": "13", "date": "1970"},
            {"path": "tapes/a/reel1.wav", "collection": "Oral History", "shelfmark": "dup", "date": "x"},
        ],
    )
    root, table = scan(manifest)

    assert root == archive
    assert table.column_names == [*CATALOG_SCHEMA.names, "shelfmark", "date"]
    assert table.schema.field("shelfmark").type == pa.string()
    assert table["source_path"].to_pylist() == ["tapes/a/reel1.wav", "root.wav", "missing.wav"]
    assert table["shelfmark"].to_pylist() == ["007", "12", "13"]  # text kept as written, dup dropped
    assert table["collection"].to_pylist() == ["Oral History", "Misc", "Misc"]
    rows = rows_by_path(table)
    assert rows["tapes/a/reel1.wav"]["channels"] == 2
    assert rows["missing.wav"]["error"] == "file not found"
    assert rows["missing.wav"]["sha256"] is None
    assert scan_stats(table).duplicates == 1


def test_parquet_manifest_keeps_types_and_root_override(tmp_path: Path, archive: Path) -> None:
    manifest = tmp_path / "lists" / "m.parquet"
    manifest.parent.mkdir()
    pq.write_table(
        pa.table(
            {
                "path": ["tapes/b/side.ogg", str(archive / "tapes/a/reel2.flac")],
                "shelfmark": ["S-1", "S-2"],
                "year": pa.array([1955, 1960], pa.int32()),
                "sha256": ["expected-a", "expected-b"],  # clashes with a catalog column
            }
        ),
        manifest,
    )
    root, table = scan(manifest, root=archive)
    assert root == archive
    assert table.column_names == [*CATALOG_SCHEMA.names, "shelfmark", "year", "manifest_sha256"]
    assert table["source_path"].to_pylist() == ["tapes/b/side.ogg", "tapes/a/reel2.flac"]
    assert table["year"].type == pa.int32() and table["year"].to_pylist() == [1955, 1960]
    assert table["manifest_sha256"].to_pylist() == ["expected-a", "expected-b"]
    assert table["collection"].to_pylist() == ["tapes", "tapes"]  # no manifest column: first folder
    assert all(e is None for e in table["error"].to_pylist())


def test_manifest_without_path_column_is_refused(tmp_path: Path) -> None:
    manifest = _write_manifest_csv(tmp_path / "m.csv", [{"file": "a.wav"}])
    with pytest.raises(ValueError, match="no 'path' column"):
        scan(manifest)


def test_manifest_paths_escaping_the_root_are_never_opened(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = write_audio(tmp_path / "outside.wav", seed=8)
    (archive / "link_out.wav").symlink_to(outside)
    opened: list[str] = []
    stated: list[str | None] = []
    real_probe, real_stat = scan_mod._hash_and_probe, scan_mod._stat
    monkeypatch.setattr(scan_mod, "_hash_and_probe", lambda p: (opened.append(p), real_probe(p))[1])
    monkeypatch.setattr(scan_mod, "_stat", lambda p: (stated.append(p), real_stat(p))[1])
    before = snapshot(tmp_path)

    manifest = _write_manifest_csv(
        archive / "m.csv",
        [
            {"path": "../outside.wav"},
            {"path": str(outside)},
            {"path": "link_out.wav"},
            {"path": "tapes/../../outside.wav"},
            {"path": "root.wav"},
        ],
    )
    _, table = scan(manifest)

    rows = table.to_pylist()
    assert [r["error"] for r in rows[:4]] == [
        "path escapes the archive root: ../outside.wav",
        f"path escapes the archive root: {outside}",
        "path escapes the archive root: link_out.wav",
        "path escapes the archive root: tapes/../../outside.wav",
    ]
    for r in rows[:4]:
        assert r["sha256"] is None and r["size_bytes"] is None and r["sample_rate"] is None
    assert rows[4]["error"] is None and rows[4]["sha256"]
    real_outside = os.path.realpath(outside)
    assert all(p is None or os.path.realpath(p) != real_outside for p in opened + stated)
    assert opened == [os.path.realpath(archive / "root.wav")]
    snap_after = snapshot(tmp_path)
    del snap_after[str(archive / "m.csv")]
    assert snap_after == before


def test_incremental_rescan_rehashes_only_changed_files(tmp_path: Path, archive: Path) -> None:
    out = tmp_path / "out"
    _, first = scan(archive)
    write_catalog(out, first)
    previous = read_catalog(out)

    changed = archive / "tapes/a/reel2.flac"
    write_audio(changed, seconds=0.5, seed=11)
    st = changed.stat()
    os.utime(changed, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # mtime moves even on coarse clocks
    write_audio(archive / "tapes/new.wav", seed=12)

    _, second = scan(archive, previous=previous)
    stats = scan_stats(second)
    assert (stats.hashed, stats.reused) == (2, 4)  # the changed and the new file only
    before, after = rows_by_path(first), rows_by_path(second)
    assert after["tapes/a/reel2.flac"]["sha256"] == hashlib.sha256(changed.read_bytes()).hexdigest()
    assert after["tapes/a/reel2.flac"]["sha256"] != before["tapes/a/reel2.flac"]["sha256"]
    assert after["tapes/a/reel2.flac"]["frames"] == 8000
    for path in ("root.wav", "tapes/a/reel1.wav", "tapes/b/side.ogg", "discs/corrupt.wav"):
        for col in ("sha256", "sample_rate", "channels", "frames", "format", "subtype", "error"):
            assert after[path][col] == before[path][col], (path, col)
    assert after["tapes/new.wav"]["sha256"]

    _, third = scan(archive, previous=second)
    assert scan_stats(third).hashed == 0


def test_empty_folder_gives_an_empty_catalog(tmp_path: Path) -> None:
    root, table = scan(tmp_path)
    assert root == tmp_path and table.num_rows == 0 and table.schema.names == CATALOG_SCHEMA.names
