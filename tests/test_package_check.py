"""A large package goes through the streamed check first; it must never pass what frictionless rejects.

Each case breaks one thing in a copy of the published seed package (its data, its contract, or a
JSON Lines twin; ``bytes`` and ``hash`` kept right unless the case is about them): the check must
find something, and what publishing reports must be frictionless' own findings on the whole package.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ceasefire.contracts.schema import CONSTRAINTS_BY_TYPE
from ceasefire.pipeline import build_dataset, publish
from ceasefire.publish import package_check
from ceasefire.publish.package_check import find_package_errors, run_frictionless, validate_written_package
from conftest import SEED_RAW


@pytest.fixture(scope="module")
def seed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    outcome = publish(build_dataset(SEED_RAW), dist)
    assert outcome.status == "published"
    return outcome.path


def frictionless_errors(package: Path) -> list[tuple]:
    from frictionless import Package, system

    with system.use_context(trusted=False):
        report = Package(str(package / "datapackage.json")).validate()
    found = [("datapackage", None, None, error.type) for error in report.errors]
    for task in report.tasks:
        found += [(task.name, getattr(e, "row_number", None), getattr(e, "field_name", None), e.type) for e in task.errors]
    return sorted(found, key=str)


def large_path_errors(package: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """What publishing finds in ``package`` when it counts as large (the streamed check first)."""
    monkeypatch.setattr(package_check, "FULL_FRICTIONLESS_MAX_ROWS", -1)
    return _flat(validate_written_package(package, {}))


def full_errors(package: Path) -> list[tuple]:
    """frictionless on the whole package, in the form of :func:`large_path_errors`."""
    return _flat(run_frictionless(package, {}))


def _flat(findings: list) -> list[tuple]:
    # Without source frames a finding has no row id; frictionless' message names the row.
    return sorted(((f.resource, f.column, f.rule, f.message) for f in findings), key=str)


def _resource(descriptor: dict, name: str) -> dict:
    return next(r for r in descriptor["resources"] if r["name"] == name)


def rewrite(package: Path, name: str, change: Callable[[bytes], bytes], *, keep_descriptor: bool = False) -> None:
    """Change the file of resource ``name``; record its new bytes and sha256 unless told not to."""
    descriptor_path = package / "datapackage.json"
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    resource = _resource(descriptor, name)
    path = package / resource["path"]
    data = change(path.read_bytes())
    path.write_bytes(data)
    if not keep_descriptor:
        resource["bytes"], resource["hash"] = len(data), "sha256:" + hashlib.sha256(data).hexdigest()
    descriptor_path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")


def set_cell(row: int, field: str, value: str) -> Callable[[bytes], bytes]:
    """Set one CSV cell; ``row`` counts as frictionless does (2 = the first data row)."""

    def change(data: bytes) -> bytes:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        rows[row - 1][rows[0].index(field)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return out.getvalue().encode("utf-8")

    return change


def set_descriptor(name: str, key: str, value: object) -> Callable[[Path], None]:
    def change(package: Path) -> None:
        path = package / "datapackage.json"
        descriptor = json.loads(path.read_text(encoding="utf-8"))
        _resource(descriptor, name)[key] = value
        path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")

    return change


CSV_CASES = {
    "date-type": ("violations", set_cell(5, "date_start", "2021-02-31")),
    "integer-type": ("violations", set_cell(3, "violation_count", "one")),
    "minimum": ("violations", set_cell(4, "violation_count", "0")),
    "negative-killed": ("violations", set_cell(6, "killed", "-1")),
    "required": ("violations", set_cell(7, "location", "")),
    "enum": ("violations", set_cell(8, "violator", "Russia")),
    "pattern": ("violations", set_cell(9, "violation_id", "Not An Id")),
    "duplicate-key": ("violations", set_cell(3, "violation_id", "2020-12-11-territory-of-the-former-hadrut-province")),
    "foreign-key": ("events", set_cell(2, "violation_id", "2099-01-01-nowhere")),
    "event-enum": ("events", set_cell(10, "date_precision", "hour")),
    "event-date": ("events", set_cell(11, "date_end", "11.12.2020")),
}




def copy_package(seed_package: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(seed_package, tmp_path / "package"))


def set_constraint(resource: str, field: str, key: str, value: object) -> Callable[[Path], None]:
    """Add a constraint to a field of the contract of ``resource``, in its CSV and JSON forms alike."""

    def change(package: Path) -> None:
        path = package / "datapackage.json"
        descriptor = json.loads(path.read_text(encoding="utf-8"))
        for name in (resource, f"{resource}-json"):
            spec = next(f for f in _resource(descriptor, name)["schema"]["fields"] if f["name"] == field)
            spec.setdefault("constraints", {})[key] = value
        path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")

    return change


# One broken copy per constraint the contract can express: the data stays, the contract tightens.
CONSTRAINT_CASES = {
    "required": set_constraint("violations", "killed", "required", True),
    "unique": set_constraint("violations", "violator", "unique", True),
    "enum": set_constraint("violations", "violator", "enum", ["Azerbaijan"]),
    "pattern": set_constraint("violations", "location", "pattern", "[A-Z].*"),
    "minLength": set_constraint("violations", "location", "minLength", 30),
    "maxLength": set_constraint("violations", "places", "maxLength", 1),
    "minimum": set_constraint("violations", "date_start", "minimum", "2022-01-01"),
    "maximum": set_constraint("violations", "violation_count", "maximum", 1),
    "exclusiveMinimum": set_constraint("violations", "violation_count", "exclusiveMinimum", 1),
    "exclusiveMaximum": set_constraint("events", "source_line", "exclusiveMaximum", 60),
}


def test_there_is_a_case_for_every_constraint_the_contract_can_express() -> None:
    assert set(CONSTRAINT_CASES) == {key for keys in CONSTRAINTS_BY_TYPE.values() for key in keys}


def test_the_seed_package_is_clean_for_both(seed_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert find_package_errors(seed_package) == []
    assert large_path_errors(seed_package, monkeypatch) == full_errors(seed_package) == []


@pytest.mark.parametrize("case", sorted(CONSTRAINT_CASES))
def test_a_tightened_constraint_is_found_as_frictionless_finds_it(
    case: str, seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = copy_package(seed_package, tmp_path)
    CONSTRAINT_CASES[case](package)
    everything = frictionless_errors(package)
    csv_form = [error for error in everything if not error[0].endswith("-json")]
    twins = [error for error in everything if error[0].endswith("-json")]
    assert csv_form, "the case must break something frictionless sees"
    # The twins hold the same typed records, so frictionless finds the same there.
    assert [(r.removesuffix("-json"), *rest) for r, *rest in twins] == csv_form
    assert {(r, f) for r, _, f, _ in find_package_errors(package)} >= {(r, f) for r, _, f, _ in csv_form}
    assert large_path_errors(package, monkeypatch) == full_errors(package)


def test_maximum_one_on_violation_count_gives_frictionless_own_18_errors(
    seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = copy_package(seed_package, tmp_path)
    set_constraint("violations", "violation_count", "maximum", 1)(package)
    assert find_package_errors(package) == [("violations", None, "violation_count", "constraint-error")]
    found = large_path_errors(package, monkeypatch)
    assert len(found) == 18  # nine rows, in both forms
    assert {(r, f, t) for r, f, t, _ in found} == {(r, "violation_count", "constraint-error") for r in ("violations", "violations-json")}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_a_broken_csv_cell_gives_frictionless_own_errors(
    case: str, seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resource, change = CSV_CASES[case]
    package = copy_package(seed_package, tmp_path)
    rewrite(package, resource, change)
    assert find_package_errors(package)
    expected = full_errors(package)
    assert expected, "the case must break something frictionless sees"
    assert large_path_errors(package, monkeypatch) == expected


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [("bytes", 1234, "byte-count"), ("hash", "sha256:" + "0" * 64, "hash-count")],
)
@pytest.mark.parametrize("resource", ["violations", "violations-json", "violations-parquet", "sqlite"])
def test_a_wrong_size_or_hash_is_found(
    resource: str, key: str, value: object, error: str, seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = copy_package(seed_package, tmp_path)
    set_descriptor(resource, key, value)(package)
    assert [(r, f, t) for r, f, t, _ in large_path_errors(package, monkeypatch)] == [(resource, None, error)]
    assert large_path_errors(package, monkeypatch) == full_errors(package)


@pytest.mark.parametrize("resource", ["violations-parquet", "sqlite"])
def test_a_download_changed_or_gone_is_found_as_frictionless_finds_it(
    resource: str, seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = copy_package(seed_package, tmp_path)
    rewrite(package, resource, lambda data: data[:-1] + bytes([data[-1] ^ 1]), keep_descriptor=True)
    assert find_package_errors(package) == [(resource, None, None, "hash-count")]
    assert large_path_errors(package, monkeypatch) == full_errors(package) != []
    path = package / json.loads((package / "datapackage.json").read_text(encoding="utf-8"))["resources"][-1]["path"]
    path.unlink()  # the last resource, the database, is not there at all
    assert find_package_errors(package) == [("sqlite", None, None, "scheme-error")]
    assert large_path_errors(package, monkeypatch) == full_errors(package) != []


def test_an_edited_json_twin_is_caught_and_named_by_frictionless(
    seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = copy_package(seed_package, tmp_path)
    rewrite(package, "violations-json", _zero_count_on_line(6))
    assert find_package_errors(package) == [("violations-json", None, None, "json-differs-from-csv")]
    assert frictionless_errors(package) == [("violations-json", 7, "violation_count", "constraint-error")]
    assert large_path_errors(package, monkeypatch) == full_errors(package)


def test_a_json_twin_whose_schema_differs_is_caught(seed_package: Path, tmp_path: Path) -> None:
    package = copy_package(seed_package, tmp_path)
    path = package / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    _resource(descriptor, "violations-json")["schema"]["fields"][4]["constraints"]["minimum"] = 0
    path.write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    assert find_package_errors(package) == [("violations-json", None, None, "schema-differs-from-csv")]


def _zero_count_on_line(number: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[number - 1] = lines[number - 1].replace(b'"violation_count": 1,', b'"violation_count": 0,')
        return b"\n".join(lines)

    return change


def test_an_extra_cell_is_caught(seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = copy_package(seed_package, tmp_path)
    rewrite(package, "violations", _extra_cell)
    assert "extra-cell" in {e[3] for e in frictionless_errors(package)}
    assert large_path_errors(package, monkeypatch) == full_errors(package)


def _extra_cell(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[3] += b",surplus"
    return b"\n".join(lines)


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Record how publishing validates: the streamed check, frictionless, or both."""
    calls: list[tuple] = []
    monkeypatch.setattr(package_check, "run_frictionless", lambda package, sources: calls.append(("frictionless",)) or [])
    monkeypatch.setattr(package_check, "find_package_errors", lambda package, ahead=None: calls.append(("check",)) or [])
    return calls


