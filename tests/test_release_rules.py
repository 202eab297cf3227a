"""The bump rules and the formula guard on tiny inline inputs."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.validate.formulas import FORMULA_PREFIXES, find_formula_cells, is_formula_text
from ceasefire.publish import releases
from ceasefire.publish.releases import CsvRows, ResourceSnapshot, Snapshot, compare, compare_schemas, parse_csv_rows
from ceasefire.contracts.schema import Schema
from ceasefire.extract.violations import Extraction

BASE = {
    "fields": [
        {"name": "event_id", "type": "string", "constraints": {"required": True}},
        {"name": "day", "type": "date"},
        {"name": "count", "type": "integer", "constraints": {"minimum": 1}},
        {"name": "party", "type": "string", "constraints": {"enum": ["A", "B"]}},
    ],
    "primaryKey": ["event_id"],
}


def _schema(**changes) -> dict:
    """BASE with the named fields' properties or constraints replaced (None deletes)."""
    fields = []
    for spec in BASE["fields"]:
        spec = {**spec, "constraints": dict(spec.get("constraints", {}))}
        for key, value in changes.get(spec["name"], {}).items():
            target = spec["constraints"] if key.startswith("c:") else spec
            key = key.removeprefix("c:")
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        fields.append(spec)
    return {**BASE, "fields": fields}


def _kinds(old: dict, new: dict) -> list[tuple[str, str | None, str]]:
    return [(c.kind, c.field, c.bump) for c in compare_schemas(old, new)]


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        (_schema(count={"c:minimum": 2}), [("constraint-stricter", "count", "major")]),
        (_schema(count={"c:minimum": 0}), [("constraint-loosened", "count", "minor")]),
        (_schema(count={"c:minimum": None}), [("constraint-loosened", "count", "minor")]),
        (_schema(day={"c:required": True}), [("constraint-stricter", "day", "major")]),
        (_schema(party={"c:enum": ["A", "B", "C"]}), [("constraint-loosened", "party", "minor")]),
        (_schema(party={"c:enum": ["A"]}), [("constraint-stricter", "party", "major")]),
        (_schema(count={"type": "number"}), [("field-retyped", "count", "major")]),
        (_schema(day={"format": "%d.%m.%Y"}), [("field-retyped", "day", "major")]),
        (_schema(count={"description": "Reports counted."}), [("field-description", "count", "patch")]),
    ],
)
def test_constraint_and_type_changes(new: dict, expected: list) -> None:
    assert _kinds(BASE, new) == expected


def test_field_added_at_the_end_is_minor_but_inserted_or_moved_is_major() -> None:
    extra = {"name": "note", "type": "string"}
    assert _kinds(BASE, {**BASE, "fields": [*BASE["fields"], extra]}) == [("field-added", "note", "minor")]
    assert _kinds(BASE, {**BASE, "fields": [BASE["fields"][0], extra, *BASE["fields"][1:]]}) == [
        ("field-inserted", "note", "major")
    ]
    moved = [BASE["fields"][0], BASE["fields"][2], BASE["fields"][1], BASE["fields"][3]]
    assert [kind for kind, _, _ in _kinds(BASE, {**BASE, "fields": moved})] == ["fields-reordered"]
    renamed = [*BASE["fields"][:3], {**BASE["fields"][3], "name": "violator"}]
    assert _kinds(BASE, {**BASE, "fields": renamed}) == [
        ("field-removed", "party", "major"), ("field-added", "violator", "minor")
    ]  # fmt: skip


def _snapshot(csv_text: str, schema: dict = BASE, *, names=("events",)) -> Snapshot:
    resource = ResourceSnapshot("events", schema, parse_csv_rows(csv_text.encode(), schema), {})
    return Snapshot({}, {"events": resource}, list(names))


OLD = "event_id,day,count,party\n2022-03-05-muganly,2022-03-05,2,A\n2022-03-06-area,2022-03-06,3,B\n"


