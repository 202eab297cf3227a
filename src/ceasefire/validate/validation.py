"""Validation of the extracted frames, before anything is written: pandera and the cross-resource rules.

pandera checks each frame against its contract plus the rules Table Schema cannot express;
frictionless later checks the written package (:mod:`ceasefire.publish.package_check`). Every
finding names the resource, row, column, value, rule and the raw ``file:line:column`` it came from.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow

from ceasefire.extract.events import (
    CONFIRMABLE_TYPES,
    VIOLATION_LIKE_TYPES,
    epoch_days,
    index_violations,
    match_incident,
    states_russian_confirmation,
)
from ceasefire.findings import Finding, Severity
from ceasefire.contracts.pandera_adapter import Rule, RuledSchema, rule_check, rule_for_failure
from ceasefire.extract.raw import RawCorpus
from ceasefire.publish.serialize import MarkedTexts, joined_lines, answer_each_object
from ceasefire.extract.violations import DERIVED_FROM, Extraction
from ceasefire.contracts.vocabularies import Contracts
from ceasefire.memory import positions_dtype


def _null_safe(test: Callable[[pd.DataFrame], pd.Series], *columns: str) -> Callable[[pd.DataFrame], pd.Series]:
    """A row check that passes rows where any of ``columns`` is empty (another rule reports those)."""

    def check(frame: pd.DataFrame) -> pd.Series:
        present = frame[list(columns)].notna().all(axis=1)
        if present.all():  # the common case: the frame itself, not a copy of its rows
            return test(frame).astype(bool)
        result = pd.Series(True, index=frame.index)
        if present.any():
            result[present] = test(frame[present]).astype(bool)
        return result

    return check


def _each_once(series: pd.Series, test: Callable[[object], bool]) -> pd.Series:
    """``series.map(test)``, with ``test`` called once per distinct object: the rows of one location
    share their list of places (:func:`~ceasefire.publish.serialize.distinct_objects`)."""
    return pd.Series(answer_each_object(series.to_numpy(dtype=object), test), index=series.index)


def _as_timestamps(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series)


def _days(dates: pd.Series) -> pd.Series:
    """Each date of a column without missing values as its days since 1970: 32-bit integers, half the
    bytes of the timestamps the rules compared before, and no Python call per value."""
    return pd.Series(epoch_days(dates), index=dates.index)


def _in_chronological_order(frame: pd.DataFrame) -> pd.Series:
    """Whether each row's start is on or after every start above it (the days read once: 40 MB at ten million rows)."""
    days = _days(frame["date_start"])
    return days >= days.cummax()


def violation_checks(contracts: Contracts) -> list[tuple[pa.Check, Rule]]:
    """Rules of the violations resource that Table Schema cannot express, errors and warnings."""
    span = contracts.time_span
    places = set(contracts.gazetteer.names)
    start, end = epoch_days(pd.Series([span.start, span.end], dtype=object)).tolist()
    in_span = f"a date from {span.start} to {span.end} (schemas/time_span.json)"
    return [
        rule_check(_null_safe(lambda f: _days(f["date_end"]) >= _days(f["date_start"]), "date_start", "date_end"),
                   Rule("date-order", "date_end on or after date_start", "date_end", "the date range ends before it starts")),
        rule_check(_null_safe(lambda f: _days(f["date_start"]).between(start, end), "date_start"),
                   Rule("time-span", in_span, "date_start", "the date falls outside the dataset's time span")),
        rule_check(_null_safe(lambda f: _days(f["date_end"]).between(start, end), "date_end"),
                   Rule("time-span", in_span, "date_end", "the date falls outside the dataset's time span")),
        rule_check(_null_safe(lambda f: _each_once(f["places"], lambda items: set(items) <= places), "places"),
                   Rule("gazetteer", "canonical names from schemas/gazetteer.json", "places", "a place is not in the gazetteer")),
        rule_check(_null_safe(_in_chronological_order, "date_start"),
                   Rule("chronological-order", "rows in chronological order: no date earlier than a row above it",
                        "date_start", "the row is dated earlier than a row above it", severity="warning", whole_frame=True)),
        rule_check(lambda f: _each_once(f["places"], lambda items: bool(items)),
                   Rule("place-unresolved", "at least one place from schemas/gazetteer.json", "location",
                        "the location names no place the gazetteer knows; add it or an alias to schemas/gazetteer.json",
                        severity="warning")),
    ]  # fmt: skip


