"""The Ray, Beam and local engines run the same process_item and must give the same records."""

from __future__ import annotations

from pathlib import Path

import pytest

from acetate.catalog.scan import scan
from acetate.catalog.store import read_quality
from acetate.pipelines.batch import process_shard
from acetate.pipelines.engines import get_engine
from acetate.pipelines.fingerprint import pipeline_fingerprint
from acetate.pipelines.item import ItemContext
from acetate.pipelines.policy import Policy

VARYING = {"processed_at", "analyze_s", "restore_s", "total_s", "engine", "worker"}


def run(engine_name: str, archive: Path, out: Path, **options) -> dict[str, dict]:
    root, catalog = scan(archive)
    policy = Policy.load()
    ctx = ItemContext(str(root), str(out), "b1", pipeline_fingerprint(policy), engine_name, policy)
    engine = get_engine(engine_name, **options)
    result = process_shard(catalog, ctx, engine, "00000")
    if hasattr(engine, "close"):
        engine.close()
    records = read_quality(out).to_pylist()
    assert result.items == len(records) == sum(result.statuses.values())
    return {r["source_path"]: {k: v for k, v in r.items() if k not in VARYING} for r in records}


@pytest.mark.slow
def test_ray_beam_and_local_engines_agree(small_archive, tmp_path, ray_local):
    local = run("local", small_archive, tmp_path / "local")
    ray_records = run("ray", small_archive, tmp_path / "ray", workers=2)
    beam_records = run("beam", small_archive, tmp_path / "beam")
    assert set(local) == set(ray_records) == set(beam_records) and len(local) == 5
    for path, rec in local.items():
        assert ray_records[path] == rec, path
        assert beam_records[path] == rec, path
    assert any(r["status"] == "restored" for r in local.values())
