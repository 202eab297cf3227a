"""Typed frames to bytes: CSV and JSON Lines, deterministic to the byte.

The same frame always gives the same bytes: fixed field order, ``\\n`` line ends, ISO dates,
integers without decimals, empty cells for missing values in CSV and ``null`` in JSON.
Multi-valued fields are ``;``-joined in CSV and arrays in JSON. The value codec itself is the
contract's (:func:`ceasefire.contracts.schema.json_value` and :func:`~ceasefire.contracts.schema.csv_text`).
An empty list is a missing value in every format (empty in CSV, ``null`` in JSON), because CSV
cannot tell the two apart.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ceasefire.contracts.schema import csv_text, json_value
from ceasefire.memory import positions_dtype
from ceasefire.threads import mapped_in_threads

# Rows rendered at once: bounds the Python strings alive while a big table is rendered (about
# 50 MB of them for a slice of the violations table).
RENDER_ROWS = 25_000


def records(frame: pd.DataFrame) -> list[dict]:
    """Plain records in field order."""
    columns = list(frame.columns)
    return [dict(zip(columns, map(json_value, row))) for row in frame.itertuples(index=False, name=None)]


def _column_values(series: pd.Series) -> list[object]:
    """A frame column as plain values (what :func:`records` gives), converting each distinct value once.

    Nullable integer and string columns convert in one call; other columns value by value, with
    one conversion per distinct scalar (dates repeat) and per distinct list.
    """
    if isinstance(series.dtype, (pd.Int64Dtype, pd.StringDtype)):
        return series.to_numpy(dtype=object, na_value=None).tolist()
    plain: dict[object, object] = {}
    values = []
    for value in series.tolist():
        key = (type(value), tuple(value) if isinstance(value, list) else value)  # 1, 1.0 and True are different cells
        try:
            values.append(plain[key])
        except KeyError:
            plain[key] = converted = json_value(value)
            values.append(converted)
        except TypeError:  # unhashable
            values.append(json_value(value))
    return values


def _csv_column(series: pd.Series, delimiter: str) -> list[str]:
    """The CSV cells of a column: nullable integers and strings in one call each, other columns value by value."""
    if isinstance(series.dtype, pd.Int64Dtype):
        missing = series.isna().to_numpy()
        cells = series.to_numpy(dtype="int64", na_value=0).astype(str).astype(object)
        cells[missing] = ""
        return cells.tolist()
    if isinstance(series.dtype, pd.StringDtype):
        return series.to_numpy(dtype=object, na_value="").tolist()
    return [csv_text(value, delimiter) for value in _column_values(series)]


def _slices(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """The frame in slices of :data:`RENDER_ROWS` rows: the text of one slice is alive at a time."""
    for start in range(0, len(frame), RENDER_ROWS):
        yield frame.iloc[start : start + RENDER_ROWS]


def csv_chunks(frame: pd.DataFrame, list_delimiter: str = ";", workers: int = 1) -> Iterator[bytes]:
    """RFC 4180 CSV in slices: the header row, then each slice of rows. Joined, the chunks are :func:`render_csv`.

    ``workers`` threads render slices at once (:func:`ceasefire.threads.mapped_in_threads`); the
    bytes do not depend on it."""
    yield csv_header(frame)
    yield from csv_row_chunks(frame, list_delimiter, workers)


def csv_header(frame: pd.DataFrame) -> bytes:
    """The header row of the CSV form of ``frame``."""
    return _csv_bytes([list(frame.columns)])


def csv_row_chunks(frame: pd.DataFrame, list_delimiter: str = ";", workers: int = 1) -> Iterator[bytes]:
    """The CSV rows of ``frame`` without the header, in slices. A row's bytes depend on that row
    alone, so the rows of consecutive row ranges, joined in order, are the rows of the whole frame.

    Cells are quoted by Arrow kernels (:func:`_arrow_csv_cells`) and Arrow joins them into lines;
    the csv module writes a one-column table, whose empty row it quotes.
    """
    def render(part: pd.DataFrame) -> bytes:
        if len(part.columns) < 2:
            return _csv_bytes(zip(*[_csv_column(part[name], list_delimiter) for name in part.columns]))
        return joined_lines([_arrow_csv_cells(part[name], list_delimiter) for name in part.columns], _text(","), _text(""))

    return mapped_in_threads(render, _slices(frame), "render", workers)


def render_csv(frame: pd.DataFrame, list_delimiter: str = ";") -> bytes:
    """RFC 4180 CSV, header row first (the whole of :func:`csv_chunks`)."""
    return b"".join(csv_chunks(frame, list_delimiter))


def _csv_bytes(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buffer.getvalue().encode("utf-8")


# A CSV cell holding one of these is quoted: the csv module's QUOTE_MINIMAL with "\n" line ends, which
# quotes a carriage return in some Python versions and not in others, so it is asked.
_CSV_SPECIAL = r'[,"\n\r]' if _csv_bytes([["\r", ""]]).startswith(b'"') else r'[,"\n]'
# A text holding one of these is escaped by json.dumps (ensure_ascii=False): quote, backslash, controls.
_JSON_SPECIAL = r'["\\\x00-\x1f]'


def _arrow_text(series: pd.Series) -> pa.Array | None:
    """A text or integer column as one Arrow array (large strings for texts); None for other columns."""
    if isinstance(series.dtype, pd.StringDtype):
        return pa.array(series.array, type=pa.large_string(), from_pandas=True)
    if isinstance(series.dtype, pd.Int64Dtype):
        return pc.cast(pa.array(series.array, type=pa.int64(), from_pandas=True), pa.large_string())
    return None


# Values whose objects are told apart at once by distinct_objects: bounds its temporaries (the
# objects' ids and their codes as 64-bit numbers) to a few MB, whatever the column's length.
_DISTINCT_WINDOW = 262_144


def distinct_objects(values: Sequence[object] | np.ndarray) -> tuple[np.ndarray, list[object]]:
    """Each value's position among the distinct objects of ``values``, told apart by identity, and
    those objects in order of first appearance.

    Cells that share one object (a date, the list of places of one location: extraction makes one
    per distinct cell) are then handled once per object; cells that are equal but not the same
    object are handled apart, which costs time, never correctness.

    ``values`` is read :data:`_DISTINCT_WINDOW` values at a time (an object column's array is read
    in place, without a list of its cells), and the positions are 32-bit: at ten million rows, 40 MB
    held where the list, the ids and 64-bit codes of every row took 240 MB.
    """
    count = len(values)
    codes = np.empty(count, dtype=positions_dtype(count))
    code_of: dict[int, int] = {}  # an object's id -> its position among the distinct objects
    distinct: list[object] = []
    for start in range(0, count, _DISTINCT_WINDOW):
        window = values[start : start + _DISTINCT_WINDOW]
        ids = np.fromiter(map(id, window), dtype=np.uint64, count=len(window))
        local, uniques = pd.factorize(ids)
        rows = np.empty(len(uniques), dtype=np.intp)
        rows[local] = np.arange(len(local))  # a row of each object (its last): every row of a code holds the same object
        known = np.empty(len(uniques), dtype=codes.dtype)
        for number, (object_id, row) in enumerate(zip(uniques.tolist(), rows.tolist())):
            code = code_of.get(object_id)
            if code is None:
                code = code_of[object_id] = len(distinct)
                distinct.append(window[row])
            known[number] = code
        codes[start : start + len(window)] = known[local]
    return codes, distinct


def answer_each_object(values: Sequence[object] | np.ndarray, test) -> np.ndarray:
    """``[bool(test(value)) for value in values]`` as a boolean array, ``test`` called once per
    distinct object (:func:`distinct_objects`)."""
    codes, distinct = distinct_objects(values)
    return np.array([bool(test(value)) for value in distinct], dtype=bool)[codes]


def _arrow_dates_or_lists(series: pd.Series) -> pa.Array | None:
    """An object column whose values are all dates, or all lists of texts (None allowed), as one
    Arrow array (date32, or lists with an empty list made null, as every published form has it);
    None for any other column, which is made text value by value. Each distinct object is
    converted once (:func:`distinct_objects`)."""
    codes, values = distinct_objects(series.to_numpy(dtype=object))
    types = set(map(type, values)) - {type(None)}
    if types <= {dt.date}:
        return pa.array(values, pa.date32()).take(codes)
    if types == {list} and set(map(type, itertools.chain.from_iterable(value or () for value in values))) <= {str}:
        return empty_lists_as_null(pa.array(values, pa.list_(pa.large_string())).take(codes))
    return None


def empty_lists_as_null(lists: pa.Array) -> pa.Array:
    """A list column with each empty list made null: CSV cannot tell the two apart, so no published form does."""
    return pc.if_else(pc.equal(pc.list_value_length(lists), 0), pa.scalar(None, lists.type), lists)


def _distinct_texts(series: pd.Series) -> tuple[pd.Series, pa.Array] | None:
    """A categorical column of texts as its distinct texts (a text column) and, per row, the index
    of its text (null where missing); None for any other column. Its cells are made once per
    distinct text, then taken for each row."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return None
    codes = series.cat.codes.to_numpy()
    return pd.Series(pd.array(series.cat.categories, dtype="string")), pa.array(codes, mask=codes < 0)


