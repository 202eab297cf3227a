"""Version numbers earned by what changed: MINOR for a row added, PATCH for a reviewed correction,
MAJOR for a field removed, nothing for an unchanged run; corrections and the formula guard."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from conftest import ARTICLE, insert_line, replace_line, seed_article, seed_cited, tree_snapshot, write_raw_dir

from ceasefire import PACKAGE_NAME
from ceasefire.pipeline import build_dataset, publish, run
from ceasefire.contracts.vocabularies import default_schemas_dir
from flows.cli import main

LAST_TABLE_LINE = 111  # | 25.03.2023 | ... | in the Martuni province, in the vicinity of Shushi | ...
YEGHTSAOG_LINE = 83  # | 11.08.2021 | 1 | 2 km northwest of Yeghtsaog | ... (the out-of-order row)
YEGHTSAOG_ID = "2021-08-11-2-km-northwest-of-yeghtsaog"
NEW_ROW = "| 30.03.2023 | 2 | near Shusha | Azerbaijan | no casualties |"


def _at(day: int) -> dt.datetime:
    return dt.datetime(2024, 5, day, 12, 0, tzinfo=dt.timezone.utc)


def _changes(dist: Path, version: str) -> dict:
    return json.loads((dist / PACKAGE_NAME / version / "changes.json").read_text(encoding="utf-8"))


def _descriptor(dist: Path, version: str) -> dict:
    return json.loads((dist / PACKAGE_NAME / version / "datapackage.json").read_text(encoding="utf-8"))


def _write_removals(folder: Path, *ids: str) -> Path:
    path = folder / "reviews" / "removals.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = [{"resource": "violations", "id": row_id, "reason": "not in the source", "reviewer": "tester", "date": "2024-05-02"}
               for row_id in ids]  # fmt: skip
    path.write_text(json.dumps({"removals": entries}), encoding="utf-8")
    return path


def _write_corrections(folder: Path, *entries: dict) -> Path:
    path = folder / "reviews" / "corrections.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"corrections": list(entries)}), encoding="utf-8")
    return path


def _correction(**overrides) -> dict:
    entry = {
        "resource": "violations", "id": YEGHTSAOG_ID, "field": "date_text",
        "old_value": "11.08.2021", "new_value": "11.11.2021",
        "reason": "Day and month swapped: the row sits between 08.11.2021 and 27.01.2022.",
        "reviewer": "A. Reviewer", "date": "2024-05-02",
    }  # fmt: skip
    entry.update(overrides)
    return entry


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    """A project folder: raw/ (seed copy) with dist/ and reviews/ beside it."""
    write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    return tmp_path


def test_seed_publishes_1_0_0_then_an_unchanged_run_publishes_nothing(seed_dir: Path) -> None:
    dist = seed_dir / "dist"
    first = publish(build_dataset(seed_dir / "raw"), dist, now=_at(1))
    assert (first.status, first.version, first.bump, first.rows) == ("published", "1.0.0", "initial", {"violations": 33, "events": 64})
    assert first.counts == {"error": 0, "warning": 35}
    changes = _changes(dist, "1.0.0")
    assert (changes["previous_version"], changes["bump"]) == (None, "initial")
    assert len(changes["resources"]["violations"]["rows_added"]) == 33
    before = tree_snapshot(dist)

    second = publish(build_dataset(seed_dir / "raw"), dist, now=_at(2))

    assert (second.status, second.version) == ("unchanged", "1.0.0")
    assert "nothing published" in second.message
    assert tree_snapshot(dist) == before


def test_adding_a_row_publishes_a_minor_version_listing_the_row(seed_dir: Path) -> None:
    dist = seed_dir / "dist"
    run(seed_dir / "raw", dist)
    write_raw_dir(seed_dir / "raw", insert_line(seed_article(), LAST_TABLE_LINE, NEW_ROW), seed_cited())

    outcome = publish(build_dataset(seed_dir / "raw"), dist, now=_at(3))

    assert (outcome.status, outcome.version, outcome.bump) == ("published", "1.1.0", "minor")
    violations = _changes(dist, "1.1.0")["resources"]["violations"]
    assert violations["rows_added"] == ["2023-03-30-near-shusha"]
    assert (violations["rows_removed"], violations["rows_changed"], violations["schema_changes"]) == ([], [], [])
    assert (violations["rows_before"], violations["rows_after"]) == (33, 34)
    changelog = (dist / PACKAGE_NAME / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index("## 1.1.0 (2024-05-03, minor)") < changelog.index("## 1.0.0")
    assert "- `2023-03-30-near-shusha`" in changelog
    assert json.loads((dist / PACKAGE_NAME / "latest.json").read_text())["version"] == "1.1.0"


def test_a_reviewed_correction_publishes_a_patch_with_the_change_in_the_changelog(seed_dir: Path) -> None:
    dist = seed_dir / "dist"
    run(seed_dir / "raw", dist)
    _write_corrections(seed_dir, _correction())

    outcome = publish(build_dataset(seed_dir / "raw"), dist, now=_at(4))

    assert (outcome.status, outcome.version, outcome.bump) == ("published", "1.0.1", "patch")
    # The date was the cause of the ordering warning; the two warnings about the prose remain.
    assert list(dict.fromkeys(f.rule for f in outcome.findings)) == [
        "prose-incident-without-table-row", "date-unresolved", "table-rows-without-prose-event"]
    violations = _changes(dist, "1.0.1")["resources"]["violations"]
    # The id derives from the corrected date: the record is paired, not removed and added.
    assert (violations["rows_added"], violations["rows_removed"]) == ([], [])
    [changed] = violations["rows_changed"]
    assert (changed["previous_id"], changed["id"]) == (YEGHTSAOG_ID, "2021-11-11-2-km-northwest-of-yeghtsaog")
    assert changed["fields"]["date_text"] == {"old": "11.08.2021", "new": "11.11.2021"}
    assert changed["fields"]["date_start"] == {"old": "2021-08-11", "new": "2021-11-11"}
    assert set(changed["fields"]) == {"violation_id", "date_start", "date_end", "date_text"}
    [recorded] = _descriptor(dist, "1.0.1")["corrections"]
    assert (recorded["field"], recorded["new_value"], recorded["reviewer"]) == ("date_text", "11.11.2021", "A. Reviewer")
    assert _changes(dist, "1.0.1")["corrections_applied"] == [recorded]
    changelog = (dist / PACKAGE_NAME / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "date_text: `11.08.2021` → `11.11.2021`" in changelog
    assert "Day and month swapped" in changelog
    readme = (dist / PACKAGE_NAME / "1.0.1" / "README.md").read_text(encoding="utf-8")
    assert "`11.08.2021` → `11.11.2021`" in readme
    report = json.loads((dist / PACKAGE_NAME / "1.0.1" / "report.json").read_text())
    assert report["corrections_applied"][0]["new_id"] == "2021-11-11-2-km-northwest-of-yeghtsaog"
    # The same corrections on the next run: nothing new.
    assert run(seed_dir / "raw", dist).status == "unchanged"


def test_a_correction_whose_old_value_does_not_match_blocks_the_release(seed_dir: Path) -> None:
    dist = seed_dir / "dist"
    run(seed_dir / "raw", dist)
    before = tree_snapshot(dist)
    _write_corrections(seed_dir, _correction(old_value="12.08.2021"))

    outcome = run(seed_dir / "raw", dist)

    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    [finding] = [f for f in outcome.findings if f.rule == "correction"]
    assert (finding.row_id, finding.column, finding.location) == (YEGHTSAOG_ID, "date_text", f"{ARTICLE}:{YEGHTSAOG_LINE}")
    assert "'11.08.2021'" in finding.message
    assert tree_snapshot(dist) == before


def test_a_correction_of_a_count_parses_to_the_field_type(seed_dir: Path) -> None:
    _write_corrections(seed_dir, _correction(field="violation_count", old_value="1", new_value="2"))
    build = build_dataset(seed_dir / "raw")
    frame = build.extractions["violations"].frame
    assert frame.loc[frame["violation_id"] == YEGHTSAOG_ID, "violation_count"].tolist() == [2]
    assert str(frame["violation_count"].dtype) == "Int64"
    assert build.counts == {"error": 0, "warning": 35}


def test_removing_a_field_from_the_schema_publishes_a_major_version(seed_dir: Path) -> None:
    dist = seed_dir / "dist"
    run(seed_dir / "raw", dist)
    schemas = shutil.copytree(default_schemas_dir(), seed_dir / "schemas")
    schema = json.loads((schemas / "violations.schema.json").read_text(encoding="utf-8"))
    schema["fields"] = [spec for spec in schema["fields"] if spec["name"] != "wounded"]
    (schemas / "violations.schema.json").write_text(json.dumps(schema), encoding="utf-8")

    outcome = publish(build_dataset(seed_dir / "raw", schemas), dist, now=_at(5))

    assert (outcome.status, outcome.version, outcome.bump) == ("published", "2.0.0", "major")
    [change] = _changes(dist, "2.0.0")["resources"]["violations"]["schema_changes"]
    assert (change["kind"], change["field"], change["bump"]) == ("field-removed", "wounded", "major")
    header = (dist / PACKAGE_NAME / "2.0.0" / "data" / "violations.csv").read_text().splitlines()[0]
    assert "wounded" not in header.split(",") and "killed" in header.split(",")


def test_diff_command_prints_the_comparison_of_two_published_versions(seed_dir: Path, capsys) -> None:
    dist = seed_dir / "dist"
    run(seed_dir / "raw", dist)
    write_raw_dir(seed_dir / "raw", insert_line(seed_article(), LAST_TABLE_LINE, NEW_ROW), seed_cited())
    run(seed_dir / "raw", dist)
    _write_corrections(seed_dir, _correction())
    run(seed_dir / "raw", dist)
    capsys.readouterr()

    assert main(["diff", "1.0.0", "1.1.1", "--dist", str(dist)]) == 0

    text = capsys.readouterr().out
    assert text.startswith("# 1.0.0 → 1.1.1: minor\n")
    assert "- `2023-03-30-near-shusha`" in text
    assert f"- `2021-11-11-2-km-northwest-of-yeghtsaog` (was `{YEGHTSAOG_ID}`): " in text
    assert "date_text: `11.08.2021` → `11.11.2021`" in text
    assert "Corrections applied" in text
    assert main(["diff", "1.1.0", "1.1.0", "--dist", str(dist)]) == 0
    assert capsys.readouterr().out == "1.1.0 → 1.1.0: no changes\n"
    assert main(["diff", "1.0.0", "9.9.9", "--dist", str(dist)]) == 2
    assert "9.9.9 is not a published version" in capsys.readouterr().err


def test_diff_command_json_lists_rows_by_id(seed_dir: Path, capsys) -> None:
    dist = seed_dir / "dist"
    run(seed_dir / "raw", dist)
    write_raw_dir(seed_dir / "raw", replace_line(seed_article(), LAST_TABLE_LINE, None), seed_cited())
    _write_removals(seed_dir, "2023-03-25-in-the-martuni-province-in-the-vicinity-of-shushi")
    assert run(seed_dir / "raw", dist).version == "2.0.0"  # a reviewed removal: MAJOR
    capsys.readouterr()
    assert main(["diff", "1.0.0", "2.0.0", "--dist", str(dist), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["bump"] == "major"
    assert record["resources"]["violations"]["rows_removed"] == ["2023-03-25-in-the-martuni-province-in-the-vicinity-of-shushi"]


# --- spreadsheet formula injection: blocked, with the rule written into the package ---------------


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("| 30.03.2023 | 1 | =HYPERLINK(\"http://example.invalid\",\"x\") | Azerbaijan | no casualties |", "location"),
        ("| 30.03.2023 | 1 | near Shusha | Azerbaijan | +cmd /C calc!A0 |", "consequences"),
        ("| 30.03.2023 | 1 | near Shusha | Azerbaijan | -2+3 no casualties |", "consequences"),
        ("| 30.03.2023 | 1 | @SUM(1+1) near Shusha | Azerbaijan | no casualties |", "location"),
    ],
)
def test_a_hostile_raw_cell_blocks_the_release_and_names_the_line(tmp_path: Path, line: str, column: str) -> None:
    raw = write_raw_dir(tmp_path / "raw", insert_line(seed_article(), LAST_TABLE_LINE, line), seed_cited())
    dist = tmp_path / "dist"

    outcome = run(raw, dist)

    assert (outcome.status, outcome.exit_code) == ("failed", 1)
    [finding] = [f for f in outcome.findings if f.rule == "csv-formula-injection"]
    assert (finding.column, finding.location.rsplit(":", 1)[0]) == (column, f"{ARTICLE}:{LAST_TABLE_LINE + 1}")
    assert finding.value == line.split(" | ")[2 if column == "location" else 4].rstrip(" |")
    assert not dist.exists() or not (dist / PACKAGE_NAME).exists()


@pytest.mark.parametrize("new_value", ["\tnear Shusha", "\rnear Shusha", "=1+1"])
def test_a_correction_cannot_smuggle_a_formula_in(seed_dir: Path, new_value: str) -> None:
    _write_corrections(seed_dir, _correction(field="location", old_value="2 km northwest of Yeghtsaog", new_value=new_value))
    build = build_dataset(seed_dir / "raw")
    errors = sorted((f.rule, f.column) for f in build.findings if f.severity == "error")
    # A carriage return is also an invisible control character: both rules block it.
    assert errors == ([("control-character", "location")] if "\r" in new_value else []) + [("csv-formula-injection", "location")]


def test_a_reviewed_correction_releases_a_blocked_row_and_the_rule_is_in_the_package(tmp_path: Path) -> None:
    hostile = "| 30.03.2023 | 1 | near Shusha | Azerbaijan | -no casualties |"
    raw = write_raw_dir(tmp_path / "raw", insert_line(seed_article(), LAST_TABLE_LINE, hostile), seed_cited())
    _write_corrections(
        tmp_path,
        _correction(id="2023-03-30-near-shusha", field="consequences", old_value="-no casualties",
                    new_value="no casualties", reason="Stray dash before the text (formula guard)."),
    )  # fmt: skip

    outcome = run(raw, tmp_path / "dist")

    assert (outcome.status, outcome.version) == ("published", "1.0.0")
    descriptor = _descriptor(tmp_path / "dist", "1.0.0")
    assert descriptor["spreadsheetSafety"]["action"] == "block"
    assert descriptor["spreadsheetSafety"]["prefixes"] == ["=", "+", "-", "@", "\t", "\r", "\n"]
    csv_text = (tmp_path / "dist" / PACKAGE_NAME / "1.0.0" / "data" / "violations.csv").read_text()
    assert ",no casualties,0,0," in csv_text and "-no casualties" not in csv_text
    readme = (tmp_path / "dist" / PACKAGE_NAME / "1.0.0" / "README.md").read_text()
    assert "## Spreadsheet safety" in readme and "blocks the release" in readme