def test_a_corrected_id_is_paired_as_a_change_and_unrelated_rows_are_not() -> None:
    new = "event_id,day,count,party\n2022-03-15-muganly,2022-03-15,2,A\n2022-03-06-area,2022-03-06,3,B\n2022-04-01-new,2022-04-01,1,A\n"
    changes = compare(_snapshot(OLD), _snapshot(new))
    events = changes.resources["events"]
    assert (events.added, events.removed) == (["2022-04-01-new"], [])
    assert events.changed == [
        {"id": "2022-03-15-muganly", "previous_id": "2022-03-05-muganly",
         "fields": {"event_id": {"old": "2022-03-05-muganly", "new": "2022-03-15-muganly"},
                    "day": {"old": "2022-03-05", "new": "2022-03-15"}}}
    ]  # fmt: skip
    assert changes.bump == "minor"


def test_rows_that_share_too_little_are_a_removal_and_an_addition() -> None:
    new = "event_id,day,count,party\n2022-05-09-other,2022-05-09,7,B\n2022-03-06-area,2022-03-06,3,B\n"
    events = compare(_snapshot(OLD), _snapshot(new)).resources["events"]
    assert (events.added, events.removed, events.changed) == (["2022-05-09-other"], ["2022-03-05-muganly"], [])


def test_bumps_of_whole_snapshots() -> None:
    assert compare(_snapshot(OLD), _snapshot(OLD)).bump == "none"
    assert compare(_snapshot(OLD), _snapshot(OLD.replace(",3,B", ",4,B"))).bump == "patch"
    assert compare(_snapshot(OLD), _snapshot(OLD, names=("events", "places"))).bump == "minor"
    assert compare(_snapshot(OLD, names=("events", "events-json")), _snapshot(OLD)).bump == "major"


def _extraction(**columns) -> Extraction:
    frame = pd.DataFrame(columns)
    return Extraction("events", frame)


TEXT_SCHEMA = Schema.from_descriptor({"fields": [{"name": "event_id", "type": "string"}, {"name": "note", "type": "string"},
                                                 {"name": "delta", "type": "integer"}, {"name": "tags", "type": "list"}]})  # fmt: skip


def test_numbers_are_never_formulas_only_text_cells_are() -> None:
    extraction = _extraction(
        event_id=["a", "b", "c"],
        note=["fired on - no casualties", "-1", "ok"],
        delta=pd.array([-1, 2, -3], dtype="Int64"),
        tags=[["x"], [], ["@y"]],
    )
    findings = find_formula_cells(extraction, TEXT_SCHEMA)
    assert [(f.row_id, f.column, f.value) for f in findings] == [("b", "note", "-1"), ("c", "tags", "@y")]


@given(st.sampled_from(FORMULA_PREFIXES), st.text(max_size=30))
def test_every_formula_prefix_is_caught(prefix: str, rest: str) -> None:
    assert is_formula_text(prefix + rest)


@given(st.text(min_size=1, max_size=40).filter(lambda s: s[0] not in FORMULA_PREFIXES))
def test_text_not_starting_with_a_formula_prefix_passes(text: str) -> None:
    assert not is_formula_text(text)
    assert find_formula_cells(_extraction(event_id=["a"], note=[text], delta=pd.array([-1], dtype="Int64"), tags=[[]]), TEXT_SCHEMA) == []


# What a published cell can hold around its delimiters and quotes; a CR is a control character, refused
# by validation (validate/characters.py), and the csv module would not quote it.
_CELL = st.lists(st.sampled_from([*'ab,;"\n/ \t', 'NA', 'é', '\u00a0']), max_size=6).map(''.join)


