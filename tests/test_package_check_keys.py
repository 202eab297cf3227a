"""Keys in the streamed check of the CSV forms: unique fields, primary keys and foreign keys, across
chunks, decided as frictionless decides them.

The check keeps a hash per row for uniqueness and, for a foreign key, only the keys of the table
pointed at that some row points at (``package_check.check_csv_forms``). Small packages written
here, with keys that point at their own table, round in a circle or along a chain, are checked in
chunks of a few rows and by frictionless; the verdicts must agree.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasefire.publish import package_check
from test_check_ahead import count_csv_reads

# Which key of which table points where: (resource, its field) -> (resource, field).
TOPOLOGIES = {
    "chain": {("b", "ref"): ("a", "id")},
    "self": {("a", "ref"): ("a", "id")},
    "circle": {("a", "ref"): ("b", "id"), ("b", "ref"): ("a", "id")},
    "chain and self": {("b", "ref"): ("a", "id"), ("a", "ref"): ("a", "id")},
    "to a table not in the package": {("b", "ref"): ("c", "id")},
}
# Cells of a key field by its type: "01" and "1" are one integer; "" is missing.
CELLS = {"string": ["x", "y", "z", "x y", ""], "integer": ["1", "01", "2", "3", ""]}


def write_package(folder: Path, tables: dict[str, list[tuple[str, str]]], key_type: str, topology: str,
                  unique: bool, primary: bool) -> list[dict]:  # fmt: skip
    """Two CSV resources ``a`` and ``b`` (fields ``id`` and ``ref``) and their descriptor's resources."""
    resources = []
    for name, rows in tables.items():
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([("id", "ref"), *rows])
        (folder / f"{name}.csv").write_text(out.getvalue(), encoding="utf-8")
        schema: dict = {"fields": [{"name": "id", "type": key_type, "constraints": {"unique": unique}},
                                   {"name": "ref", "type": key_type}]}  # fmt: skip
        if primary:
            schema["primaryKey"] = ["id"]
        references = [(target, field) for (source, _), (target, field) in TOPOLOGIES[topology].items() if source == name]
        if references:
            schema["foreignKeys"] = [{"fields": ["ref"], "reference": {"resource": "" if target == name else target, "fields": [field]}}
                                     for target, field in references]  # fmt: skip
        resources.append({"name": name, "path": f"{name}.csv", "format": "csv", "encoding": "utf-8", "schema": schema})
    (folder / "datapackage.json").write_text(json.dumps({"name": "keys", "resources": resources}), encoding="utf-8")
    return resources


def frictionless_finds(folder: Path) -> list[str]:
    from frictionless import Package, system

    with system.use_context(trusted=False):
        report = Package(str(folder / "datapackage.json")).validate()
    return [error.type for task in report.tasks for error in task.errors] + [error.type for error in report.errors]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), key_type=st.sampled_from(sorted(CELLS)), topology=st.sampled_from(sorted(TOPOLOGIES)),
       unique=st.booleans(), primary=st.booleans())  # fmt: skip
def test_the_check_of_keys_agrees_with_frictionless(
    data: st.DataObject, key_type: str, topology: str, unique: bool, primary: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    cell = st.sampled_from(CELLS[key_type])
    tables = {name: data.draw(st.lists(st.tuples(cell, cell), max_size=8), label=name) for name in ("a", "b")}
    monkeypatch.setattr(package_check, "CHUNK_BYTES", data.draw(st.sampled_from([8, 16, 1 << 20]), label="chunk bytes"))
    with tempfile.TemporaryDirectory() as folder:
        resources = write_package(Path(folder), tables, key_type, topology, unique, primary)
        found = package_check.check_csv_forms(Path(folder), resources).errors
        expected = frictionless_finds(Path(folder))
    assert bool(found) == bool(expected), (found, expected)
    # What the check names is among what frictionless names (a primary key, a unique field, a foreign
    # key), unless frictionless stopped at a key pointing at a table the package does not have.
    if "resource-error" not in expected:
        assert {error.type for error in found} <= set(expected) | {"label-or-cell-error", "type-error"}


def test_a_table_pointed_at_keeps_only_the_keys_pointed_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Along a chain, the table that points is read first, and of the table pointed at only the keys
    some row points at are kept: a million ids pointed at by a few events cost a few keys."""
    kept: list[package_check._KeptKeys] = []

    class Recorded(package_check._KeptKeys):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            kept.append(self)

    reads = count_csv_reads(monkeypatch)
    monkeypatch.setattr(package_check, "_KeptKeys", Recorded)
    monkeypatch.setattr(package_check, "CHUNK_BYTES", 16)
    tables = {"a": [(f"id{n}", "") for n in range(40)], "b": [("e1", "id3"), ("e2", "id7"), ("e3", "id3"), ("e4", "")]}
    resources = write_package(tmp_path, tables, "string", "chain", unique=True, primary=True)
    assert package_check.check_csv_forms(tmp_path, resources).errors == []
    assert reads == ["b", "a"]
    pointing, pointed_at = kept
    assert pointing.values == {"id3", "id7", None}
    assert pointed_at.values == {"id3", "id7"}

    # One id pointing nowhere is found.
    tables["b"].append(("e5", "id99"))
    resources = write_package(tmp_path, tables, "string", "chain", unique=True, primary=True)
    assert [error.type for error in package_check.check_csv_forms(tmp_path, resources).errors] == ["foreign-key"]
