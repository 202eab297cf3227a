"""The streamed check's shortcuts: the JSON Lines twin compared without rendering a frame, cells read once per distinct value.

``find_package_errors`` no longer builds a frame per chunk and renders it with
``serialize.render_jsonl``; it JSON-encodes each distinct cell once and lets Arrow join the lines.
These tests prove the bytes are the same on hostile columns of every type the contract has, and
that every way a twin can differ from its CSV form (keys, order, spacing, null vs missing, number
forms, escapes, lines) is still caught.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.contracts.schema import Field, Schema
from ceasefire.pipeline import build_dataset, publish
from ceasefire.publish import package_check
from ceasefire.publish.package_check import DistinctColumn, find_package_errors
from ceasefire.publish.serialize import jsonl_lines
from ceasefire.publish.serialize import records, render_jsonl
from conftest import SEED_RAW
from test_package_check import full_errors, large_path_errors, rewrite, set_cell, set_constraint

SCHEMA = Schema.from_descriptor({
    "fields": [
        {"name": "text", "type": "string"},
        {"name": "count", "type": "integer"},
        {"name": "share", "type": "number"},
        {"name": "flag", "type": "boolean"},
        {"name": "day", "type": "date"},
        {"name": "names", "type": "list", "delimiter": ";"},
        {"name": "quote\"%s", "type": "string"},
    ],
    "missingValues": ["", "n/a"],
})  # fmt: skip

# Arrow's blocks for the check: about seven rows of the seed's violations; its longest row (events) has 1,207 bytes.
SMALL_CHUNK = 2048

# CSV cells each field can read: hostile text (quotes, escapes, newlines, non-ASCII, the missing values).
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
CELLS = {
    "text": _TEXT,
    "count": st.integers(-(2**63) + 1, 2**63 - 1).map(str) | st.sampled_from(["", "n/a", "007", "-0", "+3"]),
    "share": st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.sampled_from(["", "1e400", "-0.0", "1"]),
    "flag": st.sampled_from(["true", "False", "TRUE", "0", "1", "", "n/a"]),
    "day": st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)).map(dt.date.isoformat) | st.just(""),
    "names": _TEXT,
    "quote\"%s": _TEXT,
}


def render_jsonl_by_row(frame: pd.DataFrame) -> bytes:
    """The twin as defined: ``json.dumps`` of each record, fields in order."""
    lines = [json.dumps(record, ensure_ascii=False) for record in records(frame)]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries(CELLS), max_size=12))
def test_the_twin_bytes_are_render_jsonl_of_the_typed_rows(rows: list[dict[str, str]]) -> None:
    chunk = pd.DataFrame(rows, columns=list(CELLS), dtype=str)
    columns = {spec.name: DistinctColumn.read(spec, pa.array(chunk[spec.name], type=pa.string()), set(SCHEMA.missing_values))
               for spec in SCHEMA.fields}
    assert not [name for name, column in columns.items() if "type-error" in column.problems]
    frame = SCHEMA.frame_from_columns({name: column.values() for name, column in columns.items()})
    found = jsonl_lines({name: column.json_cells() for name, column in columns.items()})
    assert found == render_jsonl_by_row(frame)
    # serialize converts each distinct value once, and 0.0 == -0.0: with both in one slice it writes
    # the first for both (in the CSV too, so a published pair never holds both). No contract has a
    # number field today.
    if len({row["share"] for row in rows} & {"0.0", "-0.0"}) < 2:
        assert found == render_jsonl(frame)


@pytest.fixture(scope="module")
def seed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outcome = publish(build_dataset(SEED_RAW), tmp_path_factory.mktemp("dist"))
    assert outcome.status == "published"
    return outcome.path


def _on_line(number: int, change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def changed(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[number - 1] = change(lines[number - 1])
        return b"\n".join(lines)

    return changed


def _swap_first_two_keys(line: bytes) -> bytes:
    first, second, rest = line[1:].split(b", ", 2)
    return b"{" + second + b", " + first + b", " + rest


# Each edit keeps the same records for a lenient reader, or nearly: the check must see every one.
TWIN_EDITS = {
    "key order": _on_line(3, _swap_first_two_keys),
    "null written as a missing key": _on_line(2, lambda line: line.replace(b'"killed": null, ', b"")),
    "spacing": _on_line(4, lambda line: line.replace(b'": ', b'":', 1)),
    "integer as a float": lambda data: data.replace(b'"violation_count": 1,', b'"violation_count": 1.0,', 1),
    "an escaped letter": lambda data: data.replace(b'"near Shusha"', b'"near \\u0053husha"', 1),
    "no final newline": lambda data: data[:-1],
    "a line more": lambda data: data + data.split(b"\n")[0] + b"\n",
    "a line less": lambda data: b"\n".join(data.split(b"\n")[:-2]) + b"\n",
    "a blank line": _on_line(3, lambda line: line + b"\n"),
    "a one-item list as its item": lambda data: data.replace(b'"places": ["Shusha"]', b'"places": "Shusha"', 1),
}


@pytest.mark.parametrize("edit", sorted(TWIN_EDITS))
def test_every_difference_between_twin_and_csv_is_caught(edit: str, seed_package: Path, tmp_path: Path) -> None:
    package = Path(shutil.copytree(seed_package, tmp_path / "package"))
    before = (package / "data" / "violations.jsonl").read_bytes()
    rewrite(package, "violations-json", TWIN_EDITS[edit])
    assert (package / "data" / "violations.jsonl").read_bytes() != before, "the edit must change the twin"
    errors = find_package_errors(package)
    # frictionless reads the first rows itself (a blank line there is its source-error); the check the rest.
    assert errors and {error.resource for error in errors} == {"violations-json"}


def set_record(row: int, field: str, value: object) -> Callable[[bytes], bytes]:
    """Set one value of a JSON Lines twin; ``row`` counts as :func:`set_cell`'s does (2 = the first record)."""

    def change(data: bytes) -> bytes:
        lines = data.decode("utf-8").splitlines()
        record = json.loads(lines[row - 2])
        record[field] = value
        lines[row - 2] = json.dumps(record, ensure_ascii=False)
        return "\n".join(lines).encode("utf-8") + b"\n"

    return change


