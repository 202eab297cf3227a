"""Parquet and SQLite downloads: typed by the Table Schemas, read alike by pandas, DuckDB and sqlite3,
equal to the CSV form's typed rows, byte-identical on a re-run, and checked before a version is promoted."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import subprocess
import sys
import threading

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from frictionless import Package

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.storage_types import UnknownStorageType, arrow_type, sqlite_type
from ceasefire.pipeline import build_dataset, data_files, publish
from ceasefire.publish import formats
from ceasefire.publish.publishing import DataFile
from conftest import REPO, SEED_RAW, tree_snapshot

TABLES = ("violations", "events")


@pytest.fixture(scope="module")
def version_dir(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    outcome = publish(build_dataset(SEED_RAW), dist, now=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    assert outcome.status == "published"
    return outcome.path


def _frictionless_rows(version_dir, table: str) -> list[dict]:
    """The CSV form's typed rows as frictionless reads them: the reference every typed form must equal."""
    rows = Package(str(version_dir / "datapackage.json")).get_resource(table).read_rows()
    return [row.to_dict() for row in rows]


def _plain(value: object) -> object:
    """A client's cell as a plain Python value: NA to None, numpy arrays and scalars to lists and ints."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def test_schema_types_map_to_arrow_and_sqlite_types():
    cases = {
        "string": ("string", "TEXT"),
        "integer": ("int64", "INTEGER"),
        "number": ("double", "REAL"),
        "boolean": ("bool", "INTEGER"),
        "date": ("date32[day]", "TEXT"),
    }
    for kind, (arrow, sqlite) in cases.items():
        assert (str(arrow_type({"name": "f", "type": kind})), sqlite_type({"name": "f", "type": kind})) == (arrow, sqlite)
    places = {"name": "places", "type": "list", "itemType": "string", "delimiter": ";"}
    assert (str(arrow_type(places)), sqlite_type(places)) == ("list<item: string>", "TEXT")


@pytest.mark.parametrize("spec, message", [
    ({"name": "when", "type": "datetime"}, "field 'when': type 'datetime' has no Arrow mapping"),
    ({"name": "tags", "type": "list", "itemType": "object"}, "field 'tags': itemType 'object' has no Arrow mapping"),
])  # fmt: skip
def test_an_unknown_type_fails_closed_naming_field_and_key(spec, message):
    with pytest.raises(UnknownStorageType, match=message):
        arrow_type(spec)
    with pytest.raises(UnknownStorageType, match=f"field '{spec['name']}'"):
        sqlite_type(spec)


@pytest.mark.parametrize("table", TABLES)
def test_pandas_and_duckdb_read_the_parquet_as_the_csv_typed_rows(version_dir, table):
    expected = _frictionless_rows(version_dir, table)
    path = version_dir / formats.parquet_path(table)
    frame = pd.read_parquet(path)
    assert [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")] == expected
    assert str(frame["killed"].dtype) == "Int64" and str(frame["source_line"].dtype) == "Int64"
    assert isinstance(frame["date_start"].iloc[0], dt.date) and isinstance(frame["places"].dropna().iloc[0].tolist(), list)
    relation = duckdb.connect().sql(f"SELECT * FROM read_parquet('{path}')")
    types = dict(zip(relation.columns, map(str, relation.types)))
    assert (types["date_start"], types["killed"], types["places"]) == ("DATE", "BIGINT", "VARCHAR[]")
    assert [dict(zip(relation.columns, row)) for row in relation.fetchall()] == expected


@pytest.mark.parametrize("table", TABLES)
def test_sqlite3_and_pandas_read_the_database_as_the_csv_typed_rows(version_dir, table):
    expected = _frictionless_rows(version_dir, table)
    path = version_dir / formats.SQLITE_PATH
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cursor = connection.execute(f"SELECT * FROM {table}")
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row)) for row in cursor]
    descriptor = json.loads((version_dir / "datapackage.json").read_text(encoding="utf-8"))
    schema = next(r["schema"] for r in descriptor["resources"] if r["name"] == table)
    lists = [spec["name"] for spec in schema["fields"] if spec["type"] == "list"]
    for row in rows:
        for name in columns:
            if name.startswith("date_") and name not in ("date_text", "date_precision", "date_basis"):
                row[name] = dt.date.fromisoformat(row[name])
        for name in lists:
            row[name] = json.loads(row[name]) if row[name] is not None else None
    assert rows == expected
    frame = pd.read_sql(f"SELECT * FROM {table}", connection)
    assert [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")] == [
        {k: v.isoformat() if isinstance(v, dt.date) else json.dumps(v) if isinstance(v, list) else v for k, v in row.items()}
        for row in expected
    ]


def test_the_database_declares_keys_indexes_views_and_field_descriptions(version_dir):
    connection = sqlite3.connect(f"file:{version_dir / formats.SQLITE_PATH}?mode=ro", uri=True)
    assert [row[5] for row in connection.execute("PRAGMA table_info(violations)") if row[5]] == [1]  # violation_id
    assert connection.execute("PRAGMA foreign_key_list(events)").fetchall()[0][2:5] == ("violations", "violation_id", "violation_id")
    indexes = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    assert {"violations_date_start", "violations_violator", "events_event_type", "events_date_start", "events_violation_id"} <= indexes
    plan = " ".join(str(row) for row in connection.execute("EXPLAIN QUERY PLAN SELECT * FROM events WHERE event_type = 'agreement'"))
    assert "events_event_type" in plan
    assert connection.execute("SELECT year, count(*) FROM violations_by_year GROUP BY year ORDER BY year").fetchall()[0] == (2020, 1)
    descriptor = json.loads((version_dir / "datapackage.json").read_text())
    schema = next(r["schema"] for r in descriptor["resources"] if r["name"] == "events")
    stored = connection.execute("SELECT field_name, description FROM _fields WHERE table_name = 'events' ORDER BY position").fetchall()
    assert stored == [(spec["name"], spec.get("description")) for spec in schema["fields"]]
    assert connection.execute("SELECT rows FROM _tables WHERE table_name = 'violations'").fetchone() == (33,)


def test_every_download_is_listed_with_its_size_and_sha256(version_dir):
    descriptor = json.loads((version_dir / "datapackage.json").read_text())
    listed = {r["path"]: r for r in descriptor["resources"]}
    for path in ["data/violations.parquet", "data/events.parquet", formats.SQLITE_PATH]:
        content = (version_dir / path).read_bytes()
        assert (listed[path]["type"], listed[path]["bytes"], listed[path]["hash"]) == (
            "file", len(content), f"sha256:{hashlib.sha256(content).hexdigest()}"
        )  # fmt: skip
    tables = [r["name"] for r in descriptor["resources"] if r["type"] == "table"]
    assert tables == ["violations", "violations-json", "events", "events-json"]


def test_a_fresh_interpreter_writes_the_same_bytes(tmp_path):
    """Set order, hash seeds and SQLite page order cannot change a typed file between runs."""
    script = (
        "import hashlib, sys; from pathlib import Path; from ceasefire.pipeline import build_dataset, data_files; "
        "folder = Path(sys.argv[2]); data_files(build_dataset(Path(sys.argv[1])), folder); "
        "print({p: hashlib.sha256((folder / p).read_bytes()).hexdigest() for p in sorted(sys.argv[3:])})"
    )
    files = data_files(build_dataset(SEED_RAW), tmp_path / "here")
    here = {f.path: hashlib.sha256((tmp_path / "here" / f.path).read_bytes()).hexdigest() for f in sorted(files, key=lambda f: f.path)}
    assert here == {f.path: f.sha256 for f in sorted(files, key=lambda f: f.path)}
    other = subprocess.run([sys.executable, "-c", script, str(SEED_RAW), str(tmp_path / "other"), *here], capture_output=True,
                           text=True, check=True, env={"PYTHONHASHSEED": "12345", "PATH": ""}, cwd=REPO)  # fmt: skip
    assert other.stdout.strip() == str(here)
    assert [p.name for p in (tmp_path / "here" / "data").iterdir() if p.name.startswith(".")] == []  # no scratch file left


def test_a_typed_file_that_does_not_read_back_blocks_the_release(monkeypatch, tmp_path):
    build = build_dataset(SEED_RAW)
    write = formats._write_row_group

    def last_row_lost(writer, batch):  # the violations' Parquet file, one batch of 33 rows in the seed, loses its last row
        write(writer, batch.slice(0, batch.num_rows - 1) if "violation_id" in batch.schema.names else batch)

    monkeypatch.setattr(formats, "_write_row_group", last_row_lost)
    with pytest.raises(formats.FormatMismatch, match="violations:parquet: 32 rows read back, 33 in the CSV form"):
        publish(build, tmp_path / "dist")
    assert [p.name for p in (tmp_path / "dist" / PACKAGE_NAME).iterdir()] == []
    assert tree_snapshot(tmp_path / "dist" / PACKAGE_NAME) == {}


def test_a_changed_value_in_the_written_database_blocks_the_release(monkeypatch, tmp_path):
    column = formats._sqlite_column

    def off_by_one(spec, values):
        plain = column(spec, values)
        if spec["name"] == "wounded" and len(plain) == 33:
            changed = plain.to_pylist()
            changed[2] = (changed[2] or 0) + 1
            return pa.array(changed, plain.type)
        return plain

    monkeypatch.setattr(formats, "_sqlite_column", off_by_one)
    with pytest.raises(formats.FormatMismatch, match="^violations:sqlite: row 4 differs from the CSV form in wounded$"):
        publish(build_dataset(SEED_RAW), tmp_path / "dist")
    assert tree_snapshot(tmp_path / "dist" / PACKAGE_NAME) == {}


def test_a_row_longer_than_the_first_csv_block_is_read_back_with_larger_ones(version_dir, monkeypatch):
    """The read-back starts with small blocks (Arrow holds ~20 of them) and reads a table again with
    the next size when a row does not fit in one; only the last size failing is a finding."""
    schemas = {table: json.loads((version_dir / "datapackage.json").read_text())["resources"][index]["schema"]
               for index, table in enumerate(["violations", "violations-json", "events"]) if table in TABLES}  # fmt: skip
    longest = max(len(line) for table in TABLES for line in (version_dir / "data" / f"{table}.csv").read_bytes().split(b"\n"))
    sizes = []
    read = formats._csv_tables
    monkeypatch.setattr(formats, "_csv_tables", lambda path, schema, block: sizes.append(block) or read(path, schema, block))
    monkeypatch.setattr(formats, "CSV_BLOCK_BYTES", (longest // 2, longest * 4))
    assert formats.find_written_mismatches(version_dir, schemas) == []
    assert sizes[0] == longest // 2 and sizes[-1] == longest * 4  # the table with the longest row read again
    monkeypatch.setattr(formats, "CSV_BLOCK_BYTES", (longest // 2,))
    assert "does not read with its Table Schema's types" in " ".join(formats.find_written_mismatches(version_dir, schemas))


def _tables(columns: dict[str, list], *cuts: int):
    """``columns`` as Arrow tables cut at ``cuts`` rows: a form read back in batches of its own size."""
    table = pa.table({name: pa.array(values, pa.int64() if name != "violation_id" else pa.string()) for name, values in columns.items()})
    bounds = [0, *cuts, table.num_rows]
    return iter([table.slice(start, end - start) for start, end in zip(bounds, bounds[1:])])


def test_a_changed_value_is_named_by_table_form_row_and_field():
    expected = {"violation_id": ["a", "b"], "killed": [1, None]}
    read_back = {"violations:sqlite": _tables({"violation_id": ["a", "b"], "killed": [1, 0]})}
    assert formats.compare_forms(_tables(expected), read_back) == ["violations:sqlite: row 3 differs from the CSV form in killed"]


def test_the_first_difference_is_found_across_windows_whatever_the_batch_sizes(monkeypatch):
    monkeypatch.setattr(formats, "CHECK_ROWS", 4)
    ids = [str(i) for i in range(11)]
    expected = {"violation_id": ids, "killed": list(range(11))}
    changed = {"violation_id": ids, "killed": [*range(9), 0, 10]}
    shorter = {"violation_id": ids[:10], "killed": list(range(10))}
    retyped = pa.table({"violation_id": ids, "killed": [str(i) for i in range(11)]})
    problems = formats.compare_forms(_tables(expected, 3), {
        "t:same": _tables(expected, 5, 6), "t:changed": _tables(changed, 1, 2, 7), "t:shorter": _tables(shorter),
        "t:retyped": iter([retyped]), "t:renamed": iter([retyped.rename_columns(["id", "killed"])]),
    })  # fmt: skip
    assert problems == [
        "t:changed: row 11 differs from the CSV form in killed",
        "t:shorter: 10 rows read back, 11 in the CSV form",
        "t:retyped: typed differently from the CSV form: killed (string, not int64)",
        "t:renamed: columns ['id', 'killed'] read back, ['violation_id', 'killed'] in the CSV form",
    ]


def test_comparing_with_a_release_writes_the_csv_forms_only(version_dir, monkeypatch):
    """`ceasefire validate` compares with the latest version: no JSON Lines, Parquet or SQLite is rendered for it."""
    from ceasefire import pipeline

    write, written = pipeline.write_table_file, []
    monkeypatch.setattr(pipeline, "write_table_file", lambda file, *args: written.append(file.format) or write(file, *args))
    monkeypatch.setattr(formats, "write_typed_files", lambda *args: pytest.fail("a typed file was rendered to compare"))
    comparison = pipeline.compare_with_release(build_dataset(SEED_RAW), version_dir.parent.parent)
    assert (comparison["version"], comparison["changes"]["bump"], written) == ("1.0.0", "none", ["csv", "csv"])


_ITEMS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=5) | st.sampled_from(['"', "\\", "\n", "é", "\u2028"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.lists(_ITEMS | st.none(), max_size=4), max_size=20), st.integers(0, 5), st.integers(0, 20))
def test_lists_are_written_to_sqlite_as_json_dumps_writes_them(lists, start, length):
    """Arrow joins each list's JSON from its items encoded once: the text ``json.dumps`` writes, for slices too."""
    column = pa.array(lists, pa.list_(pa.string())).slice(start, length)
    expected = [None if value is None else json.dumps(value, ensure_ascii=False) for value in column.to_pylist()]
    assert formats._sqlite_column({"name": "places", "type": "list"}, column).to_pylist() == expected


