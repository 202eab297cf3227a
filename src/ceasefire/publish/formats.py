"""Typed downloads generated from the Table Schemas: Parquet per table, one SQLite database.

Both are pure functions of the typed rows and the schemas, byte for byte, and both are written
slice by slice into the staging folder, never whole in memory: Parquet by one writer with fixed
options, without timestamps, one row group per slice; the SQLite database by the same statements in
the same order into a scratch file, renamed into its place once complete. Dates are dates in
Parquet and ISO text in SQLite; lists are lists in Parquet and JSON arrays in SQLite. A missing
value and an empty list are both null, in every format (CSV can tell them apart no better).

After writing, :func:`find_written_mismatches` reads every typed file back from disk, in windows
of rows, and compares it with the typed columns of the CSV form (the form frictionless validates),
read independently by Arrow's CSV reader with the Table Schema's types.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path

import pandas as pd

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.schema import Schema
from ceasefire.contracts.storage_types import arrow_type, sqlite_type
from ceasefire.publish.publishing import DataFile, hash_file
from ceasefire.publish.serialize import RENDER_ROWS, empty_lists_as_null, json_lists
from ceasefire.threads import Beside

SQLITE_PATH = f"data/{PACKAGE_NAME}.sqlite"
SQLITE_MEDIATYPE = "application/vnd.sqlite3"
SQLITE_DESCRIPTION = (
    "Every table with its primary and foreign keys and indexes on dates and controlled vocabularies. Dates are "
    "ISO 8601 text, lists JSON arrays. The tables _tables and _fields hold the titles and descriptions; each "
    "<table>_by_year view adds the year of the first date. `ceasefire browse` serves it with Datasette."
)
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"
PARQUET_DESCRIPTION = (
    "The same typed rows as Parquet, typed by the Table Schema: dates as dates, nullable integers, lists as lists; "
    "each column carries its title and description."
)
FIELDS_TABLE = "_fields"
TABLES_TABLE = "_tables"
YEAR_VIEW_SUFFIX = "_by_year"
# Rows per Arrow batch, and so per Parquet row group: Arrow columns are compact, 100,000 rows of
# the violations table take about 25 MB.
TYPED_ROWS = 100_000
# Rows compared at once by the read-back check: bounds its memory whatever the table's size.
CHECK_ROWS = 16_384
# Arrow's CSV reader needs a whole row inside one block, and holds several blocks at once: reading
# the 300 MB violations CSV of 1,000,000 rows costs ~80 MB with 1 MB blocks, ~150 MB with 2 MB and
# ~210 MB with 4 MB ones, and smaller blocks are no slower. The read-back starts with small blocks and
# reads a table again with the next size when a row does not fit.
CSV_BLOCK_BYTES = (1 << 20, 1 << 26, 1 << 30)
# What Arrow's CSV reader says when a row, or the header, does not fit in one block.
_ROW_TOO_LONG = ("straddling object straddles two block boundaries", "Empty CSV file or block: cannot infer number of columns")
# Header fields that say which SQLite library last wrote the file and how often (file format,
# section 1.3): zero, as in a serialised in-memory database, so the bytes do not depend on the writer.
SQLITE_WRITER_FIELDS = ((24, 4), (92, 8))


class FormatMismatch(RuntimeError):
    """A typed download does not read back as the rows of its CSV form: a bug in a writer."""


class TypedFilesCancelled(Exception):
    """Writing the typed files, or reading them back, was cancelled between two batches: what was
    written of them is to be thrown away."""


def parquet_path(resource: str) -> str:
    return f"data/{resource}.parquet"


def arrow_schema(schema: dict) -> "pa.Schema":
    """The Arrow schema of a table's typed rows, with pandas' metadata so ``pd.read_parquet`` keeps Int64."""
    return Schema.from_descriptor(schema).to_pyarrow().with_metadata({b"pandas": _pandas_metadata(schema)})


def typed_batches(
    frame: pd.DataFrame, schema: dict, rows: int = TYPED_ROWS, cancel: threading.Event | None = None
) -> Iterator["pa.RecordBatch"]:
    """A validated frame as Arrow record batches of ``rows`` rows, typed by the Table Schema.

    Dates are dates, integers int64, lists lists; a missing value and an empty list are null.
    Raises :class:`TypedFilesCancelled` before a batch once ``cancel`` is set.
    """
    import pyarrow as pa

    target = arrow_schema(schema)
    for start in range(0, len(frame), rows) if len(frame) else [0]:
        if cancel is not None and cancel.is_set():
            raise TypedFilesCancelled("the typed files were cancelled")
        part = frame.iloc[start : start + rows]
        columns = []
        for field in target:
            column = pa.array(part[field.name], type=field.type, from_pandas=True)
            if pa.types.is_list(field.type):
                column = empty_lists_as_null(column)
            columns.append(column)
        yield pa.RecordBatch.from_arrays(columns, schema=target)


def write_parquet(file: DataFile, frame: pd.DataFrame, schema: dict, folder: Path, cancel: threading.Event | None = None) -> DataFile:
    """One table as Parquet, typed by the Table Schema, one row group per slice; each field keeps its title and description."""
    path = folder / file.path
    with _parquet_writer(path, schema) as writer:
        for batch in typed_batches(frame, schema, cancel=cancel):
            _write_row_group(writer, batch)
    return file.written(*hash_file(path))


def _parquet_writer(path: Path, schema: dict) -> "pq.ParquetWriter":
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    # Fixed writer options: defaults can change between pyarrow releases, the pinned version's cannot.
    # zstd's own default level, 3: at a million rows 0.5 s and 7.4 MB, where level 9 took 0.9-1.2 s
    # for 7.1 MB (the dictionaries do most of the work); the seed's files grow by 0.5-1 %.
    return pq.ParquetWriter(path, arrow_schema(schema), compression="zstd", compression_level=3, version="2.6",
                            use_dictionary=True, write_statistics=True)  # fmt: skip


def _write_row_group(writer: "pq.ParquetWriter", batch: "pa.RecordBatch") -> None:
    """One batch of :func:`typed_batches` as one row group."""
    import pyarrow as pa

    writer.write_table(pa.Table.from_batches([batch]), row_group_size=TYPED_ROWS)


def _pandas_metadata(schema: dict) -> bytes:
    """pandas' own Parquet metadata, so ``pd.read_parquet`` gives nullable integers (Int64), not floats.

    Written by pyarrow from an empty frame: it names the pinned pandas and pyarrow versions, no time.
    """
    import pyarrow as pa

    from ceasefire.contracts.schema import PANDAS_DTYPES

    extension = {"integer", "number", "boolean"}  # the types pandas would otherwise read as float or object
    empty = pd.DataFrame({
        spec["name"]: pd.Series([], dtype=PANDAS_DTYPES[spec["type"]] if spec.get("type") in extension else object)
        for spec in schema["fields"]
    })  # fmt: skip
    return pa.Schema.from_pandas(empty, preserve_index=False).metadata[b"pandas"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quoted_names(names: tuple[str, ...]) -> str:
    return ", ".join(map(_quote, names))


def _create_table(name: str, schema: dict) -> str:
    """``CREATE TABLE`` from the contract: its SQLite types, NOT NULL, primary and foreign keys."""
    contract = Schema.from_descriptor(schema, name=name)
    types = contract.to_sqlite()
    columns = [f"{_quote(f.name)} {types[f.name]}" + (" NOT NULL" if f.required else "") for f in contract.fields]
    if contract.primary_key:
        columns.append(f"PRIMARY KEY ({_quoted_names(contract.primary_key)})")
    for key in contract.foreign_keys:
        columns.append(f"FOREIGN KEY ({_quoted_names(key.fields)}) REFERENCES {_quote(key.resource or name)} "
                       f"({_quoted_names(key.reference_fields)})")  # fmt: skip
    return f"CREATE TABLE {_quote(name)} (\n  " + ",\n  ".join(columns) + "\n)"


def indexed_fields(schema: dict) -> list[str]:
    """Fields users filter and facet on: dates, controlled vocabularies and enums, foreign keys."""
    foreign = {field for key in Schema.from_descriptor(schema).foreign_keys for field in key.fields}
    return [
        spec["name"]
        for spec in schema["fields"]
        if spec.get("type") == "date"
        or "x-vocabulary" in spec
        or "enum" in spec.get("constraints", {})
        or spec["name"] in foreign
    ]


def year_field(schema: dict) -> str | None:
    """The first date field: the one a table's year view and year facet are built on."""
    return next((spec["name"] for spec in schema["fields"] if spec.get("type") == "date"), None)


