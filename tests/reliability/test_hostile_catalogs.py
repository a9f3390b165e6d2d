"""Hostile and malformed catalogs: every manifest path that leads outside the archive root (`..`,
absolute, through a symlink to a file or a folder, /etc/passwd, /dev/zero) is recorded failed and
never opened; duplicates are dropped with a warning; missing files and folders are recorded; extra
columns are carried through; a manifest without a `path` column is a usage error. The whole run is
watched with strace: nothing outside SOURCE and OUT is opened or written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from archive_fixtures import tree_state
from bad_files import voice
from file_trace import strace_available, traced_run
from hostile import build, manifest_rows

from acetate.catalog.scan import rescan, scan_stats
from acetate.catalog.store import read_catalog, read_quality


def _cli_env() -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value(), PYTHONDONTWRITEBYTECODE="1")


def _allowed_elsewhere() -> tuple[str, ...]:
    """Where a run may write outside OUT: devices, and the caches and state of the libraries it runs
    on (Prefect's home, matplotlib's font cache); never an audio file, a Parquet part or a report."""
    from prefect.settings import PREFECT_HOME

    return ("/dev/", "/proc/", str(PREFECT_HOME.value()) + "/", str(Path.home() / ".cache") + "/",
            str(Path.home() / ".config") + "/")


@pytest.mark.slow
@pytest.mark.skipif(not strace_available(), reason="needs strace (apt install strace) to watch file opens")
def test_a_hostile_manifest_is_refused_row_by_row_and_nothing_outside_source_and_out_is_touched(
        tmp_path, prefect_server):
    root, manifest, secret = build(tmp_path)
    out = tmp_path / "out"
    before, secret_before = tree_state(root), tree_state(secret)
    proc, trace = traced_run([sys.executable, "-m", "acetate.flows.cli", "run", str(manifest), "--out", str(out),
                              "--engine", "local"], tmp_path / "strace.log", cwd=str(tmp_path), env=_cli_env(),
                             capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-3000:]  # some items failed; the run itself finished

    records = {r["source_path"]: r for r in read_quality(out).to_pylist()}
    expected = dict(manifest_rows(secret))
    assert set(records) == set(expected) - {"talks/./good.wav"}  # one record per distinct file
    for path, error in expected.items():
        if path in records:
            rec = records[path]
            if error is None:
                assert rec["status"] in ("restored", "needs_review") and rec["output_path"], rec
            else:
                assert rec["status"] == "failed" and rec["error"].startswith(error), rec
    assert "listed" in proc.stderr or "more than once" in proc.stderr  # the duplicates are reported
    assert scan_stats(read_catalog(out)).duplicates == 2
    catalog = read_catalog(out)
    assert set(catalog["shelfmark"].to_pylist()) >= {"OH-000", "OH-001"}  # extra columns carried through
    assert set(catalog["manifest_sha256"].to_pylist()) == {"not-a-hash"}  # a clashing name is kept apart

    assert trace.under(secret, trace.opened) == set()  # no secret file was ever opened
    assert not any(p in trace.opened for p in ("/etc/passwd", "/dev/zero"))
    assert trace.under(root, trace.written) == set() and trace.under(secret, trace.written) == set()
    elsewhere = {p for p in trace.written - trace.under(out, trace.written) if not p.startswith(_allowed_elsewhere())}
    assert elsewhere == set()
    assert tree_state(root) == before and tree_state(secret) == secret_before
    written = sorted(str(p.relative_to(out)) for p in (out / "restored").rglob("*") if p.is_file())
    assert written == ["restored/talks/good.flac", "restored/talks/inside-link.flac"]


@pytest.mark.parametrize(("text", "says"), [("file,collection\na.wav,x\n", "no 'path' column"),
                                            ("", "Empty CSV file"),
                                            ("path,collection\na.wav,x\nb.wav,x,extra\n", "Expected 2 columns")],
                         ids=["no-path-column", "empty-file", "ragged-rows"])
def test_a_malformed_manifest_is_a_usage_error_with_a_message(tmp_path, text, says):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "acetate.flows.cli", "scan", str(manifest), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    said = proc.stdout + proc.stderr
    assert "error:" in said and says in " ".join(said.split()) and "Traceback" not in said


def test_out_inside_the_archive_is_never_taken_for_sources(tmp_path):
    root = tmp_path / "archive"
    (root / "talks").mkdir(parents=True)
    sf.write(root / "talks" / "a.wav", voice(16000, 0.5), 16000)
    out = root / "access-copies"  # OUT inside the archive: its restored copies look like sources
    (out / "restored" / "talks").mkdir(parents=True)
    sf.write(out / "restored" / "talks" / "a.flac", voice(16000, 0.5), 16000)
    (root / "talks" / "copy-link.flac").symlink_to(out / "restored" / "talks" / "a.flac")
    _, table = rescan(root, out)
    rows = dict(zip(table["source_path"].to_pylist(), table["error"].to_pylist(), strict=True))
    assert rows == {"talks/a.wav": None, "talks/copy-link.flac": "path is inside OUT: talks/copy-link.flac"}

    manifest = root / "list.csv"
    manifest.write_text("path\ntalks/a.wav\naccess-copies/restored/talks/a.flac\n")
    _, table = rescan(manifest, out)
    assert table["error"].to_pylist() == [None, "path is inside OUT: access-copies/restored/talks/a.flac"]

    for bad_out in (root, tmp_path):  # OUT is the archive root, or holds it
        with pytest.raises(ValueError, match="inside OUT"):
            rescan(root, bad_out)
