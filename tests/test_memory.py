"""Memory a step has freed goes back to the operating system (ceasefire.memory.give_back)."""

from __future__ import annotations

import os
import sys

import pytest

from ceasefire.memory import give_back


def _resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and needs glibc's malloc_trim")
def test_memory_a_step_freed_is_given_back() -> None:
    """What a step leaves freed but held, like extraction's cell texts: 300 MB of 1 KB texts of which
    one in a hundred lives on, so glibc cannot shrink its heap from the top by itself."""
    texts = [os.urandom(1000) for _ in range(300_000)]  # above pymalloc's 512 bytes: glibc's heap
    kept = texts[::100]
    del texts
    held = _resident_mb()
    assert give_back()
    given = held - _resident_mb()
    assert given > 200, f"{given:.0f} MB given back of ~300 MB freed"
    assert len(kept) == 3000