def _precision_fits(frame: pd.DataFrame) -> pd.Series:
    """day: a day or a range of days (up to 31); month: one month or its early/mid/late part;
    year: 1 January to 31 December of one year."""
    start, end = _as_timestamps(frame["date_start"]), _as_timestamps(frame["date_end"])
    precision = frame["date_precision"].astype("string")
    same_month = (start.dt.year == end.dt.year) & (start.dt.month == end.dt.month)
    month_ok = same_month & start.dt.day.isin([1, 11, 21]) & (end.dt.day.isin([10, 20]) | end.dt.is_month_end)
    year_ok = (start.dt.year == end.dt.year) & (start.dt.dayofyear == 1) & end.dt.is_year_end
    day_ok = (end - start).dt.days <= 31
    return ((precision == "day") & day_ok) | ((precision == "month") & month_ok) | ((precision == "year") & year_ok)


def event_checks(contracts: Contracts) -> list[tuple[pa.Check, Rule]]:
    """Rules of the events resource that Table Schema cannot express: the violations' date errors and more."""
    places = set(contracts.gazetteer.names)
    actors = set(contracts.vocabularies["actors"].names)
    dates = [(check, rule) for check, rule in violation_checks(contracts) if rule.rule in ("date-order", "time-span")]
    return dates + [
        rule_check(_null_safe(_precision_fits, "date_start", "date_end", "date_precision"),
                   Rule("date-precision", "day: a range of at most 31 days; month: one month or its early/mid/late part; "
                        "year: one whole year", "date_precision", "the precision does not fit the date range")),
        rule_check(_null_safe(lambda f: _each_once(f["places"], lambda items: set(items) <= places), "places"),
                   Rule("gazetteer", "canonical names from schemas/gazetteer.json", "places", "a place is not in the gazetteer")),
        rule_check(_null_safe(lambda f: _each_once(f["actors"], lambda items: set(items) <= actors), "actors"),
                   Rule("vocabulary", "names from schemas/actors.json", "actors", "an actor is not in the vocabulary")),
        rule_check(_null_safe(lambda f: _each_once(f["citations"], lambda items: all(i.isdigit() for i in items)), "citations"),
                   Rule("citation-format", "citation numbers, digits only", "citations", "a citation is not a number")),
        rule_check(lambda f: _acled_pairs_fit(f, contracts),
                   Rule("acled-mapping", "the ACLED event and sub-event type that schemas/acled_event_types.json gives the event type",
                        "acled_sub_event_type", "the ACLED types do not belong to the event type")),
    ]  # fmt: skip


def _acled_pairs_fit(frame: pd.DataFrame, contracts: Contracts) -> pd.Series:
    """Each row's (event_type, acled_event_type, acled_sub_event_type) is one the mapping allows."""
    allowed = set()
    for term in contracts.vocabularies["acled_event_types"].terms:
        options = [term, *term.get("refine", [])]
        allowed.update((term["name"], o.get("acled_event_type"), o.get("acled_sub_event_type")) for o in options)
    def clean(value):
        return None if pd.isna(value) else str(value)
    return pd.Series(
        [(clean(t), clean(a), clean(b)) in allowed
         for t, a, b in zip(frame["event_type"], frame["acled_event_type"], frame["acled_sub_event_type"])],
        index=frame.index,
    )


# Resource -> its cross-column rules, each with its severity. A new resource registers its checks here.
RESOURCE_CHECKS: dict[str, Callable[[Contracts], list[tuple[pa.Check, Rule]]]] = {
    "violations": violation_checks,
    "events": event_checks,
}


def build_schemas(contracts: Contracts, resource: str) -> dict[Severity, RuledSchema]:
    """The error schema (Table Schema + cross-column error rules) and the warning schema of a resource."""
    checks = RESOURCE_CHECKS[resource](contracts)
    errors = [(check, rule) for check, rule in checks if rule.severity == "error"]
    warnings = [(check, rule) for check, rule in checks if rule.severity == "warning"]
    warning_schema = pa.DataFrameSchema(checks=[check for check, _ in warnings], name=f"{resource}-warnings")
    return {
        "error": contracts.schema(resource).to_pandera(resource, errors),
        "warning": RuledSchema(warning_schema, frame_rules=[rule for _, rule in warnings],
                               rules_by_check={(None, check.name): rule for check, rule in warnings}),
    }


