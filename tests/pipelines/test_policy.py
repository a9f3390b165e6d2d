from __future__ import annotations

import pytest

from acetate.catalog.schema import KINDS as SCHEMA_KINDS
from acetate.ops.findings import KINDS as OPS_KINDS
from acetate.ops.findings import Finding
from acetate.pipelines.policy import Policy
from acetate.pipelines.route import decide


def test_kinds_are_defined_the_same_in_ops_and_schema():
    assert OPS_KINDS == SCHEMA_KINDS


def hum(score: float) -> Finding:
    return Finding("hum", score, -30.0, "dB", params={"fundamental": 50.0, "harmonics": [1, 2, 3]})


def test_found_kind_routes_to_its_op_and_silent_kind_to_nothing():
    policy = Policy.load().for_item(None, "speech")
    decision = decide({"hum": hum(0.95)}, "speech", policy, 16000)
    assert [s.op for s in decision.chain.steps] == ["dehum"]
    assert decision.found["hum"] is True and decision.found["noise"] is None
    assert not decide({"hum": hum(0.05)}, "speech", policy, 16000).chain


def test_score_near_threshold_asks_for_review():
    decision = decide({"hum": hum(0.55)}, "speech", Policy.load().for_item(None, "speech"), 16000)
    assert decision.unsure and "hum" in decision.unsure[0]


def test_collection_override_raises_a_threshold(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[collections.shellac.kinds.hum]\nthreshold = 0.99\n")
    policy = Policy.load(path)
    assert not decide({"hum": hum(0.95)}, "music", policy.for_item("shellac", "music"), 16000).chain
    assert decide({"hum": hum(0.95)}, "music", policy.for_item("tapes", "music"), 16000).chain
    assert policy.fingerprint != Policy.load().fingerprint


def test_ops_run_in_policy_order_whatever_the_finding_order():
    findings = {
        "hum": hum(0.9),
        "dc_offset": Finding("dc_offset", 0.99, 0.02, "FS", params={"offsets": [0.02]}),
    }
    decision = decide(findings, "speech", Policy.load().for_item(None, "speech"), 16000)
    assert [s.op for s in decision.chain.steps] == ["remove_dc", "dehum"]


def test_policy_with_unknown_kind_is_refused(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[kinds.wobble]\nop = 'x'\n")
    with pytest.raises(ValueError, match="wobble"):
        Policy.load(path)


def test_default_detection_rules_cover_every_kind_and_a_bad_rule_is_refused_at_load(tmp_path):
    from acetate.pipelines.fusion import FUSIONS

    rules = Policy.load().data["detection"]
    assert set(rules) == set(OPS_KINDS) and set(rules.values()) <= set(FUSIONS)
    path = tmp_path / "p.toml"
    path.write_text("[detection]\nhum = 'vote'\n")
    with pytest.raises(ValueError, match="vote"):
        Policy.load(path)
    path.write_text("[detection]\nwobble = 'dsp'\n")
    with pytest.raises(ValueError, match="wobble"):
        Policy.load(path)


def test_kind_found_without_restorer_is_queued_unless_the_policy_says_report_only(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[kinds.hum]\nop = 'no_such_op'\n")
    queued = decide({"hum": hum(0.95)}, "speech", Policy.load(path).for_item(None, "speech"), 16000)
    assert queued.found["hum"] is True and queued.unrouted == ("hum",) and not queued.chain
    path.write_text("[kinds.hum]\nop = 'no_such_op'\nreview_unrouted = false\n")
    recorded = decide({"hum": hum(0.95)}, "speech", Policy.load(path).for_item(None, "speech"), 16000)
    assert recorded.found["hum"] is True and recorded.unrouted == () and not recorded.chain


def test_lost_bandwidth_without_a_model_is_recorded_not_queued(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("[kinds.bandwidth]\nop = 'no_bwe_model'\n")  # as when no weights are installed
    lost = Finding("bandwidth", 0.9, 4000.0, "Hz", params={"cutoff_hz": 4000.0})
    decision = decide({"bandwidth": lost}, "music", Policy.load(path).for_item(None, "music"), 44100)
    assert decision.found["bandwidth"] is True and decision.unrouted == () and not decision.chain


def test_files_the_tagger_hears_whole_take_the_whole_band_detection_rules(tmp_path):
    policy = Policy.load()
    assert policy.detection(16000)["bandwidth"] == "either" and policy.detection(8000)["bandwidth"] == "either"
    assert policy.detection(44100)["bandwidth"] == "dsp" and policy.detection(16000)["hum"] == "dsp"
    path = tmp_path / "p.toml"
    path.write_text("[detection_whole_band]\nhum = 'vote'\n")
    with pytest.raises(ValueError, match="vote"):
        Policy.load(path)


def test_a_findings_notice_asks_a_person_even_when_the_kind_is_not_found():
    # e.g. integer overflow wraps in a file without clicks: nothing is restored, the reason is kept
    notice = "3 integer overflow wraps (samples jumping across zero near full scale: a broken digital transfer)"
    clicks = Finding("clicks", 0.05, 0.0, "1/min", params={"models": [[1.0]], "notice": notice})
    decision = decide({"clicks": clicks}, "speech", Policy.load().for_item(None, "speech"), 16000)
    assert not decision.found["clicks"] and not decision.chain
    assert decision.unsure == (f"clicks: {notice}",)


def test_lost_bandwidth_is_recorded_by_default_and_extended_when_the_policy_opts_in(tmp_path):
    from acetate.models import load_all
    from acetate.ops.registry import RESTORERS

    load_all()
    lost = Finding("bandwidth", 0.95, 5000.0, "Hz", params={})
    default = decide({"bandwidth": lost}, "music", Policy.load().for_item(None, "music"), 44100)
    assert default.found["bandwidth"] and not default.chain and default.unrouted == () and default.unsure == ()
    path = tmp_path / "p.toml"
    path.write_text('[kinds.bandwidth]\nop = "extend_bandwidth"\n')
    opted = decide({"bandwidth": lost}, "music", Policy.load(path).for_item(None, "music"), 44100)
    if "extend_bandwidth" not in RESTORERS:
        pytest.skip("bandwidth-extension weights not installed")
    assert [(s.op, s.params["cutoff_hz"]) for s in opted.chain.steps] == [("extend_bandwidth", 5000.0)]
