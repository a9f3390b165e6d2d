"""Which files a command opens and changes, seen from the kernel (strace), so a test can prove
that nothing outside SOURCE and OUT is read or written: libsndfile, DuckDB and Arrow open files in
C, where no Python hook would see them."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# Calls that read a file's content or create/change/remove a name. Metadata (stat, readlink) is
# not reading: the scan resolves symlinks precisely to refuse the ones that lead outside.
_OPEN = ("open", "openat", "openat2", "creat")
_CHANGE = ("rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "link",
           "linkat", "symlink", "symlinkat", "truncate", "chmod", "fchmodat", "utimensat", "chown", "fchownat")
_LINE = re.compile(r'^(?P<pid>\d+)\s+(?P<call>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+)')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")


def strace_available() -> bool:
    return shutil.which("strace") is not None


@dataclass
class FileTrace:
    opened: set[str] = field(default_factory=set)  # every path successfully opened
    written: set[str] = field(default_factory=set)  # opened for writing, created, renamed, removed...

    def under(self, folder: Path, paths: set[str]) -> set[str]:
        top = str(folder).rstrip("/")
        return {p for p in paths if p == top or p.startswith(top + "/")}


def traced_run(cmd: list[str], log: Path, **kwargs) -> tuple[subprocess.CompletedProcess, FileTrace]:
    """Run cmd under `strace -f` (every thread and child); returns its result and the files it touched.
    Relative paths in the log are taken against kwargs['cwd'], which must be given as absolute."""
    cwd = Path(kwargs["cwd"])
    calls = ",".join(_OPEN + _CHANGE)
    proc = subprocess.run(["strace", "-f", "-qq", "-s", "4096", "-e", f"trace={calls}", "-o", str(log), *cmd],
                          **kwargs)
    trace = FileTrace()
    for line in log.read_text(errors="replace").splitlines():
        m = _LINE.match(line)
        if not m or int(m["ret"]) < 0:
            continue
        paths = [_unescape(s) for s in _STRING.findall(m["args"])]
        paths = [p if p.startswith("/") else str(cwd / p) for p in paths]
        if m["call"] in _OPEN:
            if not paths:
                continue
            trace.opened.add(paths[0])
            if m["call"] == "creat" or any(f in m["args"] for f in _WRITE_FLAGS):
                trace.written.add(paths[0])
        else:
            trace.written.update(paths)
    return proc, trace


def _unescape(s: str) -> str:
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1").decode(
        "utf-8", "replace")