def _arrow_csv_cells(series: pd.Series, delimiter: str) -> pa.Array:
    """The CSV cells of a column, quoted where the csv module quotes: text, integer, date and
    list-of-text columns by Arrow kernels, the others made text value by value first."""
    distinct = _distinct_texts(series)
    if distinct is not None:
        texts, indices = distinct
        return pc.fill_null(_arrow_csv_cells(texts, delimiter).take(indices), _text(""))
    text = _arrow_text(series)
    if text is None:
        typed = _arrow_dates_or_lists(series)
        if typed is None:
            text = pa.array(_csv_column(series, delimiter), pa.large_string())
        elif pa.types.is_date32(typed.type):
            return pc.fill_null(pc.cast(typed, pa.large_string()), _text(""))
        else:
            text = pc.binary_join(typed, _text(delimiter))
    elif isinstance(series.dtype, pd.Int64Dtype):
        return pc.fill_null(text, _text(""))
    special = pc.fill_null(pc.match_substring_regex(text, _CSV_SPECIAL), False)
    quoted = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text(""))
    return pc.fill_null(pc.if_else(special, quoted, text), _text(""))


def _arrow_json_cells(series: pd.Series) -> pa.Array | None:
    """The JSON-encoded cells of a text, integer, date or list-of-text column, as json.dumps writes
    them; None when the column is of another type (the caller then encodes it in Python)."""
    distinct = _distinct_texts(series)
    if distinct is not None:
        texts, indices = distinct
        return pc.fill_null(_arrow_json_cells(texts).take(indices), _text("null"))  # type: ignore[union-attr]
    text = _arrow_text(series)
    if text is None:
        typed = _arrow_dates_or_lists(series)
        if typed is None:
            return None
        if pa.types.is_date32(typed.type):
            text = pc.binary_join_element_wise(_text('"'), pc.cast(typed, pa.large_string()), _text('"'), _text(""))
        else:
            text = pc.cast(json_lists(typed), pa.large_string())
        return pc.fill_null(text, _text("null"))
    if isinstance(series.dtype, pd.StringDtype):
        text = _json_texts(text)
    return pc.fill_null(text, _text("null"))


