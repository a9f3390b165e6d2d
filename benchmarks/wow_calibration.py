"""Calibrating the `wow` detector's evidence on the corpus's training split (never the test split).

    .venv/bin/python benchmarks/wow_calibration.py features --corpus .corpus --split train --out /tmp/wow_train.json
    .venv/bin/python benchmarks/wow_calibration.py features --corpus .corpus --split validation --out /tmp/wow_val.json
    .venv/bin/python benchmarks/wow_calibration.py fit /tmp/wow_train.json --check /tmp/wow_val.json

`features`: every clip (its first 6 s, as in the quality benchmark) clean and degraded by the
simulator (each kind alone at moderate severity, some combinations, wow at mild, moderate and
severe depth), fed to WowDetector; one row per analysed segment with `acetate.ops.wow.features`.
`fit`: logistic regression (Newton, L2 0.01) of "wow present" on those features, positives being
music with moderate or severe wow (speech with wow is left out: in 6 s its wow cannot be told
from intonation, and teaching the model otherwise would only make it fire on clean speech), the
bias then moved so that 1 % of the training negatives of each content score above 0; prints the weights for
acetate.ops.wow.WEIGHTS and, with --check, recall and false-positive rates on other rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import soundfile as sf

from acetate.ops import degrade
from acetate.ops.wow import WEIGHTS, WowDetector, raw_features

VARIANTS = [("clean", (), "moderate"), ("wow", ("wow",), "moderate"), ("mild_wow", ("wow",), "mild"),
            ("severe_wow", ("wow",), "severe"), ("noise", ("noise",), "moderate"), ("hum", ("hum",), "moderate"),
            ("clicks", ("clicks",), "moderate"), ("crackle", ("crackle",), "moderate"),
            ("clipping", ("clipping",), "moderate"), ("bandwidth", ("bandwidth",), "moderate"),
            ("dropouts", ("dropouts",), "moderate"), ("severe_noise", ("noise",), "severe"),
            ("wow+noise", ("wow", "noise"), "moderate"), ("wow+bandwidth+clicks", ("wow", "bandwidth", "clicks"), "moderate"),
            ("hum+noise", ("hum", "noise"), "moderate")]
SPEECH_VARIANTS = {"clean", "wow", "severe_wow", "noise", "hum", "clipping", "bandwidth", "severe_noise", "wow+noise"}
NAMES = list(WEIGHTS)[1:]


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")


def clip_rows(corpus: Path, clip: dict, seconds: float) -> list[dict]:
    audio, sr = sf.read(corpus / clip["path"], dtype="float32", always_2d=True, frames=int(seconds * clip["sample_rate"]))
    x = np.ascontiguousarray(audio.T)
    rows = []
    for name, kinds, severity in VARIANTS:
        if clip["content"] == "speech" and name not in SPEECH_VARIANTS:
            continue
        y, label = degrade.degrade(x, sr, list(kinds), severity, seed=_seed(clip["id"], name)) if kinds else (x, None)
        det = WowDetector(sr, x.shape[0])
        det.update(y)
        finding = det.finish()
        truth = {}
        if label and "wow" in kinds:
            p = next(s for s in label["steps"] if s["kind"] == "wow")["params"]
            truth = {"true_hz": p["wow_rate_hz"], "true_pct": p["wow_depth_pct"]}
        for seg in det.segments:
            rows.append({"id": clip["id"], "content": clip["content"], "rate": sr, "channels": x.shape[0],
                         "variant": name, "severity": severity, "wow": "wow" in kinds, "score": finding.score,
                         "hz": seg.wow.freq, "pct": seg.wow.depth * 100, **truth,
                         "line": {"snr": seg.wow.snr, "depth": seg.wow.depth, "explained": seg.wow.explained,
                                  "halves": seg.wow.halves, "spread": seg.wow.spread, "unsteady": seg.wow.unsteady,
                                  "tracks": seg.tracks}})
    return rows


def cmd_features(args: argparse.Namespace) -> None:
    manifest = [r for r in pq.read_table(args.corpus / "manifest.parquet").to_pylist() if r["split"] == args.split]
    chosen = []
    for content, n in (("music", args.music), ("speech", args.speech)):
        chosen += [r for r in manifest if r["content"] == content][:n]
    rows: list[dict] = []
    for i, clip in enumerate(chosen):
        rows += clip_rows(args.corpus, clip, args.seconds)
        if i % 10 == 9 or i == len(chosen) - 1:
            args.out.write_text(json.dumps(rows))
            print(f"{i + 1}/{len(chosen)} clips, {len(rows)} rows", file=sys.stderr)


def _with_features(rows: list[dict]) -> list[dict]:
    return [{**r, **raw_features(**r["line"])} for r in rows]


def _positive(r: dict) -> bool:
    return r["wow"] and r["severity"] in ("moderate", "severe") and r["content"] == "music"


def _train_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if not r["wow"] or _positive(r)]


def fit(rows: list[dict], l2: float = 0.01, negative_rate: float = 0.01) -> dict[str, float]:
    """Weights for WEIGHTS; the bias puts `negative_rate` of each content's negatives above 0."""
    rows = _train_rows(rows)
    x = np.array([[1.0] + [r[k] for k in NAMES] for r in rows])
    y = np.array([1.0 if _positive(r) else 0.0 for r in rows])
    mu, sd = x[:, 1:].mean(axis=0), x[:, 1:].std(axis=0) + 1e-9
    xs = np.hstack([x[:, :1], (x[:, 1:] - mu) / sd])
    # balance the classes
    sw = np.where(y > 0, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    beta = np.zeros(xs.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-xs @ beta))
        grad = xs.T @ (sw * (p - y)) + l2 * np.r_[0, beta[1:]] * len(y)
        hess = (xs * (sw * p * (1 - p))[:, None]).T @ xs + l2 * len(y) * np.diag(np.r_[0, np.ones(len(beta) - 1)])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    w = beta[1:] / sd
    b = beta[0] - float(np.sum(beta[1:] * mu / sd))
    z = x[:, 1:] @ w + b
    b -= max(float(np.quantile(z[(y == 0) & np.array([r["content"] == c for r in rows])], 1 - negative_rate))
             for c in ("music", "speech") if any(r["content"] == c and y[i] == 0 for i, r in enumerate(rows)))
    return {"bias": round(b, 4), **{k: round(float(v), 4) for k, v in zip(NAMES, w, strict=True)}}


