"""A big table rendered in row ranges (flows/partitions.py) and joined in order gives the bytes of one rendering."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.extract.violations import Extraction
from ceasefire.publish.descriptor import plan_table_files, write_table_file
from ceasefire.publish.publishing import PartChanged
from ceasefire.publish.serialize import render_csv, render_jsonl
from flows.partitions import Partition, parts_by_file, plan_partitions, render_partition_task
from flows.references import BuildRef, write_frame
from test_serialize_columns import frame_of, rows  # nullable integers and strings, dates, lists: the published kinds

def render_in_partitions(frame: pd.DataFrame, partition_rows: int, folder: Path) -> dict[str, bytes]:
    """What a Dask run publishes: the frame stored as a build's Arrow file, each range rendered from
    it by the worker task's own code, the parts joined by publishing's own writer."""
    build = BuildRef(folder=folder / "build", corpus=None, schemas_dir=None)  # type: ignore[arg-type]
    build.folder.mkdir()
    write_frame(frame, build.frame_file("violations"))
    partitions = plan_partitions({"violations": len(frame)}, partition_rows)
    scratch = folder / "parts"
    scratch.mkdir()
    rendered = [render_partition_task.fn(build, partition, scratch) for partition in partitions]
    files = plan_table_files({"violations": Extraction("violations", frame)}, load_contracts())
    parts = parts_by_file(files, partitions, rendered)
    written = [write_table_file(file, frame, folder / "version", parts.get(file.path, ())) for file in files]
    return {file.format: (folder / "version" / file.path).read_bytes() for file in written}


@settings(max_examples=60, deadline=None)
@given(st.lists(rows, max_size=14), st.integers(1, 5))
def test_parts_rendered_from_the_stored_build_and_joined_in_order_are_the_whole_rendering(values, partition_rows):
    frame = frame_of(values)
    with tempfile.TemporaryDirectory() as folder:
        joined = render_in_partitions(frame, partition_rows, Path(folder))
    assert joined == {"csv": render_csv(frame), "jsonl": render_jsonl(frame)}


def test_a_table_of_seven_rows_in_ranges_of_three_gives_three_parts_and_the_same_bytes(tmp_path):
    frame = frame_of([(i, f"row {i}", dt.date(2021, 1, i + 1), ["Shusha"] * (i % 2)) for i in range(7)])
    assert [(p.index, p.start, p.stop) for p in plan_partitions({"violations": 7}, 3)] == [(0, 0, 3), (1, 3, 6), (2, 6, 7)]
    joined = render_in_partitions(frame, 3, tmp_path)
    assert sorted(path.name for path in (tmp_path / "parts").iterdir()) == [
        "violations-00000.csv", "violations-00000.jsonl", "violations-00001.csv", "violations-00001.jsonl",
        "violations-00002.csv", "violations-00002.jsonl",
    ]  # fmt: skip
    assert (tmp_path / "parts" / "violations-00002.csv").read_bytes() == b"6,row 6,2021-01-07,\n"
    assert joined["csv"].splitlines()[:2] == [b"count,text,day,items", b"0,row 0,2021-01-01,"]
    assert joined == {"csv": render_csv(frame), "jsonl": render_jsonl(frame)}


def test_only_resources_above_the_threshold_are_partitioned():
    assert plan_partitions({"violations": 100, "events": 101}, 100) == [
        Partition("events", 0, 0, 100), Partition("events", 1, 100, 101),
    ]  # fmt: skip
    assert plan_partitions({"violations": 0}, 1) == []
    with pytest.raises(ValueError, match="partition_rows must be at least 1, not 0"):
        plan_partitions({"violations": 5}, 0)


def test_a_part_changed_after_it_was_rendered_is_not_published(tmp_path):
    frame = frame_of([(i, f"row {i}", None, []) for i in range(4)])
    build = BuildRef(folder=tmp_path / "build", corpus=None, schemas_dir=None)  # type: ignore[arg-type]
    build.folder.mkdir()
    write_frame(frame, build.frame_file("violations"))
    rendered = [render_partition_task.fn(build, partition, tmp_path) for partition in plan_partitions({"violations": 4}, 2)]
    part = rendered[1]["csv"]
    part.path.write_bytes(part.path.read_bytes().replace(b"row 3", b"row 9"))  # same size, other bytes
    files = plan_table_files({"violations": Extraction("violations", frame)}, load_contracts())
    parts = parts_by_file(files, plan_partitions({"violations": 4}, 2), rendered)
    with pytest.raises(PartChanged, match="violations-00001.csv changed since it was rendered"):
        write_table_file(files[0], frame, tmp_path / "version", parts["data/violations.csv"])
