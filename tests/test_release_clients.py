"""The newest published package read back by real clients: frictionless, pandas and DuckDB (CSV and
JSON Lines) give the same rows and types as the build that was validated, and the forms agree."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import insert_line, seed_article, seed_cited, write_raw_dir

from ceasefire import PACKAGE_NAME
from ceasefire.pipeline import build_dataset, publish
from ceasefire.publish.serialize import records

NEW_ROW = "| 30.03.2023 | 2 | near Shusha | Azerbaijan | 1 worker killed and 3 injured |"


@pytest.fixture(scope="module")
def newest(tmp_path_factory) -> tuple[Path, list[dict]]:
    """The folder of the newest version (1.1.0) and the records that were validated for it."""
    root = tmp_path_factory.mktemp("clients")
    raw = write_raw_dir(root / "raw", seed_article(), seed_cited())
    publish(build_dataset(raw), root / "dist")
    write_raw_dir(raw, insert_line(seed_article(), 111, NEW_ROW), seed_cited())
    build = build_dataset(raw)
    assert publish(build, root / "dist").version == "1.1.0"
    latest = json.loads((root / "dist" / PACKAGE_NAME / "latest.json").read_text())
    folder = root / "dist" / PACKAGE_NAME / latest["version"]
    return folder, records(build.extractions["violations"].frame)


def _plain(value: object) -> object:
    """A client's cell as a plain JSON value, for comparison with the validated records."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return value


def test_frictionless_validates_and_reads_the_same_typed_rows(newest) -> None:
    from frictionless import Package

    folder, expected = newest
    package = Package(str(folder / "datapackage.json"))
    report = package.validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])
    for name in ("violations", "violations-json"):
        rows = package.get_resource(name).read_rows()
        assert len(rows) == 34
        assert isinstance(rows[0]["date_start"], dt.date) and isinstance(rows[0]["violation_count"], int)
        assert [{key: _plain(value) for key, value in row.items()} for row in rows] == expected


def test_pandas_reads_both_forms_back_equal_to_what_was_validated(newest) -> None:
    folder, expected = newest
    csv_frame = pd.read_csv(
        folder / "data" / "violations.csv", keep_default_na=False, na_values=[""],
        dtype={"violation_count": "Int64", "killed": "Int64", "wounded": "Int64", "source_line": "Int64"},
        parse_dates=["date_start", "date_end"], converters={"places": lambda cell: cell.split(";") if cell else []},
    )  # fmt: skip
    json_frame = pd.read_json(folder / "data" / "violations.jsonl", lines=True, dtype=False)
    for frame in (csv_frame, json_frame):
        assert [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")] == expected
    assert str(csv_frame["killed"].dtype) == "Int64"
    assert csv_frame.loc[33, "violation_id"] == "2023-03-30-near-shusha"
    assert (csv_frame.loc[33, "killed"], csv_frame.loc[33, "wounded"]) == (1, 3)


def test_duckdb_reads_the_csv_and_json_forms_with_the_same_rows_and_types(newest) -> None:
    folder, expected = newest
    connection = duckdb.connect()
    csv_path, json_path = str(folder / "data" / "violations.csv"), str(folder / "data" / "violations.jsonl")
    csv_relation = connection.sql(f"SELECT * FROM read_csv('{csv_path}')")
    json_relation = connection.sql(f"SELECT * FROM read_json('{json_path}', format = 'newline_delimited')")
    csv_types = dict(zip(csv_relation.columns, map(str, csv_relation.types)))
    json_types = dict(zip(json_relation.columns, map(str, json_relation.types)))
    for types in (csv_types, json_types):
        assert {name: types[name] for name in ("date_start", "date_end", "violation_count", "killed", "source_line")} == {
            "date_start": "DATE", "date_end": "DATE", "violation_count": "BIGINT", "killed": "BIGINT", "source_line": "BIGINT"
        }  # fmt: skip
    assert (csv_types["places"], json_types["places"]) == ("VARCHAR", "VARCHAR[]")
    columns = list(expected[0])
    assert csv_relation.columns == columns and json_relation.columns == columns

    def rows(relation) -> list[dict]:
        return [dict(zip(columns, map(_plain, row))) for row in relation.fetchall()]

    csv_rows = rows(csv_relation)
    for row in csv_rows:  # the CSV form joins list items with ';'
        row["places"] = row["places"].split(";") if row["places"] else []
    assert csv_rows == expected
    assert rows(json_relation) == expected
    agree = connection.sql(
        f"SELECT count(*) FROM read_csv('{csv_path}') c JOIN read_json('{json_path}', format = 'newline_delimited') j "
        "USING (violation_id) WHERE c.date_start = j.date_start AND c.violation_count = j.violation_count "
        "AND c.places IS NOT DISTINCT FROM array_to_string(j.places, ';')"
    ).fetchone()[0]
    assert agree == 34
