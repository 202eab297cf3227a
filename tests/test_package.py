"""The published package: golden files, frictionless, pandas read-back, determinism, immutability.

Regenerate the golden files after a reviewed change with ``UPDATE_GOLDEN=1 make test``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from frictionless import Package, validate

from ceasefire import PACKAGE_NAME
from ceasefire.pipeline import build_dataset, data_files, package_descriptor, publish, run
from ceasefire.publish.publishing import list_versions
from ceasefire.publish.releases import compare, snapshot_from_files, snapshot_from_folder
from conftest import REPO, SEED_RAW, tree_snapshot

GOLDEN = Path(__file__).parent / "golden"
FIXED_NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
# Values that depend on when and with what the package was built, not on the data.
VOLATILE = {
    "datapackage.json": {"created": "<created>", "provenance.code": "<git>", "provenance.software": "<software>"},
    "report.json": {"run.id": "<run id>", "run.started": "<run started>"},
}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    outcome = publish(build_dataset(SEED_RAW), dist, now=FIXED_NOW)
    assert (outcome.status, outcome.version, outcome.bump) == ("published", "1.0.0", "initial")
    return dist / PACKAGE_NAME / "1.0.0"


def _masked(path: Path) -> dict:
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    for dotted, placeholder in VOLATILE[path.name].items():
        target = descriptor
        *parents, leaf = dotted.split(".")
        for key in parents:
            target = target[key]
        target[leaf] = placeholder
    return descriptor


def _sqlite_dump(path: Path) -> bytes:
    """The database as SQL text: its schema and rows, diffable where the file is not."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return ("\n".join(connection.iterdump()) + "\n").encode("utf-8")
    finally:
        connection.close()


# Parquet and SQLite bytes are pinned by their sha256 in the golden datapackage.json; the dump shows what changed.
@pytest.mark.parametrize("name", [
    "data/violations.csv", "data/violations.jsonl", "data/events.jsonl", "report.json", "datapackage.json", "README.md",
    "changes.json", "CITATION.cff", "data/nagorno-karabakh-ceasefire.sqlite.sql",
])  # fmt: skip
def test_package_matches_golden_files(published, name):
    golden = GOLDEN / name
    if Path(name).name in VOLATILE:
        actual = (json.dumps(_masked(published / name), indent=2, ensure_ascii=False) + "\n").encode()
    elif name.endswith(".sqlite.sql"):
        actual = _sqlite_dump(published / name.removesuffix(".sql"))
    else:
        actual = (published / name).read_bytes()
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(actual)
    assert actual.decode() == golden.read_text(encoding="utf-8")


def test_seed_package_holds_the_articles_table(published):
    frame = pd.read_csv(published / "data/violations.csv")
    assert len(frame) == 33
    assert frame["violation_count"].sum() == 60
    assert frame["violator"].value_counts().to_dict() == {"Azerbaijan": 27, "not indicated": 6}
    assert frame["source_line"].tolist() == list(range(79, 112))
    report = json.loads((published / "report.json").read_text())
    assert report["status"] == "passed with warnings"
    findings = [(f["rule"], f["resource"], f["source_line"], f["row_id"]) for f in report["findings"]]
    assert [f for f in findings if f[0] != "table-rows-without-prose-event"] == [
        *[("prose-incident-without-table-row", "events", line, row_id) for line, row_id in (
            (52, "2020-12-28-an-azerbaijani-soldier-was-killed-and-another"),
            (55, "2021-10-09-an-artsakh-civilian-55-year-old-aram-tepnants"),
            (59, "2021-10-14-in-the-evening-according-to-the-artsakh-s"),
            (61, "2021-11-13-at-around-07-00-a-man-got-out-of-a-taxi-in-front"),
            (63, "2021-12-03-a-resident-of-chartar-village-seyran-sargsyan"))],
        ("date-unresolved", "events", 73, None),
        ("chronological-order", "violations", 83, "2021-08-11-2-km-northwest-of-yeghtsaog"),
        ("date-unresolved", "events", 140, None),
    ]  # fmt: skip
    assert [f for f in findings if f[0] == "table-rows-without-prose-event"][0] == (
        "table-rows-without-prose-event", "violations", 80, "2021-09-18-near-shusha")
    assert report["counts"]["by_rule"]["table-rows-without-prose-event"] == 27