class TextList(Sequence):
    """A long list of texts held as one Arrow string array instead of Python strings (a million row
    ids as ``str`` objects take ~70 MB more, and ``json.dumps`` of them as much again): what a first
    release's ``changes.json`` lists as its rows added. :func:`json_text_list` writes it as
    ``json.dumps`` does."""

    def __init__(self, array: pa.Array | pa.ChunkedArray):
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index):  # type: ignore[override]
        return self.array[index].to_pylist() if isinstance(index, slice) else self.array[index].as_py()

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self.array), _ITER_TEXTS):
            yield from self.array.slice(start, _ITER_TEXTS).to_pylist()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TextList({len(self)} texts)"


_ITER_TEXTS = 65_536


class MarkedTexts(Sequence):
    """The texts of ``texts`` (a table's id column) at the rows ``marked`` picks, in order, read only
    when they are asked for: what a summary finding stands for (``Finding.rows``). It holds the
    column it was given and the mask, one byte a row, where a copy of the ids held ~52 bytes a row
    from validation to the end of publishing (~520 MB at ten million rows). A missing text reads as
    ``<NA>``. Pickled (a build stored for the cache), it is its own texts alone, not the column.
    """

    def __init__(self, texts: pa.Array | pa.ChunkedArray | Sequence, marked: np.ndarray | None = None):
        if isinstance(texts, pd.api.extensions.ExtensionArray) and not isinstance(texts.dtype, pd.StringDtype):
            texts = texts.astype("string[pyarrow]")
        array = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, from_pandas=True)
        self._texts = array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])
        if not pa.types.is_string(self._texts.type) and not pa.types.is_large_string(self._texts.type):
            self._texts = self._texts.cast(pa.string())
        self._marked = None if marked is None else np.asarray(marked, dtype=bool)
        if self._marked is not None and len(self._marked) != len(self._texts):
            raise ValueError(f"{len(self._marked)} marks for {len(self._texts)} texts")
        self._count = len(self._texts) if self._marked is None else int(np.count_nonzero(self._marked))

    def __len__(self) -> int:
        return self._count

    def arrays(self, rows: int = _ITER_TEXTS) -> Iterator[pa.Array]:
        """The marked texts as ``large_string`` arrays, from ``rows`` rows of the column at a time
        (so up to ``rows`` texts each; a window marking none gives none)."""
        for start in range(0, len(self._texts), rows):
            window = self._texts.slice(start, rows)
            if self._marked is not None:
                picked = np.flatnonzero(self._marked[start : start + rows])
                if not len(picked):
                    continue
                if len(picked) < len(window):
                    window = window.take(picked)
            yield pc.fill_null(window.cast(pa.large_string()), _text(str(pd.NA))).combine_chunks()

    def __iter__(self) -> Iterator[str]:
        for array in self.arrays():
            yield from array.to_pylist()

    def __getitem__(self, index):  # type: ignore[override]
        return list(self)[index]  # every text read: nothing asks for one by position but tests

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        return MarkedTexts, (pa.chunked_array(list(self.arrays()), pa.large_string()),)

    def __repr__(self) -> str:
        return f"MarkedTexts({len(self)} of {len(self._texts)} texts)"


