"""Typed downloads generated from the Table Schemas: Parquet per table, one SQLite database.

Both are pure functions of the typed columns and the schemas, byte for byte: Parquet is written
without pandas metadata or timestamps, and the SQLite database is built in memory by the same
statements in the same order, vacuumed, then serialised. Dates are dates in Parquet and ISO text
in SQLite; lists are lists in Parquet and JSON arrays in SQLite. A missing value and an empty list
are both null, in every format (CSV can tell them apart no better).

After writing, :func:`find_written_mismatches` reads every typed file back and compares it, column
by column, with the typed columns of the CSV form, the form frictionless validates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.schema import Schema
from ceasefire.contracts.storage_types import sqlite_type
from ceasefire.publish.publishing import DataFile

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


class FormatMismatch(RuntimeError):
    """A typed download does not read back as the rows of its CSV form: a bug in a writer."""


def parquet_path(resource: str) -> str:
    return f"data/{resource}.parquet"


def _typed_reader(spec: dict) -> Callable[[str], object]:
    """How a non-missing CSV cell of this field reads as a typed value."""
    kind = spec.get("type", "string")
    if kind == "list":
        item = _typed_reader({"type": spec.get("itemType", "string")})
        delimiter = spec.get("delimiter", ",")
        return lambda cell: [item(part) for part in cell.split(delimiter)]
    readers: dict[str, Callable[[str], object]] = {
        "string": str,
        "integer": int,
        "number": float,
        "date": dt.date.fromisoformat,
        "boolean": lambda cell: cell == "true",
    }
    if kind not in readers:
        raise ValueError(f"field {spec.get('name')!r}: type {kind!r} cannot be read from CSV here")
    return readers[kind]


def _convert_distinct(values: Iterable, convert: Callable[[object], object]) -> list[object]:
    """``convert`` once per distinct value (dates, places and vocabularies repeat); None stays None."""
    done: dict[object, object] = {None: None}
    out = []
    for value in values:
        try:
            out.append(done[value])
        except KeyError:
            done[value] = converted = convert(value)
            out.append(converted)
    return out


def read_csv_columns(content: bytes, schema: dict) -> dict[str, list]:
    """The typed columns of a CSV form, as frictionless reads them (a list with no items is None)."""
    missing = set(schema.get("missingValues", [""]))
    reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    header = next(reader, [])
    cells = list(zip(*reader)) or [()] * len(header)
    specs = {spec["name"]: spec for spec in schema["fields"]}
    columns = {}
    for name, column in zip(header, cells):
        read = _typed_reader(specs[name])
        columns[name] = _convert_distinct((None if cell in missing else cell for cell in column), read)
    return columns


def _plain(value: object) -> object:
    if isinstance(value, list):
        return list(value) or None
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def typed_columns(frame) -> dict[str, list]:
    """A validated frame as typed columns: dates as dates, integers as ints, missing values and empty lists as None."""
    columns = {}
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, (pd.Int64Dtype, pd.StringDtype, pd.BooleanDtype, pd.Float64Dtype)):
            columns[str(name)] = series.to_numpy(dtype=object, na_value=None).tolist()
        else:
            columns[str(name)] = [_plain(value) for value in series.tolist()]
    return columns


def row_count(columns: dict[str, list]) -> int:
    return len(next(iter(columns.values()), []))


def render_parquet(columns: dict[str, list], schema: dict) -> bytes:
    """One table as Parquet, typed by the Table Schema; each field keeps its title and description."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow_schema = Schema.from_descriptor(schema).to_pyarrow().with_metadata({b"pandas": _pandas_metadata(schema)})
    table = pa.Table.from_pydict({spec["name"]: columns[spec["name"]] for spec in schema["fields"]}, schema=arrow_schema)
    buffer = io.BytesIO()
    # Fixed writer options: defaults can change between pyarrow releases, the pinned version's cannot.
    pq.write_table(table, buffer, compression="zstd", compression_level=9, version="2.6", use_dictionary=True,
                   write_statistics=True, row_group_size=1_000_000)  # fmt: skip
    return buffer.getvalue()


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


def read_parquet(content: bytes) -> dict[str, list]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(content)).to_pydict()


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


def _sqlite_column(spec: dict, values: list) -> list:
    """A typed column as SQLite values: dates as ISO text, lists as JSON arrays."""
    kind = spec.get("type", "string")
    if kind == "date":
        return [None if value is None else value.isoformat() for value in values]
    if kind == "list":
        return [json.dumps(value, ensure_ascii=False) if value else None for value in values]
    return values


