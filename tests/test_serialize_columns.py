"""The column-wise renderers give the bytes of the row-by-row ones they replaced, on hostile frames."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pandas as pd
import pytest
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.contracts.schema import csv_text
from ceasefire.publish import serialize
from ceasefire.publish.descriptor import json_bytes
from ceasefire.publish.serialize import TextList, csv_chunks, jsonl_chunks, records, render_csv, render_jsonl


def render_csv_by_row(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(frame.columns)
    for record in records(frame):
        writer.writerow([csv_text(value, ";") for value in record.values()])
    return buffer.getvalue().encode("utf-8")


def render_jsonl_by_row(frame: pd.DataFrame) -> bytes:
    lines = [json.dumps(record, ensure_ascii=False) for record in records(frame)]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


# Characters that CSV quotes or JSON escapes, often, beside any character at all.
SPECIAL = list(',"\\\r\n\t\x00\x1f\x7f\u2028 a;é')
texts = st.none() | st.text(st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=12)
rows = st.tuples(
    st.none() | st.integers(-5, 10**12),
    texts,
    st.none() | st.dates(dt.date(2020, 1, 1), dt.date(2024, 12, 31)),
    st.lists(st.text(max_size=6), max_size=3),
)


def frame_of(values: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": pd.array([v[0] for v in values], dtype="Int64"),
            "text": pd.array([v[1] for v in values], dtype="string"),
            "day": pd.Series([v[2] for v in values], dtype="object"),
            "items": pd.Series([v[3] for v in values], dtype="object"),
        }
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, max_size=8))
def test_column_wise_rendering_matches_row_by_row(values: list[tuple]) -> None:
    frame = frame_of(values)
    assert render_csv(frame) == render_csv_by_row(frame)
    assert render_jsonl(frame) == render_jsonl_by_row(frame)


@settings(max_examples=50, deadline=None)
@given(st.lists(rows, max_size=12))
def test_rendering_in_slices_gives_the_bytes_of_one_piece(values: list[tuple]) -> None:
    from ceasefire.publish import serialize

    frame = frame_of(values)
    whole = (render_csv(frame), render_jsonl(frame))
    # A table extracted in blocks holds its text columns in Arrow chunks, which slices cross.
    chunked = pd.concat([frame.iloc[start : start + 2] for start in range(0, len(frame), 2)] or [frame], ignore_index=True)
    original = serialize.RENDER_ROWS
    serialize.RENDER_ROWS = 3  # not monkeypatch: hypothesis runs the body many times in one test
    try:
        assert (render_csv(frame), render_jsonl(frame)) == whole == (render_csv_by_row(frame), render_jsonl_by_row(frame))
        assert (render_csv(chunked), render_jsonl(chunked)) == whole
        # Slices rendered two at a time on two threads: the same bytes, in the same order.
        assert (b"".join(csv_chunks(chunked, workers=2)), b"".join(jsonl_chunks(chunked, workers=2))) == whole
    finally:
        serialize.RENDER_ROWS = original


def test_rendering_a_small_frame_gives_these_bytes() -> None:
    frame = frame_of([(1, 'a "b"\nc', dt.date(2022, 3, 24), ["Shusha", "Parukh"]), (None, None, None, [])])
    assert render_csv(frame) == b'count,text,day,items\n1,"a ""b""\nc",2022-03-24,Shusha;Parukh\n,,,\n'
    assert render_jsonl(frame) == (
        b'{"count": 1, "text": "a \\"b\\"\\nc", "day": "2022-03-24", "items": ["Shusha", "Parukh"]}\n'
        b'{"count": null, "text": null, "day": null, "items": null}\n'  # an empty list is missing, as in CSV
    )


def _with_text_lists(data: object) -> object:
    """``data`` with every list of texts held as a TextList, as a first release's rows added are:
    Arrow text in chunks of one or two texts, as a CSV file's keys are read in blocks."""
    if isinstance(data, dict):
        return {key: _with_text_lists(value) for key, value in data.items()}
    if isinstance(data, list) and all(isinstance(item, str) for item in data):
        return TextList(pa.chunked_array([pa.array(data[start : start + 2], pa.string()) for start in range(0, len(data), 2)], pa.string()))
    return [_with_text_lists(item) for item in data] if isinstance(data, list) else data


text_list = st.lists(st.text(st.sampled_from(SPECIAL) | st.characters(codec="utf-8"), max_size=12), min_size=1, max_size=4)
record = st.recursive(
    text_list | st.just([]) | st.integers() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["rows_added", "a", "é\""]), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["resources", "version", "x"]), record, max_size=3), texts_at_once=st.sampled_from([1, 2, 3, 65_536]))
def test_text_lists_are_written_as_json_dumps_writes_lists(data: dict, texts_at_once: int) -> None:
    """changes.json keeps its bytes when its row lists are Arrow text (any nesting, any text),
    written a slice of texts at a time."""
    expected = (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serialize, "_ITER_TEXTS", texts_at_once)
        assert json_bytes(_with_text_lists(data)) == expected


