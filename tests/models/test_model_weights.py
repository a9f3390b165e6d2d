"""Weights load safely: the manifest's SHA-256 is checked first, then torch.load(weights_only=True)."""

from __future__ import annotations

import pickle

import pytest
import torch

from acetate.models.weights_io import WeightsError, load_weights, read_manifest, save_weights


def test_round_trip_records_hash_version_and_config(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    save_weights("m", state, version="7", config={"a": 1}, metrics={"x": 0.5}, directory=tmp_path)
    loaded, entry = load_weights("m", tmp_path)
    assert torch.equal(loaded["w"], state["w"])
    assert entry["version"] == "7" and entry["config"] == {"a": 1} and len(entry["sha256"]) == 64
    assert read_manifest(tmp_path)["m"]["metrics"] == {"x": 0.5}


def test_a_tampered_weight_file_is_refused_with_a_clear_error(tmp_path):
    path = save_weights("m", {"w": torch.zeros(64)}, version="1", config={}, directory=tmp_path)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="refusing a modified weight file"):
        load_weights("m", tmp_path)


def test_a_pickle_with_code_is_refused_even_when_its_hash_is_recorded(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    save_weights("m", {"w": torch.zeros(1)}, version="1", config={}, directory=tmp_path)
    (tmp_path / "m.pt").write_bytes(pickle.dumps({"w": Evil()}))
    manifest = read_manifest(tmp_path)
    import hashlib
    import json

    manifest["m"]["sha256"] = hashlib.sha256((tmp_path / "m.pt").read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="cannot be loaded safely"):
        load_weights("m", tmp_path)


def test_missing_models_and_files_say_so(tmp_path):
    with pytest.raises(WeightsError, match="not in"):
        load_weights("absent", tmp_path)
    save_weights("m", {"w": torch.zeros(1)}, version="1", config={}, directory=tmp_path)
    (tmp_path / "m.pt").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_weights("m", tmp_path)
