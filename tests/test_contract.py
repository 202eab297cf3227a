"""The typed contract: one definition per resource, every derived form a method, unknowns fail closed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.contracts.pandera_adapter import rule_for_failure
from ceasefire.contracts.schema import ContractError, Field, Schema
from ceasefire.contracts.vocabularies import load_contracts
from conftest import REPO


def write_schema(folder: Path, descriptor: dict) -> Path:
    path = folder / "schemas" / "things.schema.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(descriptor), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ({"name": "when", "type": "datetime"}, "fields['when'].type"),
        ({"name": "n", "type": "integer", "constraints": {"multipleOf": 2}}, "fields['n'].constraints.multipleOf"),
        ({"name": "n", "type": "integer", "constraints": {"pattern": "[0-9]+"}}, "fields['n'].constraints.pattern"),
        ({"name": "s", "type": "string", "rdfType": "http://schema.org/name"}, "fields['s'].rdfType"),
        ({"name": "s", "type": "string", "format": "email"}, "fields['s'].format"),
        ({"name": "l", "type": "list", "itemType": "integer"}, "fields['l'].itemType"),
    ],
)
def test_an_unknown_type_or_key_fails_closed_naming_the_file_and_key(tmp_path, spec, key):
    path = write_schema(tmp_path, {"fields": [spec]})
    with pytest.raises(ContractError) as caught:
        Schema.from_file(path)
    assert str(caught.value).startswith(f"schemas/things.schema.json: {key}: ")


def test_an_unknown_schema_key_or_key_field_fails_closed(tmp_path):
    fields = [{"name": "thing_id", "type": "string"}]
    with pytest.raises(ContractError, match=r"^schemas/things.schema.json: uniqueKeys: "):
        Schema.from_file(write_schema(tmp_path, {"fields": fields, "uniqueKeys": [["thing_id"]]}))
    with pytest.raises(ContractError, match=r"^schemas/things.schema.json: primaryKey: names fields the schema lacks: id$"):
        Schema.from_file(write_schema(tmp_path, {"fields": fields, "primaryKey": "id"}))


def test_primary_key_is_normalised_once_and_published_as_a_list():
    schema = Schema.from_descriptor({"fields": [{"name": "thing_id", "type": "string"}], "primaryKey": "thing_id"})
    assert schema.primary_key == ("thing_id",)
    assert schema.to_descriptor()["primaryKey"] == ["thing_id"]


def test_the_published_descriptor_is_the_schema_file_without_its_extensions():
    contracts = load_contracts()
    for resource in ("violations", "events"):
        written = json.loads((REPO / "schemas" / f"{resource}.schema.json").read_text(encoding="utf-8"))
        published = contracts.schema(resource).to_descriptor()
        assert list(published) == [key for key in written if key not in ("title", "description")]
        assert [spec["name"] for spec in published["fields"]] == [spec["name"] for spec in written["fields"]]
        assert not any(key.startswith("x-") for spec in published["fields"] for key in spec)
    violator = contracts.schema("violations").field("violator")
    assert violator.vocabulary == "violators"
    assert violator.constraints["enum"] == contracts.vocabularies["violators"].names


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        ({"name": "n", "type": "integer"}, "42", 42),
        ({"name": "x", "type": "number"}, "0.5", 0.5),
        ({"name": "b", "type": "boolean"}, "true", True),
        ({"name": "d", "type": "date"}, "2022-03-24", dt.date(2022, 3, 24)),
        ({"name": "l", "type": "list", "itemType": "string", "delimiter": ";"}, "Shusha;Khojaly", ["Shusha", "Khojaly"]),
        ({"name": "s", "type": "string"}, "near Shusha", "near Shusha"),
        ({"name": "s", "type": "string"}, "", None),
        ({"name": "l", "type": "list", "delimiter": ";"}, "", []),
    ],
)
def test_the_csv_codec_reads_and_writes_each_type(spec, text, value):
    field = Field.from_descriptor(spec)
    assert field.from_text(text) == value
    assert (field.to_text(value) or "") == text


def test_the_csv_codec_rejects_text_of_the_wrong_type():
    with pytest.raises(ValueError):
        Field.from_descriptor({"name": "n", "type": "integer"}).from_text("three")
    with pytest.raises(ValueError):
        Field.from_descriptor({"name": "d", "type": "date"}).from_text("24.03.2022")


def test_the_json_codec_reads_and_writes_dates_and_missing_values():
    date = Field.from_descriptor({"name": "d", "type": "date"})
    assert date.to_json(dt.date(2022, 3, 24)) == "2022-03-24"
    assert date.from_json("2022-03-24") == dt.date(2022, 3, 24)
    assert date.to_json(pd.NA) is None
    assert Field.from_descriptor({"name": "l", "type": "list"}).from_json(None) == []


def test_pandas_dtypes_come_from_the_contract():
    dtypes = load_contracts().schema("violations").to_pandas_dtypes()
    assert dtypes["violation_count"] == "Int64"
    assert dtypes["violation_id"] == "string"
    assert dtypes["date_start"] == "object"


def _failures(schema: Schema, frame: pd.DataFrame) -> list[tuple[str, int | None]]:
    ruled = schema.to_pandera("things")
    try:
        ruled.schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as errors:
        return sorted(
            (rule_for_failure(ruled, case.column, str(case.check)).rule, None if pd.isna(case.index) else int(case.index))
            for case in errors.failure_cases.itertuples(index=False)
        )
    return []


def test_a_single_field_primary_key_rejects_duplicates():
    schema = Schema.from_descriptor({"fields": [{"name": "thing_id", "type": "string"}], "primaryKey": ["thing_id"]})
    frame = pd.DataFrame({"thing_id": pd.array(["a", "b", "a"], dtype="string")})
    assert _failures(schema, frame) == [("primary-key", 0), ("primary-key", 2)]


@pytest.mark.parametrize(
    ("constraints", "values", "rule", "bad_rows"),
    [
        ({"maximum": 1}, [0, 1, 2], "maximum", [2]),
        ({"exclusiveMaximum": 1}, [0, 1, 2], "maximum", [1, 2]),
        ({"minimum": 1}, [0, 1, 2], "minimum", [0]),
        ({"exclusiveMinimum": 1}, [0, 1, 2], "minimum", [0, 1]),
    ],
)
def test_every_bound_is_checked(constraints, values, rule, bad_rows):
    schema = Schema.from_descriptor({"fields": [{"name": "n", "type": "integer", "constraints": constraints}]})
    frame = pd.DataFrame({"n": pd.array(values, dtype="Int64")})
    assert _failures(schema, frame) == [(rule, row) for row in bad_rows]


def test_string_and_list_lengths_are_checked():
    schema = Schema.from_descriptor({"fields": [
        {"name": "s", "type": "string", "constraints": {"minLength": 2, "maxLength": 3}},
        {"name": "l", "type": "list", "constraints": {"maxLength": 1}},
    ]})  # fmt: skip
    frame = pd.DataFrame({"s": pd.array(["a", "abc", "abcd"], dtype="string"),
                          "l": pd.Series([["x"], ["x", "y"], []], dtype="object")})  # fmt: skip
    assert _failures(schema, frame) == [("length", 0), ("length", 1), ("length", 2)]


def test_date_bounds_compare_dates():
    schema = Schema.from_descriptor({"fields": [{"name": "d", "type": "date", "constraints": {"minimum": "2020-11-10"}}]})
    frame = pd.DataFrame({"d": pd.Series([dt.date(2020, 11, 9), dt.date(2020, 11, 10)], dtype="object")})
    assert _failures(schema, frame) == [("minimum", 0)]


def test_package_metadata_is_read_from_schemas_package_json(tmp_path):
    from ceasefire.pipeline import build_dataset, publish
    from conftest import SEED_RAW

    schemas = tmp_path / "schemas"
    shutil.copytree(REPO / "schemas", schemas)
    metadata = json.loads((schemas / "package.json").read_text(encoding="utf-8"))
    metadata |= {"title": "A renamed dataset", "x-shortTitle": "Renamed collection",
                 "licenses": [{"name": "CC0-1.0", "path": "https://creativecommons.org/publicdomain/zero/1.0/", "title": "CC0 1.0"}]}  # fmt: skip
    (schemas / "package.json").write_text(json.dumps(metadata), encoding="utf-8")
    outcome = publish(build_dataset(SEED_RAW, schemas), tmp_path / "dist")
    descriptor = json.loads((outcome.path / "datapackage.json").read_text(encoding="utf-8"))
    assert (descriptor["title"], descriptor["licenses"][0]["name"]) == ("A renamed dataset", "CC0-1.0")
    readme = (outcome.path / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# A renamed dataset, version 1.0.0") and "CC0 1.0 (CC0-1.0, " in readme
    assert "<h1>A renamed dataset</h1>" in (tmp_path / "dist" / "index.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "dist" / "catalog.json").read_text())["packages"][0]["license"] == "CC0-1.0"


def test_an_unknown_package_metadata_key_fails_closed(tmp_path):
    from ceasefire.contracts.package import load_package_metadata

    metadata = json.loads((REPO / "schemas" / "package.json").read_text(encoding="utf-8")) | {"licence": "typo"}
    (tmp_path / "package.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ContractError, match=r"^schemas/package.json: licence: unknown key"):
        load_package_metadata(tmp_path)


# Rows of a string, a date and a list cell, each missing or not: blank rows (every cell missing) often.
cells = st.tuples(st.none() | st.sampled_from(["a", "b"]), st.none() | st.just(dt.date(2021, 1, 2)),
                  st.none() | st.lists(st.just("x"), max_size=2))  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(cells, max_size=12))
def test_a_frame_wide_rule_passes_blank_rows_as_pandera_ignore_na_does(rows):
    """``rule_check`` finds blank rows by ``blank_rows`` instead of pandera's ``ignore_na``
    (``isna`` over every cell): the same rows fail, and the mask is ``isna().all``'s. (pandera
    drops a failing row's missing cells from its cases only with ``ignore_na``; validation makes
    one finding per rule and row either way, its value read from the frame.)"""
    from ceasefire.contracts.pandera_adapter import Rule, blank_rows, named_check, rule_check

    frame = pd.DataFrame({"s": pd.array([r[0] for r in rows], dtype="string"),
                          "d": pd.Series([r[1] for r in rows], dtype="object"),
                          "l": pd.Series([r[2] for r in rows], dtype="object")})  # fmt: skip
    assert blank_rows(frame).tolist() == frame.isna().all(axis="columns").tolist()
    assert blank_rows(frame.iloc[:, :0]).tolist() == frame.iloc[:, :0].isna().all(axis="columns").tolist()
    assert blank_rows(frame[["l", "s"]]).tolist() == frame[["l", "s"]].isna().all(axis="columns").tolist()
    rule = Rule("has-s", "an s", "s", "no s")

    def test(f):
        return f["s"].notna()

    ours, _ = rule_check(test, rule)
    pandera_own = named_check(test, rule)  # ignore_na=True: pandera ORs isna().all(axis="columns")

    def failing(check) -> list[int]:
        try:
            pa.DataFrameSchema(checks=[check]).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as errors:
            return sorted({int(i) for i in errors.failure_cases["index"].dropna()})
        return []

    assert failing(ours) == failing(pandera_own)


def test_blank_rows_of_a_table_with_an_id_hold_no_row_positions():
    """A table whose first column is never missing (an id) is found not blank from that column alone:
    no positions of its rows (8 bytes a row, 80 MB at ten million) are made on the way."""
    import tracemalloc

    from ceasefire.contracts.pandera_adapter import blank_rows

    rows = 1_000_000
    frame = pd.DataFrame({"id": pd.array(np.arange(rows, dtype=np.int64)), "d": pd.Series([None] * rows, dtype=object)})
    tracemalloc.start()
    try:
        blank = blank_rows(frame)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not blank.any()
    assert peak < 4 * rows, f"{peak / 1e6:.1f} MB for {rows:,} rows"