def test_a_list_column_that_is_not_json_arrays_reads_back_as_text(tmp_path):
    connection = sqlite3.connect(tmp_path / "lists.sqlite")
    connection.execute("CREATE TABLE t (places TEXT)")
    connection.executemany("INSERT INTO t VALUES (?)", [('["Shusha"]',), (None,), ('["Shusha"]',), ('["a", "b"]',)])
    schema = {"fields": [{"name": "places", "type": "list", "itemType": "string"}]}
    read = pa.concat_tables(formats._sqlite_tables(connection, "t", schema))
    assert read.column("places").to_pylist() == [["Shusha"], None, ["Shusha"], ["a", "b"]]
    connection.execute("INSERT INTO t VALUES ('Shusha')")
    read = pa.concat_tables(formats._sqlite_tables(connection, "t", schema))
    assert read.schema.field("places").type == pa.string()
    assert read.column("places").to_pylist() == ['["Shusha"]', None, '["Shusha"]', '["a", "b"]', "Shusha"]


_SQLITE_SCHEMA = {
    "fields": [{"name": "id", "type": "string", "constraints": {"required": True}}, {"name": "count", "type": "integer"},
               {"name": "day", "type": "date"}, {"name": "places", "type": "list", "itemType": "string", "delimiter": ";"}],
    "primaryKey": ["id"],
}  # fmt: skip
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(["\x00", "'", '"', "\n", "é"]), max_size=6)


