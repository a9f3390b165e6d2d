"""Keep a long item's heap from growing with its length.

glibc raises its mmap threshold each time a large block allocated by mmap is freed (up to 32 MB),
so after the first few audio blocks the analysis' arrays come from the heap, and their varying
sizes fragment it: a 1-hour file peaked 330 MB above a 5-minute one though no array outlives its
block. Handing the heap's free pages back after each block (malloc_trim) keeps the peak flat; a
fixed mmap threshold did too, but made analysis 1.7-3x slower (a page fault per array).
"""

from __future__ import annotations

import ctypes
import ctypes.util


def _libc():
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lib if hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


def release_free_heap() -> None:
    """Return the heap's free pages to the system (glibc only; elsewhere nothing happens)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)
