"""Fusing the DSP detectors with the tagger: whose score decides, and when a person is asked."""

from __future__ import annotations

import numpy as np
import pytest

from acetate.models.tagger import TaggerResult
from acetate.ops.findings import Finding
from acetate.pipelines.fusion import fuse_content, fuse_findings

KINDS = ("noise", "hum", "clicks")


def tagged(noise: float, hum: float, clicks: float, ood_share: float = 0.0, speech: float = 0.9) -> TaggerResult:
    """Ten patches saying the same thing; ood_share of them outside the training data."""
    n = 10
    probs = np.tile([noise, hum, clicks], (n, 1))
    content = np.tile([speech, 1 - speech, 0.0], (n, 1))
    ood = np.arange(n) < round(ood_share * n)
    return TaggerResult(KINDS, probs, content, ood, version="test")


def dsp(**scores: float) -> dict[str, Finding]:
    return {k: Finding(k, s, 0.0, "") for k, s in scores.items()}


def test_where_the_rule_is_dsp_the_model_neither_moves_the_score_nor_stops_the_file():
    fused, reasons = fuse_findings(dsp(noise=0.05, hum=0.95), tagged(0.9, 0.05, 0.0), {})
    assert fused["noise"].score == 0.05 and fused["hum"].score == 0.95
    assert reasons == []


def test_mean_and_model_rules_move_the_score_and_a_contradiction_asks_a_person():
    fused, reasons = fuse_findings(dsp(noise=0.05, hum=0.6, clicks=0.2), tagged(0.95, 0.8, 0.9),
                                   {"noise": "mean", "hum": "mean", "clicks": "model"})
    assert fused["noise"].score == pytest.approx(0.5) and fused["hum"].score == pytest.approx(0.7)
    assert fused["clicks"].score == pytest.approx(0.9)
    assert any(r.startswith("noise: DSP detector 0.05 and learned model 0.95 disagree") for r in reasons)
    assert any(r.startswith("clicks:") for r in reasons) and not any(r.startswith("hum:") for r in reasons)


def test_either_rule_takes_the_higher_witness_and_does_not_call_their_difference_a_contradiction():
    fused, reasons = fuse_findings(dsp(noise=0.05, hum=0.9), tagged(0.95, 0.1, 0.0), {"noise": "either", "hum": "either"})
    assert fused["noise"].score == pytest.approx(0.95) and fused["hum"].score == pytest.approx(0.9)
    assert reasons == []


def test_unfamiliar_audio_is_judged_by_the_dsp_detectors_and_flagged_only_when_that_changes_a_decision():
    rules = {"noise": "model", "hum": "mean"}
    fused, reasons = fuse_findings(dsp(noise=0.1, hum=0.9), tagged(0.3, 0.8, 0.0, ood_share=0.8), rules)
    assert fused["noise"].score == 0.1 and fused["hum"].score == 0.9
    assert reasons == []  # the model agrees on both sides of the threshold: nothing to ask
    fused, reasons = fuse_findings(dsp(noise=0.1, hum=0.9), tagged(0.9, 0.8, 0.0, ood_share=0.8), rules)
    assert fused["noise"].score == 0.1
    assert len(reasons) == 1 and "80% of analysed patches" in reasons[0] and "decide noise" in reasons[0]


def test_a_rule_that_is_not_dsp_model_mean_or_either_is_refused():
    with pytest.raises(ValueError, match="'vote'"):
        fuse_findings(dsp(noise=0.1), tagged(0.1, 0.1, 0.1), {"noise": "vote"})


def test_content_comes_from_the_tagger_unless_silent_or_unfamiliar():
    assert fuse_content(("music", 0.6), tagged(0, 0, 0, speech=0.9))[0] == "speech"
    assert fuse_content(("music", 0.6), tagged(0, 0, 0, ood_share=0.9, speech=0.9)) == ("music", 0.6)
    assert fuse_content(("silence", 1.0), tagged(0, 0, 0, speech=0.9)) == ("silence", 1.0)
    assert fuse_content(("music", 0.6), None) == ("music", 0.6)