def _stored(value: object, kind: str) -> tuple[object, str]:
    """A cell as SQLite should hold it: its value and storage class."""
    if value is None or value == []:
        return None, "null"
    if kind == "date":
        return value.isoformat(), "text"
    if kind == "list":
        return json.dumps(value, ensure_ascii=False), "text"
    return value, "integer" if isinstance(value, int) else "text"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.none() | st.integers(-(2**63), 2**63 - 1), st.none() | st.dates(),
                          st.none() | st.lists(_TEXT, max_size=3)), max_size=30))  # fmt: skip
def test_rows_bulk_ingested_into_sqlite_hold_each_value_with_its_storage_class(tmp_path_factory, rows):
    """Rows go into the database by ADBC's bulk ingest from Arrow: each cell holds the frame's value
    (hostile text with NUL, 64-bit integers, dates, lists, nulls) with the storage class the
    contract's SQLite type gives it, in row order. The seed's database bytes are pinned by the
    golden files."""
    frame = pd.DataFrame({
        "id": pd.Series([f"row-{n}\x00'" for n in range(len(rows))], dtype="string"),
        "count": pd.Series([row[0] for row in rows], dtype="Int64"),
        "day": pd.Series([row[1] for row in rows], dtype=object),
        "places": pd.Series([row[2] for row in rows], dtype=object),
    })  # fmt: skip
    folder = tmp_path_factory.mktemp("sqlite")
    target = DataFile(resource="db", path="t.sqlite", format="sqlite", mediatype="application/vnd.sqlite3", schema=None)
    formats.write_sqlite(target, [("t", {"title": "T"}, _SQLITE_SCHEMA, frame)], folder)
    with sqlite3.connect(folder / "t.sqlite") as connection:
        stored = connection.execute(
            "SELECT id, typeof(id), count, typeof(count), day, typeof(day), places, typeof(places) FROM t ORDER BY rowid"
        ).fetchall()
    expected = [(f"row-{n}\x00'", "text", *_stored(count, "integer"), *_stored(day, "date"), *_stored(places, "list"))
                for n, (count, day, places) in enumerate(rows)]  # fmt: skip
    assert stored == expected



