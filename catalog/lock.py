"""One batch at a time per OUT: an exclusive lock file with a heartbeat, taken over when stale.

    OUT/.acetate/lock          JSON {token, pid, host, boot, pid_start, owner, acquired_at};
                               its mtime is the heartbeat

Two nightly runs on the same OUT (an overrunning batch and the next night's, or two machines sharing
the OUT) must not process the same item twice nor race on the catalog snapshot, so the whole batch
holds this lock. It is created atomically with `os.link` of a fully written temporary file (fails
with EEXIST if the lock exists, also on NFS: the classic NFS-safe lock), so a reader never sees a
half-written lock.

A lock is stale, and may be taken over, when
- its holder ran on this host (same boot) and that process is gone (killed, crashed): at once, or
- its heartbeat is older than `stale_after_s` (a holder on another host that stopped beating).
Breaking a stale lock is serialised by a second, short-lived lock (`lock.break`) and re-checks that
the lock is still the stale one it judged, so two runs that both find a stale lock cannot both take
it. A holder that finds its lock gone or replaced (it stalled past `stale_after_s` and was taken
over) sets `lost`, and the batch stops taking new work.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOCK_DIR = ".acetate"
LOCK_FILE = "lock"
BREAK_FILE = "lock.break"


class LockHeld(RuntimeError):
    """OUT is locked by a live batch."""

    def __init__(self, path: Path, holder: dict[str, Any], age_s: float) -> None:
        self.path, self.holder, self.age_s = path, holder, age_s
        super().__init__(
            f"{path.parent.parent} is in use by another batch ({holder.get('owner') or '?'}, pid "
            f"{holder.get('pid')} on {holder.get('host')}, since {holder.get('acquired_at')}, last "
            f"heartbeat {age_s:.0f} s ago); it is taken over once its process is gone or its "
            f"heartbeat is older than the stale limit")


def lock_path(out: str | Path) -> Path:
    return Path(out) / LOCK_DIR / LOCK_FILE


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _pid_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return start is None or _pid_start(pid) in (None, start)


def _read(path: Path) -> tuple[dict[str, Any], float] | None:
    """(content, mtime) of a lock file, None if it is not there (or unreadable: being replaced)."""
    try:
        st = path.stat()
        return json.loads(path.read_text()), st.st_mtime
    except (OSError, ValueError):
        return None


@dataclass
class _Judgement:
    stale: bool
    why: str


class OutLock:
    """Exclusive lock on OUT for one batch; a context manager. Heartbeats from a daemon thread."""

    def __init__(self, out: str | Path, owner: str = "", *, heartbeat_s: float = 15.0,
                 stale_after_s: float = 120.0) -> None:
        if stale_after_s <= 2 * heartbeat_s:
            raise ValueError("stale_after_s must exceed two heartbeats")
        self.path = lock_path(out)
        self.owner = owner
        self.heartbeat_s = heartbeat_s
        self.stale_after_s = stale_after_s
        self.token = secrets.token_hex(8)
        self.lost = False
        self.took_over: dict[str, Any] | None = None  # the stale holder replaced, if any
        self._held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- acquiring ---------------------------------------------------------------------------
    def _content(self) -> dict[str, Any]:
        pid = os.getpid()
        return {"token": self.token, "pid": pid, "host": socket.gethostname(), "boot": _boot_id(),
                "pid_start": _pid_start(pid), "owner": self.owner,
                "acquired_at": datetime.now(UTC).isoformat(timespec="seconds")}

    def _judge(self, holder: dict[str, Any], mtime: float) -> _Judgement:
        age = time.time() - mtime
        same_host = holder.get("host") == socket.gethostname() and holder.get("boot") == _boot_id()
        if same_host and isinstance(holder.get("pid"), int) and not _alive(holder["pid"], holder.get("pid_start")):
            return _Judgement(True, f"its process {holder['pid']} is gone")
        if age > self.stale_after_s:
            return _Judgement(True, f"its heartbeat is {age:.0f} s old")
        return _Judgement(False, "")

    def _try_create(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{LOCK_FILE}.{self.token}.tmp")
        tmp.write_text(json.dumps(self._content()))
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: O_EXCL create
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as f:
                f.write(tmp.read_text())
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _break(self, stale_token: str) -> None:
        """Remove the lock if it is still the stale one judged, under the break lock."""
        brk = self.path.with_name(BREAK_FILE)
        try:
            fd = os.open(brk, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:  # a breaker that died mid-break leaves this behind
                if time.time() - brk.stat().st_mtime > max(30.0, self.heartbeat_s):
                    brk.unlink(missing_ok=True)
            except OSError:
                pass
            time.sleep(0.05)
            return
        os.close(fd)
        try:
            current = _read(self.path)
            if current is not None and current[0].get("token") == stale_token \
                    and self._judge(*current).stale:
                self.path.unlink(missing_ok=True)
        finally:
            brk.unlink(missing_ok=True)

    def acquire(self) -> OutLock:
        """Take the lock or raise LockHeld; a stale lock is taken over (and logged)."""
        for _ in range(50):
            if self._try_create():
                self._held = True
                self._start_heartbeat()
                return self
            current = _read(self.path)
            if current is None:  # removed or being replaced this instant
                time.sleep(0.02)
                continue
            holder, mtime = current
            judgement = self._judge(holder, mtime)
            if not judgement.stale:
                raise LockHeld(self.path, holder, time.time() - mtime)
            log.warning("taking over the lock on %s from %s (pid %s on %s): %s", self.path.parent.parent,
                        holder.get("owner"), holder.get("pid"), holder.get("host"), judgement.why)
            self.took_over = holder
            self._break(str(holder.get("token")))
        current = _read(self.path)
        raise LockHeld(self.path, current[0] if current else {}, 0.0)

    # -- holding -----------------------------------------------------------------------------
    def still_held(self) -> bool:
        current = _read(self.path)
        return current is not None and current[0].get("token") == self.token

    def beat(self) -> None:
        """Refresh the heartbeat; notice a lock taken over while this process stalled."""
        if not self._held or self.lost:
            return
        if not self.still_held():
            self.lost = True
            log.error("the lock on %s was taken over by another batch; stopping new work",
                      self.path.parent.parent)
            return
        try:
            os.utime(self.path)
        except OSError as exc:
            log.warning("could not refresh the lock heartbeat: %s", exc)

    def _start_heartbeat(self) -> None:
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(self.heartbeat_s):
                self.beat()

        self._thread = threading.Thread(target=loop, name="acetate-lock-heartbeat", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._held and self.still_held():
            self.path.unlink(missing_ok=True)
        self._held = False

    def __enter__(self) -> OutLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