def _sqlite_column(spec: dict, column: "pa.Array") -> "pa.Array":
    """A typed Arrow column as the values SQLite stores: dates as ISO text, lists as JSON arrays."""
    import pyarrow as pa

    kind = spec.get("type", "string")
    if kind == "date":
        return column.cast(pa.string())
    if kind != "list":
        return column
    return json_lists(column)


def write_sqlite(
    file: DataFile, tables: Iterable[tuple[str, dict, dict, pd.DataFrame]], folder: Path, cancel: threading.Event | None = None,
    batches: Callable[[str, pd.DataFrame, dict], Iterable["pa.RecordBatch"]] | None = None,
) -> DataFile:
    """Every table in one SQLite database, with keys, indexes, a year view and its field descriptions.

    ``tables`` gives ``(name, resource metadata, Table Schema, frame)``; a referenced table comes
    before the tables that refer to it. ``_tables`` and ``_fields`` hold the titles and
    descriptions, so the database explains itself without ``datapackage.json``. ``batches`` gives
    a table's rows as :func:`typed_batches` makes them, from its name, frame and Table Schema
    (default: :func:`typed_batches` of :data:`RENDER_ROWS` rows); the database is the same for
    batches of any size.

    The statements run on a scratch file beside the target (no journal, no syncs: publishing syncs
    the staged files), which becomes the target once complete, with the writer's header fields
    zeroed: the same statements on the same rows give the same pages, so the same bytes. (A
    ``VACUUM INTO`` copied it in canonical page order until round 15: 0.8 of 4.8 CPU-seconds at a
    million rows, for a file 1.5 % smaller; docs/BENCHMARKS.md.) The rows go in from Arrow by
    ADBC's bulk ingest (no Python value per cell); the read-back (:func:`find_written_mismatches`)
    reads them back by ADBC too, and by Python's own sqlite3 from any batch ADBC cannot type. The
    tests read each cell's value and storage class with sqlite3.
    """
    import adbc_driver_sqlite.dbapi
    import pyarrow as pa

    path = folder / file.path
    scratch = path.with_name(f".{path.name}.build")
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(scratch)
    ingest = adbc_driver_sqlite.dbapi.connect(str(scratch))  # one transaction per table: its syncs do not matter
    complete = False
    try:
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        # Foreign keys are declared, not enforced while writing: validation and frictionless report a broken
        # one with its raw line, which an IntegrityError here could not.
        connection.execute(
            f"CREATE TABLE {TABLES_TABLE} (table_name TEXT PRIMARY KEY, title TEXT, description TEXT, rows INTEGER NOT NULL)"
        )
        connection.execute(
            f"CREATE TABLE {FIELDS_TABLE} (table_name TEXT NOT NULL REFERENCES {TABLES_TABLE} (table_name), "
            "position INTEGER NOT NULL, field_name TEXT NOT NULL, type TEXT NOT NULL, sqlite_type TEXT NOT NULL, "
            "title TEXT, description TEXT, constraints TEXT, PRIMARY KEY (table_name, field_name))"
        )
        for name, metadata, schema, frame in tables:
            connection.execute(_create_table(name, schema))
            connection.commit()
            with ingest.cursor() as cursor:
                for batch in batches(name, frame, schema) if batches else typed_batches(frame, schema, RENDER_ROWS, cancel):
                    # A larger batch (Parquet's, from write_typed_files) goes in a slice of RENDER_ROWS at a time.
                    for start in range(0, max(batch.num_rows, 1), RENDER_ROWS):
                        piece = batch.slice(start, RENDER_ROWS)
                        values = [_sqlite_column(spec, column) for spec, column in zip(schema["fields"], piece.columns)]
                        cursor.adbc_ingest(name, pa.RecordBatch.from_arrays(values, names=piece.schema.names), mode="append")
            ingest.commit()
            for column in indexed_fields(schema):
                connection.execute(f"CREATE INDEX {_quote(f'{name}_{column}')} ON {_quote(name)} ({_quote(column)})")
            year = year_field(schema)
            if year:
                connection.execute(
                    f"CREATE VIEW {_quote(name + YEAR_VIEW_SUFFIX)} AS SELECT CAST(substr({_quote(year)}, 1, 4) AS INTEGER) "
                    f"AS year, * FROM {_quote(name)}"
                )
            connection.execute(f"INSERT INTO {TABLES_TABLE} VALUES (?, ?, ?, ?)",
                               (name, metadata.get("title"), metadata.get("description"), len(frame)))  # fmt: skip
            connection.executemany(
                f"INSERT INTO {FIELDS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (name, position, spec["name"], _field_type(spec), sqlite_type(spec), spec.get("title"),
                     spec.get("description"), json.dumps(spec["constraints"], sort_keys=True) if spec.get("constraints") else None)
                    for position, spec in enumerate(schema["fields"], start=1)
                ],
            )  # fmt: skip
        connection.commit()
        complete = True
    finally:
        ingest.close()
        connection.close()
        if not complete:
            scratch.unlink(missing_ok=True)  # a failed or cancelled database
    try:
        _zero_writer_fields(scratch)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return file.written(*hash_file(path))