@given(rows=st.lists(st.tuples(_CELL, _CELL, _CELL), max_size=8))
def test_release_keys_read_by_arrow_are_those_the_csv_module_reads(tmp_path_factory, rows) -> None:
    """Keys of a CSV file written by the csv module (quotes, newlines, missing values, duplicates):
    Arrow's reader of the key columns gives what the csv module gives, row for row."""
    import csv

    schema = {"fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}], "primaryKey": ["a", "c"], "missingValues": ["", "NA"]}
    path = tmp_path_factory.mktemp("keys") / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([["a", "b", "c"], *rows])
    csv_module_keys = list(dict.fromkeys(CsvRows(path, schema)._keys_by_csv_module(["a", "b", "c"])))
    assert list(CsvRows(path, schema)) == csv_module_keys == list(parse_csv_rows(path.read_bytes(), schema))


def test_a_row_longer_than_arrows_block_is_keyed_by_the_csv_module(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(releases, "KEY_BLOCK_BYTES", 64)
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n" + "x" * 200 + ",1\n2,3\n", encoding="utf-8")
    assert list(CsvRows(path, {"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": ["a"]})) == ["x" * 200, "2"]


_RELEASE_KEYS = st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k/6"])


@settings(max_examples=150, deadline=None)
@given(
    # A key may repeat in a file (Arrow's reading then gives way to the csv module's dicts).
    old=st.lists(st.tuples(_RELEASE_KEYS, st.tuples(_CELL, _CELL)), max_size=5),
    new=st.lists(st.tuples(_RELEASE_KEYS, st.tuples(_CELL, _CELL)), max_size=5),
    new_columns=st.sampled_from([("id", "b", "c"), ("id", "c", "b"), ("id", "b", "d")]),
)
def test_two_releases_compared_by_arrow_give_the_changes_the_csv_module_gives(tmp_path_factory, old, new, new_columns) -> None:
    """A release diff of two CSV files reads them column-wise with Arrow and holds only the rows it
    names as dicts; rows added, removed, changed (and which fields, in which order) are those of the
    dicts of every row read by the csv module, for cells with quotes, newlines and missing values."""
    import csv

    folder = tmp_path_factory.mktemp("releases")

    def release(name: str, rows: list, columns: tuple[str, ...]) -> ResourceSnapshot:
        schema = {"fields": [{"name": column} for column in columns], "primaryKey": ["id"], "missingValues": ["", "NA"]}
        path = folder / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([columns, *[(key, *cells) for key, cells in rows]])
        return ResourceSnapshot("t", schema, CsvRows(path, schema), {})

    before, after = release("old", old, ("id", "b", "c")), release("new", new, new_columns)
    by_dicts = [dataclasses.replace(snapshot, rows=parse_csv_rows(snapshot.rows.path.read_bytes(), snapshot.schema))
                for snapshot in (before, after)]  # fmt: skip
    assert releases.compare_resources(before, after).to_dict() == releases.compare_resources(*by_dicts).to_dict()


_CELL_TEXTS = st.text(st.sampled_from([*FORMULA_PREFIXES, "a", " ", "1"]), max_size=3)
_CELLS = st.one_of(st.none(), _CELL_TEXTS, st.lists(st.one_of(_CELL_TEXTS, st.none(), st.integers(-2, 2)), max_size=3), st.integers(-2, 2))


@settings(max_examples=300, deadline=None)
@given(pool=st.lists(_CELLS, min_size=1, max_size=5), picks=st.lists(st.integers(0, 4), max_size=12), form=st.sampled_from(["object", "category", "string"]))
def test_each_distinct_value_is_tested_once_with_the_answer_of_every_row(pool, picks, form) -> None:
    """The formula guard tests a categorical's texts and an object column's distinct objects once
    each (rows share one list of places per location); every row must get its own cell's answer."""
    from ceasefire.validate.formulas import _formula_text_mask

    cells = [pool[pick % len(pool)] for pick in picks]  # shared objects, and equal ones from the pool twice
    if form != "object":
        cells = [cell if isinstance(cell, str) else None for cell in cells]
    column = pd.Series(cells, dtype=object if form == "object" else form)
    expected = [any(isinstance(item, str) and is_formula_text(item) for item in (cell if isinstance(cell, list) else [cell]))
                for cell in cells]  # fmt: skip
    assert _formula_text_mask(column).tolist() == expected