def _sqlite_test_frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "id": pd.Series([f"row-{n:06d}" for n in range(rows)], dtype="string"),
        "count": pd.Series(range(rows), dtype="Int64"),
        "day": pd.Series([dt.date(2021, 1, 1) + dt.timedelta(days=n % 900) for n in range(rows)], dtype=object),
        "places": pd.Series([["Shusha", f"village {n % 7}"] for n in range(rows)], dtype=object),
    })  # fmt: skip


def test_the_database_is_written_on_a_scratch_file_renamed_into_place_the_same_bytes_each_time(tmp_path, monkeypatch):
    """No VACUUM INTO copies the database any more: the scratch file the statements ran on becomes
    it, complete, with the writer's header fields zeroed. Written twice, in batches of other sizes,
    it has the same bytes; it passes SQLite's integrity check and has no free page."""
    frame = _sqlite_test_frame(40_000)  # more than one batch, and B-tree pages split on every level
    target = DataFile(resource="db", path="data/t.sqlite", format="sqlite", mediatype="application/vnd.sqlite3", schema=None)
    written = []
    for rows in (formats.RENDER_ROWS, 7_000):
        monkeypatch.setattr(formats, "RENDER_ROWS", rows)
        folder = tmp_path / str(rows)
        written.append(formats.write_sqlite(target, [("t", {"title": "T"}, _SQLITE_SCHEMA, frame)], folder))
        assert sorted(p.name for p in (folder / "data").iterdir()) == ["t.sqlite"]  # the scratch file is the database
        with sqlite3.connect(folder / "data" / "t.sqlite") as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA freelist_count").fetchone() == (0,)
            assert connection.execute("SELECT count(*), max(count) FROM t").fetchone() == (40_000, 39_999)
        header = (folder / "data" / "t.sqlite").read_bytes()[:100]
        assert header[24:28] + header[92:100] == bytes(12) and header[:16] == b"SQLite format 3\x00"
    assert written[0].sha256 == written[1].sha256 and written[0].size == written[1].size