def _zero_writer_fields(path: Path) -> None:
    with path.open("r+b") as handle:
        for offset, length in SQLITE_WRITER_FIELDS:
            handle.seek(offset)
            handle.write(bytes(length))


def _field_type(spec: dict) -> str:
    kind = spec.get("type", "string")
    return f"list of {spec.get('itemType', 'string')}" if kind == "list" else kind


def _csv_tables(path: Path, schema: dict, block_bytes: int = CSV_BLOCK_BYTES[0]) -> Iterator["pa.Table"]:
    """The CSV form's typed rows, as frictionless reads them, in blocks: Arrow's CSV reader with the
    Table Schema's types, list cells split on their delimiter (a list with no items is null)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    types = {spec["name"]: pa.string() if spec.get("type") == "list" else arrow_type(spec) for spec in schema["fields"]}
    convert = pv.ConvertOptions(column_types=types, null_values=schema.get("missingValues", [""]), strings_can_be_null=True,
                                quoted_strings_can_be_null=True, true_values=["true"], false_values=["false"])  # fmt: skip
    reader = pv.open_csv(path, read_options=pv.ReadOptions(block_size=block_bytes),
                         parse_options=pv.ParseOptions(newlines_in_values=True), convert_options=convert)  # fmt: skip
    specs = {spec["name"]: spec for spec in schema["fields"]}
    for batch in reader:
        columns = []
        for name, column in zip(batch.schema.names, batch.columns):
            spec = specs.get(name, {})
            if spec.get("type") == "list":
                column = pc.split_pattern(column, spec.get("delimiter", ",")).cast(arrow_type(spec))
            columns.append(column)
        yield pa.Table.from_arrays(columns, names=batch.schema.names)


def _parquet_tables(path: Path) -> Iterator["pa.Table"]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHECK_ROWS):
        yield pa.Table.from_batches([batch])


def _sqlite_tables(connection: sqlite3.Connection, name: str, schema: dict, offset: int = 0) -> Iterator["pa.Table"]:
    """A table of the SQLite form as typed columns, in batches, from row ``offset`` on, by Python's
    sqlite3: ISO dates and JSON arrays read back by the schema.

    A column that does not convert to its Arrow type reads back as text, which the comparison reports.
    """
    import pyarrow as pa

    names = [spec["name"] for spec in schema["fields"]]
    cursor = connection.execute(f"SELECT {', '.join(map(_quote, names))} FROM {_quote(name)} ORDER BY rowid LIMIT -1 OFFSET ?",
                                (offset,))  # fmt: skip
    while rows := cursor.fetchmany(CHECK_ROWS):
        columns = []
        for position, spec in enumerate(schema["fields"]):
            values = list(map(itemgetter(position), rows))  # one column of the rows, in C (zip(*rows) is slower)
            kind = spec.get("type", "string")
            try:
                if kind in ("date", "list"):
                    column = _typed_text(pa.array(values, pa.string()), spec)
                else:
                    column = pa.array(values, arrow_type(spec))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                column = pa.array([None if value is None else str(value) for value in values], pa.string())
            columns.append(column)
        yield pa.Table.from_arrays(columns, names=names)


def _typed_text(column: "pa.Array", spec: dict) -> "pa.Array":
    """The date or list column a text column of the SQLite form stands for: ISO dates, JSON arrays."""
    import pyarrow as pa

    if spec.get("type") == "date":
        return column.cast(pa.date32())
    codes = column.dictionary_encode()  # places repeat: each text decoded once
    decoded = [json.loads(text) for text in codes.dictionary.to_pylist()]
    return pa.array(decoded, arrow_type(spec)).take(codes.indices)


class _InferredTypeBroken(Exception):
    """ADBC typed a column by its first batch, and a later value is of another storage class."""


def _adbc_tables(path: Path, name: str, schema: dict) -> Iterator["pa.Table"]:
    """A table of the SQLite form as typed columns, in batches of :data:`CHECK_ROWS`, read by ADBC's
    SQLite driver into Arrow (no Python value per cell).

    The driver types each column by the values of the first batch: a column null throughout it
    comes as nulls of the schema's type here. A batch with a column not of the schema's type (a
    later value of another storage class, text in an integer column, a date or list that does not
    parse) stops the read with :class:`_InferredTypeBroken`, before that batch is yielded.
    """
    import adbc_driver_sqlite.dbapi
    import pyarrow as pa

    names = [spec["name"] for spec in schema["fields"]]
    with adbc_driver_sqlite.dbapi.connect(f"{path.resolve().as_uri()}?mode=ro") as connection, connection.cursor() as cursor:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(CHECK_ROWS)})
        cursor.execute(f"SELECT {', '.join(map(_quote, names))} FROM {_quote(name)} ORDER BY rowid")
        reader = cursor.fetch_record_batch()
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except OSError as error:
                if "Type mismatch" in str(error):
                    raise _InferredTypeBroken(str(error)) from None
                raise
            columns = []
            for spec, column in zip(schema["fields"], batch.columns):
                want = arrow_type(spec)
                if column.null_count == len(column):
                    column = pa.nulls(len(column), want)
                elif spec.get("type") in ("date", "list") and column.type == pa.string():
                    try:
                        column = _typed_text(column, spec)
                    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                        raise _InferredTypeBroken(f"{spec['name']} does not read as {want}") from None
                if not _same_type(column.type, want):
                    raise _InferredTypeBroken(f"{spec['name']} reads as {column.type}, not {want}")
                columns.append(column)
            yield pa.Table.from_arrays(columns, names=names)


def _sqlite_read_back(path: Path, connection: sqlite3.Connection, name: str, schema: dict) -> Iterator["pa.Table"]:
    """A table of the SQLite form as typed columns, in batches: by ADBC, and by Python's sqlite3 from
    the first batch ADBC cannot type (a column null at first and text later, or a value stored wrongly).

    The comparison sees the same tables either way (hypothesis in ``tests/test_typed_downloads.py``).
    """
    read = 0
    try:
        for table in _adbc_tables(path, name, schema):
            read += table.num_rows
            yield table
    except _InferredTypeBroken:
        yield from _sqlite_tables(connection, name, schema, offset=read)


def _windows(tables: Iterator["pa.Table"], rows: int) -> Iterator["pa.Table"]:
    """The same rows re-cut into tables of exactly ``rows`` rows (the last one shorter), so two forms align."""
    import pyarrow as pa

    pending: list[pa.Table] = []
    held = 0
    for table in tables:
        pending.append(table)
        held += table.num_rows
        while held >= rows:
            whole = pa.concat_tables(pending)
            yield whole.slice(0, rows)
            pending, held = [whole.slice(rows)], held - rows
    if held:
        yield pa.concat_tables(pending)


def _same_type(read: "pa.DataType", want: "pa.DataType") -> bool:
    import pyarrow as pa

    if pa.types.is_list(read) and pa.types.is_list(want):  # the item's name (item, element) is not the type
        return _same_type(read.value_type, want.value_type)
    return read == want


def _equal(want: "pa.ChunkedArray", read: "pa.ChunkedArray") -> bool:
    return _same_type(read.type, want.type) and want.equals(read.cast(want.type))


def _first_difference(want: "pa.Table", read: "pa.Table") -> tuple[int, list[str]] | None:
    """The first row (0-based, within the window) where ``read`` differs from ``want``, and its fields."""
    rows = min(want.num_rows, read.num_rows)
    want, read = want.slice(0, rows), read.slice(0, rows)
    differing = [name for name in want.column_names if not _equal(want.column(name), read.column(name))]
    if not differing:
        return None
    # Only a window that differs becomes Python values; a type that differs differs in its first row.
    columns = {name: (want.column(name).to_pylist(), read.column(name).to_pylist()) for name in differing}
    row = min(next((i for i, (a, b) in enumerate(zip(*pair)) if a != b or type(a) is not type(b)), 0)
              for pair in columns.values())  # fmt: skip
    return row, [name for name, (a, b) in columns.items() if a[row] != b[row] or type(a[row]) is not type(b[row])]


def compare_forms(
    expected: Iterator["pa.Table"], forms: dict[str, Iterator["pa.Table"]], cancel: threading.Event | None = None
) -> list[str]:
    """What differs between the CSV form's typed rows and each typed form (named ``table:form``): the first difference.

    Every stream is read once, in windows of :data:`CHECK_ROWS` rows, so memory does not grow with
    the table. Checked in order: column names, column types, row count, values. Raises
    :class:`TypedFilesCancelled` before a window once ``cancel`` is set.
    """
    expected_windows = _windows(expected, CHECK_ROWS)
    first = next(expected_windows, None)
    problems: dict[str, str] = {}
    windows, heads, counts, differences = {}, {}, {}, {}
    for form, stream in forms.items():
        windows[form] = _windows(stream, CHECK_ROWS)
        heads[form] = next(windows[form], None)
        head = heads[form]
        if head is None or first is None:
            continue
        if head.column_names != first.column_names:
            problems[form] = f"{form}: columns {head.column_names} read back, {first.column_names} in the CSV form"
            continue
        retyped = [f"{name} ({head.schema.field(name).type}, not {field.type})" for name, field in zip(first.column_names, first.schema)
                   if not _same_type(head.schema.field(name).type, field.type)]  # fmt: skip
        if retyped:
            problems[form] = f"{form}: typed differently from the CSV form: {', '.join(retyped)}"
    live = [form for form in forms if form not in problems]
    counts = {form: 0 for form in live}
    offset, want = 0, first
    while want is not None:
        if cancel is not None and cancel.is_set():
            raise TypedFilesCancelled("reading the typed files back was cancelled")
        for form in live:
            read = heads.pop(form) if form in heads else next(windows[form], None)
            if read is None:
                continue
            counts[form] += read.num_rows
            if form not in differences:
                found = _first_difference(want, read)
                if found:
                    differences[form] = f"{form}: row {offset + found[0] + 2} differs from the CSV form in {', '.join(found[1])}"
        offset += want.num_rows
        want = next(expected_windows, None)
    for form in live:
        head = heads.pop(form, None)
        counts[form] += (head.num_rows if head is not None else 0) + sum(table.num_rows for table in windows[form])
        if counts[form] != offset:
            problems[form] = f"{form}: {counts[form]} rows read back, {offset} in the CSV form"
        elif form in differences:
            problems[form] = differences[form]
    return [problems[form] for form in forms if form in problems]


def find_written_mismatches(folder: Path, schemas: dict[str, dict], cancel: threading.Event | None = None) -> list[str]:
    """Read every typed download in ``folder`` back from disk and compare it with its CSV form's typed rows.

    ``schemas`` maps each table to the Table Schema of its CSV form. Setting ``cancel`` (from
    another thread) stops it with :class:`TypedFilesCancelled` before the next window of rows.
    """
    import pyarrow as pa

    problems = []
    connection = sqlite3.connect(f"{(folder / SQLITE_PATH).resolve().as_uri()}?mode=ro", uri=True)
    try:
        for name, schema in schemas.items():
            for block_bytes in CSV_BLOCK_BYTES:
                forms = {
                    f"{name}:parquet": _parquet_tables(folder / parquet_path(name)),
                    f"{name}:sqlite": _sqlite_read_back(folder / SQLITE_PATH, connection, name, schema),
                }
                try:
                    problems += compare_forms(_csv_tables(folder / f"data/{name}.csv", schema, block_bytes), forms, cancel)
                    break
                except pa.ArrowInvalid as error:
                    if any(text in str(error) for text in _ROW_TOO_LONG) and block_bytes != CSV_BLOCK_BYTES[-1]:
                        continue  # a row (or the header) longer than the block: read the table again with larger ones
                    problems.append(f"{name}: the CSV form does not read with its Table Schema's types ({error})")
                    break
    finally:
        connection.close()
    return problems


def plan_typed_files(table_files: list[DataFile]) -> list[DataFile]:
    """Parquet per table and one SQLite database of them all, typed by the same Table Schemas as
    ``table_files`` (the CSV and JSON Lines forms) and declared as files; not yet written."""
    files = [
        DataFile(f"{csv_form.resource}-parquet", parquet_path(csv_form.resource), "parquet", PARQUET_MEDIATYPE, None,
                 f"{csv_form.title} (Parquet)", PARQUET_DESCRIPTION)
        for csv_form in table_files
        if csv_form.format == "csv"
    ]  # fmt: skip
    files.append(DataFile("sqlite", SQLITE_PATH, "sqlite", SQLITE_MEDIATYPE, None, "Every table in one SQLite database",
                          SQLITE_DESCRIPTION))  # fmt: skip
    return files


def write_typed_files(
    planned: list[DataFile], extractions: dict, contracts, table_files: list[DataFile], folder: Path,
    cancel: threading.Event | None = None,
) -> list[DataFile]:
    """Write the files of :func:`plan_typed_files` into ``folder``, from the frames of ``extractions``.

    Each table is made typed batches once (:func:`typed_batches`): its Parquet file and the
    database take each batch in turn (making them twice cost 0.5-0.7 of 5.3 CPU-seconds at a million rows).
    Setting ``cancel`` (from another thread) stops it with :class:`TypedFilesCancelled` before the next batch.
    """
    titles = {file.resource: file for file in table_files if file.format == "csv"}
    parquet = {file.resource.removesuffix("-parquet"): file for file in planned if file.format == "parquet"}
    writers: dict[str, "pq.ParquetWriter"] = {}

    def teed(name: str, frame: pd.DataFrame, schema: dict) -> Iterator["pa.RecordBatch"]:
        for batch in typed_batches(frame, schema, cancel=cancel):
            if name in writers:
                _write_row_group(writers[name], batch)
            yield batch

    written: dict[str, DataFile] = {}
    try:
        for name, file in parquet.items():
            writers[name] = _parquet_writer(folder / file.path, contracts.table_schema(name))
        database = next((file for file in planned if file.format == "sqlite"), None)
        if database is not None:
            tables = [(name, {"title": titles[name].title, "description": titles[name].description},
                       contracts.table_schema(name), extraction.frame) for name, extraction in extractions.items()]  # fmt: skip
            written[database.path] = write_sqlite(database, tables, folder, cancel, teed)
        else:  # the Parquet files alone
            for name in parquet:
                for _ in teed(name, extractions[name].frame, contracts.table_schema(name)):
                    pass
    finally:
        for writer in writers.values():
            writer.close()
    for file in parquet.values():
        written[file.path] = file.written(*hash_file(folder / file.path))
    return [written[file.path] for file in planned]


class ReadBack(Beside[list]):
    """:func:`find_written_mismatches` on a thread of its own (:class:`ceasefire.threads.Beside`).

    Publishing starts it as soon as the typed files are written, so that it runs while the rest of
    the version is rendered and staged (docs/BENCHMARKS.md). Leaving the ``with`` block cancels a
    read-back whose result was not taken (between two windows of rows) and waits for its thread,
    so no thread still reads the stage once it is removed or promoted.
    """

    def __init__(self) -> None:
        super().__init__("read-back")

    def start(self, folder: Path, schemas: dict[str, dict], after: Beside | None = None) -> None:  # type: ignore[override]
        """Read back the typed files of ``folder``, once ``after`` has ended; they must not change from now on."""
        super().start(find_written_mismatches, folder, schemas, after=after)
