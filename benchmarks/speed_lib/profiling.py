"""Where the time goes: cProfile over analysis, the typical route's restore stage and each op.

Each profile lists the functions with the most self time (time in the function itself, not in what
it calls), as a share of the profiled run; cProfile's own overhead inflates pure-Python code a little.
"""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _where(file: str, line: int, name: str) -> str:
    if file == "~":  # a builtin or C function
        return name.strip("<>").replace("method '", "").replace("' of '", " of ").replace("' objects", "")
    p = Path(file)
    if "site-packages" in p.parts:  # a library: name it from its package down
        p = Path(*p.parts[p.parts.index("site-packages") + 1:])
    elif p.is_relative_to(REPO):
        p = p.relative_to(REPO)
    return f"{p}:{line} {name}"


def hot_spots(fn: Callable[[], Any], top: int = 6) -> dict:
    """Profile one call of fn; the `top` functions by self time, each with its share of the run."""
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt or 1e-12
    entries = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)
    return {"total_s": total,
            "top": [{"where": _where(*key), "self_s": v[2], "share": v[2] / total, "calls": v[1]}
                    for key, v in entries[:top]]}