@pytest.mark.parametrize("failure", ["cancelled", "failed"])
def test_a_database_that_is_not_finished_leaves_no_file(tmp_path, monkeypatch, failure):
    """Cancelled between two batches or failed in one, the database leaves neither its scratch
    file nor a database at its path (a stage is removed whole, but a direct caller keeps its folder)."""
    cancel = threading.Event()
    batches = formats.typed_batches

    def second_batch_stops(frame, schema, rows=formats.TYPED_ROWS, cancel=None):
        for number, batch in enumerate(batches(frame, schema, rows, cancel)):
            if number == 1:
                if failure == "failed":
                    raise OSError(28, "No space left on device")
                cancel.set()
            yield batch
        if cancel is not None and cancel.is_set():
            raise formats.TypedFilesCancelled("the typed files were cancelled")

    monkeypatch.setattr(formats, "RENDER_ROWS", 1_000)
    monkeypatch.setattr(formats, "typed_batches", second_batch_stops)
    target = DataFile(resource="db", path="data/t.sqlite", format="sqlite", mediatype="application/vnd.sqlite3", schema=None)
    expected = formats.TypedFilesCancelled if failure == "cancelled" else OSError
    with pytest.raises(expected):
        formats.write_sqlite(target, [("t", {"title": "T"}, _SQLITE_SCHEMA, _sqlite_test_frame(5_000))], tmp_path, cancel)
    assert list((tmp_path / "data").iterdir()) == []