def test_unique_values_written_differently_in_the_csv_are_still_duplicates(
    seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = Path(shutil.copytree(seed_package, tmp_path / "package"))
    set_constraint("violations", "source_line", "unique", True)(package)
    first_line = (package / "data" / "violations.csv").read_text(encoding="utf-8").split("\n")[1].split(",")[-2]
    # Each cell of the column occurs once, but "079" and "79" are one integer: not unique. The twin
    # holds the same integers, so the uniqueness is all that is broken.
    rewrite(package, "violations", set_cell(3, "source_line", f"0{first_line}"))
    rewrite(package, "violations-json", set_record(3, "source_line", int(first_line)))
    assert find_package_errors(package) == [("violations", None, "source_line", "unique-error")]
    assert large_path_errors(package, monkeypatch) == full_errors(package)


def test_a_chunk_boundary_changes_nothing(seed_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_check, "CHUNK_BYTES", SMALL_CHUNK)
    names = [field["name"] for field in json.loads((seed_package / "datapackage.json").read_text())["resources"][0]["schema"]["fields"]]
    assert len(list(package_check._csv_cells(seed_package / "data" / "violations.csv", names))) > 3
    assert find_package_errors(seed_package) == []


def read_distinct_cell_by_cell(spec: Field, cells: list[str], missing: set[str]) -> tuple[list, set[str]]:
    """What the check found per distinct cell before the batch forms: each cell read and tested alone."""
    typed: list = []
    problems: set[str] = set()
    for cell in cells:
        if cell in missing:
            typed.append(spec.from_text(None))
            if spec.required:
                problems.add("constraint-error")
            continue
        try:
            typed.append(spec.from_text(cell, missing))
        except ValueError:
            typed.append(None)
            problems.add("type-error")
    if "constraint-error" not in problems and any(
        spec.broken_constraint(value) for value, cell in zip(typed, cells) if value is not None and cell not in missing
    ):
        problems.add("constraint-error")
    return typed, problems


# Every field of SCHEMA with constraints that its hostile cells break now and then.
CONSTRAINED = {
    "text": {"required": True, "pattern": "[a-z]*", "maxLength": 3},
    "count": {"required": True, "minimum": -5, "exclusiveMaximum": 10**12},
    "share": {"maximum": 0.5, "enum": [0.25, 0.5, "1e-3"]},
    "flag": {"enum": ["true"]},
    "day": {"minimum": "1900-01-01", "exclusiveMaximum": "2100-01-01"},
    "names": {"required": True, "minLength": 2},
    "quote\"%s": {},
}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_distinct_cells_are_read_and_checked_as_cell_by_cell(data: st.DataObject) -> None:
    missing = set(SCHEMA.missing_values)
    # Every draw before any code under test runs: a library that touches the global ``random`` between
    # two draws would make Hypothesis warn that a strategy uses it.
    drawn = {field.name: data.draw(st.lists(CELLS[field.name] | st.sampled_from(["x", "1.5", "2020-02-30"]), unique=True, max_size=30))
             for field in SCHEMA.fields}  # fmt: skip
    for field in SCHEMA.fields:
        spec = Field.from_descriptor({**field.descriptor, "constraints": CONSTRAINED[field.name]})
        cells = drawn[field.name]
        typed, problems = package_check._read_distinct(spec, list(cells), missing)
        expected_typed, expected_problems = read_distinct_cell_by_cell(spec, cells, missing)
        assert repr(typed) == repr(expected_typed)  # nan as nan, 1 not True
        assert problems == expected_problems


@pytest.mark.parametrize("bytes_per_chunk", [SMALL_CHUNK, 1 << 20])
def test_a_repeated_primary_key_is_found_in_a_chunk_and_across_chunks(
    bytes_per_chunk: int, seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = Path(shutil.copytree(seed_package, tmp_path / "package"))
    set_constraint("violations", "violation_id", "unique", False)(package)  # so the key alone can find it
    first_id = (package / "data" / "violations.csv").read_text(encoding="utf-8").split("\n")[1].split(",")[0]
    rewrite(package, "violations", set_cell(14, "violation_id", first_id))  # three chunks of 4 rows later
    rewrite(package, "violations-json", set_record(14, "violation_id", first_id))  # the twin agrees: only the key is broken
    monkeypatch.setattr(package_check, "CHUNK_BYTES", bytes_per_chunk)
    assert find_package_errors(package) == [("violations", None, None, "primary-key")]
    assert large_path_errors(package, monkeypatch) == full_errors(package) != []


def test_a_foreign_key_pointing_nowhere_is_found(seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same id pointing nowhere in the CSV form and its twin: only the foreign key is broken
    (a broken CSV cell alone is found first as a twin that differs)."""

    package = Path(shutil.copytree(seed_package, tmp_path / "package"))
    rewrite(package, "events", set_cell(2, "violation_id", "2099-01-01-nowhere"))
    rewrite(package, "events-json", set_record(2, "violation_id", "2099-01-01-nowhere"))
    monkeypatch.setattr(package_check, "CHUNK_BYTES", SMALL_CHUNK)
    assert find_package_errors(package) == [("events", None, None, "foreign-key")]
    assert large_path_errors(package, monkeypatch) == full_errors(package) != []


def test_a_unique_value_repeated_chunks_later_is_found(seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = Path(shutil.copytree(seed_package, tmp_path / "package"))
    set_constraint("violations", "source_line", "unique", True)(package)
    first_line = (package / "data" / "violations.csv").read_text(encoding="utf-8").split("\n")[1].split(",")[-2]
    rewrite(package, "violations", set_cell(30, "source_line", first_line))  # four chunks after the first row's
    rewrite(package, "violations-json", set_record(30, "source_line", int(first_line)))
    monkeypatch.setattr(package_check, "CHUNK_BYTES", SMALL_CHUNK)
    assert find_package_errors(package) == [("violations", None, "source_line", "unique-error")]
    assert large_path_errors(package, monkeypatch) == full_errors(package) != []
