"""Memory a batch frees, kept for the next batch (:func:`keep_freed_memory`) and given back to
the system when the run ends (:func:`release_freed_memory`)."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["keep_freed_memory", "release_freed_memory"]

MiB = 2**20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)
_kept = False
KEEP_BYTES = 256 * MiB  # free memory the heap keeps before giving any back (a batch's arrays)


def keep_freed_memory() -> None:
    """Ask glibc's malloc, once per process, to keep the memory a batch frees for the next one.

    A batch's (n, H) arrays (19 MB each for 65,536 paths and 36 months) are freed together at
    its end; glibc then returns most of that memory to the system and the next batch pays a page
    fault for every 4 KiB it touches again (about 10% of a batch's time). With allocations up
    to 32 MiB served from the heap and up to KEEP_BYTES of free memory kept, they are reused
    instead. The process's peak memory is unchanged (the same arrays are alive at the peak); it
    is simply not given back between batches, until :func:`release_freed_memory` (the end of a
    run). A no-op where malloc is not glibc's.
    """
    global _kept
    if _kept:
        return
    _kept = True
    libc = _glibc()
    if libc is None:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 * MiB)  # the largest glibc accepts
    libc.mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES)


def release_freed_memory() -> None:
    """Give the free memory the heap kept back to the system (glibc's ``malloc_trim``): a run
    is over, and a long-lived process (a notebook, a test session) should not hold its batches'
    memory. A no-op before :func:`keep_freed_memory`, and where malloc is not glibc's."""
    if _kept and (libc := _glibc()) is not None:
        libc.malloc_trim(0)


@functools.cache
def _glibc() -> Any:
    """glibc through ctypes (the process's own symbols), or None (another C library)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt  # noqa: B018  (glibc has both; musl and macOS's libc lack malloc_trim)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc
