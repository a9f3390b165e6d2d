"""`acetate verify` re-hashes sources and access copies against their records: a single flipped
byte in either, or a missing copy, is a mismatch and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_batch import run_batch
from typer.testing import CliRunner

from acetate.catalog.fixity import verify
from acetate.catalog.query import query
from acetate.flows.cli import app


@pytest.fixture
def processed(small_archive: Path, tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    run_batch(small_archive, out, report=False)
    return small_archive, out


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_untouched_archive_and_copies_verify(processed):
    _, out = processed
    report = verify(out)
    outputs = query(out, "SELECT count(output_path) AS n FROM quality").to_pylist()[0]["n"]
    assert report.ok and report.checked_sources == 5 and report.checked_outputs == outputs >= 3
    assert CliRunner().invoke(app, ["verify", str(out)]).exit_code == 0


def test_flipped_byte_in_an_output_is_a_mismatch(processed):
    _, out = processed
    copy = out / "restored" / "talks" / "hum50.flac"
    _flip(copy)
    report = verify(out)
    assert [(Path(p), what) for p, what, _ in report.mismatches] == [(copy, "output")]
    result = CliRunner().invoke(app, ["verify", str(out)])
    assert result.exit_code == 1 and "MISMATCH output" in result.stdout and "hum50.flac" in result.stdout


def test_flipped_byte_in_a_source_is_a_mismatch(processed):
    archive, out = processed
    source = archive / "music" / "clean.wav"
    _flip(source)
    report = verify(out)
    assert [(Path(p).name, what) for p, what, _ in report.mismatches] == [("clean.wav", "source")]
    assert CliRunner().invoke(app, ["verify", str(out)]).exit_code == 1


def test_missing_output_is_a_mismatch(processed):
    _, out = processed
    (out / "restored" / "talks" / "clipped.flac").unlink()
    report = verify(out)
    assert len(report.mismatches) == 1 and report.mismatches[0][2].startswith("unreadable")
