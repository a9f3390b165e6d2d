"""Keep a long item's heap from growing with its length, at little cost to speed.

glibc raises its mmap threshold each time a large block allocated by mmap is freed (up to 32 MB),
so after the first few audio blocks the analysis' and the restorers' arrays come from the heap,
and their varying sizes fragment it: a 1-hour file peaked 330 MB above a 5-minute one though no
array outlives its block. Handing the heap's free pages back (malloc_trim) keeps the peak flat,
but each trim makes the next block fault its pages in again: trimming after every restore step
cost a quarter of the restore stage's time. So the heap is trimmed only when the resident size
has grown `MARGIN_MB` above where the last trim left it (the live data then): the peak stays
within that margin plus one step's own arrays, whatever the file's length, and most blocks pay
nothing. A fixed mmap threshold also bounds it, but a page fault per large array made analysis
1.7-3x slower.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

MARGIN_MB = 64


def _libc():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lib if hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_floor: list[int] = []  # resident bytes right after the last trim


def _resident() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return None


def release_free_heap() -> None:
    """Return the heap's free pages to the system (glibc only; elsewhere nothing happens)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
        resident = _resident()
        if resident is not None:
            _floor[:] = [resident]


def bound_heap(margin_mb: float = MARGIN_MB) -> None:
    """Trim the heap when the process has grown `margin_mb` above the live size the last trim
    found; called between blocks and between steps, when only the stream's buffers are alive."""
    if _LIBC is None:
        return
    resident = _resident()
    if resident is None or not _floor or resident > _floor[0] + margin_mb * 2**20:
        release_free_heap()
