"""Frames built from typed columns, and the blocks of a table joined into one frame, hold each
column once: what they are built from is not copied again (docs/BENCHMARKS.md, round 14)."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire import pipeline
from ceasefire.contracts.schema import concat_frames

_SCHEMA = pipeline.load_contracts(None).schema("violations")
_UNIQUE = [spec.name for spec in _SCHEMA.fields if spec.unique]


def _columns(rows: int, seed: int = 0) -> dict:
    """Typed columns of ``rows`` violations, as extraction passes them to ``frame_from_columns``."""
    rng = np.random.default_rng(seed)
    days = [dt.date(2021, 1, 1) + dt.timedelta(days=int(day)) for day in range(365)]
    dates = np.array(days, dtype=object)[rng.integers(0, 365, rows)]
    counts = rng.integers(1, 50, rows)
    missing = rng.random(rows) < 0.3
    places = np.empty(3, dtype=object)
    places[:] = [["Shusha"], ["Khojavend", "Tugh"], []]
    return {
        "violation_id": pa.array([f"{seed}-{row:08d}" for row in range(rows)], pa.large_string()),
        "date_start": dates, "date_end": dates.copy(),
        "date_text": pa.array([day.strftime("%d.%m.%Y") for day in dates[:1000]] * (rows // 1000), pa.large_string()),
        "violation_count": pd.arrays.IntegerArray(counts, np.zeros(rows, dtype=bool)),
        "location": pa.array(["Shusha", "Tugh"] * (rows // 2), pa.large_string()),
        "places": places[rng.integers(0, 3, rows)],
        "violator": pa.array(["Azerbaijan"] * rows, pa.large_string()),
        "killed": pd.arrays.IntegerArray(np.where(missing, 0, counts), missing),
        "wounded": pd.arrays.IntegerArray(counts.copy(), missing.copy()),
        "source_line": pd.arrays.IntegerArray(np.arange(rows, dtype=np.int64), np.zeros(rows, dtype=bool)),
    }  # fmt: skip


def _held_bytes(frame: pd.DataFrame) -> int:
    """Bytes of the frame's numpy-backed columns (what tracemalloc sees; Arrow's pool it does not)."""
    return sum(frame[name].array.nbytes for name in frame.columns if not isinstance(frame[name].dtype, pd.StringDtype))


def _peak_while(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_joining_blocks_holds_the_table_once_not_twice() -> None:
    """Eight blocks joined, each column's parts let go as it is joined: the peak is the joined table
    and a column's parts, not the table and a copy of it (pandas copies a dict of columns into a
    new frame by default; at 10,000,000 rows that was ~690 MB of extraction's peak)."""
    frames = [_SCHEMA.frame_from_columns(_columns(25_000, seed)) for seed in range(8)]
    expected = pd.concat(frames, ignore_index=True)
    whole, peak = _peak_while(lambda: concat_frames(frames, _UNIQUE, release_parts=True))
    held = _held_bytes(whole)
    assert held > 10_000_000
    assert peak < 1.4 * held, f"joining took {peak / 1e6:.1f} MB at its peak for a table of {held / 1e6:.1f} MB"
    pd.testing.assert_frame_equal(whole.astype(object), expected.astype(object))


def test_a_frame_from_columns_holds_each_column_once() -> None:
    """A block's frame is built from the typed columns without copying them once more."""
    columns = _columns(200_000)
    frame, peak = _peak_while(lambda: _SCHEMA.frame_from_columns(columns))
    held = _held_bytes(frame)
    assert peak < 1.4 * held, f"building took {peak / 1e6:.1f} MB at its peak for a frame of {held / 1e6:.1f} MB"


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6), release=st.booleans())
def test_joined_blocks_are_the_rows_of_the_blocks_in_turn(sizes: list[int], release: bool) -> None:
    """Blocks of any sizes (empty ones too), joined with or without letting go of their parts, give
    the rows pandas' own concat gives, in the schema's dtypes; the blocks are not changed."""
    frames = [_SCHEMA.frame_from_columns({name: values[:size] for name, values in _columns(1000, seed).items()})
              for seed, size in enumerate(sizes)]  # fmt: skip
    expected = pd.concat(frames, ignore_index=True)
    copies = [frame.copy() for frame in frames]
    whole = concat_frames(list(frames) if not release else frames, _UNIQUE, release_parts=release)
    assert list(whole.columns) == list(expected.columns)
    typed = {spec.name: spec.pandas_dtype for spec in _SCHEMA.fields if spec.name in whole and spec.pandas_dtype != "string"}
    assert {name: str(whole[name].dtype) for name in typed} == typed
    pd.testing.assert_frame_equal(whole.astype(object), expected.astype(object))
    if not release:
        for frame, copy in zip(frames, copies):
            pd.testing.assert_frame_equal(frame, copy)
