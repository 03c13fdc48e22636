"""Keep freed memory in the process, so that large CPU tensors reuse pages.

glibc hands every block above its mmap threshold (adjusted on the fly, at most 32 MiB)
back to the kernel when it is freed, and trims the heap's free top beyond twice that.
A CPU training step allocates and frees tensors of tens of MiB, so each step maps them
again and the kernel zero-fills every page on first touch (on two cores, the floor of a
D-LinOSS forward + backward at L = 1024, batch 32, fell from 28–34 ms to 19–30 ms once
the pages were reused). PyTorch's CPU tuning guide answers this with jemalloc or
tcmalloc preloaded; raising the two thresholds with ``mallopt`` gets the same reuse from
the allocator already loaded, with no new dependency.

The ``spektron`` command applies it once at start-up (it owns that process;
``SPEKTRON_KEEP_FREED_MEMORY=0`` turns that off). A library user may call
:func:`keep_freed_memory` in their own script; it changes the whole process, so the
package never applies it on import.
"""

from __future__ import annotations

import ctypes
import functools

__all__ = ["keep_freed_memory"]

#: ``mallopt`` parameter numbers, from glibc's ``malloc.h``.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks below this come from the heap and are reused; larger ones are still mapped.
MMAP_THRESHOLD = 256 * 2**20
#: Free memory the heap keeps at its top before returning it: what the process may hold
#: beyond its live tensors.
TRIM_THRESHOLD = 2**30


@functools.lru_cache(maxsize=1)
def _libc():
    """The C library already loaded in this process (the allocator in use), if it is glibc;
    no search on disk, which may spawn ``ldconfig`` at every command's start-up."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # no process-wide handle (Windows)
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Raise glibc's mmap and trim thresholds; True when both took effect.

    False, and nothing changed, where the C library is not glibc (macOS, Windows, musl).
    The thresholds are bytes; each must be positive and fit a C ``int``.
    """
    for name, value in (("mmap_threshold", mmap_threshold), ("trim_threshold", trim_threshold)):
        if not 0 < int(value) < 2**31:
            raise ValueError(f"{name} must be a positive number of bytes below 2**31, got {value}")
    libc = _libc()
    if libc is None:
        return False
    # mmap first: setting it fixes both thresholds, so glibc's on-the-fly adjustment stops.
    ok = libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
    return libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and ok
