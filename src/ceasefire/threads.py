"""Steps spread over both cores by threads.

Extraction, validation and rendering are made of parts whose heavy work runs in Arrow kernels,
numpy or pandas' C code without holding the GIL, and parts that are Python. Two threads let one
thread's Python run while the other's kernels do. At 1,000,000 rows on two cores: extraction
5.3 s -> 4.4-4.8 s, validation 4.0-4.2 s -> 3.0 s, the CSV forms 2.6-2.9 s -> 1.6-1.7 s
(docs/BENCHMARKS.md, round 6). More threads gain little, since the Python parts share one GIL,
and each block of rows in flight costs its memory.

:class:`Beside` runs one call on a thread of its own while the caller goes on: publishing checks
the CSV forms and reads the typed files back that way, each as soon as what it reads is written.
"""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")

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


def mapped_in_threads(function: Callable[[T], U], items: Iterable[T], name: str, workers: int = WORKERS) -> Iterator[U]:
    """``function`` of each item, in the order of ``items``, computed ``workers`` items at a time on
    as many threads; ``items`` is consumed as the results are.

    At most ``workers + 1`` results are held at once: those under way and the one being yielded.
    Closing the iterator early (the consumer failed) cancels the items not begun and waits for
    those under way; a failure of ``function`` is raised in the item's turn, after the same.
    """
    if workers < 2:
        yield from map(function, items)
        return
    items = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        pending = collections.deque(pool.submit(function, item) for item in itertools.islice(items, workers))
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(pool.submit(function, item) for item in itertools.islice(items, 1))
                yield result
        finally:
            for future in pending:
                future.cancel()


class _NotStarted(Exception):
    """A call not started because an earlier one failed; never raised to the caller, whose failure comes first."""


class Beside(Generic[T]):
    """One call on a thread of its own, from :meth:`start` on, while the caller goes on with its work.

    The call is given a ``cancel`` event as its last argument, and is expected to stop (by raising)
    soon after it is set. Leaving the ``with`` block sets it, so a call whose :meth:`result` was not
    taken stops, and waits for the thread: nothing the call does outlives the block (publishing
    uses it on a stage that is removed or promoted when the block is left).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._cancel = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._future: Future | None = None

    def __enter__(self) -> "Beside[T]":
        return self

    def start(self, function: Callable[..., T], *args: object, after: "Beside | None" = None) -> None:
        """Call ``function(*args, cancel)`` on the thread, once ``after`` (if given and started) has
        ended, so that the two do not hold their memory at once; once only."""
        if self._future is not None:
            raise RuntimeError(f"{self.name} was started already")

        def call() -> T:
            if after is not None:
                after.wait()
            return function(*args, self._cancel)

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        self._future = self._pool.submit(call)

    def wait(self) -> None:
        """Wait for the call to end, if it was started; its result or failure stays for :meth:`result`."""
        if self._future is not None:
            wait([self._future])

    @property
    def started(self) -> bool:
        return self._future is not None

    def result(self) -> T:
        """What the call returned, once it has ended; its exception if it failed."""
        if self._future is None:
            raise RuntimeError(f"{self.name} was never started")
        return self._future.result()

    def __exit__(self, *exc_info: object) -> None:
        self._cancel.set()  # a call whose result was taken has ended already
        if self._pool is not None:
            self._pool.shutdown(wait=True)
