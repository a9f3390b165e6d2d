"""A small archive of short degraded files, shared by pipeline and flow tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from acetate.pipelines.demo_archive import DemoFile, in_order, unchanged, with_clipping, with_dc, with_hum

# Short files so engine and flow tests stay quick; each degradation the foundation ops handle.
SMALL_ARCHIVE = (
    DemoFile("talks/hum50.wav", 16000, 1, "speech", 3.0, with_hum(50.0, -30.0)),
    DemoFile("talks/clipped.flac", 22050, 1, "speech", 3.0, with_clipping(0.5)),
    DemoFile("talks/clean.wav", 16000, 1, "speech", 3.0, unchanged),
    DemoFile("music/hum60_dc.flac", 44100, 2, "music", 3.0, in_order(with_hum(60.0, -30.0), with_dc(0.02)), "PCM_24"),
    DemoFile("music/clean.wav", 44100, 2, "music", 3.0, unchanged),
)


def tree_state(root: Path) -> dict[str, tuple[str, int]]:
    """sha256 and mtime of every file under root: to prove sources are never touched."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*")) if p.is_file()
    }
