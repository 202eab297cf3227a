"""One source of truth: the pandera view of each Table Schema must agree with frictionless."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from ceasefire.contracts.pandera_adapter import build_pandera_schema
from ceasefire.pipeline import build_dataset, table_files
from ceasefire.publish.publishing import Version, stage_version
from ceasefire.validate.validation import run_frictionless, run_pandera
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
    files = [f for f in table_files(build) if f.resource == "violations"]
    descriptor = {"name": "check", "resources": [f.descriptor() for f in files]}
    stage = stage_version(tmp_path, Version(0, 0, 1), {f.path: f.content for f in files} | {
        "datapackage.json": json.dumps(descriptor).encode()})  # fmt: skip
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