# A cell of the SQLite form: its value, a null, or a value of another storage class or that does not parse.
_WRONG = st.sampled_from(["5", "x", 2.5, b"\x00bytes", 7, "2024-13-45", "not json", '["a"'])
_SQLITE_CELLS = (
    st.integers(-(2**63), 2**63 - 1),
    st.dates().map(dt.date.isoformat),
    st.lists(_TEXT, min_size=1, max_size=3).map(lambda items: json.dumps(items, ensure_ascii=False)),
)


def _read_back(rows: list[tuple], folder) -> tuple[list, list]:
    """The batches of a SQLite table holding ``rows``, as the read-back reads them, and as sqlite3 alone reads them."""
    path = folder / "t.sqlite"
    connection = sqlite3.connect(path)
    try:
        connection.execute(formats._create_table("t", _SQLITE_SCHEMA))
        connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
        connection.commit()
        return (list(formats._sqlite_read_back(path, connection, "t", _SQLITE_SCHEMA)),
                list(formats._sqlite_tables(connection, "t", _SQLITE_SCHEMA)))  # fmt: skip
    finally:
        connection.close()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 9), st.lists(st.tuples(*[st.none() | cells | _WRONG for cells in _SQLITE_CELLS]), max_size=12),
       st.booleans())  # fmt: skip
def test_the_sqlite_form_is_read_back_by_adbc_as_sqlite3_reads_it(tmp_path_factory, leading_nulls, cells, right):
    """The read-back reads the SQLite form by ADBC's driver, which types a column by its first
    batch; from the first batch it cannot type as the schema says, Python's sqlite3 reads the rest.
    Whatever is stored (nulls for longer than a batch before the first value, text in an integer
    column, a date or list that does not parse, bytes), the batches are those sqlite3 alone reads."""
    if right:  # only values of the right storage class, or nulls
        cells = [tuple(None if value is not None and value in ("5", "x", 2.5, b"\x00bytes", 7, "2024-13-45", "not json", '["a"')
                       else value for value in row) for row in cells]  # fmt: skip
    rows = [(f"lead-{n}", None, None, None) for n in range(leading_nulls)] + [(f"row-{n}", *row) for n, row in enumerate(cells)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formats, "CHECK_ROWS", 4)
        fast, slow = _read_back(rows, tmp_path_factory.mktemp("readback"))
    assert len(fast) == len(slow) and all(a.equals(b) for a, b in zip(fast, slow))
    if right and rows:
        read = pa.concat_tables(fast)
        assert read.schema == pa.schema([(spec["name"], arrow_type(spec)) for spec in _SQLITE_SCHEMA["fields"]])
        assert read.column("id").to_pylist() == [row[0] for row in rows]


def test_a_text_column_null_for_a_whole_batch_reads_back_without_a_finding(tmp_path):
    """ADBC types a column null throughout its first batch as integers, and stops at the first text;
    the read-back then goes on with sqlite3, and a valid SQLite form is not reported."""
    rows = [(f"r{n}", n, None, None) for n in range(9)] + [("r9", 9, "2024-01-02", '["Shusha"]')]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formats, "CHECK_ROWS", 4)
        fast, slow = _read_back(rows, tmp_path)
        expected = pa.concat_tables(slow)
        assert expected.column("places").to_pylist()[-1] == ["Shusha"]
        assert formats.compare_forms(iter([expected]), {"t:sqlite": iter(fast)}) == []


def test_the_typed_files_make_each_table_typed_once_and_have_the_bytes_of_each_writer_alone(tmp_path, monkeypatch):
    """Parquet and SQLite take the same typed batches of a table in turn (one conversion of the frame,
    not one per file), and the files are those each writer makes on its own, byte for byte."""
    from ceasefire.publish.descriptor import plan_table_files

    build = build_dataset(SEED_RAW)
    tables = plan_table_files(build.extractions, build.contracts)
    planned = formats.plan_typed_files(tables)
    made, real_batches = [], formats.typed_batches

    def counted(frame, schema, rows=formats.TYPED_ROWS, cancel=None):
        made.append(schema["fields"][0]["name"])
        yield from real_batches(frame, schema, rows, cancel)

    monkeypatch.setattr(formats, "typed_batches", counted)
    together = formats.write_typed_files(planned, build.extractions, build.contracts, tables, tmp_path / "together")
    assert sorted(made) == ["event_id", "violation_id"]  # once per table, for both files
    monkeypatch.setattr(formats, "typed_batches", real_batches)
    alone = []
    for file in planned:
        if file.format == "parquet":
            name = file.resource.removesuffix("-parquet")
            alone.append(formats.write_parquet(file, build.extractions[name].frame, build.contracts.table_schema(name), tmp_path / "alone"))
        else:
            titles = {table.resource: table for table in tables if table.format == "csv"}
            alone.append(formats.write_sqlite(file, [(name, {"title": titles[name].title, "description": titles[name].description},
                                                      build.contracts.table_schema(name), e.frame)
                                                     for name, e in build.extractions.items()], tmp_path / "alone"))  # fmt: skip
    assert [(f.path, f.size, f.sha256) for f in together] == [(f.path, f.size, f.sha256) for f in alone]
    assert [f.format for f in together] == ["parquet", "parquet", "sqlite"]

