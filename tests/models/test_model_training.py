"""Every recipe runs from scratch on a corpus and is deterministic for a seed (tiny settings here;
the committed weights come from the same code with the recipes' default settings)."""

from __future__ import annotations

import pytest

from acetate.models.train_bwe import BweSettings
from acetate.models.train_bwe import train as train_bwe
from acetate.models.train_denoiser import TrainSettings
from acetate.models.train_denoiser import train as train_denoiser
from acetate.models.train_tagger import TaggerSettings
from acetate.models.train_tagger import train as train_tagger
from acetate.models.weights_io import load_weights, read_manifest

RECIPES = {
    "denoiser": lambda corpus, out: train_denoiser(
        TrainSettings(corpus=corpus, steps=4, batch=2, seconds=1.0, eval_every=2, out=out), log=lambda _: None),
    "bwe": lambda corpus, out: train_bwe(
        BweSettings(corpus=corpus, steps=6, batch=2, seconds=1.0, eval_every=3, out=out), log=lambda _: None),
    "tagger": lambda corpus, out: train_tagger(
        TaggerSettings(corpus=corpus, train_examples=24, val_examples=12, epochs=2, batch=8, out=out),
        log=lambda _: None),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_trains_and_is_deterministic_for_a_seed(name, tiny_corpus, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    result = RECIPES[name](tiny_corpus, first)
    RECIPES[name](tiny_corpus, second)
    model = "denoiser" if name == "denoiser" else name
    assert read_manifest(first)[model]["sha256"] == read_manifest(second)[model]["sha256"]
    state, entry = load_weights(model, first)
    assert state and entry["metrics"]["seed"] is not None
    assert result["metrics"]  # validation figures were computed and kept
