"""OUT fills up mid-batch (a 2 MB tmpfs): the run stops with a clear message and exit code 2, the
item being written is not recorded (so it is not marked failed for good), nothing half-written is
left, every part and copy that is visible is whole, and a rerun with space finishes the batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import soundfile as sf
from archive_fixtures import tree_state
from bad_files import voice

from acetate.catalog.store import quality_parts, read_quality

pytestmark = pytest.mark.slow

N = 8  # 20-second 24-bit files: about 360 kB of FLAC each, so the 2 MB OUT is full after four or five


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return proc.returncode == 0


def _run(archive: Path, out: Path, engine: str) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=PREFECT_API_URL.value())
    return subprocess.run([sys.executable, "-m", "acetate.flows.cli", "run", str(archive), "--out", str(out),
                           "--engine", engine, "--workers", "2"], env=env, capture_output=True, text=True,
                          timeout=900)


def test_a_full_out_stops_the_run_clearly_leaves_nothing_corrupt_and_a_rerun_finishes(tmp_path, prefect_server):
    engine = "ray"  # the default engine, whose workers raise in another process
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as a full disk needs root")
    archive, out = tmp_path / "archive", tmp_path / "out"
    archive.mkdir()
    for i in range(N):
        sf.write(archive / f"reel-{i}.wav", voice(16000, 20.0, seed=i), 16000, subtype="PCM_24")
    before = tree_state(archive)
    if not _mount_tmpfs(out, "2m"):
        pytest.skip("mount -t tmpfs is not permitted here (needs CAP_SYS_ADMIN)")
    try:
        full = _run(archive, out, engine)
        said = " ".join((full.stdout + full.stderr).split())
        assert full.returncode == 2, said[-3000:]
        assert "No space left on device" in said or "no space left on device" in said
        assert "items without a record stay pending" in said

        recorded = read_quality(out).to_pylist()
        assert 1 <= len(recorded) < N  # some items made it before the disk filled
        assert all(r["status"] in ("restored", "needs_review") for r in recorded)  # none recorded failed
        for _, part in quality_parts(out):
            pq.read_table(part)  # every visible part reads whole
        copies = sorted(p for p in (out / "restored").rglob("*") if p.is_file())
        assert all(not p.name.startswith(".") for p in copies)  # no temporary copy left
        for p in copies:  # every visible copy decodes to its full length
            audio, _ = sf.read(p)
            assert len(audio) == 20 * 16000
        assert {r["output_path"] for r in recorded} <= {str(p.relative_to(out)) for p in copies}
        assert [p for p in out.rglob(".*") if p.name not in (".acetate", "plans")] == []

        subprocess.run(["mount", "-o", "remount,size=64m", str(out)], check=True)  # space again
        again = _run(archive, out, engine)
        assert again.returncode == 0, again.stderr[-3000:]
        rows = read_quality(out).to_pylist()
        assert sorted(r["source_path"] for r in rows) == [f"reel-{i}.wav" for i in range(N)]  # each once
        assert all(r["status"] in ("restored", "needs_review") for r in rows)
        assert tree_state(archive) == before
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)