def test_a_failed_rendering_stops_the_typed_files_written_beside_it(tmp_path, monkeypatch):
    """Parquet and SQLite are written in a thread while the CSV and JSON Lines forms are rendered.
    When the rendering fails, the thread stops before its next batch and has ended when the error
    reaches the caller: no thread outlives a failed publish, none writes into a stage being removed."""

    from ceasefire import pipeline

    build = build_dataset(SEED_RAW)
    batches, real_batches = [], formats.typed_batches

    def spied(frame, schema, rows=formats.TYPED_ROWS, cancel=None):
        for batch in real_batches(frame, schema, rows, cancel):
            batches.append(batch.num_rows)
            yield batch
            if cancel is not None:
                cancel.wait(timeout=5)  # the rendering fails meanwhile

    def full_disk(file, frame, folder, parts=(), workers=1):
        waited = threading.Event()
        for _ in range(1000):  # until the typed files have begun (10 s at most)
            if batches:
                break
            waited.wait(0.01)
        raise OSError(28, "No space left on device", str(folder / file.path))

    monkeypatch.setattr(formats, "typed_batches", spied)
    monkeypatch.setattr(pipeline, "write_table_file", full_disk)
    with pytest.raises(OSError, match="No space left on device"):
        pipeline.data_files(build, tmp_path)
    assert len(batches) == 1  # the first Parquet file's one batch; no other was made
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("typed-files")]


def test_the_typed_files_are_read_back_while_the_rest_of_the_version_is_staged(monkeypatch, tmp_path):
    """The read-back starts once the data files are written, on a thread of its own, and publishing
    stages the other files meanwhile (that its findings block the release: the tests above)."""
    from ceasefire import pipeline

    started = []
    read_back, stage = formats.find_written_mismatches, pipeline.stage_version

    def spied_read_back(folder, schemas, cancel=None):
        started.append(threading.current_thread().name)
        return read_back(folder, schemas, cancel)

    def spied_stage(*args, **kwargs):
        assert started and started[0].startswith("read-back")  # begun before the version is staged
        return stage(*args, **kwargs)

    monkeypatch.setattr(formats, "find_written_mismatches", spied_read_back)
    monkeypatch.setattr(pipeline, "stage_version", spied_stage)
    assert publish(build_dataset(SEED_RAW), tmp_path / "dist").status == "published"
    assert len(started) == 1


def test_a_failure_while_the_typed_files_are_read_back_cancels_the_read_back(monkeypatch, tmp_path):
    """Staging fails (a full disk) while the read-back runs: it stops before its next window of rows,
    its thread has ended when publish raises, and nothing is published."""
    from ceasefire import pipeline
    from ceasefire.errors import OutputLocationError

    windows, compared = [], formats._first_difference
    begun = threading.Event()

    def slow_window(want, read):
        windows.append(want.num_rows)
        begun.set()
        threading.Event().wait(0.05)  # 2 forms x 33 windows: 3.3 s unless cancelled
        return compared(want, read)

    def full_disk(*args, **kwargs):
        begun.wait(timeout=10)
        raise OSError(28, "No space left on device", str(tmp_path / "dist"))

    monkeypatch.setattr(formats, "CHECK_ROWS", 1)
    monkeypatch.setattr(formats, "_first_difference", slow_window)
    monkeypatch.setattr(pipeline, "build_report", full_disk)
    with pytest.raises(OutputLocationError, match="No space left on device; nothing published"):
        publish(build_dataset(SEED_RAW), tmp_path / "dist")
    assert 1 <= len(windows) <= 4  # the windows under way when the staging failed, no more
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("read-back")]
    assert tree_snapshot(tmp_path / "dist" / PACKAGE_NAME) == {}
