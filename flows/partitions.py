"""Scale-out of one big table: its CSV and JSON Lines rows rendered in row ranges by Dask workers.

A row's bytes in either form depend on that row alone (``publish/serialize.py``), so a table file
is its head followed by the rows of consecutive row ranges, joined in order. On a Dask runner, a
resource of more than :data:`PARTITION_ROWS` rows is split into ranges of that many; for each
range a worker gets the validated build's reference and the range (a few hundred bytes), reads
those rows from the build's memory-mapped Arrow file, writes the two parts into a scratch folder of
the run beside the builds and returns their paths, sizes and sha256. Publishing, in the flow's
process, joins them into the stage in order, checking each part's size and sha256 as it reads it
(``pipeline.data_files``), and renders nothing of that table itself.

Every worker must see the build store (``PREFECT_LOCAL_STORAGE_PATH``) at the same path as the
flow: on one machine it is the local disk, on several a shared file system (docs/BENCHMARKS.md,
"Partitioned scale-out on Dask").
"""

from __future__ import annotations

import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner

from ceasefire import pipeline
from ceasefire.publish.descriptor import ROW_RENDERERS, plan_table_files, write_table_part
from ceasefire.publish.publishing import DataFile, TablePart
from flows.references import BuildRef, read_frame, store_root
from flows.runners import retry_on_filesystem_error

# A resource with more rows than this is rendered in row ranges of this many on a Dask runner:
# big enough that reading a range and starting its task cost little beside rendering it.
PARTITION_ROWS = 100_000
PARTS_PREFIX = "parts-"


@dataclass(frozen=True)
class Partition:
    """Rows ``start`` to ``stop`` (excluded) of a resource's frame, the ``index``-th range of that resource."""

    resource: str
    index: int
    start: int
    stop: int


def plan_partitions(row_counts: dict[str, int], partition_rows: int) -> list[Partition]:
    """Each resource of more than ``partition_rows`` rows as consecutive ranges of at most that many.

    Example:
        >>> [(p.index, p.start, p.stop) for p in plan_partitions({"violations": 250, "events": 40}, 100)]
        [(0, 0, 100), (1, 100, 200), (2, 200, 250)]
    """
    if partition_rows < 1:
        raise ValueError(f"partition_rows must be at least 1, not {partition_rows}")
    partitions = []
    for resource, count in row_counts.items():
        if count > partition_rows:
            starts = range(0, count, partition_rows)
            partitions += [Partition(resource, i, start, min(start + partition_rows, count)) for i, start in enumerate(starts)]
    return partitions


@task(
    name="render-partition", retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=retry_on_filesystem_error,
    cache_policy=NO_CACHE, persist_result=False,
)  # fmt: skip
def render_partition_task(build: BuildRef, partition: Partition, scratch: Path) -> dict[str, TablePart]:
    """Render the partition's rows in every table format into ``scratch``; the parts by format."""
    rows = read_frame(build.frame_file(partition.resource), range(partition.start, partition.stop))
    parts = {}
    for table_format in ROW_RENDERERS:
        path = scratch / f"{partition.resource}-{partition.index:05d}.{table_format}"
        path.unlink(missing_ok=True)  # a retry after a failed write starts the part again
        parts[table_format] = write_table_part(table_format, rows, path)
    return parts


@contextmanager
def partition_scratch(root: Path | None = None) -> Iterator[Path]:
    """Where this run's parts go, beside the builds (every worker sees them): created when the first
    partition is planned, removed with everything in it when the block ends."""
    folder = (root or store_root()) / f"{PARTS_PREFIX}{uuid.uuid4().hex}"
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def render_partitions(
    runner: TaskRunner, validated: BuildRef, build: pipeline.Build, scratch: Path, partition_rows: int | None = None
) -> pipeline.TableParts:
    """Render every resource above ``partition_rows`` (default :data:`PARTITION_ROWS`) rows on
    ``runner``, range by range, into ``scratch``.

    Returns the parts of each table file by its path in the version folder, in row order, for
    :func:`ceasefire.pipeline.publish`; an empty mapping when no resource is that large.
    """
    partitions = plan_partitions({name: len(e.frame) for name, e in build.extractions.items()}, partition_rows or PARTITION_ROWS)
    if not partitions:
        return {}
    scratch.mkdir(parents=True, exist_ok=True)
    rendered = runner.map(
        render_partition_task, {"build": unmapped(validated), "partition": partitions, "scratch": unmapped(scratch)}
    ).result()
    return parts_by_file(plan_table_files(build.extractions, build.contracts), partitions, rendered)


def parts_by_file(
    files: list[DataFile], partitions: list[Partition], rendered: list[dict[str, TablePart]]
) -> dict[str, list[TablePart]]:
    """The parts of each table file (by its path) in row order: ``rendered[i]`` holds the parts of ``partitions[i]``."""
    parts: dict[str, list[TablePart]] = {}
    for file in files:
        resource = file.resource.removesuffix("-json")
        ranges = sorted((p.index, by_format[file.format]) for p, by_format in zip(partitions, rendered, strict=True) if p.resource == resource)
        if ranges:
            parts[file.path] = [part for _, part in ranges]
    return parts
