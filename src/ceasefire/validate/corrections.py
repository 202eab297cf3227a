"""Reviewed corrections: a maintainer's fix to one published value, applied by the pipeline.

Raw files are never edited by hand. A wrong value goes into ``reviews/corrections.json`` instead,
one entry per record and field, with the value it replaces, the new value, the reason, who reviewed
it and when. The pipeline applies each entry after extraction and before validation, so the
corrected value passes the same checks as any other. An entry whose old value no longer matches
(the raw text changed, or the entry is wrong) is an error finding, not a silent no-op.

A correction of a value as written (``date_text``, ``location``, ``consequences``) also recomputes
the fields derived from it, including the record's id, so the published record stays consistent.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from ceasefire.extract.casualties import COUNT_LIMIT, parse_casualties
from ceasefire.errors import RawInputError
from ceasefire.findings import Finding
from ceasefire.extract.violations import DateError, Extraction, make_violation_id, parse_table_date
from ceasefire.contracts.schema import Field
from ceasefire.contracts.vocabularies import Contracts

CORRECTIONS_FILE = Path("reviews") / "corrections.json"
REQUIRED_KEYS = ("resource", "id", "field", "old_value", "new_value", "reason", "reviewer", "date")


@dataclass(frozen=True)
class Correction:
    """One reviewed change of one field of one record. Values are written as in the CSV form."""

    resource: str
    id: str
    field: str
    old_value: str | None
    new_value: str | None
    reason: str
    reviewer: str
    date: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AppliedCorrection:
    """A correction as applied: the record's id before and after (a corrected date moves the id)."""

    correction: Correction
    new_id: str

    def to_dict(self) -> dict:
        return {**self.correction.to_dict(), "new_id": self.new_id}


def default_corrections_file(raw_dir: Path) -> Path:
    """``reviews/corrections.json`` beside the raw folder: the project root for ``raw/``."""
    return raw_dir.resolve().parent / CORRECTIONS_FILE


def load_corrections(path: Path) -> list[Correction]:
    """Read a corrections file; a missing file means no corrections. A malformed one is unusable input."""
    name = str(CORRECTIONS_FILE) if path.parts[-2:] == CORRECTIONS_FILE.parts else str(path)
    data = read_review_file(path, name)
    if data is None:
        return []
    entries = data.get("corrections") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RawInputError(name, "needs a 'corrections' list")
    corrections = []
    for number, entry in enumerate(entries, start=1):
        missing = [key for key in REQUIRED_KEYS if key not in entry] if isinstance(entry, dict) else list(REQUIRED_KEYS)
        if missing:
            raise RawInputError(name, f"correction {number} lacks {missing}; every entry needs {list(REQUIRED_KEYS)}")
        for key in ("reason", "reviewer"):
            if not str(entry[key]).strip():
                raise RawInputError(name, f"correction {number} has an empty {key}: every correction is reviewed and explained")
        try:
            dt.date.fromisoformat(str(entry["date"]))
        except ValueError:
            raise RawInputError(name, f"correction {number} has date {entry['date']!r}; expected YYYY-MM-DD") from None
        corrections.append(
            Correction(**{key: (None if entry[key] is None else str(entry[key])) for key in REQUIRED_KEYS})
        )
    return corrections


