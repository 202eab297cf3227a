"""The seed's events: a reviewed golden file, and the published package that frictionless accepts.

Regenerate the golden file after a reviewed change with ``UPDATE_GOLDEN=1 pytest tests/test_events_golden.py``
and read the diff sentence by sentence before committing it.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd
import pytest

from ceasefire import pipeline
from ceasefire.publish.publishing import FIRST_VERSION, stage_version
from ceasefire.publish.serialize import render_csv
from ceasefire.publish.descriptor import json_bytes
from ceasefire.publish.package_check import run_frictionless

GOLDEN = Path(__file__).parent / "golden" / "events.csv"


@pytest.fixture(scope="module")
def seed_build(tmp_path_factory):
    from conftest import SEED_RAW

    return pipeline.build_dataset(SEED_RAW)


def test_seed_events_match_the_reviewed_golden_file(seed_build):
    produced = render_csv(seed_build.extractions["events"].frame)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_bytes(produced)
    expected = GOLDEN.read_bytes()
    assert produced.decode("utf-8").splitlines() == expected.decode("utf-8").splitlines()
    assert produced == expected


def test_seed_events_cover_every_dated_statement_by_type_and_basis(seed_build):
    frame = seed_build.extractions["events"].frame
    assert len(frame) == 64
    assert frame["date_basis"].value_counts().to_dict() == {"explicit": 27, "context": 19, "heading": 10, "relative": 8}
    assert frame["date_precision"].value_counts().to_dict() == {"day": 56, "month": 8}
    linked = frame["violation_id"].dropna()
    assert linked.tolist() == [
        "2020-12-11-territory-of-the-former-hadrut-province",
        "2020-12-11-territory-of-the-former-hadrut-province",  # mid-December, by date alone
        "2020-12-11-territory-of-the-former-hadrut-province",  # 11 December, by date alone
        "2021-10-13-madagiz-getavan-vank-road",
        "2021-11-08-near-shusha",  # the worker killed on 8 November, by date alone
        "2022-03-05-near-the-villages-of-muganly-and-janyatag",  # shooting since 5 March, by date alone
        "2022-03-24-25-farukh-village",  # Parukh is named in the continuation sentence
        "2023-03-25-in-the-martuni-province-in-the-vicinity-of-shushi",  # Shusha district, in the continuation
        "2020-12-11-territory-of-the-former-hadrut-province",
        "2022-03-24-25-farukh-village",
    ]
    assert linked.nunique() == 6  # the table rows the prose narrates; 3 before incidents were linked


def test_seed_still_publishes_with_few_meaningful_warnings(seed_build):
    assert seed_build.status == "passed with warnings"
    unmatched = [f for f in seed_build.findings if f.rule == "table-rows-without-prose-event"]
    assert [(f.rule, f.source_line) for f in seed_build.findings if f not in unmatched] == [
        ("prose-incident-without-table-row", 52),  # an Azerbaijani soldier killed, 28 December 2020
        ("prose-incident-without-table-row", 55),  # Aram Tepnants, 9 October 2021
        ("prose-incident-without-table-row", 59),  # Nor Shen, 14 October 2021
        ("prose-incident-without-table-row", 61),  # the grenade near Shusha, 13 November 2021
        ("prose-incident-without-table-row", 63),  # Seyran Sargsyan in Chartar, 3 December 2021
        ("date-unresolved", 73),  # "on the second day after the surrender": no dated surrender before it
        ("chronological-order", 83),
        ("date-unresolved", 140),
    ]
    # One warning per table row the prose never mentions (33 rows, 6 linked), each on its own raw
    # line and row id.
    assert len(unmatched) == 27 and len({f.row_id for f in unmatched}) == 27
    assert unmatched[0].source_line == 80 and all(79 <= f.source_line <= 111 for f in unmatched)
    assert len(seed_build.extractions["violations"].frame) == 33
    assert int(seed_build.extractions["violations"].frame["violation_count"].sum()) == 60


def test_adding_events_to_a_published_package_is_a_minor_version_that_frictionless_accepts(seed_build, dist_dir):
    violations_only = dataclasses.replace(seed_build, extractions={"violations": seed_build.extractions["violations"]})
    first = pipeline.publish(violations_only, dist_dir)
    second = pipeline.publish(seed_build, dist_dir)
    assert (first.version, second.version, second.bump) == ("1.0.0", "1.1.0", "minor")
    from frictionless import Package

    report = Package(str(second.path / "datapackage.json")).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])
    resources = {r.name: r for r in Package(str(second.path / "datapackage.json")).resources}
    assert resources["events"].schema.foreign_keys[0]["reference"]["resource"] == "violations"
    assert resources["events-json"].schema.foreign_keys[0]["reference"]["resource"] == "violations-json"


def test_frictionless_rejects_an_event_that_names_no_table_row_in_both_forms(seed_build, tmp_path):
    events = seed_build.extractions["events"]
    frame = events.frame.copy()
    row = int(frame.index[frame["violation_id"].notna()][0])
    if isinstance(frame["violation_id"].dtype, pd.CategoricalDtype):  # the links repeat: held once each
        frame["violation_id"] = frame["violation_id"].cat.add_categories(["2020-12-12-nowhere"])
    frame.loc[row, "violation_id"] = "2020-12-12-nowhere"
    broken = dataclasses.replace(seed_build, extractions={**seed_build.extractions, "events": dataclasses.replace(events, frame=frame)})
    written = tmp_path / "package" / ".tmp-candidate-0"
    files = pipeline.data_files(broken, written)
    contents = {"datapackage.json": json_bytes(pipeline.package_descriptor(broken, files, FIRST_VERSION, "2024-01-01T00:00:00Z"))}
    stage = stage_version(tmp_path / "package", FIRST_VERSION, contents, written)
    tables = [file for file in files if file.schema is not None]  # Parquet and SQLite are files, checked by hash
    frames = {file.resource: broken.extractions[file.resource.removesuffix("-json")].frame for file in tables}
    findings = run_frictionless(stage, frames)
    assert sorted((f.resource, f.rule, f.row_id, f.source_line) for f in findings) == [
        ("events", "foreign-key", frame.loc[row, "event_id"], 9),
        ("events-json", "foreign-key", frame.loc[row, "event_id"], 9),
    ]
