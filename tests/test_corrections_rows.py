"""Corrections touch only the rows they name: a million-row table is not turned into a million
records for a handful of corrections. The reference is the record-by-record code this replaced
(every row a dict, each correction a scan of them all), kept here: the corrected frame, the
corrections applied and the findings must be the same, for chains of corrections that change a
row's id, wrong old values, unknown ids and fields, and values that do not parse."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.extract.raw import read_raw_dir
from ceasefire.extract.violations import make_violation_id
from ceasefire.pipeline import extract
from ceasefire.validate.corrections import (
    COUNT_LIMIT, RESOURCE_RULES, AppliedCorrection, Correction, Extraction, _text, apply_corrections, checked_value,
    correction_error,
)  # fmt: skip
from conftest import SEED_RAW

CONTRACTS = load_contracts()
EXTRACTIONS = extract(read_raw_dir(SEED_RAW), CONTRACTS)


def apply_corrections_record_by_record(extraction: Extraction, corrections: list[Correction], contracts):
    """The code this replaced: every row a record, each correction a scan of them all, the frame
    made again from all the records. The checks of one correction are shared (``checked_value``)."""
    mine = [c for c in corrections if c.resource == extraction.resource]
    if not mine:
        return extraction, [], []
    schema = contracts.schema(extraction.resource)
    fields = {spec.name: spec for spec in schema.fields}
    key_field = schema.row_key[0]
    _, derive = RESOURCE_RULES.get(extraction.resource, (frozenset({key_field}), lambda *_: None))
    frame = extraction.frame
    records = [dict(zip(frame.columns, row)) for row in frame.itertuples(index=False, name=None)]
    applied, findings, touched = [], [], {}
    for correction in mine:
        matches = [r for r in records if str(r[key_field]) == correction.id]
        value, problem = checked_value(correction, matches[0] if matches else None, extraction.resource, contracts)
        if problem is not None:
            findings.append(correction_error(correction, matches[0] if matches else {}, extraction.resource, problem))
            continue
        record, before = matches[0], dict(matches[0])
        record[correction.field] = value
        derive(record, correction.field, contracts)
        changed = {name for name in record if _text(fields, name, record[name]) != _text(fields, name, before[name])}
        touched.setdefault((str(record.get("source_file")), int(record.get("source_line") or 0)), set()).update(changed | {correction.field})
        applied.append(AppliedCorrection(correction, new_id=str(record[key_field])))
    corrected = schema.frame_from_columns({name: [record[name] for record in records] for name in frame.columns})
    kept = [f for f in extraction.findings if f.column not in touched.get((str(f.source_file), int(f.source_line or 0)), set())]
    return Extraction(resource=extraction.resource, frame=corrected, findings=kept, cell_columns=extraction.cell_columns,
                      section=extraction.section), applied, findings  # fmt: skip


FIELDS = ["date_text", "violation_count", "location", "violator", "consequences", "killed", "violation_id", "event_type", "nothing"]
IDS = sorted(set(EXTRACTIONS["violations"].frame["violation_id"].tolist()[:6])) + ["2021-06-01-chartar", "no-such-row"]
TEXTS = ["1", "3", "12.06.2021", "31.02.2021", "near Chartar", "Azerbaijan", "2 killed", "", "x" * 3, str(COUNT_LIMIT + 1)]


def _corrections(draw_list: list[tuple]) -> list[Correction]:
    return [Correction(resource=resource, id=key, field=field, old_value=old, new_value=new, reason="r", reviewer="v",
                       date="2024-01-01") for resource, key, field, old, new in draw_list]  # fmt: skip


def _old_value(resource: str, key: str, field: str, exact: bool) -> str | None:
    frame = EXTRACTIONS[resource].frame
    rows = frame[frame[frame.columns[0]].astype(str) == key]
    if not exact or rows.empty or field not in frame.columns:
        return "not what was extracted"
    spec = {f.name: f for f in CONTRACTS.schema(resource).fields}[field]
    return spec.to_text(rows.iloc[0][field])


corrections = st.lists(
    st.builds(lambda key, field, exact, new: ("violations", key, field, _old_value("violations", key, field, exact), new),
              st.sampled_from(IDS), st.sampled_from(FIELDS), st.booleans(), st.sampled_from(TEXTS)),
    max_size=5,
)  # fmt: skip


def _chain() -> list[tuple]:
    """A correction that moves a row's id, then one by the old id (no longer there), then one by the new id."""
    frame = EXTRACTIONS["violations"].frame
    row = frame.iloc[1]
    moved = make_violation_id("12.06.2021", row["location"])
    consequences = _old_value("violations", row["violation_id"], "consequences", True)
    return [("violations", row["violation_id"], "date_text", row["date_text"], "12.06.2021"),
            ("violations", row["violation_id"], "consequences", consequences, "2 killed"),
            ("violations", moved, "consequences", consequences, "2 killed")]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrections)
@example(_chain())
def test_corrections_applied_to_the_rows_they_name_are_those_of_the_record_by_record_code(entries) -> None:
    extraction = EXTRACTIONS["violations"]
    wanted = _corrections(entries)
    new, applied, findings = apply_corrections(extraction, wanted, CONTRACTS)
    old, applied_before, findings_before = apply_corrections_record_by_record(extraction, wanted, CONTRACTS)
    pd.testing.assert_frame_equal(new.frame, old.frame)
    for name in new.frame.columns:  # the same Python values, not only equal ones
        assert [type(v) for v in new.frame[name].tolist()] == [type(v) for v in old.frame[name].tolist()], name
    assert (applied, findings, new.findings) == (applied_before, findings_before, old.findings)
    if entries == _chain():  # the example does what it says
        assert [a.new_id for a in applied][0] != entries[0][1] and len(applied) == 2 and len(findings) == 1
