"""Detection from two witnesses: the DSP detectors and the learned tagger.

Per kind the policy's `[detection]` table says whose score decides: "dsp", "model", or "mean" of
the two (chosen per kind on the validation split: whichever detects better there). The DSP finding
always supplies the severity, regions and restorer parameters; fusion only moves its score. Reasons
to ask a person come out too: the two witnesses contradicting each other on a kind, and audio the
tagger finds unlike anything it was trained on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from acetate.ops.findings import Finding

FUSIONS = ("dsp", "model", "mean")
_DISAGREE = 0.7  # one witness sure it is there (>= 0.85), the other sure it is not (<= 0.15)
_OOD_SHARE = 0.5


def fuse_findings(findings: Mapping[str, Finding], tagger, rules: Mapping[str, str]) -> tuple[dict[str, Finding], list[str]]:
    """(findings with fused scores, review reasons). tagger: a TaggerResult or None."""
    out = dict(findings)
    reasons: list[str] = []
    if tagger is None or not tagger.patches:
        return out, reasons
    for kind, finding in findings.items():
        if kind not in tagger.kinds:
            continue
        model = tagger.kind_score(kind)
        rule = rules.get(kind, "dsp")
        if rule not in FUSIONS:
            raise ValueError(f"detection rule for {kind!r} is {rule!r}; expected one of {FUSIONS}")
        if rule == "model":
            score = model
        elif rule == "mean":
            score = 0.5 * (finding.score + model)
        else:
            score = finding.score
        out[kind] = dataclasses.replace(finding, score=float(min(1.0, max(0.0, score))))
        if abs(finding.score - model) >= _DISAGREE:
            reasons.append(f"{kind}: DSP detector {finding.score:.2f} and learned model {model:.2f} disagree")
    if tagger.ood_fraction > _OOD_SHARE:
        reasons.append(f"audio unlike the training data ({tagger.ood_fraction:.0%} of analysed patches)")
    return out, reasons


def fuse_content(dsp: tuple[str, float], tagger) -> tuple[str, float]:
    """Silence is the DSP analyzer's call (a level); otherwise the tagger's, when it heard anything."""
    if dsp[0] == "silence" or tagger is None:
        return dsp
    learned = tagger.content()
    return learned if learned is not None else dsp