def json_text_list(texts: TextList, indent: int) -> Iterator[bytes]:
    """``texts`` as ``json.dumps(list, ensure_ascii=False, indent=2)`` writes a list whose line starts
    ``indent`` spaces in: the items encoded and joined by Arrow kernels, :data:`_ITER_TEXTS` at a
    time (three million ids joined at once took +558 MB)."""
    if not len(texts):
        yield b"[]"
        return
    pad = _text(" " * (indent + 2))
    yield b"[\n"
    for start in range(0, len(texts), _ITER_TEXTS):
        cells = pc.binary_join_element_wise(pad, _json_texts(pc.cast(texts.array.slice(start, _ITER_TEXTS), pa.large_string())), _text(""))
        body = joined_lines([cells], _text(""), _text(","))
        yield body[:-2] if start + _ITER_TEXTS >= len(texts) else body
    yield b"\n" + b" " * indent + b"]"


def _json_texts(text: pa.Array) -> pa.Array:
    """Texts JSON-encoded as ``json.dumps`` does (a null stays null): quoted by Arrow, or each by
    json when one needs escaping."""
    if pc.any(pc.match_substring_regex(text, _JSON_SPECIAL)).as_py():
        return pa.array([None if value is None else json.dumps(value, ensure_ascii=False) for value in text.to_pylist()],
                        pa.large_string())  # fmt: skip
    return pc.binary_join_element_wise(_text('"'), text, _text('"'), _text(""))


