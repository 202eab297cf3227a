"""Typed downloads generated from the Table Schemas: Parquet per table, one SQLite database.

Both are pure functions of the typed rows and the schemas, byte for byte: Parquet is written
without pandas metadata or timestamps, and the SQLite database is built in memory by the same
statements in the same order, vacuumed, then serialised. Dates are dates in Parquet and ISO text
in SQLite; lists are lists in Parquet and JSON arrays in SQLite. A missing value and an empty list
are both null, in every format (CSV can tell them apart no better).

After writing, :func:`find_format_mismatches` reads every typed file back and compares it with
the typed rows of the CSV form, the form frictionless validates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from pathlib import Path
from typing import Callable, Iterable

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.storage_types import arrow_type, sqlite_type

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


def read_csv_typed(content: bytes, schema: dict) -> list[dict]:
    """The typed rows of a CSV form: what frictionless reads, with empty lists as None."""
    missing = set(schema.get("missingValues", [""]))
    readers = {spec["name"]: _typed_reader(spec) for spec in schema["fields"]}
    rows = []
    for row in csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")):
        rows.append({name: None if cell in missing else readers[name](cell) for name, cell in row.items()})
    return rows


def typed_rows(frame) -> list[dict]:
    """A validated frame as typed rows (dates as dates, integers as ints, empty lists as None)."""
    import pandas as pd

    def plain(value: object) -> object:
        if isinstance(value, list):
            return list(value) or None
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return None
        return value.item() if hasattr(value, "item") else value

    columns = list(frame.columns)
    return [dict(zip(columns, map(plain, row))) for row in frame.itertuples(index=False, name=None)]


def render_parquet(rows: list[dict], schema: dict) -> bytes:
    """One table as Parquet, typed by the Table Schema; each field keeps its title and description."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = [
        pa.field(spec["name"], arrow_type(spec), metadata={
            key: spec[key] for key in ("title", "description") if spec.get(key)
        })
        for spec in schema["fields"]
    ]  # fmt: skip
    arrow_schema = pa.schema(fields, metadata={b"pandas": _pandas_metadata(schema)})
    table = pa.Table.from_pylist(rows, schema=arrow_schema) if rows else arrow_schema.empty_table()
    buffer = io.BytesIO()
    # Fixed writer options: defaults can change between pyarrow releases, the pinned version's cannot.
    pq.write_table(table, buffer, compression="zstd", compression_level=9, version="2.6", use_dictionary=True,
                   write_statistics=True, row_group_size=1_000_000)  # fmt: skip
    return buffer.getvalue()


def _pandas_metadata(schema: dict) -> bytes:
    """pandas' own Parquet metadata, so ``pd.read_parquet`` gives nullable integers (Int64), not floats.

    Written by pyarrow from an empty frame: it names the pinned pandas and pyarrow versions, no time.
    """
    import pandas as pd
    import pyarrow as pa

    from ceasefire.contracts.pandera_adapter import PANDAS_DTYPES

    extension = {"integer", "number", "boolean"}  # the types pandas would otherwise read as float or object
    empty = pd.DataFrame({
        spec["name"]: pd.Series([], dtype=PANDAS_DTYPES[spec["type"]] if spec.get("type") in extension else object)
        for spec in schema["fields"]
    })  # fmt: skip
    return pa.Schema.from_pandas(empty, preserve_index=False).metadata[b"pandas"]


def read_parquet(content: bytes) -> list[dict]:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(content)).to_pylist()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _names(key: str | list[str]) -> list[str]:
    return [key] if isinstance(key, str) else list(key)


def _create_table(name: str, schema: dict) -> str:
    columns = [
        f"{_quote(spec['name'])} {sqlite_type(spec)}" + (" NOT NULL" if spec.get("constraints", {}).get("required") else "")
        for spec in schema["fields"]
    ]
    if schema.get("primaryKey"):
        columns.append(f"PRIMARY KEY ({', '.join(map(_quote, _names(schema['primaryKey'])))})")
    for foreign in schema.get("foreignKeys", []):
        reference = foreign["reference"]
        columns.append(
            f"FOREIGN KEY ({', '.join(map(_quote, _names(foreign['fields'])))}) REFERENCES "
            f"{_quote(reference.get('resource') or name)} ({', '.join(map(_quote, _names(reference['fields'])))})"
        )
    return f"CREATE TABLE {_quote(name)} (\n  " + ",\n  ".join(columns) + "\n)"