# A few texts drawn again and again: the columns a table repeats (a violator, a place, a source file).
# Each drawn text twice, in any order: at most one distinct text in two rows.
repeated_texts = st.lists(texts, min_size=1, max_size=4).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), min_size=1, max_size=20).map(lambda drawn: drawn * 2).flatmap(st.permutations)
)


@settings(max_examples=150, deadline=None)
@given(repeated_texts, st.integers(1, 7))
def test_a_text_column_held_once_per_distinct_text_is_written_as_the_same_bytes(values: list[str | None], slice_rows: int) -> None:
    """A repeated text column is a categorical in the build (``text_column``); every published form
    (CSV, JSON Lines, the typed batches of Parquet and SQLite) and every slice of it is the same
    as from the column of Arrow strings."""
    from ceasefire.contracts.schema import text_column
    from ceasefire.publish import formats, serialize

    held_once = text_column(values)
    assert isinstance(held_once.dtype, pd.CategoricalDtype)  # at most one distinct text in two rows
    strings = pd.DataFrame({"text": pd.array(values, dtype="string"), "n": pd.array(range(len(values)), dtype="Int64")})
    categorical = strings.assign(text=held_once)
    assert categorical["text"].isna().tolist() == strings["text"].isna().tolist()
    assert render_csv(categorical) == render_csv(strings) == render_csv_by_row(strings)
    assert render_jsonl(categorical) == render_jsonl(strings) == render_jsonl_by_row(strings)
    # A table of one column is written by the csv module, value by value.
    assert render_csv(categorical[["text"]]) == render_csv(strings[["text"]]) == render_csv_by_row(strings[["text"]])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serialize, "RENDER_ROWS", slice_rows)
        assert b"".join(csv_chunks(categorical)) == render_csv(strings)
        assert b"".join(jsonl_chunks(categorical)) == render_jsonl(strings)
    schema = {"fields": [{"name": "text", "type": "string"}, {"name": "n", "type": "integer"}]}
    typed = [list(formats.typed_batches(frame, schema, slice_rows)) for frame in (categorical, strings)]
    assert [batch.equals(other) and batch.schema.equals(other.schema) for batch, other in zip(*typed)] == [True] * len(typed[1])


# A pool of cell objects, some equal but not the same object, each drawn for several rows: the
# rows of one location share their list of places, and dates repeat (extraction).
shared_cells = st.lists(
    st.one_of(st.none(), st.lists(st.sampled_from(["Shusha", "Khramort", "", "a;b", 'q"']), max_size=3)),
    min_size=1, max_size=4,
).flatmap(lambda pool: st.lists(st.sampled_from(pool + [list(cell) if cell is not None else None for cell in pool]),
                                min_size=1, max_size=24))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(shared_cells, st.lists(st.sampled_from([dt.date(2021, 1, 2), dt.date(2021, 1, 2) + dt.timedelta(0), None]), min_size=24, max_size=24),
       st.integers(1, 7))  # fmt: skip
def test_cells_shared_by_rows_are_written_as_the_same_bytes(lists: list, days: list, slice_rows: int) -> None:
    """Cells that share one object are converted once per object (``distinct_objects``); every form
    and every slice is what the row-by-row renderers write, and each row keeps its own value."""
    days = days[: len(lists)]
    codes, distinct = serialize.distinct_objects(lists)
    assert all(distinct[code] is cell for code, cell in zip(codes.tolist(), lists))
    assert len({id(cell) for cell in distinct}) == len(distinct)
    assert [id(cell) for cell in distinct] == list(dict.fromkeys(map(id, lists)))  # in order of first appearance
    frame = pd.DataFrame({"items": pd.Series(lists, dtype="object"), "day": pd.Series(days, dtype="object")})
    copied = pd.DataFrame({"items": pd.Series([None if cell is None else list(cell) for cell in lists], dtype="object"),
                           "day": pd.Series(days, dtype="object")})  # fmt: skip
    assert render_csv(frame) == render_csv_by_row(copied)
    assert render_jsonl(frame) == render_jsonl_by_row(copied)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serialize, "RENDER_ROWS", slice_rows)
        assert b"".join(csv_chunks(frame, workers=2)) == render_csv_by_row(copied)
        assert b"".join(jsonl_chunks(frame, workers=2)) == render_jsonl_by_row(copied)
    # Read a few values at a time, from a list or an object column's array: the same positions and objects.
    for window in (1, 2, 5):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(serialize, "_DISTINCT_WINDOW", window)
            for values in (lists, frame["items"].to_numpy()):
                windowed, objects = serialize.distinct_objects(values)
                assert windowed.tolist() == codes.tolist() and [id(cell) for cell in objects] == [id(cell) for cell in distinct]
    # Validation's rules on list cells call their test once per object, with the answer of .map for every row.
    from ceasefire.validate.validation import _each_once

    for test in (bool, lambda items: set(items or ()) <= {"Shusha", "Khramort"}, lambda items: items is None):
        assert _each_once(frame["items"], test).tolist() == copied["items"].map(test).astype(bool).tolist()