def test_a_package_up_to_the_threshold_is_validated_by_frictionless_in_full(seed_package: Path, monkeypatch) -> None:
    calls = _spy(monkeypatch)
    rows = {"violations": pd.DataFrame(index=range(package_check.FULL_FRICTIONLESS_MAX_ROWS))}
    assert validate_written_package(seed_package, rows) == []
    assert calls == [("frictionless",)]


def test_a_clean_package_over_the_threshold_is_checked_without_frictionless(seed_package: Path, monkeypatch) -> None:
    calls = _spy(monkeypatch)
    rows = {"violations": pd.DataFrame(index=range(package_check.FULL_FRICTIONLESS_MAX_ROWS + 1))}
    assert validate_written_package(seed_package, rows) == []
    assert calls == [("check",)]


def _blank_line_after(number: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        lines = data.split(b"\n")
        return b"\n".join([*lines[:number], b"", *lines[number:]])

    return change


def test_a_blank_line_in_a_csv_form_is_caught(seed_package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """frictionless reports a blank row; a reader that skipped blank lines would call the package clean."""
    package = copy_package(seed_package, tmp_path)
    rewrite(package, "violations", _blank_line_after(5))
    assert "blank-row" in {e[3] for e in frictionless_errors(package)}
    assert find_package_errors(package) != []  # the empty row breaks every required field
    assert large_path_errors(package, monkeypatch) == full_errors(package) != []


def test_a_row_longer_than_a_chunk_leaves_the_verdict_to_frictionless(seed_package: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_check, "CHUNK_BYTES", 256)  # shorter than most of the seed's rows
    assert find_package_errors(seed_package) != []
    assert large_path_errors(seed_package, monkeypatch) == full_errors(seed_package) == []


# Bytes a CSV reader may treat in its own way: line ends, quotes, separators, a BOM, bytes that are not UTF-8.
_HOSTILE_BYTES = [b"\r", b"\r\n", b"\n", b"\n\n", b'"', b'""', b",", b"\xef\xbb\xbf", b"\x00", b"\xff", b" ", b"\t", b"\\"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans(), st.sampled_from(_HOSTILE_BYTES)), min_size=1, max_size=3))
@example(inserts=[(0.5, True, b"\n")])  # a blank line between two rows
@example(inserts=[(1.0, False, b"\r")])  # a blank last line
@example(inserts=[(0.0, False, b"\xef\xbb\xbf")])  # a byte order mark
def test_a_csv_form_the_check_calls_clean_is_clean_for_frictionless(
    seed_package: Path, inserts: list[tuple[float, bool, bytes]]
) -> None:
    """Hostile bytes anywhere in the CSV form (the JSON twin unchanged): when the streamed check finds
    nothing, frictionless finds nothing either. The other way round is safe, since frictionless then decides."""
    with tempfile.TemporaryDirectory() as scratch:
        package = Path(shutil.copytree(seed_package, Path(scratch) / "package"))

        def insert(data: bytes) -> bytes:
            for share, at_line_start, fragment in inserts:  # anywhere, or where a line starts
                starts = [0, *(index + 1 for index, byte in enumerate(data) if byte == 10)] if at_line_start else None
                at = starts[round(share * (len(starts) - 1))] if starts else round(share * len(data))
                data = data[:at] + fragment + data[at:]
            return data

        rewrite(package, "violations", insert)
        clean = not find_package_errors(package)
        event(f"the check calls it clean: {clean}")
        if clean:
            assert full_errors(package) == []
