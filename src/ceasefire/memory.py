"""Memory a step has freed, given back to the operating system before the next step starts.

Python, numpy and pandas allocate through the C library's ``malloc``. When a step ends, the
temporary strings, lists and arrays it made are freed, but glibc keeps most of that memory in its
heaps for later allocations, and a heap a thread allocated in serves that thread first: the next
step, run on other threads, takes fresh pages beside the old ones. The process's resident memory
then holds every step's leftovers. ``malloc_trim(0)`` returns the free pages of every heap.

Measured at 3,000,000 rows (docs/BENCHMARKS.md, round 11): extraction alone leaves ~390 MB freed
but held (1,284 -> 897 MB given back), and each call takes ~15 ms. Arrow's own pool (jemalloc,
``flows``) returns its pages by itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def give_back() -> bool:
    """Return the C library's free memory to the operating system; whether it could be asked to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def positions_dtype(count: int) -> type:
    """The integer type of positions into ``count`` rows: 32-bit below 2**31 rows (half the bytes
    of numpy's and Arrow's 64-bit positions, held by indexes and sorts of large tables), else 64-bit.

    Example:
        >>> positions_dtype(10_000_000).__name__, positions_dtype(2**31).__name__
        ('int32', 'int64')
    """
    import numpy as np

    return np.int32 if count < 2**31 else np.int64
