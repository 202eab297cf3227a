"""Prefect flows and the command line. Orchestration only: the logic lives in ``ceasefire``.

Importing it sets the process's Arrow memory pool (:func:`_use_jemalloc`): the command line, the
flow runs a worker starts and the Dask workers all import this package before they build a table.
"""

import os


def _use_jemalloc() -> None:
    """Arrow's jemalloc pool instead of its default (mimalloc), unless ``ARROW_DEFAULT_MEMORY_POOL`` says otherwise.

    At 1,000,000 rows the run's peak RSS is ~120 MB lower with jemalloc, under Prefect and without,
    for the same time (docs/BENCHMARKS.md). Allocations made before keep the pool they came from.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return  # Arrow reads the user's choice itself
    import pyarrow as pa

    if "jemalloc" in pa.supported_memory_backends():
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_use_jemalloc()
