"""Detection from two witnesses: the DSP detectors and the learned tagger.

Per kind the policy's `[detection]` table says whose score decides: "dsp", "model", the "mean" of
the two, or "either" (the higher: each witness sees what the other cannot), chosen per kind on the
validation split: whichever detects better there (`make bench-detection`). The DSP finding always
supplies the severity, regions and restorer parameters; fusion only moves its score.

A person is asked only where the model's word counts: the two witnesses contradicting each other on
a kind whose rule involves the model, and audio the tagger finds unlike its training data when that
would change a decision. Unfamiliar audio is then judged by the DSP witness alone (its detectors are
not trained, so they do not share the model's blind spot). Where the rule is "dsp" the model was
measured to be the worse witness, and its disagreement alone is not a reason to stop a file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from acetate.ops.findings import Finding

FUSIONS = ("dsp", "model", "mean", "either")
_DISAGREE = 0.7  # e.g. one witness sure it is there (>= 0.85), the other sure it is not (<= 0.15)
_OOD_SHARE = 0.5  # share of analysed patches beyond the training data's 99.5th percentile


def fused_score(rule: str, dsp: float, model: float) -> float:
    """The score `rule` makes of the two witnesses' (in [0, 1]); the detection benchmark uses it too."""
    if rule not in FUSIONS:
        raise ValueError(f"detection rule is {rule!r}; expected one of {FUSIONS}")
    score = {"model": model, "mean": 0.5 * (dsp + model), "either": max(dsp, model)}.get(rule, dsp)
    return float(min(1.0, max(0.0, score)))


def unfamiliar(tagger) -> bool:
    """True when most analysed patches lie outside what the tagger was trained on."""
    return tagger is not None and tagger.patches > 0 and tagger.ood_fraction > _OOD_SHARE


def fuse_findings(findings: Mapping[str, Finding], tagger, rules: Mapping[str, str],
                  thresholds: Mapping[str, float] | None = None) -> tuple[dict[str, Finding], list[str]]:
    """(findings with fused scores, review reasons). tagger: a TaggerResult or None; thresholds:
    the policy's decision threshold per kind (0.5 where absent)."""
    out = dict(findings)
    reasons: list[str] = []
    if tagger is None or not tagger.patches:
        return out, reasons
    ood = unfamiliar(tagger)
    flipped: list[str] = []
    for kind, finding in findings.items():
        rule = rules.get(kind, "dsp")
        if kind not in tagger.kinds or rule == "dsp":
            fused_score(rule, 0.0, 0.0)  # still refuse an unknown rule name
            continue
        model = tagger.kind_score(kind)
        score = fused_score(rule, finding.score, model)
        threshold = (thresholds or {}).get(kind, 0.5)
        if ood:
            if (score >= threshold) != (finding.score >= threshold):
                flipped.append(kind)
            continue  # the DSP witness decides on unfamiliar audio
        out[kind] = dataclasses.replace(finding, score=score)
        if rule != "either" and abs(finding.score - model) >= _DISAGREE:  # "either" expects it
            reasons.append(f"{kind}: DSP detector {finding.score:.2f} and learned model {model:.2f} disagree")
    if flipped:
        reasons.append(f"audio unlike the tagger's training data ({tagger.ood_fraction:.0%} of analysed "
                       f"patches): judged by the DSP detectors alone, which decide {', '.join(flipped)} "
                       "differently from the fused rule")
    return out, reasons


def fuse_content(dsp: tuple[str, float], tagger) -> tuple[str, float]:
    """Silence is the DSP analyzer's call (a level); otherwise the tagger's, when it heard anything
    and the audio is like what it was trained on."""
    if dsp[0] == "silence" or tagger is None or unfamiliar(tagger):
        return dsp
    learned = tagger.content()
    return learned if learned is not None else dsp
