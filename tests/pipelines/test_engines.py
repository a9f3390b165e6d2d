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


def _context(archive: Path, out: Path, engine: str):
    root, catalog = scan(archive)
    policy = Policy.load()
    return catalog, ItemContext(str(root), str(out), "b1", pipeline_fingerprint(policy), engine, policy)


@pytest.mark.slow
def test_ray_engine_pulls_items_only_as_workers_free_up_and_stops_when_asked(small_archive, tmp_path, ray_local):
    catalog, ctx = _context(small_archive, tmp_path, "ray")
    items = catalog.to_pylist() * 2  # 10 items (outputs overwrite: only the pull pattern matters here)
    pulled = 0

    def lazy():
        nonlocal pulled
        for item in items:
            pulled += 1
            yield item

    engine = get_engine("ray", workers=2, in_flight=2)
    ahead = []
    for n, _ in enumerate(engine.run(lazy(), ctx), start=1):
        ahead.append(pulled - n)
    assert n == 10 and max(ahead) <= 2 * 2  # never more than in_flight items per worker ahead

    pulled = 0
    stopped = list(engine.run(lazy(), ctx, should_stop=lambda: pulled >= 6))
    engine.close()
    assert pulled == 6 and len(stopped) == 6  # what started finished; nothing new after the stop


@pytest.mark.slow
def test_beam_pipeline_options_pass_through_and_direct_runner_never_tries_prism(small_archive, tmp_path):
    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from acetate.pipelines.engines.beam_engine import BeamEngine

    engine = BeamEngine(workers=2, beam_options=["direct_running_mode=multi_threading", "--job_name=acetate-test"])
    options = engine._options()
    assert options.view_as(DirectOptions).direct_running_mode == "multi_threading"  # the user's option wins
    assert options.view_as(DirectOptions).direct_num_workers == 2
    assert options.get_all_options()["job_name"] == "acetate-test"
    assert isinstance(engine._pipeline().runner, FnApiRunner)
    with pytest.raises(ValueError):
        BeamEngine(runner="SparkRunnr")

    local = run("local", small_archive, tmp_path / "local")
    threaded = run("beam", small_archive, tmp_path / "beam", workers=2,
                   beam_options=["direct_running_mode=multi_threading"])
    assert threaded == local


def test_workers_ask_for_a_gpu_share_only_when_the_policy_routes_to_a_neural_op(monkeypatch):
    from acetate.models import load_all
    from acetate.ops.registry import RESTORERS
    from acetate.pipelines.engines.resources import gpus_per_worker, uses_models

    load_all()
    default = Policy.load()
    dsp = Policy({**default.data, "kinds": {k: v for k, v in default.data["kinds"].items()
                                            if not getattr(RESTORERS.get(v.get("op")), "model", None)}})
    assert not uses_models(dsp)
    assert gpus_per_worker(None, dsp, cluster_gpus=2, workers=8) == 0.0

    class NeuralRestorer:
        model = "denoiser-v1"

    monkeypatch.setitem(RESTORERS, "denoise_net", NeuralRestorer())
    neural = Policy({**dsp.data, "content": {"speech": {"kinds": {"noise": {"op": "denoise_net"}}}}})
    assert uses_models(neural)
    assert gpus_per_worker(None, neural, cluster_gpus=2, workers=8) == 0.25
    assert gpus_per_worker(None, neural, cluster_gpus=2, workers=3) == 0.6666
    assert gpus_per_worker(None, neural, cluster_gpus=4, workers=2) == 1.0
    assert gpus_per_worker(None, neural, cluster_gpus=0, workers=2) == 0.0  # no CUDA in the cluster
    assert gpus_per_worker(0.5, dsp, cluster_gpus=0, workers=2) == 0.5  # asked for: as asked
