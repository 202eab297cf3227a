"""One source of truth: the pandera view of each Table Schema must agree with frictionless."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from ceasefire.contracts.pandera_adapter import build_pandera_schema
from ceasefire.pipeline import build_dataset
from ceasefire.publish.descriptor import render_data_files
from ceasefire.publish.publishing import Version, stage_version
from ceasefire.publish.package_check import run_frictionless
from ceasefire.validate.validation import run_pandera
from ceasefire.extract.violations import Extraction
from ceasefire.contracts.vocabularies import load_contracts
from conftest import SEED_RAW

CONSTRAINT_RULES = {"minimum": "minimum", "maximum": "maximum", "enum": "enum", "pattern": "pattern"}


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def test_every_table_schema_field_has_an_equivalent_pandera_column(contracts):
    table_schema = contracts.table_schema("violations")
    ruled = build_pandera_schema(table_schema, "violations")
    assert list(ruled.schema.columns) == [field["name"] for field in table_schema["fields"]]
    for field in table_schema["fields"]:
        column = ruled.schema.columns[field["name"]]
        constraints = field.get("constraints", {})
        assert column.nullable is (not constraints.get("required", False)), field["name"]
        assert column.unique is bool(constraints.get("unique", False)), field["name"]
        expected_rules = sorted(CONSTRAINT_RULES[key] for key in constraints if key in CONSTRAINT_RULES)
        if field["type"] == "list":
            expected_rules = sorted(expected_rules + ["type"])
        assert sorted(rule.rule for rule in ruled.column_rules[field["name"]]) == expected_rules, field["name"]
    assert table_schema["primaryKey"] == ["violation_id"]


def test_violator_enum_comes_from_the_vocabulary(contracts):
    field = next(f for f in contracts.table_schema("violations")["fields"] if f["name"] == "violator")
    vocabulary = json.loads((contracts.schemas_dir / "violators.json").read_text())
    assert field["constraints"]["enum"] == [term["name"] for term in vocabulary["terms"]]
    assert {"Azerbaijan", "Armenia", "not indicated"} <= set(field["constraints"]["enum"])


def _bad_frame() -> Extraction:
    extraction = build_dataset(SEED_RAW).extractions["violations"]
    frame = extraction.frame.copy()
    assert isinstance(frame["violator"].dtype, pd.CategoricalDtype)  # a repeated text: its bad value is checked in that form
    frame["violator"] = frame["violator"].cat.add_categories(["Martians"])
    frame.loc[1, "violation_count"] = 0
    frame.loc[2, "violator"] = "Martians"
    frame.loc[3, "killed"] = -1
    frame.loc[4, "violation_id"] = "Bad Id"
    frame.loc[5, "location"] = pd.NA
    frame.loc[7, "violation_id"] = frame.loc[6, "violation_id"]
    return Extraction("violations", frame, [], extraction.cell_columns)


def _normalise(rule: str, expected: str | None) -> str:
    """Frictionless names constraint failures 'constraint-error' with the constraint in its note."""
    if rule == "constraint-error":
        return re.search(r'constraint "(\w+)"', expected or "").group(1)
    return {"primary-key": "unique", "unique-error": "unique"}.get(rule, rule)


def test_pandera_and_frictionless_reject_the_same_cells(contracts, tmp_path):
    bad = _bad_frame()
    ruled = build_pandera_schema(contracts.table_schema("violations"), "violations")
    pandera_cells = {
        (f.source_line, f.column, _normalise(f.rule, f.expected)) for f in run_pandera(bad, {"error": ruled})
    }
    build = build_dataset(SEED_RAW)
    build.extractions["violations"] = bad
    written = tmp_path / ".tmp-candidate-0"
    files = [f for f in render_data_files(build.extractions, build.contracts, written) if f.resource == "violations"]
    descriptor = {"name": "check", "resources": [f.descriptor() for f in files]}
    stage = stage_version(tmp_path, Version(0, 0, 1), {"datapackage.json": json.dumps(descriptor).encode()}, written)
    frictionless_cells = {
        (f.source_line, f.column, _normalise(f.rule, f.expected))
        for f in run_frictionless(stage, {"violations": bad.frame})
        if f.rule not in ("hash-count", "byte-count")
    }
    # pandera flags every copy of a duplicated key; frictionless only the later copies.
    assert frictionless_cells == pandera_cells - {(85, "violation_id", "unique")}
    assert pandera_cells == {
        (80, "violation_count", "minimum"),
        (81, "violator", "enum"),
        (82, "killed", "minimum"),
        (83, "violation_id", "pattern"),
        (84, "location", "required"),
        (85, "violation_id", "unique"),
        (86, "violation_id", "unique"),
    }


def test_new_event_fields_take_their_enums_from_the_vocabulary_files(contracts):
    fields = {f["name"]: f for f in contracts.table_schema("events")["fields"]}
    for name, vocabulary in (("reported_by", "reporters"), ("claim_status", "claim_statuses"), ("perpetrator", "actors"),
                             ("target", "actors"), ("location_precision", "location_precisions")):  # fmt: skip
        terms = json.loads((contracts.schemas_dir / f"{vocabulary}.json").read_text())["terms"]
        assert fields[name]["constraints"]["enum"] == [term["name"] for term in terms], name
    violations = {f["name"]: f for f in contracts.table_schema("violations")["fields"]}
    assert violations["location_precision"]["constraints"]["enum"] == ["place", "near_place", "district", "region", "country"]


def test_pandera_and_frictionless_reject_the_same_new_event_cells(contracts, tmp_path):
    build = build_dataset(SEED_RAW)
    events = build.extractions["events"]
    frame = events.frame.copy()
    for column, text in (("reported_by", "Martians"), ("claim_status", "rumour"), ("perpetrator", "Martians"), ("location_precision", "everywhere")):
        if isinstance(frame[column].dtype, pd.CategoricalDtype):  # a repeated text column: its bad value is checked in that form
            frame[column] = frame[column].cat.add_categories([text])
    frame.loc[1, "reported_by"] = "Martians"
    frame.loc[2, "claim_status"] = "rumour"
    frame.loc[3, "perpetrator"] = "Martians"
    frame.loc[4, "location_precision"] = "everywhere"
    frame.loc[5, "incident_sentences"] = 0
    frame.loc[6, "claim_status"] = pd.NA
    bad = Extraction("events", frame, [], events.cell_columns)
    ruled = build_pandera_schema(contracts.table_schema("events"), "events")
    pandera_cells = {(f.row_id, f.column, _normalise(f.rule, f.expected)) for f in run_pandera(bad, {"error": ruled})}
    build.extractions["events"] = bad
    written = tmp_path / ".tmp-candidate-0"
    files = render_data_files(build.extractions, build.contracts, written)
    descriptor = {"name": "check", "resources": [f.descriptor() for f in files]}
    stage = stage_version(tmp_path, Version(0, 0, 1), {"datapackage.json": json.dumps(descriptor).encode()}, written)
    frictionless_cells = {
        (f.row_id, f.column, _normalise(f.rule, f.expected))
        for f in run_frictionless(stage, {"events": frame, "events-json": frame})
        if f.rule not in ("hash-count", "byte-count")
    }
    ids = frame["event_id"].tolist()
    expected = {
        (ids[1], "reported_by", "enum"), (ids[2], "claim_status", "enum"), (ids[3], "perpetrator", "enum"),
        (ids[4], "location_precision", "enum"), (ids[5], "incident_sentences", "minimum"), (ids[6], "claim_status", "required"),
    }  # fmt: skip
    assert pandera_cells == expected
    assert frictionless_cells == expected
