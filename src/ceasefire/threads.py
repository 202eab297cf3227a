"""Steps spread over both cores by threads.

Extraction and validation are made of parts whose heavy work runs in Arrow kernels, numpy or pandas'
C code without holding the GIL, and parts that are Python. Two threads let one thread's Python run
while the other's kernels do: at 1,000,000 rows, extraction 6.1 s -> 4.4 s and validation 4.1 s ->
2.4 s on two cores (docs/BENCHMARKS.md). More threads gain little, since the Python parts share one
GIL, and each block of rows in flight costs its memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

WORKERS = 2


def in_threads(calls: Sequence[Callable[[], T]], name: str, workers: int = WORKERS) -> list[T]:
    """The result of every call, in the order of ``calls``, computed on ``workers`` threads.

    Once a call fails, no call starts any more, and its exception is raised when the running ones
    have ended, so nothing still runs when the caller sees it. The first failing call, in the order
    of ``calls``, is the one raised.
    """
    if workers < 2 or len(calls) < 2:
        return [call() for call in calls]
    failed = threading.Event()

    def guarded(call: Callable[[], T]) -> T:
        if failed.is_set():
            raise _NotStarted
        try:
            return call()
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        futures = [pool.submit(guarded, call) for call in calls]
        try:
            return [future.result() for future in futures]
        except BaseException:  # a call's failure, or the caller interrupted
            failed.set()
            raise


class _NotStarted(Exception):
    """A call not started because an earlier one failed; never raised to the caller, whose failure comes first."""
