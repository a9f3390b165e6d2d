"""Files and folders the batch may not read: each is recorded failed with the operating system's
reason, the batch finishes, and the readable files are restored (run as an unprivileged user: see
unprivileged.py)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf
from bad_files import voice
from unprivileged import give_to_user, run_python, shared_dir

from acetate.catalog.scan import scan

BATCH = """
import json, sys
import pyarrow.compute as pc
import pyarrow.parquet as pq
from acetate.catalog.scan import scan
from acetate.catalog.store import read_quality
from acetate.pipelines.batch import process_shard
from acetate.pipelines.engines import get_engine
from acetate.pipelines.item import ItemContext
from acetate.pipelines.policy import Policy

root, out, stale_catalog = sys.argv[1:4]
_, catalog = scan(root)  # as this user: what it cannot read becomes error rows
stale = pq.read_table(stale_catalog)
stale = stale.filter(pc.equal(stale["source_path"], "later.wav"))
ctx = ItemContext(root, out, "b1", "fp", "local", Policy.load())
engine = get_engine("local")
process_shard(catalog.filter(pc.not_equal(catalog["source_path"], "later.wav")), ctx, engine, "00000")
process_shard(stale, ctx, engine, "00001")  # scanned while readable, locked before processing
print(json.dumps({r["source_path"]: [r["status"], r["error"]] for r in read_quality(out).to_pylist()}))
"""


def test_unreadable_files_and_folders_are_recorded_failed_with_the_reason_and_the_rest_restored():
    with shared_dir() as base:
        root, out = base / "archive", base / "out"
        (root / "sealed").mkdir(parents=True)
        for name in ("open.wav", "locked.wav", "later.wav", "sealed/inside.wav"):
            sf.write(root / name, voice(16000), 16000)
        _, catalog = scan(root)  # by the test (root): everything readable, later.wav included
        pq.write_table(catalog, base / "catalog.parquet")
        (base / "catalog.parquet").chmod(0o644)
        for path in (root / "locked.wav", root / "later.wav", root / "sealed"):
            path.chmod(0)
        give_to_user(out)

        records = run_python(BATCH, str(root), str(out), str(base / "catalog.parquet"))

        assert records["open.wav"][0] in ("restored", "needs_review") and records["open.wav"][1] is None
        assert records["locked.wav"] == ["failed", "unreadable file: Permission denied"]
        assert records["sealed"] == ["failed", "unreadable folder: Permission denied"]
        status, error = records["later.wav"]
        assert status == "failed" and "PermissionError" in error and "Permission denied" in error
        assert set(records) == {"open.wav", "locked.wav", "later.wav", "sealed"}
        restored, _ = sf.read(out / "restored" / "open.flac")
        assert abs(float(np.mean(restored))) < 5e-3  # the readable file was restored (DC removed)
