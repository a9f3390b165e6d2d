"""Detection by each witness alone and fused (`make bench-detection`): what the policy's [detection]
rules are chosen on.

    .venv/bin/python benchmarks/detection.py [--split validation|test] [--severities mild moderate severe]

Builds a degraded archive from a corpus split (as the quality benchmark does, one seed per severity),
runs analysis on every file (the DSP detectors, the content analyzer, the learned tagger), and
scores each kind by every fusion rule the policy knows (the DSP detector alone, the tagger alone,
their mean, the higher of the two), each deciding at 0.5. Per kind: precision, recall, F1, false-positive rate on clean files; content
accuracy (speech vs music) of both classifiers; for bandwidth also a table by severity and rate
set (its DSP detector is blind to gentle low-passes at 16 kHz and to band loss under hiss). The
rule with the best F1 on the validation split (ties: DSP, whose severity and regions the
restorers use anyway) is the recommended `[detection]` entry; the test split is for reporting
only. Results: benchmarks/results/detection-<split>.md/.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from quality_lib.tables import has_kind  # noqa: E402
from quality_lib.testset import KINDS, build_testset  # noqa: E402

from acetate.pipelines.fusion import FUSIONS, fused_score  # noqa: E402

RULES = FUSIONS


def analyse(job: tuple[str, str]) -> dict:
    """Scores of one file: per kind DSP and model; content by each classifier."""
    root, rel = job
    from acetate.models import load_all
    from acetate.models.tagger import tagger_analyzer
    from acetate.ops.content import ContentAnalyzer
    from acetate.ops.registry import DETECTORS
    from acetate.pipelines.audio_io import read_blocks

    load_all()
    info = sf.info(str(Path(root) / rel))
    sr, ch = info.samplerate, info.channels
    detectors = [cls(sr, ch) for cls in DETECTORS.values()]
    content = ContentAnalyzer(sr, ch)
    tagger = tagger_analyzer(sr, ch)
    parts = [*detectors, content] + ([tagger] if tagger else [])
    for block in read_blocks(Path(root) / rel, 10 * sr):
        for p in parts:
            p.update(block)
    tagged = tagger.finish() if tagger else None
    out = {"path": rel, "content_dsp": content.finish()[0],
           "content_model": (tagged.content() or ("none", 0))[0] if tagged else None}
    for d in detectors:
        out[f"dsp_{d.kind}"] = float(d.finish().score)
    for kind in KINDS:
        out[f"model_{kind}"] = tagged.kind_score(kind) if tagged and kind in tagged.kinds else None
    return out


def score(rows: list[dict], kind: str, rule: str) -> dict | None:
    def s(r):
        d, m = r.get(f"dsp_{kind}"), r.get(f"model_{kind}")
        if rule == "dsp":
            return d
        if rule == "model":
            return m
        return None if d is None or m is None else fused_score(rule, d, m)

    if any(s(r) is None for r in rows):
        return None
    truth = [has_kind(r, kind) for r in rows]
    pred = [s(r) >= 0.5 for r in rows]
    tp = sum(t and p for t, p in zip(truth, pred, strict=True))
    fp = sum(p and not t for t, p in zip(truth, pred, strict=True))
    fn = sum(t and not p for t, p in zip(truth, pred, strict=True))
    clean = [p for r, p in zip(rows, pred, strict=True) if not r["kinds"]]
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return {"n": sum(truth), "precision": prec, "recall": rec, "f1": f1,
            "fp_clean": sum(clean) / len(clean) if clean else float("nan")}


def by_severity_and_set(rows: list[dict], kind: str) -> list[str]:
    """Markdown lines: `kind`'s F1 per rule and the DSP's false positives on clean files, per severity
    run (and moderate+severe, where the targets are) and per rate set: where a witness sees and where
    it is blind (the bandwidth detector at 16 kHz, for one)."""
    sevs = sorted({r["severity_run"] for r in rows}, key=["mild", "moderate", "severe"].index)
    groups = [(s,) for s in sevs] + ([("moderate", "severe")] if {"moderate", "severe"} <= set(sevs) else [])
    sets = sorted({r["set"] for r in rows})
    lines = [f"{kind} by severity and rate set (F1 DSP / model / mean / either; DSP false positives on clean files):", "",
             "| severity | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for g in groups:
        cells = []
        for st in sets:
            sel = [r for r in rows if r["severity_run"] in g and r["set"] == st]
            res = [score(sel, kind, rule) for rule in RULES]
            f1 = " / ".join("—" if v is None else f"{v['f1']:.2f}" for v in res)
            clean = [r for r in sel if not r["kinds"]]
            fp = sum(r[f"dsp_{kind}"] >= 0.5 for r in clean)
            cells.append(f"{f1}; {fp}/{len(clean)}")
        lines.append(f"| {'+'.join(g)} | " + " | ".join(cells) + " |")
    return lines + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="validation", choices=("validation", "test"))
    ap.add_argument("--severities", nargs="*", default=["mild", "moderate", "severe"])
    ap.add_argument("--corpus", type=Path, default=REPO / ".corpus")
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--work", type=Path, default=HERE / "work" / "detection")
    ap.add_argument("--results", type=Path, default=HERE / "results")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    rows = []
    for sev in args.severities:
        root = args.work / f"{args.split}-{sev}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        made = build_testset(args.corpus, root, seed=args.seed, clips_per_group=args.clips, max_seconds=6.0,
                             split=args.split, severity=sev).to_pylist()
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            found = list(pool.map(analyse, [(str(root), r["path"]) for r in made], chunksize=4))
        rows += [{**r, **f, "severity_run": sev} for r, f in zip(made, found, strict=True)]
    summary: dict = {"split": args.split, "severities": args.severities, "files": len(rows), "kinds": {}}
    lines = [f"# Detection, {args.split} split", "",
             f"`benchmarks/detection.py --split {args.split}`: {len(rows)} files ({args.clips} clips per rate set "
             f"and content, each clean + 3 single kinds + 1 combination) at {', '.join(args.severities)} "
             "severity. Each witness decides at 0.5; `mean` averages the two scores, `either` takes the higher.", "",
             "| kind | files with it | " + " | ".join(f"{r} F1" for r in RULES) + " | "
             + " | ".join(f"{r} FP on clean" for r in RULES) + " | best |", "|---|---|" + "---|" * (2 * len(RULES) + 1)]
    for kind in KINDS:
        res = {rule: score(rows, kind, rule) for rule in RULES}
        valid = {k: v for k, v in res.items() if v is not None}
        best = max(valid, key=lambda k: (round(valid[k]["f1"], 3) if valid[k]["f1"] == valid[k]["f1"] else -1,
                                         k == "dsp")) if valid else "dsp"
        summary["kinds"][kind] = {"rules": res, "best": best}

        def cell(rule, key, res=res):
            v = res[rule]
            return "—" if v is None else f"{v[key]:.2f}"
        n = next((v["n"] for v in valid.values()), sum(has_kind(r, kind) for r in rows))
        lines.append(f"| {kind} | {n} | " + " | ".join(cell(r, "f1") for r in RULES) + " | "
                     + " | ".join(cell(r, "fp_clean") for r in RULES) + f" | {best} |")
    lines += [""] + by_severity_and_set(rows, "bandwidth")
    for who in ("dsp", "model"):
        acc = [r[f"content_{who}"] == r["content"] for r in rows if r.get(f"content_{who}") is not None]
        summary[f"content_accuracy_{who}"] = sum(acc) / len(acc) if acc else None
    lines += [f"Content accuracy (speech vs music): DSP {summary['content_accuracy_dsp']:.3f}, model "
              + (f"{summary['content_accuracy_model']:.3f}" if summary["content_accuracy_model"] is not None else "—"),
              "", "Recommended `[detection]` rules (best F1 here; ties go to DSP):", "", "```toml", "[detection]"]
    lines += [f'{k} = "{v["best"]}"' for k, v in summary["kinds"].items()] + ["```", ""]
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"detection-{args.split}.json").write_text(json.dumps({**summary, "rows": rows}, indent=0, default=str))
    (args.results / f"detection-{args.split}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
