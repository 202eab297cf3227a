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

import numpy as np
import pandas as pd

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
    _, derive = RESOURCE_RULES.get(extraction.resource, (frozenset({key_field}), lambda *_: None))
    frame = extraction.frame
    # Only the rows a correction touches become records (dicts, as they stand after the corrections
    # so far); a million-row table is not turned into a million dicts for a handful of corrections.
    records: dict[int, dict] = {}
    applied: list[AppliedCorrection] = []
    findings: list[Finding] = []
    touched: dict[tuple[str, int], set[str]] = {}  # (source_file, source_line) -> fields corrected or derived
    for correction in mine:
        position = _first_row_with_key(frame, records, key_field, correction.id)
        record = None if position is None else records.get(position) or _record(frame, position)
        value, problem = checked_value(correction, record, extraction.resource, contracts)
        if problem is not None:
            findings.append(correction_error(correction, record or {}, extraction.resource, problem))
            continue
        records[position] = record
        before = dict(record)
        record[correction.field] = value
        derive(record, correction.field, contracts)
        changed = {name for name in record if _text(fields, name, record[name]) != _text(fields, name, before[name])}
        where = (str(record.get("source_file")), int(record.get("source_line") or 0))
        touched.setdefault(where, set()).update(changed | {correction.field})
        applied.append(AppliedCorrection(correction, new_id=str(record[key_field])))
    corrected = _with_records(frame, records, set().union(*touched.values()), schema) if records else frame
    kept = [
        finding for finding in extraction.findings
        if finding.column not in touched.get((str(finding.source_file), int(finding.source_line or 0)), set())
    ]  # fmt: skip
    result = Extraction(
        resource=extraction.resource, frame=corrected, findings=kept,
        cell_columns=extraction.cell_columns, section=extraction.section,
    )  # fmt: skip
    return result, applied, findings


def checked_value(correction: Correction, record: dict | None, resource: str, contracts: Contracts) -> tuple[object, str | None]:
    """The typed new value of ``correction`` for ``record`` (the row its id names, None if none does),
    or why it cannot be applied."""
    schema = contracts.schema(resource)
    fields = {spec.name: spec for spec in schema.fields}
    frozen, derive = RESOURCE_RULES.get(resource, (frozenset({schema.row_key[0]}), lambda *_: None))
    if correction.field not in fields:
        return None, f"field {correction.field!r} does not exist in {resource}"
    if correction.field in frozen:
        return None, f"field {correction.field!r} identifies the record and cannot be corrected"
    if record is None:
        return None, f"no {resource} record has the id {correction.id!r}"
    spec = fields[correction.field]
    if spec.to_text(record[correction.field]) != (correction.old_value or None):
        return None, (f"old value {correction.old_value!r} does not match the extracted value "
                      f"{spec.to_text(record[correction.field])!r}; review the correction")  # fmt: skip
    try:
        value = spec.from_text(correction.new_value)
    except ValueError as error:
        return None, f"new value {correction.new_value!r} is not a {spec.type}: {error}"
    if isinstance(value, int) and abs(value) > COUNT_LIMIT:
        return None, f"new value {correction.new_value!r} is beyond {COUNT_LIMIT:,}"
    trial = {**record, correction.field: value}
    derive(trial, correction.field, contracts)
    beyond = [name for name in ("killed", "wounded") if isinstance(trial.get(name), int) and trial[name] > COUNT_LIMIT]
    if beyond:
        return None, f"new value gives a {beyond[0]} count beyond {COUNT_LIMIT:,}"
    return value, None


def correction_error(correction: Correction, record: dict, resource: str, problem: str) -> Finding:
    """The error finding of a correction that could not be applied, at its row when there is one."""
    return Finding(
        severity="error", rule="correction", engine="extraction", resource=resource,
        message=f"correction not applied: {problem}", row_id=correction.id, column=correction.field,
        value=correction.old_value, expected=correction.new_value,
        source_file=str(record.get("source_file") or CORRECTIONS_FILE),
        source_line=int(record["source_line"]) if record.get("source_line") is not None else None,
    )  # fmt: skip


def _first_row_with_key(frame: pd.DataFrame, records: dict[int, dict], key_field: str, key: str) -> int | None:
    """The position of the first row whose key reads ``key`` (as ``str()`` writes it): a corrected row
    by its key as it now stands, any other by the key it was extracted with."""
    column = frame[key_field]
    if isinstance(column.dtype, pd.StringDtype):
        hits = (column == key).fillna(False).to_numpy(dtype=bool)
        if key == str(pd.NA):
            hits = hits | column.isna().to_numpy(dtype=bool)
    else:
        hits = column.map(str).to_numpy(dtype=object) == key
    untouched = [position for position in np.flatnonzero(hits).tolist() if position not in records]
    corrected = [position for position, record in records.items() if str(record[key_field]) == key]
    return min(untouched + corrected, default=None)


def _record(frame: pd.DataFrame, position: int) -> dict:
    """One row as a record: the values ``itertuples`` gives, by field."""
    return dict(zip(frame.columns, next(frame.iloc[position : position + 1].itertuples(index=False, name=None))))


def _with_records(frame: pd.DataFrame, records: dict[int, dict], changed: set[str], schema) -> pd.DataFrame:
    """``frame`` with the rows at the positions of ``records`` replaced by them, typed by ``schema``;
    only the ``changed`` columns (corrected or derived) are built again."""
    columns = {}
    for name in frame.columns:
        if name not in changed:
            columns[name] = frame[name]
            continue
        values = frame[name].to_numpy(dtype=object).copy()
        for position, record in records.items():
            values[position] = record[name]
        columns[name] = schema.frame_from_columns({name: values})[name]
    return pd.DataFrame(columns, columns=list(frame.columns), index=pd.RangeIndex(len(frame)), copy=False)


def find_unknown_resources(corrections: list[Correction], resources: set[str]) -> list[Finding]:
    """An error for each correction that names a resource the dataset does not have."""
    return [
        Finding("error", "correction", "extraction", correction.resource,
                f"correction not applied: no resource named {correction.resource!r}",
                row_id=correction.id, column=correction.field, source_file=str(CORRECTIONS_FILE))
        for correction in corrections if correction.resource not in resources
    ]  # fmt: skip