def render_sqlite(tables: Iterable[tuple[str, dict, dict, dict[str, list]]]) -> bytes:
    """Every table in one SQLite database, with keys, indexes, a year view and its field descriptions.

    ``tables`` gives ``(name, resource metadata, Table Schema, typed columns)``; a referenced table
    comes before the tables that refer to it. ``_tables`` and ``_fields`` hold the titles and
    descriptions, so the database explains itself without ``datapackage.json``.
    """
    connection = sqlite3.connect(":memory:")
    try:
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
        for name, metadata, schema, columns in tables:
            connection.execute(_create_table(name, schema))
            values = [_sqlite_column(spec, columns[spec["name"]]) for spec in schema["fields"]]
            connection.executemany(f"INSERT INTO {_quote(name)} VALUES ({', '.join('?' for _ in values)})", zip(*values))
            for column in indexed_fields(schema):
                connection.execute(f"CREATE INDEX {_quote(f'{name}_{column}')} ON {_quote(name)} ({_quote(column)})")
            year = year_field(schema)
            if year:
                connection.execute(
                    f"CREATE VIEW {_quote(name + YEAR_VIEW_SUFFIX)} AS SELECT CAST(substr({_quote(year)}, 1, 4) AS INTEGER) "
                    f"AS year, * FROM {_quote(name)}"
                )
            connection.execute(f"INSERT INTO {TABLES_TABLE} VALUES (?, ?, ?, ?)",
                               (name, metadata.get("title"), metadata.get("description"), row_count(columns)))  # fmt: skip
            connection.executemany(
                f"INSERT INTO {FIELDS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (name, position, spec["name"], _field_type(spec), sqlite_type(spec), spec.get("title"),
                     spec.get("description"), json.dumps(spec["constraints"], sort_keys=True) if spec.get("constraints") else None)
                    for position, spec in enumerate(schema["fields"], start=1)
                ],
            )  # fmt: skip
        connection.commit()
        connection.execute("VACUUM")
        return connection.serialize()
    finally:
        connection.close()


def _field_type(spec: dict) -> str:
    kind = spec.get("type", "string")
    return f"list of {spec.get('itemType', 'string')}" if kind == "list" else kind


def read_sqlite_table(content: bytes, name: str, schema: dict) -> dict[str, list]:
    """A table of the SQLite form as typed columns: ISO dates and JSON arrays read back by the schema."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(content)
        names = [spec["name"] for spec in schema["fields"]]
        rows = connection.execute(f"SELECT {', '.join(map(_quote, names))} FROM {_quote(name)} ORDER BY rowid").fetchall()
    finally:
        connection.close()
    readers = {"date": dt.date.fromisoformat, "list": json.loads, "boolean": bool}
    columns = {}
    for spec, column in zip(schema["fields"], list(zip(*rows)) or [()] * len(names)):
        read = readers.get(spec.get("type", "string"))
        columns[spec["name"]] = _convert_distinct(column, read) if read else list(column)
    return columns


def find_format_mismatches(expected: dict[str, dict[str, list]], read_back: dict[str, dict[str, list]]) -> list[str]:
    """What differs between the CSV's typed columns and each typed form (``table:form``): the first difference."""
    problems = []
    for form, columns in read_back.items():
        want = expected[form.split(":")[0]]
        if list(columns) != list(want):
            problems.append(f"{form}: columns {list(columns)} read back, {list(want)} in the CSV form")
        elif row_count(columns) != row_count(want):
            problems.append(f"{form}: {row_count(columns)} rows read back, {row_count(want)} in the CSV form")
        else:
            differing = [name for name in want if columns[name] != want[name]]
            if differing:
                row = min(next(i for i, (a, b) in enumerate(zip(columns[n], want[n])) if a != b) for n in differing)
                fields = [n for n in differing if columns[n][row] != want[n][row]]
                problems.append(f"{form}: row {row + 2} differs from the CSV form in {', '.join(fields)}")
    return problems


def find_written_mismatches(folder: Path, schemas: dict[str, dict]) -> list[str]:
    """Read every typed download in ``folder`` back and compare it with its CSV form's typed columns.

    ``schemas`` maps each table to the Table Schema of its CSV form.
    """
    expected = {name: read_csv_columns((folder / f"data/{name}.csv").read_bytes(), schema) for name, schema in schemas.items()}
    database = (folder / SQLITE_PATH).read_bytes()
    read_back = {}
    for name, schema in schemas.items():
        read_back[f"{name}:parquet"] = read_parquet((folder / parquet_path(name)).read_bytes())
        read_back[f"{name}:sqlite"] = read_sqlite_table(database, name, schema)
    return find_format_mismatches(expected, read_back)


def render_typed_files(extractions: dict, contracts, table_files: list[DataFile]) -> list[DataFile]:
    """Parquet per resource and one SQLite database of them all, typed by the same Table Schemas as
    ``table_files`` (the CSV and JSON Lines forms) and declared as files."""
    typed = []
    for name, extraction in extractions.items():
        csv_form = next(file for file in table_files if file.resource == name)
        metadata = {"title": csv_form.title, "description": csv_form.description}
        typed.append((name, metadata, contracts.table_schema(name), typed_columns(extraction.frame)))
    files = [
        DataFile(f"{name}-parquet", parquet_path(name), "parquet", PARQUET_MEDIATYPE, render_parquet(columns, schema), None,
                 f"{metadata['title']} (Parquet)", PARQUET_DESCRIPTION)
        for name, metadata, schema, columns in typed
    ]  # fmt: skip
    files.append(
        DataFile("sqlite", SQLITE_PATH, "sqlite", SQLITE_MEDIATYPE, render_sqlite(typed), None,
                 "Every table in one SQLite database", SQLITE_DESCRIPTION)
    )  # fmt: skip
    return files