def test_frictionless_validates_the_package_with_hashes_and_sizes(published):
    report = validate(str(published / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    stats = {task.name: task.stats for task in report.tasks}
    assert stats["violations"]["rows"] == 33 and stats["violations-json"]["rows"] == 33
    descriptor = json.loads((published / "datapackage.json").read_text())
    for resource in descriptor["resources"]:
        assert resource["bytes"] == (published / resource["path"]).stat().st_size
        assert resource["hash"].startswith("sha256:")


def test_frictionless_catches_a_tampered_file(published, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(published, copy)
    csv_path = copy / "data/violations.csv"
    csv_path.write_text(csv_path.read_text().replace("near Shusha", "near Shushi", 1))
    report = validate(str(copy / "datapackage.json"))
    assert ("violations", "hash-count") in [(task.name, error.type) for task in report.tasks for error in task.errors]


def test_csv_and_json_forms_read_back_equal_to_what_was_validated(published):
    build = build_dataset(SEED_RAW)
    expected = build.extractions["violations"].frame
    package = Package(str(published / "datapackage.json"))
    for name in ("violations", "violations-json"):
        rows = package.get_resource(name).read_rows()
        read_back = pd.DataFrame([row.to_dict() for row in rows])
        read_back["places"] = read_back["places"].map(lambda v: v or [])
        assert read_back.columns.tolist() == expected.columns.tolist()
        assert read_back.astype(object).where(read_back.notna(), None).values.tolist() == (
            expected.astype(object).where(expected.notna(), None).values.tolist()
        )
    pandas_csv = pd.read_csv(
        published / "data/violations.csv",
        dtype={"killed": "Int64", "wounded": "Int64", "violation_count": "Int64", "source_line": "Int64"},
        parse_dates=["date_start", "date_end"],
        keep_default_na=False,
        na_values={"killed": [""], "wounded": [""], "consequences": [""]},
    )
    assert pandas_csv["date_start"].dt.date.tolist() == expected["date_start"].tolist()
    assert pandas_csv["killed"].tolist() == expected["killed"].tolist()
    assert pandas_csv["places"].str.split(";").tolist() == expected["places"].tolist()
    pandas_json = pd.read_json(published / "data/violations.jsonl", lines=True, dtype=False)
    assert pandas_json["places"].tolist() == expected["places"].tolist()
    assert pandas_json["violation_id"].tolist() == expected["violation_id"].tolist()


def test_identical_inputs_give_byte_identical_data_files(tmp_path):
    first = data_files(build_dataset(SEED_RAW), tmp_path / "first")
    second = data_files(build_dataset(SEED_RAW), tmp_path / "second")
    assert [(f.path, f.size, f.sha256) for f in first] == [(f.path, f.size, f.sha256) for f in second]
    assert [(tmp_path / "first" / f.path).read_bytes() for f in first] == [(tmp_path / "second" / f.path).read_bytes() for f in second]
    assert all((f.size, f.sha256) == (len(content := (tmp_path / "first" / f.path).read_bytes()), hashlib.sha256(content).hexdigest())
               for f in first)  # fmt: skip


def test_rerun_on_unchanged_input_publishes_nothing(tmp_path):
    dist = tmp_path / "dist"
    assert run(SEED_RAW, dist).version == "1.0.0"
    before = tree_snapshot(dist)
    outcome = run(SEED_RAW, dist)
    assert (outcome.status, outcome.version, outcome.exit_code) == ("unchanged", "1.0.0", 0)
    assert "nothing published" in outcome.message
    assert tree_snapshot(dist) == before


def test_committed_versions_still_validate():
    package_dir = REPO / "dist" / PACKAGE_NAME
    versions = list_versions(package_dir)
    assert versions, "dist/ must hold the published versions"
    for version in versions:
        report = validate(str(package_dir / str(version) / "datapackage.json"))
        assert report.valid, (str(version), report.flatten(["taskName", "rowNumber", "fieldName", "type"]))
    latest = json.loads((package_dir / "latest.json").read_text())
    assert latest["version"] == str(versions[-1])


def test_committed_latest_version_is_what_the_code_builds_now(tmp_path):
    """dist/ is only written by the pipeline: a code change that changes the data must publish."""
    package_dir = REPO / "dist" / PACKAGE_NAME
    latest = list_versions(package_dir)[-1]
    build = build_dataset(SEED_RAW)
    files = data_files(build, tmp_path)
    candidate = snapshot_from_files(package_descriptor(build, files, str(latest), "now"), files, tmp_path)
    changes = compare(snapshot_from_folder(package_dir / str(latest)), candidate)
    assert changes.empty, f"dist/{PACKAGE_NAME}/{latest} is stale ({changes.bump}): run `make run` and commit the new version"
