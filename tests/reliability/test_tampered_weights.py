"""A tampered model weight file in a batch: the items whose chain needs that model are recorded
failed with the refusal (SHA-256 mismatch, nothing unpickled), the others are restored, and the batch
finishes with every record written. Runs on a copy of the weights made here, never models/weights/."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf
from bad_files import voice

from acetate.catalog.scan import scan
from acetate.catalog.store import read_quality
from acetate.models import runtime, weights_io
from acetate.models.denoiser_net import DenoiserConfig, DenoiserNet
from acetate.ops import degrade
from acetate.ops.registry import RESTORERS
from acetate.pipelines.batch import process_shard
from acetate.pipelines.engines import get_engine
from acetate.pipelines.item import ItemContext
from acetate.pipelines.policy import Policy

# The learned denoiser stands in for remove_dc here, so which items need the model depends only on
# the DC detector (exact), not on the noise detector's calibration.
POLICY = '[kinds.dc_offset]\nop = "denoise"\n'


@pytest.fixture
def tampered_weights(tmp_path, monkeypatch, request):
    weights = tmp_path / "weights"
    cfg = DenoiserConfig()
    path = weights_io.save_weights("denoiser", DenoiserNet(cfg).state_dict(), version="test",
                                   config=cfg.to_dict(), directory=weights)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit, in the middle of a tensor
    path.write_bytes(bytes(data))
    monkeypatch.setattr(weights_io, "weights_dir", lambda: weights)
    monkeypatch.setattr(runtime, "_CACHE", {})
    imported, registered = "acetate.models.denoise" in sys.modules, "denoise" in RESTORERS
    import acetate.models.denoise  # noqa: F401  registers the restorer even if no weights were installed

    def restore() -> None:
        if not registered:
            RESTORERS.pop("denoise", None)
        if not imported:
            sys.modules.pop("acetate.models.denoise", None)

    request.addfinalizer(restore)
    return path


def test_items_needing_a_tampered_model_fail_with_the_refusal_and_the_batch_finishes(tmp_path, tampered_weights):
    root, out = tmp_path / "archive", tmp_path / "out"
    root.mkdir()
    sr = 16000
    sf.write(root / "dc-1.wav", voice(sr), sr)
    sf.write(root / "dc-2.wav", voice(sr, seed=2), sr)
    speech = degrade.synth_speech_like(sr, 3.0, seed=3, peak=0.5)
    sf.write(root / "hum.wav", degrade.add_hum(speech, sr, fundamental=50.0, level_db=-30.0, harmonics=5)[0].T, sr)
    sf.write(root / "silence.wav", np.zeros(2 * sr, np.float32), sr)
    (tmp_path / "policy.toml").write_text(POLICY)
    policy = Policy.load(tmp_path / "policy.toml")
    _, catalog = scan(root)

    result = process_shard(catalog, ItemContext(str(root), str(out), "b1", "fp", "local", policy),
                           get_engine("local"), "00000")

    records = {r["source_path"]: r for r in read_quality(out).to_pylist()}
    assert result.items == len(records) == 4  # the batch went on past the refused model
    for name in ("dc-1.wav", "dc-2.wav"):
        rec = records[name]
        assert rec["status"] == "failed" and rec["output_path"] is None
        assert "WeightsError" in rec["error"] and "refusing a modified weight file" in rec["error"]
        assert str(tampered_weights) in rec["error"]  # it names the file
    assert records["hum.wav"]["status"] in ("restored", "needs_review")
    assert [s["op"] for s in records["hum.wav"]["chain"]] == ["dehum"]
    assert records["silence.wav"]["status"] == "clean"
    assert sorted(p.name for p in (out / "restored").rglob("*") if p.is_file()) == ["hum.flac"]
    assert runtime._CACHE == {}  # nothing was loaded from the tampered file
