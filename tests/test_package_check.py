"""The streamed package check finds what frictionless finds, on the seed package and on bad copies of it.

Publishing runs frictionless in full only when ``find_package_errors`` reports something, so the
check must never pass a package that frictionless rejects. Each case below breaks one thing in a
copy of the published seed package (keeping ``bytes`` and ``hash`` right unless the case is about
them) and compares the two, flattened to ``(resource, row, field, error type)`` as frictionless'
own tests do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from ceasefire.publish.package_check import find_package_errors
from ceasefire.pipeline import build_dataset, publish
from ceasefire.validate import validation
from ceasefire.validate.validation import run_frictionless, validate_written_package
from conftest import SEED_RAW

EXACT_TYPES = {"type-error", "constraint-error", "unique-error", "primary-key", "foreign-key", "hash-count", "byte-count"}


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


def quick_errors(package: Path) -> list[tuple]:
    return sorted((tuple(error) for error in find_package_errors(package)), key=str)


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


def test_the_seed_package_is_clean_for_both(seed_package: Path) -> None:
    assert quick_errors(seed_package) == []
    assert frictionless_errors(seed_package) == []


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_a_broken_csv_cell_gives_the_same_errors(case: str, seed_package: Path, tmp_path: Path) -> None:
    resource, change = CSV_CASES[case]
    package = copy_package(seed_package, tmp_path)
    rewrite(package, resource, change)
    expected = [error for error in frictionless_errors(package) if not error[0].endswith("-json")]
    found = quick_errors(package)
    assert expected, "the case must break something frictionless sees"
    assert [error for error in found if not error[0].endswith("-json")] == expected
    # The JSON Lines twin no longer mirrors its CSV form, so the check flags it too: frictionless runs.
    assert {error[0] for error in found if error[0].endswith("-json")} == {f"{resource}-json"}


def test_the_cases_cover_each_kind_of_error(seed_package: Path, tmp_path: Path) -> None:
    kinds = set()
    for number, (resource, change) in enumerate(CSV_CASES.values()):
        package = Path(shutil.copytree(seed_package, tmp_path / str(number)))
        rewrite(package, resource, change)
        kinds |= {error[3] for error in quick_errors(package)}
    assert {"type-error", "constraint-error", "primary-key", "foreign-key"} <= kinds


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [("bytes", 1234, "byte-count"), ("hash", "sha256:" + "0" * 64, "hash-count")],
)
def test_a_wrong_size_or_hash_gives_the_same_error(key: str, value: object, error: str, seed_package: Path, tmp_path: Path) -> None:
    package = copy_package(seed_package, tmp_path)
    set_descriptor("violations", key, value)(package)
    assert quick_errors(package) == frictionless_errors(package) == [("violations", None, None, error)]


def test_an_edited_file_with_the_old_hash_gives_the_same_errors(seed_package: Path, tmp_path: Path) -> None:
    package = copy_package(seed_package, tmp_path)
    rewrite(package, "violations", lambda data: data.replace(b"no casualties", b"no Casualties", 1), keep_descriptor=True)
    expected = frictionless_errors(package)
    assert ("violations", None, None, "hash-count") in expected
    assert [e for e in quick_errors(package) if e[0] == "violations"] == [e for e in expected if e[0] == "violations"]


def test_a_broken_json_twin_is_caught_by_comparing_it_with_its_csv_form(seed_package: Path, tmp_path: Path) -> None:
    package = copy_package(seed_package, tmp_path)
    rewrite(package, "violations-json", _zero_count_on_line(6))
    assert frictionless_errors(package) == [("violations-json", 7, "violation_count", "constraint-error")]
    # The check names the first row of the chunk that differs; frictionless then names the cell.
    assert quick_errors(package) == [("violations-json", 2, None, "json-differs-from-csv")]


def _zero_count_on_line(number: int) -> Callable[[bytes], bytes]:
    def change(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[number - 1] = lines[number - 1].replace(b'"violation_count": 1,', b'"violation_count": 0,')
        return b"\n".join(lines)

    return change


def test_an_extra_cell_is_caught(seed_package: Path, tmp_path: Path) -> None:
    package = copy_package(seed_package, tmp_path)
    rewrite(package, "violations", _extra_cell)
    assert "extra-cell" in {e[3] for e in frictionless_errors(package)}
    assert "extra-cell" in {e[3] for e in quick_errors(package)}


def _extra_cell(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[3] += b",surplus"
    return b"\n".join(lines)


def test_publishing_reports_frictionless_own_findings_when_the_check_finds_something(
    seed_package: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(validation, "FULL_FRICTIONLESS_MAX_ROWS", -1)  # take the large-package path
    package = copy_package(seed_package, tmp_path)
    rewrite(package, *CSV_CASES["enum"])
    assert validate_written_package(package, {}) == run_frictionless(package, {})
    assert [(f.resource, f.rule, f.column) for f in validate_written_package(package, {})] == [
        ("violations", "constraint-error", "violator")
    ]


def test_a_large_clean_package_skips_the_row_by_row_pass(seed_package: Path, monkeypatch) -> None:
    monkeypatch.setattr(validation, "FULL_FRICTIONLESS_MAX_ROWS", -1)

    def must_not_run(*args, **kwargs):
        raise AssertionError("frictionless ran in full on a package the streamed check found clean")

    monkeypatch.setattr(validation, "run_frictionless", must_not_run)
    assert validate_written_package(seed_package, {}) == []


def test_a_small_package_is_validated_by_frictionless_in_full(seed_package: Path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(validation, "run_frictionless", lambda package, sources: calls.append(package) or [])
    monkeypatch.setattr("ceasefire.publish.package_check.find_package_errors", lambda package: ["never asked"])
    assert validate_written_package(seed_package, {}) == []
    assert calls == [seed_package]
