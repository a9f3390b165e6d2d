"""Same-run A/B: process_item on the typical route with the code of an earlier commit against the
working tree, on the same file, alternating, each side in its own child process.

On a machine shared with other jobs a figure from another day is not comparable; two builds timed
in turns within minutes are. The earlier commit's packages (catalog, flows, models, ops, pipelines)
are extracted with `git archive` into the work folder and the child maps `acetate.*` onto them
before importing anything (the editable install's finder reads its MAPPING at import time); the
model weights are the working tree's on both sides, so only code differs; with `only`, the new side
is the same earlier code with just the listed files from the working tree. Each child runs
process_item `repeats` times and reports its least CPU time; the parent takes the best of `rounds`
children per side.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("catalog", "flows", "models", "ops", "pipelines")

_CHILD = r"""
import json, os, sys, time
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[v] = "1"
tree, bench, src, work, repeats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if tree:
    import __editable___acetate_0_1_0_finder as finder
    for name in list(finder.MAPPING):
        finder.MAPPING[name] = os.path.join(tree, finder.MAPPING[name].rsplit("/", 1)[-1])
sys.path.insert(0, bench)
import torch
torch.set_num_threads(1)
from pathlib import Path
from speed_lib.timing import catalog_item, cpu_best, forced_policy, run_item
import acetate.ops
from acetate.models import load_all
load_all()
root, item = catalog_item(Path(src))
policy = forced_policy(Path(work))
run_item(root, item, Path(work), policy)  # warm: weights loaded, caches filled
cpu, wall, rec = cpu_best(lambda: run_item(root, item, Path(work), policy), repeats)
print(json.dumps({"cpu_s": cpu, "wall_s": wall, "status": rec["status"], "chain": [s["op"] for s in rec["chain"] or []],
                  "ops_path": os.path.dirname(acetate.ops.__file__)}))
"""


def extract(commit: str, dest: Path) -> Path:
    """The commit's packages under dest/<commit>, with the working tree's model weights."""
    tree = dest / f"tree-{commit}"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    data = subprocess.run(["git", "-C", str(REPO), "archive", commit, *PACKAGES], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(tree, filter="data")
    weights = tree / "models" / "weights"
    shutil.rmtree(weights, ignore_errors=True)
    shutil.copytree(REPO / "models" / "weights", weights)
    return tree


def _child(tree: Path | None, src: Path, work: Path, repeats: int) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(tree or ""), str(REPO / "benchmarks"), str(src), str(work),
                          str(repeats)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def overlay(tree: Path, dest: Path, only: list[str]) -> Path:
    """A copy of `tree` with the working tree's version of each path in `only` (repository-relative,
    e.g. ops/hum_cancel.py): the earlier commit plus just those changes, so work others committed
    meanwhile does not enter the ratio."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(tree, dest)
    for rel in only:
        shutil.copy2(REPO / rel, dest / rel)
    return dest


def ab(commit: str, files: dict[str, tuple[Path, float]], work: Path, rounds: int = 3, repeats: int = 2,
       only: list[str] | None = None) -> dict:
    """files: label -> (source file, audio seconds). The new side is the working tree, or with `only`
    the commit's code with those files from the working tree (`overlay`). Returns, per label, each
    side's best CPU s and real-time factor, and the ratio (old CPU / new CPU)."""
    tree = extract(commit, work)
    new_tree = overlay(tree, work / f"tree-{commit}-overlay", only) if only else None
    rows = []
    for label, (src, seconds) in files.items():
        best: dict[str, dict] = {}
        for r in range(rounds):
            for side, t in (("old", tree), ("new", new_tree)):
                got = _child(t, src, work / f"ab-{side}-{r}", repeats)
                if side not in best or got["cpu_s"] < best[side]["cpu_s"]:
                    best[side] = got
        rows.append({"label": label, "seconds": seconds,
                     **{f"{side}_{k}": v for side, got in best.items() for k, v in got.items() if k != "ops_path"},
                     "old_x": seconds / best["old"]["cpu_s"], "new_x": seconds / best["new"]["cpu_s"],
                     "ratio": best["old"]["cpu_s"] / best["new"]["cpu_s"], "old_ops": best["old"]["ops_path"]})
    shutil.rmtree(tree, ignore_errors=True)
    if new_tree is not None:
        shutil.rmtree(new_tree, ignore_errors=True)
    return {"commit": commit, "rounds": rounds, "repeats": repeats, "only": list(only or []), "rows": rows}