def json_lists(column: pa.ListArray) -> pa.Array:
    """Each list of strings as ``json.dumps(value, ensure_ascii=False)`` writes it (null stays null).

    That text is ``"[" + ", ".join(json.dumps(item)) + "]"``: Arrow joins it, and each distinct item
    is encoded once. A list holding a null item is encoded by ``json.dumps`` itself.
    """
    offsets = column.offsets  # into column.values, where this slice starts
    start = offsets[0].as_py()
    items = column.values.slice(start, offsets[-1].as_py() - start)
    if items.null_count:
        return pa.array([None if value is None else json.dumps(value, ensure_ascii=False) for value in column.to_pylist()], pa.string())
    codes = items.dictionary_encode()
    encoded = pa.array([json.dumps(item, ensure_ascii=False) for item in codes.dictionary.to_pylist()], pa.string())
    lists = pa.ListArray.from_arrays(pc.subtract(offsets, start), encoded.take(codes.indices), mask=column.is_null())
    return pc.binary_join_element_wise(pa.scalar("["), pc.binary_join(lists, ", "), pa.scalar("]"), pa.scalar(""))


def joined_lines(cells: list[pa.Array | pa.Scalar], separator: pa.Scalar | None, end: pa.Scalar) -> bytes:
    """Each row's cells joined by ``separator`` (none: side by side), then ``end`` and a newline: the
    bytes of all the lines, taken from the joined array's data buffer. A cell given as a scalar is
    the same text in every row."""
    rows = next((len(cell) for cell in cells if not isinstance(cell, pa.Scalar)), 0)
    if not rows:
        return b""
    pieces: list[pa.Array | pa.Scalar] = []
    for number, cell in enumerate(cells):
        pieces += [separator, cell] if number and separator is not None else [cell]
    lines = pc.binary_join_element_wise(*pieces, end, _text("\n"), _text(""))
    if isinstance(lines, pa.ChunkedArray):  # a slice across the Arrow chunks of a table extracted in blocks
        lines = lines.combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + rows + 1]
    return memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]].tobytes()


def jsonl_lines(cells: dict[str, pa.Array]) -> bytes:
    """JSON Lines from each field's JSON-encoded cells, ``{"key": cell, ...}`` per row: the pieces of
    every row joined by Arrow in one pass, the keys as scalars between the cells (the package check
    builds its expected twin with it too)."""
    keys = [_text(("{" if number == 0 else ", ") + json.dumps(str(name), ensure_ascii=False) + ": ") for number, name in enumerate(cells)]
    return joined_lines([piece for key, cell in zip(keys, cells.values()) for piece in (key, cell)], None, _text("}"))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _json_column(series: pd.Series) -> list[str]:
    """Each value of a column JSON-encoded as ``json.dumps`` does inside one record.

    Scalars are encoded in one call: the values are dumped as one array with ``\\n`` between
    items, and a newline cannot occur inside an encoded value (JSON escapes it), so splitting on
    it gives each value back. Lists are encoded once per distinct list.
    """
    values = _column_values(series)
    if not values:
        return []
    if series.dtype == object and any(isinstance(value, list) for value in values):
        encoded_lists: dict[object, str] = {}
        encoded = []
        for value in values:
            key = (True, tuple(value)) if isinstance(value, list) else (False, type(value), value)
            if key not in encoded_lists:
                encoded_lists[key] = json.dumps(value, ensure_ascii=False)
            encoded.append(encoded_lists[key])
        return encoded
    return json.dumps(values, ensure_ascii=False, separators=("\n", ": "))[1:-1].split("\n")


def jsonl_chunks(frame: pd.DataFrame, workers: int = 1) -> Iterator[bytes]:
    """JSON Lines in slices of rows, ``workers`` slices at once; joined, the chunks are :func:`render_jsonl`."""
    if not len(frame):
        return

    def render(part: pd.DataFrame) -> bytes:
        cells = {name: _arrow_json_cells(part[name]) for name in part.columns}
        return jsonl_lines({name: pa.array(_json_column(part[name]), pa.large_string()) if cell is None else cell
                            for name, cell in cells.items()})  # fmt: skip

    yield from mapped_in_threads(render, _slices(frame), "render", workers)


def render_jsonl(frame: pd.DataFrame) -> bytes:
    """One JSON object per line, the same bytes as ``json.dumps`` of each record in field order."""
    return b"".join(jsonl_chunks(frame))
