"""Keep freed NumPy buffers in the process heap instead of returning them to the OS.

Eager execution allocates a fresh array for almost every op result and frees it a moment
later. With glibc's default settings, buffers above the (dynamic) mmap threshold are
``mmap``-ed and ``munmap``-ed every time, and the top of the heap is trimmed as soon as
128 KiB are free, so each new activation-sized array page-faults its memory in again. Measured
on the GPT train step of ``benchmarks/`` (2 cores): 8,500-14,000 minor page faults and
25-39 ms of system time per step, none with the settings below; the CNN step went from
59.8 to 48.3 ms.

:func:`tune` raises glibc's mmap threshold to 32 MiB (its maximum; larger arrays are still
mapped directly) and the trim threshold to 256 MiB, so memory freed by one step is reused by
the next. Peak RSS is unchanged (the heap only keeps what a step already needed). It runs
once when ``ember`` is imported and does nothing when:

* the C library is not glibc (``mallopt`` missing), or
* ``EMBER_MALLOC_TUNING=0`` is set, or
* the user already chose glibc settings through ``MALLOC_MMAP_THRESHOLD_`` /
  ``MALLOC_TRIM_THRESHOLD_`` (theirs win).

Example:
    >>> from ember.ops import _allocator
    >>> _allocator.tune() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

# glibc's mallopt parameter numbers (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # glibc's upper limit for M_MMAP_THRESHOLD on 64-bit systems
TRIM_THRESHOLD = 256 << 20

_done: bool | None = None


def tune() -> bool:
    """Apply the allocator settings once; True if they are in effect."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux") or os.environ.get("EMBER_MALLOC_TUNING") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library already loaded in this process
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    _done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
