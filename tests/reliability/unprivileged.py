"""Running a piece of acetate as a user without root's power to read everything.

Root reads a file whatever its mode, so permission errors can only be seen as another user: as root
the command is run as `nobody` through setpriv (util-linux); as any other user it runs as that user.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

NOBODY = 65534


def drop_privileges_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("running as root without setpriv (util-linux): cannot drop to an unprivileged user")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@contextlib.contextmanager
def shared_dir() -> Iterator[Path]:
    """A temporary folder the unprivileged user can enter (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="acetate-unpriv-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in path.rglob("*"):  # make what the test locked removable again
            with contextlib.suppress(OSError):
                p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(path, ignore_errors=True)


def give_to_user(path: Path) -> None:
    """Let the unprivileged user write under `path` (its OUT)."""
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def run_python(code: str, *args: str, timeout: float = 300) -> object:
    """Run `code` (which prints one JSON document last) as the unprivileged user; return the JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PREFECT"))}
    env.update(HOME=tempfile.gettempdir(), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([*drop_privileges_prefix(), sys.executable, "-c", code, *args], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