def read_review_file(path: Path, name: str) -> object | None:
    """The parsed JSON of a reviewed file, None when it does not exist.

    A file that exists but cannot be read (a folder, no permission, not UTF-8 or not JSON) is
    unusable input: treating it as "no reviews" would publish without them.
    """
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise RawInputError(name, "is not a readable file (a folder or a broken link?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RawInputError(name, f"cannot be read: {error.strerror or error}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RawInputError(name, f"not valid JSON: {error}", line=getattr(error, "lineno", None)) from None
    except RecursionError:
        raise RawInputError(name, "nested too deeply to be a review file") from None


def _text(fields: dict[str, Field], name: str, value: object) -> str | None:
    """A cell as the CSV form writes it, so values compare as a user sees them."""
    return fields[name].to_text(value) if name in fields else None if value is None else str(value)


def _derive_violation(record: dict, changed: str, contracts: Contracts) -> None:
    """Recompute what a corrected as-written violation cell determines."""
    if changed == "date_text":
        try:
            dates = parse_table_date(record["date_text"] or "")
            record["date_start"], record["date_end"] = dates.start, dates.end
        except DateError:
            record["date_start"] = record["date_end"] = None  # the date-format check reports it
    if changed == "location":
        record["places"] = contracts.gazetteer.resolve(record["location"] or "")
    if changed == "consequences":
        casualties = parse_casualties(record["consequences"])
        record["killed"], record["wounded"] = casualties.killed, casualties.wounded
    if changed in ("date_text", "location"):
        record["violation_id"] = make_violation_id(record["date_text"] or "", record["location"] or "")


# Resource -> (fields a correction may not touch, derivation of dependent fields).
RESOURCE_RULES: dict[str, tuple[frozenset[str], Callable[[dict, str, Contracts], None]]] = {
    "violations": (frozenset({"violation_id", "source_file", "source_line"}), _derive_violation),
}


def apply_corrections(
    extraction: Extraction, corrections: list[Correction], contracts: Contracts
) -> tuple[Extraction, list[AppliedCorrection], list[Finding]]:
    """Apply the corrections for one resource, in file order.

    Returns the corrected extraction, the corrections applied and an error finding for each one
    that could not be applied. Extraction findings about a corrected cell are dropped: the
    corrected value is validated instead.
    """
    mine = [c for c in corrections if c.resource == extraction.resource]
    if not mine:
        return extraction, [], []
    schema = contracts.schema(extraction.resource)
    fields = {spec.name: spec for spec in schema.fields}
    key_field = schema.row_key[0]
    frozen, derive = RESOURCE_RULES.get(extraction.resource, (frozenset({key_field}), lambda *_: None))
    frame = extraction.frame
    records = [dict(zip(frame.columns, row)) for row in frame.itertuples(index=False, name=None)]
    applied: list[AppliedCorrection] = []
    findings: list[Finding] = []
    touched: dict[tuple[str, int], set[str]] = {}  # (source_file, source_line) -> fields corrected or derived
    for correction in mine:
        problem = None
        matches = [r for r in records if str(r[key_field]) == correction.id]
        if correction.field not in fields:
            problem = f"field {correction.field!r} does not exist in {extraction.resource}"
        elif correction.field in frozen:
            problem = f"field {correction.field!r} identifies the record and cannot be corrected"
        elif not matches:
            problem = f"no {extraction.resource} record has the id {correction.id!r}"
        elif fields[correction.field].to_text(matches[0][correction.field]) != (correction.old_value or None):
            problem = (
                f"old value {correction.old_value!r} does not match the extracted value "
                f"{fields[correction.field].to_text(matches[0][correction.field])!r}; review the correction"
            )
        if problem is None:
            try:
                value = fields[correction.field].from_text(correction.new_value)
            except ValueError as error:
                problem = f"new value {correction.new_value!r} is not a {fields[correction.field].type}: {error}"
            else:
                if isinstance(value, int) and abs(value) > COUNT_LIMIT:
                    problem = f"new value {correction.new_value!r} is beyond {COUNT_LIMIT:,}"
        if problem is None:
            trial = {**matches[0], correction.field: value}
            derive(trial, correction.field, contracts)
            beyond = [name for name in ("killed", "wounded") if isinstance(trial.get(name), int) and trial[name] > COUNT_LIMIT]
            if beyond:
                problem = f"new value gives a {beyond[0]} count beyond {COUNT_LIMIT:,}"
        if problem is not None:
            record = matches[0] if matches else {}
            findings.append(
                Finding(
                    severity="error", rule="correction", engine="extraction", resource=extraction.resource,
                    message=f"correction not applied: {problem}", row_id=correction.id, column=correction.field,
                    value=correction.old_value, expected=correction.new_value,
                    source_file=str(record.get("source_file") or CORRECTIONS_FILE),
                    source_line=int(record["source_line"]) if record.get("source_line") is not None else None,
                )
            )  # fmt: skip
            continue
        record = matches[0]
        before = dict(record)
        record[correction.field] = value
        derive(record, correction.field, contracts)
        changed = {name for name in record if _text(fields, name, record[name]) != _text(fields, name, before[name])}
        where = (str(record.get("source_file")), int(record.get("source_line") or 0))
        touched.setdefault(where, set()).update(changed | {correction.field})
        applied.append(AppliedCorrection(correction, new_id=str(record[key_field])))
    corrected = schema.frame_from_columns({name: [record[name] for record in records] for name in frame.columns})
    kept = [
        finding for finding in extraction.findings
        if finding.column not in touched.get((str(finding.source_file), int(finding.source_line or 0)), set())
    ]  # fmt: skip
    result = Extraction(
        resource=extraction.resource, frame=corrected, findings=kept,
        cell_columns=extraction.cell_columns, section=extraction.section,
    )  # fmt: skip
    return result, applied, findings


def find_unknown_resources(corrections: list[Correction], resources: set[str]) -> list[Finding]:
    """An error for each correction that names a resource the dataset does not have."""
    return [
        Finding("error", "correction", "extraction", correction.resource,
                f"correction not applied: no resource named {correction.resource!r}",
                row_id=correction.id, column=correction.field, source_file=str(CORRECTIONS_FILE))
        for correction in corrections if correction.resource not in resources
    ]  # fmt: skip
