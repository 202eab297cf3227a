"""A version's zip holds what its README points to: the raw inputs every row came from, the rules
behind every finding, the files its descriptions name, and its citation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile

import pytest
import yaml

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.pipeline import build_dataset, publish

ARTICLE_URL = load_contracts().package.sources[0]["path"]
from conftest import SEED_RAW

ROOT = f"{PACKAGE_NAME}-1.0.0"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> zipfile.ZipFile:
    dist = tmp_path_factory.mktemp("zip") / "dist"
    assert publish(build_dataset(SEED_RAW), dist, now=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).version == "1.0.0"
    return zipfile.ZipFile(io.BytesIO((dist / PACKAGE_NAME / "1.0.0.zip").read_bytes()))


def _text(archive: zipfile.ZipFile, path: str) -> str:
    return archive.read(f"{ROOT}/{path}").decode("utf-8")


@pytest.mark.parametrize("table, quoted", [("violations", "location"), ("events", "sentence")])
def test_every_source_line_opens_inside_the_zip_and_holds_the_value(archive, table, quoted):
    rows = list(csv.DictReader(io.StringIO(_text(archive, f"data/{table}.csv"))))
    raw = {}
    for row in rows:
        if row["source_file"] not in raw:
            raw[row["source_file"]] = _text(archive, f"raw/{row['source_file']}").splitlines()
        assert row[quoted] in raw[row["source_file"]][int(row["source_line"]) - 1], (row["source_file"], row["source_line"])
    assert len(rows) > 30


def test_the_raw_inputs_are_byte_identical_to_the_checked_ones(archive):
    import hashlib

    descriptor = json.loads(_text(archive, "datapackage.json"))
    for entry in descriptor["provenance"]["raw_files"]:  # paths such as raw/<file>, relative to the version folder
        assert hashlib.sha256(archive.read(f"{ROOT}/{entry['path']}")).hexdigest() == entry["sha256"]


def test_every_finding_is_explained_by_the_rules_inside(archive):
    rules = json.loads(_text(archive, "schemas/rules.json"))["rules"]
    findings = json.loads(_text(archive, "report.json"))["findings"]
    assert findings and all(finding["rule"] in rules for finding in findings)


def test_the_readme_points_only_at_files_inside_and_shows_no_python_reprs(archive):
    readme = _text(archive, "README.md")
    names = set(archive.namelist())
    mentioned = set(re.findall(r"`((?:raw|schemas|docs|data)/[^`:]+|CITATION\.cff)(?::\d+)?`", readme))
    assert {"raw/wikipedia-peacekeeping-nagorno-karabakh.txt", "CITATION.cff", "data/violations.parquet"} <= mentioned
    for path in mentioned:
        if not path.endswith("/"):
            assert f"{ROOT}/{path}" in names, path
    for described in re.findall(r"\b((?:schemas|docs)/[A-Za-z0-9_.-]+\.(?:json|md))\b", readme):
        assert f"{ROOT}/{described}" in names, described
    assert "`None`" not in readme and "{'" not in readme and "['" not in readme
    assert "Foreign key: `violation_id` → table `violations`, `violation_id`." in readme


def test_citation_cff_names_the_version_date_licence_and_the_article(archive):
    citation = yaml.safe_load(_text(archive, "CITATION.cff"))
    assert (citation["cff-version"], citation["type"], citation["version"], citation["date-released"]) == (
        "1.2.0", "dataset", "1.0.0", "2026-01-01"
    )  # fmt: skip
    assert citation["license"] == "CC-BY-SA-4.0"
    [article] = citation["references"]
    assert (article["title"], article["url"]) == ("Peacekeeping operations in Nagorno-Karabakh", ARTICLE_URL)
    descriptor = json.loads(_text(archive, "datapackage.json"))
    assert (citation["url"], citation["identifiers"][0]["value"]) == (descriptor["homepage"], descriptor["id"])