def describe_value(value: object) -> str | None:
    """A frame cell as finding text; None for a missing value."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


# Rows validated by one call of pandera: its checks make a few columns' worth of temporaries per call,
# so a table of ten million rows is validated in slices of this many (memory; docs/BENCHMARKS.md).
VALIDATE_ROWS = 250_000


def failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame, sliced: bool = True) -> pd.DataFrame | None:
    """pandera's failure cases of ``frame`` (lazy validation), None when it passes.

    Unless ``sliced`` is false (a check of the schema compares a row with the rows above it), a
    frame of more than :data:`VALIDATE_ROWS` rows is validated in slices of that many, which keep
    their row labels. Uniqueness is the one rule of a schema (``unique`` fields, the primary key)
    that a slice cannot decide alone: the rows whose key occurs more than once in the whole frame
    (every copy) are validated together once more, so each copy of a repeated key is a failure case,
    as when the frame is validated at once. A case found twice is one finding (:func:`run_pandera`).
    """
    slices = [frame] if len(frame) <= VALIDATE_ROWS or not sliced else [frame.iloc[start : start + VALIDATE_ROWS] for start in range(0, len(frame), VALIDATE_ROWS)]
    if len(slices) > 1:
        repeated = _rows_of_repeated_keys(schema, frame)
        if repeated.any():
            slices.append(frame[repeated])
    cases = []
    for rows in slices:
        try:
            schema.validate(rows, lazy=True, inplace=True)
        except pa.errors.SchemaErrors as errors:
            cases.append(errors.failure_cases)
    return pd.concat(cases, ignore_index=True) if cases else None


def _rows_of_repeated_keys(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> np.ndarray:
    """The rows whose value of a ``unique`` column, or whose primary key, occurs more than once
    (missing values counted as one value: a superset of what pandera flags does no harm)."""
    repeated = np.zeros(len(frame), dtype=bool)
    for name, column in schema.columns.items():
        if column.unique and name in frame.columns:
            repeated |= _repeated_values(frame[name])
    key = [schema.unique] if isinstance(schema.unique, str) else list(schema.unique or [])
    if key and set(key) <= set(frame.columns):
        repeated |= frame.duplicated(subset=key, keep=False).to_numpy(dtype=bool)
    return repeated


# Sorted values compared with their neighbours this many at a time.
_NEIGHBOURS = 262_144


def _repeated_values(column: pd.Series) -> np.ndarray:
    """For each row, whether its value occurs in another row too (a missing value is one value).

    Arrow texts are sorted by Arrow and each compared with the next, a window at a time: no Python
    string per row and no copy of the whole column (pandas' ``duplicated`` makes both, ~500 MB at 3M ids).
    """
    if not (isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"):
        return column.duplicated(keep=False).to_numpy(dtype=bool)
    texts = pyarrow.chunked_array(pyarrow.array(column.array))
    count, missing = len(texts), texts.null_count
    # Missing values last; 32-bit positions (Arrow gives 64-bit ones) held through the windows below.
    order = pyarrow.compute.sort_indices(texts).to_numpy().astype(positions_dtype(count))
    repeated_in_order = np.zeros(count, dtype=bool)
    for start in range(0, count - missing - 1, _NEIGHBOURS):
        window = take_from_chunks(texts, order[start : min(start + _NEIGHBOURS + 1, count - missing)])
        same = pyarrow.compute.equal(window.slice(1), window.slice(0, len(window) - 1)).to_numpy(zero_copy_only=False)
        repeated_in_order[start : start + len(same)] |= same
        repeated_in_order[start + 1 : start + 1 + len(same)] |= same
    if missing > 1:
        repeated_in_order[count - missing :] = True
    repeated = np.zeros(count, dtype=bool)
    repeated[order[repeated_in_order]] = True
    return repeated


def take_from_chunks(values: pyarrow.ChunkedArray, indices: np.ndarray) -> pyarrow.Array:
    """``values.take(indices)`` as one array, taken chunk by chunk.

    Arrow's take on a chunked array of texts first joins every chunk into one array: a copy of
    the whole column for each call (at 3M ids, ~160 MB and 0.1 s for every window of
    :func:`_repeated_values`). Here each chunk gives the rows it holds, and the rows are then put
    in the order of ``indices``: a copy of the rows taken, twice, and no more.
    """
    indices = np.asarray(indices, dtype=np.int64)  # Arrow's sort gives unsigned positions
    if values.num_chunks == 1:
        return values.chunk(0).take(indices)
    starts = np.cumsum([0] + [len(chunk) for chunk in values.chunks])
    chunk_of = np.searchsorted(starts, indices, side="right") - 1  # an empty chunk's start is the next chunk's
    by_chunk = np.argsort(chunk_of, kind="stable")
    bounds = np.searchsorted(chunk_of[by_chunk], np.arange(values.num_chunks + 1))
    parts = [values.chunk(number).take(indices[by_chunk[bounds[number] : bounds[number + 1]]] - starts[number])
             for number in range(values.num_chunks) if bounds[number] < bounds[number + 1]]  # fmt: skip
    gathered = pyarrow.concat_arrays(parts) if parts else pyarrow.array([], values.type)
    place = np.empty(len(indices), dtype=np.int64)
    place[by_chunk] = np.arange(len(indices))
    return gathered.take(place)


def run_pandera(extraction: Extraction, schemas: dict[Severity, RuledSchema]) -> list[Finding]:
    """Validate the frame lazily with each schema and turn every failure case into a finding.

    The first column of every resource is its id; findings name rows by it.
    """
    frame = extraction.frame
    findings: list[Finding] = []
    seen: set[tuple] = set()  # a frame-wide check fails once per column of a bad row; report it once
    for severity, ruled in schemas.items():
        cases = failure_cases(ruled.schema, frame, sliced=not any(rule.whole_frame for rule in ruled.rules_by_check.values()))
        if cases is None:
            continue
        for case in cases.itertuples(index=False):
            rule = rule_for_failure(ruled, case.column, str(case.check))
            column = rule.column or case.column
            index = case.index
            row = None if index is None or pd.isna(index) else int(index)
            key = (severity, rule.rule, column, row, None if row is not None else str(case.failure_case))
            if key in seen:
                continue
            seen.add(key)
            value = case.failure_case
            if row is not None and column in frame.columns:
                value = frame.at[row, column]
                if column == "date_start" and rule.rule == "chronological-order":
                    value = frame.at[row, "date_text"]
            about = {"severity": severity, "rule": rule.rule, "engine": "pandera", "resource": extraction.resource,
                     "message": rule.message or f"{column} breaks the rule {rule.rule}", "column": column,
                     "value": describe_value(value if not isinstance(value, list) else ";".join(value)), "expected": rule.expected}
            findings.append(Finding.from_row(frame, row, cell_columns=extraction.cell_columns, **about) if row is not None
                            else Finding(**about))  # fmt: skip
    return findings


def drop_covered(findings: list[Finding], covering: list[Finding]) -> list[Finding]:
    """Drop findings on cells that a more specific (extraction) finding already reports.

    A typed field derived from a raw cell (``date_end`` from ``date_text``) counts as that cell.
    """

    def cell(f: Finding) -> tuple:
        return f.source_file, f.source_line, DERIVED_FROM.get(f.column, f.column)

    covered = {cell(f) for f in covering}
    return [f for f in findings if cell(f) not in covered]


def validate_extraction(extraction: Extraction, contracts: Contracts) -> list[Finding]:
    """All findings for one extracted resource, before anything is written."""
    return extraction.findings + [finding for check in pandera_checks(extraction, contracts) for finding in check()]


def pandera_checks(extraction: Extraction, contracts: Contracts) -> list[Callable[[], list[Finding]]]:
    """The pandera findings of :func:`validate_extraction`, one check per schema (errors, then warnings),
    to be run apart: the findings of the checks, in this order, are those of all schemas at once."""

    def check(severity: Severity, ruled: RuledSchema) -> list[Finding]:
        return drop_covered(run_pandera(extraction, {severity: ruled}), extraction.findings)

    return [partial(check, severity, ruled) for severity, ruled in build_schemas(contracts, extraction.resource).items()]


def check_sentences_verbatim(corpus: RawCorpus, extraction: Extraction) -> list[Finding]:
    """Every ``sentence`` is found, character for character, on its ``source_line`` of ``source_file``."""
    documents = {document.name: document for document in corpus.documents}
    findings = []
    for row, record in enumerate(extraction.frame.itertuples(index=False)):
        document = documents.get(str(record.source_file))
        line_number = int(record.source_line) if not pd.isna(record.source_line) else 0
        found = document is not None and 1 <= line_number <= len(document.lines) and str(record.sentence) in document.line(line_number)
        if not found:
            findings.append(
                Finding.from_row(extraction.frame, row, severity="error", rule="sentence-verbatim", engine="pandera",
                                 resource=extraction.resource, message="the sentence is not on its source line",
                                 column="sentence", value=describe_value(record.sentence), expected="the raw line's own text",
                                 cell_columns=extraction.cell_columns)
            )  # fmt: skip
    return findings


def check_foreign_keys(contracts: Contracts, extractions: dict[str, Extraction]) -> list[Finding]:
    """Every foreign key of every resource's contract names a row of the resource it references."""
    findings = []
    for name, extraction in extractions.items():
        frame = extraction.frame
        for key in contracts.schema(name).foreign_keys:
            target = extractions.get(key.resource or name)
            if target is None or not set(key.fields) <= set(frame.columns):
                continue
            known = _referenced_keys(frame[list(key.fields)], target.frame[list(key.reference_fields)])
            fields, target_fields = ", ".join(key.fields), ", ".join(key.reference_fields)
            for row, values in enumerate(zip(*(frame[field].tolist() for field in key.fields))):
                if any(pd.isna(value) for value in values) or tuple(map(str, values)) in known:
                    continue
                findings.append(
                    Finding.from_row(frame, row, severity="error", rule="foreign-key", engine="pandera", resource=name,
                                     message=f"{fields} names no row of the {key.resource or name} resource",
                                     column=key.fields[0], value=";".join(map(str, values)),
                                     expected=f"a {target_fields} of the {key.resource or name} resource",
                                     cell_columns=extraction.cell_columns)
                )  # fmt: skip
    return findings


def _referenced_keys(source: pd.DataFrame, target: pd.DataFrame) -> set[tuple[str, ...]]:
    """The keys (as text) of ``target`` rows that some row of ``source`` names, matched column by column.

    Only candidate target rows are turned into Python tuples: a set of every key of a million-row
    table would hold a million tuples of strings for one lookup per row of a small resource.
    """
    rows = zip(*(source[name].tolist() for name in source.columns))
    wanted = {tuple(map(str, values)) for values in rows if not any(pd.isna(value) for value in values)}
    candidates = np.ones(len(target), dtype=bool)
    for position, name in enumerate(target.columns):
        texts = list({key[position] for key in wanted})
        column = target[name]
        if isinstance(column.dtype, pd.StringDtype):  # str() of a text is itself; of a missing value "<NA>"
            hits = column.isin(texts).to_numpy(dtype=bool, na_value=False)
            if "<NA>" in texts:
                hits = hits | column.isna().to_numpy(dtype=bool)
        else:
            hits = column.map(str).isin(texts).to_numpy(dtype=bool)
        candidates &= hits
    positions = np.flatnonzero(candidates)
    return set(zip(*(map(str, _column_rows(target[name], positions)) for name in target.columns))) & wanted


def _column_rows(column: pd.Series, positions: np.ndarray) -> pd.Series:
    """The rows of ``column`` at ``positions``; an Arrow text column's taken chunk by chunk
    (:func:`take_from_chunks`), where pandas would first join its chunks (a copy of the column)."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return pd.Series(pd.array(take_from_chunks(pyarrow.chunked_array(pyarrow.array(column.array)), positions), dtype=column.dtype))
    return column.iloc[positions]


def reconcile_events(events: Extraction, violations: Extraction, contracts: Contracts) -> list[Finding]:
    """Warnings where the prose and the table disagree.

    One warning per table row that no prose incident matches (see
    :func:`ceasefire.extract.events.match_incident`), so each row has its own fingerprint; one
    warning per prose incident that the Russian side confirmed as a violation but has no table
    row; one per other incident of a violation-like type, dated within the table's span, that has
    no table row.
    """
    matched: set[str] = set()
    findings = []
    index = index_violations(violations.frame)
    # The table's span, from the index: the rows with both dates (a copy of the two date columns
    # was 160 MB at ten million rows, and their min and max a Python comparison per row).
    first_day, last_day = index.span() or (None, None)
    for record in events.frame.to_dict("records"):
        ids = match_incident(record, index, contracts.gazetteer)
        matched.update(ids)
        record = pd.Series(record)
        if ids:
            continue
        if record.event_type in CONFIRMABLE_TYPES and states_russian_confirmation(str(record.sentence)):
            findings.append(
                Finding(severity="warning", rule="confirmed-without-table-row", engine="reconciliation",
                        resource=events.resource,
                        message="the prose says the Russian side confirmed this violation, but no table row has an "
                                "overlapping date and a shared place",
                        row_id=str(record.event_id), column="violation_id", value=str(record.date_text),
                        expected="a violations row for the same incident", source_file=str(record.source_file),
                        source_line=int(record.source_line))
            )  # fmt: skip
        elif record.event_type in VIOLATION_LIKE_TYPES and first_day is not None and first_day <= record.date_start <= last_day:
            findings.append(
                Finding(severity="warning", rule="prose-incident-without-table-row", engine="reconciliation",
                        resource=events.resource,
                        message=f"the prose narrates an incident of type {record.event_type} within the table's dates "
                                f"({first_day}..{last_day}), but no table row has an overlapping date and a shared place",
                        row_id=str(record.event_id), column="violation_id", value=str(record.date_text),
                        expected="a violations row for the same incident", source_file=str(record.source_file),
                        source_line=int(record.source_line))
            )  # fmt: skip
    del index  # 12 bytes a row, not needed for the rows without an event
    table = violations.frame
    without_event = ~table["violation_id"].isin(list(matched)).to_numpy(dtype=bool)
    if without_event.sum() > PER_ROW_WARNINGS_MAX:
        findings.append(summarise_unmatched_rows(table, without_event, violations.resource))
        return findings
    unmatched = table[without_event]
    # One finding per row, so each row has its own fingerprint: acknowledging or fixing one row
    # leaves the others' fingerprints untouched.
    for record in unmatched.itertuples(index=False):
        findings.append(
            Finding(severity="warning", rule="table-rows-without-prose-event", engine="reconciliation",
                    resource=violations.resource, message=UNMATCHED_ROW_MESSAGE,
                    row_id=describe_value(record.violation_id), expected=UNMATCHED_ROW_EXPECTED,
                    source_file=describe_value(record.source_file), source_line=int(record.source_line))
        )  # fmt: skip
    return findings


UNMATCHED_ROW_MESSAGE = "no prose event has an overlapping date and a shared place"
UNMATCHED_ROW_EXPECTED = "a dated statement in the prose for each reported violation"
# Above this many table rows without a prose event the rule says so once, with the rows in a file:
# a table of ACLED's size (millions of rows, an article narrating a handful) would otherwise make the
# report a list of millions of identical warnings that no reviewer reads one by one.
PER_ROW_WARNINGS_MAX = 1_000
_DIGEST_SLICE = 100_000
_NOTHING = pyarrow.scalar("", pyarrow.large_string())


def summarise_unmatched_rows(table: pd.DataFrame, unmatched: np.ndarray, resource: str) -> Finding:
    """One warning for the rows of ``table`` that ``unmatched`` marks: its value counts them and names
    a digest of their ids, so its fingerprint (and any acknowledgement of it) changes when the set of
    rows changes. The finding holds the table's id column and the mask, not a copy of the ids
    (:class:`~ceasefire.publish.serialize.MarkedTexts`)."""
    ids = MarkedTexts(table["violation_id"].array, unmatched)
    hasher = hashlib.sha256()
    for number, texts in enumerate(ids.arrays(_DIGEST_SLICE)):  # the digest of the ids joined by newlines
        lines = joined_lines([texts], _NOTHING, _NOTHING)  # each id, then a newline
        hasher.update(("\n" if number else "").encode() + lines[:-1])
    digest = hasher.hexdigest()[:12]
    first = table.iloc[int(np.argmax(unmatched))]
    return Finding(
        severity="warning", rule="table-rows-without-prose-event", engine="reconciliation", resource=resource,
        message=f"{len(ids):,} table rows: {UNMATCHED_ROW_MESSAGE} (more than {PER_ROW_WARNINGS_MAX:,}, so one "
                "warning stands for them all; the report's report-rows.csv names each row)",
        value=f"{len(ids)} rows, ids sha256 {digest}", expected=UNMATCHED_ROW_EXPECTED,
        source_file=describe_value(first["source_file"]), source_line=int(first["source_line"]), rows=ids,
    )  # fmt: skip


def validate_across(corpus: RawCorpus, contracts: Contracts, extractions: dict[str, Extraction]) -> list[Finding]:
    """Checks that need the raw corpus or more than one resource."""
    findings: list[Finding] = check_foreign_keys(contracts, extractions)
    events, violations = extractions.get("events"), extractions.get("violations")
    if events is not None:
        findings.extend(check_sentences_verbatim(corpus, events))
        if violations is not None:
            findings.extend(reconcile_events(events, violations, contracts))
    return findings