def indexed_fields(schema: dict) -> list[str]:
    """Fields users filter and facet on: dates, controlled vocabularies and enums, foreign keys."""
    foreign = {name for key in schema.get("foreignKeys", []) for name in _names(key["fields"])}
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


def _sqlite_value(value: object) -> object:
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False) if value else None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def render_sqlite(tables: Iterable[tuple[str, dict, dict, list[dict]]]) -> bytes:
    """Every table in one SQLite database, with keys, indexes, a year view and its field descriptions.

    ``tables`` gives ``(name, resource metadata, Table Schema, typed rows)``; a referenced table
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
        for name, metadata, schema, rows in tables:
            connection.execute(_create_table(name, schema))
            columns = [spec["name"] for spec in schema["fields"]]
            connection.executemany(
                f"INSERT INTO {_quote(name)} VALUES ({', '.join('?' for _ in columns)})",
                ([_sqlite_value(row[column]) for column in columns] for row in rows),
            )
            for column in indexed_fields(schema):
                connection.execute(f"CREATE INDEX {_quote(f'{name}_{column}')} ON {_quote(name)} ({_quote(column)})")
            year = year_field(schema)
            if year:
                connection.execute(
                    f"CREATE VIEW {_quote(name + YEAR_VIEW_SUFFIX)} AS SELECT CAST(substr({_quote(year)}, 1, 4) AS INTEGER) "
                    f"AS year, * FROM {_quote(name)}"
                )
            connection.execute(f"INSERT INTO {TABLES_TABLE} VALUES (?, ?, ?, ?)",
                               (name, metadata.get("title"), metadata.get("description"), len(rows)))  # fmt: skip
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


def read_sqlite_table(content: bytes, name: str, schema: dict) -> list[dict]:
    """A table of the SQLite form as typed rows: ISO dates and JSON arrays read back by the schema."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(content)
        columns = [spec["name"] for spec in schema["fields"]]
        kinds = {spec["name"]: spec.get("type", "string") for spec in schema["fields"]}
        cursor = connection.execute(f"SELECT {', '.join(map(_quote, columns))} FROM {_quote(name)} ORDER BY rowid")

        def typed(column: str, value: object) -> object:
            if value is None:
                return None
            if kinds[column] == "date":
                return dt.date.fromisoformat(value)
            if kinds[column] == "list":
                return json.loads(value)
            if kinds[column] == "boolean":
                return bool(value)
            return value

        return [{column: typed(column, value) for column, value in zip(columns, row)} for row in cursor]
    finally:
        connection.close()


def find_format_mismatches(expected: dict[str, list[dict]], read_back: dict[str, list[dict]]) -> list[str]:
    """What differs between the CSV's typed rows and each typed form, first difference per form."""
    problems = []
    for form, rows in read_back.items():
        table = form.split(":")[0]
        want = expected[table]
        if len(rows) != len(want):
            problems.append(f"{form}: {len(rows)} rows read back, {len(want)} in the CSV form")
            continue
        for number, (got, row) in enumerate(zip(rows, want), start=2):
            if got != row:
                fields = [name for name in row if got.get(name) != row[name]] or sorted(set(got) ^ set(row))
                problems.append(f"{form}: row {number} differs from the CSV form in {', '.join(fields)}")
                break
    return problems


def find_written_mismatches(folder: Path, schemas: dict[str, dict]) -> list[str]:
    """Read every typed download in ``folder`` back and compare it with its CSV form's typed rows.

    ``schemas`` maps each table to the Table Schema of its CSV form.
    """
    expected = {name: read_csv_typed((folder / f"data/{name}.csv").read_bytes(), schema) for name, schema in schemas.items()}
    database = (folder / SQLITE_PATH).read_bytes()
    read_back = {}
    for name, schema in schemas.items():
        read_back[f"{name}:parquet"] = read_parquet((folder / parquet_path(name)).read_bytes())
        read_back[f"{name}:sqlite"] = read_sqlite_table(database, name, schema)
    return find_format_mismatches(expected, read_back)