def report(rows: list[dict], weights: dict[str, float], title: str) -> None:
    z = {id(r): weights["bias"] + sum(weights[k] * r[k] for k in NAMES) for r in rows}
    groups: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for r in rows:
        groups[(r["content"], r["variant"])].append(z[id(r)] > 0)
    print(f"\n{title}: share of segments scored as wow")
    for (content, variant), hits in sorted(groups.items()):
        print(f"  {content:6s} {variant:24s} {np.mean(hits):.3f}  (n={len(hits)})")
    for content in ("music", "speech"):
        neg = [z[id(r)] > 0 for r in rows if r["content"] == content and not r["wow"]]
        pos = [z[id(r)] > 0 for r in rows if r["content"] == content and r["wow"] and r["severity"] == "moderate"]
        if neg:
            print(f"  {content}: FP rate on non-wow segments {np.mean(neg):.3f}, recall on moderate wow "
                  f"{np.mean(pos) if pos else float('nan'):.3f}")


def cmd_fit(args: argparse.Namespace) -> None:
    rows = _with_features(json.loads(Path(args.train).read_text()))
    weights = fit(rows)
    print("WEIGHTS =", json.dumps(weights))
    report(rows, weights, f"train ({args.train})")
    for path in args.check or []:
        report(_with_features(json.loads(Path(path).read_text())), weights, f"check ({path})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("--corpus", type=Path, default=Path(".corpus"))
    f.add_argument("--split", default="train", choices=["train", "validation"])
    f.add_argument("--music", type=int, default=100)
    f.add_argument("--speech", type=int, default=60)
    f.add_argument("--seconds", type=float, default=6.0)
    f.add_argument("--out", type=Path, required=True)
    f.set_defaults(fn=cmd_features)
    g = sub.add_parser("fit")
    g.add_argument("train")
    g.add_argument("--check", nargs="*")
    g.set_defaults(fn=cmd_fit)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
