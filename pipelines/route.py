"""Routing: from a file's findings, content class and policy to the chain of ops that fits it.

Do no harm: a kind whose detector is below threshold adds nothing, so a clean file gets an empty
chain and is not touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from acetate.models import load_all
from acetate.ops.findings import KINDS, Finding
from acetate.ops.registry import RESTORERS

from .chain import Chain, Step
from .policy import ItemPolicy


@dataclass(frozen=True)
class Decision:
    """What routing decided for one file and why."""

    chain: Chain
    found: dict[str, bool | None]  # None: no detector for the kind yet
    scores: dict[str, float | None]
    unsure: tuple[str, ...] = ()  # reasons to ask a person
    unrouted: tuple[str, ...] = field(default=())  # found, no available op, and the policy asks review


def decide(findings: Mapping[str, Finding], content: str, policy: ItemPolicy, sample_rate: int) -> Decision:
    load_all()
    found: dict[str, bool | None] = {k: None for k in KINDS}
    scores: dict[str, float | None] = {k: None for k in KINDS}
    unsure: list[str] = []
    unrouted: list[str] = []
    steps: list[Step] = []
    for kind, finding in findings.items():
        rules = policy.kind(kind)
        scores[kind] = float(finding.score)
        hit = finding.score >= rules["threshold"] and not policy.skipped(kind)
        found[kind] = bool(hit)
        if hit and finding.params.get("review"):  # what the op cannot do (e.g. gaps too long to fill)
            unsure.append(f"{kind}: {finding.params['review']}")
        if finding.params.get("notice"):  # what a person should see whether or not the kind is found
            unsure.append(f"{kind}: {finding.params['notice']}")
        if abs(finding.score - rules["threshold"]) < rules["review_margin"] and not policy.skipped(kind):
            unsure.append(f"{kind} score {finding.score:.2f} near threshold {rules['threshold']:.2f}")
        if not hit:
            continue
        op = rules.get("op")
        if op not in RESTORERS:
            if rules.get("review_unrouted", True):
                unrouted.append(kind)
            continue
        steps.extend(_steps_for(kind, op, finding, rules, sample_rate))
    order = {name: i for i, name in enumerate(policy.order)}
    steps.sort(key=lambda s: order.get(s.op, len(order)))
    return Decision(Chain(tuple(steps)), found, scores, tuple(unsure), tuple(unrouted))


def _steps_for(kind: str, op: str, finding: Finding, rules: Mapping, sample_rate: int) -> list[Step]:
    restorer = RESTORERS[op]
    params = dict(restorer.params_from(finding, sample_rate))
    params.update(rules.get("params", {}))
    steps = [Step.of(restorer, params)]
    if kind == "clipping" and "headroom" in RESTORERS:
        level = _max_clip_level(finding)
        if level >= rules.get("headroom_above_level", 1.1):
            steps.append(Step.of(RESTORERS["headroom"], {"gain_db": float(rules["headroom_db"])}))
    return steps


def _max_clip_level(finding: Finding) -> float:
    levels = [abs(float(v)) for key in ("positive", "negative") for v in finding.params.get(key, [])]
    return max(levels, default=0.0)
