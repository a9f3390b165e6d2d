"""A hostile archive: a manifest naming files outside its root in every way a path can, symlinks
leading out, duplicates, missing files, folders and extra columns; and the secret files beside it
that no run may open."""

from __future__ import annotations

import csv
from pathlib import Path

import soundfile as sf
from bad_files import voice


def manifest_rows(secret: Path) -> list[tuple[str, str | None]]:
    """(manifest path, the error its record must carry; None: processed normally)."""
    escape = "path escapes the archive root"
    return [
        ("talks/good.wav", None),
        ("../secret/secret.wav", escape),
        (str(secret / "secret.wav"), escape),  # absolute, outside
        ("talks/../../secret/secret.wav", escape),
        ("talks/link-out.wav", escape),  # a symlink to the secret file
        ("linked-dir/secret.wav", escape),  # through a symlinked folder
        ("/etc/passwd", escape),
        ("/dev/zero", escape),
        ("talks/missing.wav", "file not found"),
        ("talks", "not a regular file"),
        ("talks/./good.wav", None),  # the same file again: dropped as a duplicate
        ("talks/good.wav", None),  # listed twice: dropped
        ("talks/inside-link.wav", None),  # a symlink that stays inside the root
    ]


def build(base: Path) -> tuple[Path, Path, Path]:
    """(archive root, manifest, secret folder) under base."""
    root, secret = base / "archive", base / "secret"
    (root / "talks").mkdir(parents=True)
    secret.mkdir()
    sf.write(secret / "secret.wav", voice(16000, 1.0), 16000)
    sf.write(root / "talks" / "good.wav", voice(16000, 1.0), 16000)
    (root / "talks" / "link-out.wav").symlink_to(secret / "secret.wav")
    (root / "talks" / "inside-link.wav").symlink_to(root / "talks" / "good.wav")
    (root / "linked-dir").symlink_to(secret, target_is_directory=True)
    manifest = root / "manifest.csv"
    with open(manifest, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "collection", "shelfmark", "sha256"])  # extra columns, one a catalog name
        for i, (path, _) in enumerate(manifest_rows(secret)):
            w.writerow([path, "oral-history", f"OH-{i:03d}", "not-a-hash"])
    return root, manifest, secret
