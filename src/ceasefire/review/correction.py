"""Recording a reviewed correction: one field of one record, checked against the current data.

The command reads the value the pipeline extracts now (after the corrections already recorded),
so ``old_value`` is never typed by hand, and it refuses a field the schema does not declare, a
field that identifies the record, or a value that its Table Schema field cannot read.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

from frictionless import Field

from ceasefire import pipeline
from ceasefire.review.files import REVIEWER_NEEDED, ReviewError, read_reviewed_json, require_text, write_reviewed_json
from ceasefire.validate.corrections import RESOURCE_RULES, AppliedCorrection, Correction, apply_corrections

DESCRIPTION = (
    "Reviewed corrections to values extracted from raw/, recorded with `ceasefire correct`. Raw files are never "
    "edited by hand; the pipeline applies these after extraction and before validation. See RELEASING.md."
)


def parse_field_value(spec: dict, value: str) -> list[str]:
    """What stops the Table Schema field ``spec`` from reading ``value``: one message per problem.

    Example:
        >>> parse_field_value({"name": "killed", "type": "integer", "constraints": {"minimum": 0}}, "-1")
        ['killed: -1 is below the minimum 0']
    """
    descriptor = {key: item for key, item in spec.items() if not key.startswith("x-")}
    cell, notes = Field.from_descriptor(descriptor).read_cell(value)
    problems = []
    for name, note in (notes or {}).items():
        if name == "type":
            article = "an" if spec["type"][0] in "aeiou" else "a"
            problems.append(f"{spec['name']}: {value!r} is not {article} {spec['type']}" +
                            (f" ({spec['format']})" if spec.get("format") else ""))  # fmt: skip
        elif name == "minimum":
            problems.append(f"{spec['name']}: {value} is below the minimum {spec['constraints']['minimum']}")
        elif name == "enum":
            allowed = ", ".join(map(str, spec["constraints"]["enum"]))
            problems.append(f"{spec['name']}: {value!r} is not one of: {allowed}")
        else:
            problems.append(f"{spec['name']}: {value!r} breaks the {name} constraint ({note})")
    return problems


def record_correction(
    raw_dir: Path, corrections_file: Path, row_id: str, field: str, value: str, reason: str, reviewer: str,
    today: dt.date, *, resource: str | None = None, schemas_dir: Path | None = None,
) -> AppliedCorrection:
    """Check the correction against the current data, then append it to ``corrections_file``."""
    reason = require_text(reason, "--reason", "every correction says why, for the reviewer and the changelog")
    reviewer = require_text(reviewer, "--reviewer", REVIEWER_NEEDED)
    build = pipeline.build_dataset(raw_dir, schemas_dir, corrections_file)
    name, record = _find_record(build, row_id, resource)
    schema = build.contracts.table_schema(name)
    fields = {spec["name"]: spec for spec in schema["fields"]}
    if field not in fields:
        raise ReviewError(f"{name} has no field {field!r}; its fields are {', '.join(fields)}")
    key_field = schema["fields"][0]["name"]
    frozen, _ = RESOURCE_RULES.get(name, (frozenset({key_field}), None))
    if field in frozen:
        raise ReviewError(f"{field} identifies the record and cannot be corrected"
                          + ("; correct date_text or location, and the id follows" if name == "violations" else ""))  # fmt: skip
    problems = parse_field_value(fields[field], value)
    if problems:
        raise ReviewError("; ".join(problems))
    old_value = build.contracts.schema(name).field(field).to_text(record[field])
    if (old_value or "") == value:
        raise ReviewError(f"{name} {row_id} {field} is already {value!r}: nothing to correct")
    correction = Correction(resource=name, id=row_id, field=field, old_value=old_value, new_value=value or None,
                            reason=reason, reviewer=reviewer, date=today.isoformat())  # fmt: skip
    _, applied, refused = apply_corrections(build.extractions[name], [correction], build.contracts)
    if refused:
        raise ReviewError(refused[0].message)
    data = read_reviewed_json(corrections_file, "corrections", DESCRIPTION)
    data["corrections"].append(correction.to_dict())
    write_reviewed_json(corrections_file, data)
    return applied[0]


def _find_record(build: pipeline.Build, row_id: str, resource: str | None) -> tuple[str, dict]:
    """The one record whose key is ``row_id``, with its resource name."""
    if resource is not None and resource not in build.extractions:
        raise ReviewError(f"no resource named {resource!r}; there are {', '.join(build.extractions)}")
    found, known = [], []
    for name, extraction in build.extractions.items():
        if resource is not None and name != resource:
            continue
        frame = extraction.frame
        keys = frame[frame.columns[0]].astype(str)
        known += keys.tolist()
        for position in (keys == row_id).to_numpy().nonzero()[0].tolist():
            found.append((name, dict(zip(frame.columns, frame.iloc[position].tolist()))))
    if not found:
        close = difflib.get_close_matches(row_id, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; `ceasefire findings` shows the row ids"
        raise ReviewError(f"no record has the id {row_id!r}{hint}")
    if len({name for name, _ in found}) > 1:
        raise ReviewError(f"{row_id!r} is a record of {' and '.join(n for n, _ in found)}; choose one with --resource")
    return found[0]
