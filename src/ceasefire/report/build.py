"""Run reports: what a run found, in a form a maintainer can act on (format in docs/REPORTS.md).

A report is a plain dict, written as ``report.json`` and rendered as ``report.html``. It is built
from the findings plus the raw text they point at, the rule catalogue (``schemas/rules.json``), the
previous run's report (to tell new findings from known ones) and the reviewed acknowledgements
(``reviews/acknowledgements.json``). Every run writes one folder under ``<reports>/runs/`` and
replaces ``<reports>/latest/``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import re
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import pandas as pd

from ceasefire import PACKAGE_NAME
from ceasefire.report.charts import casualties_per_month, events_per_month, violations_per_month
from ceasefire.findings import SEVERITY_ORDER, Finding, count_by_severity
from ceasefire.publish.serialize import MarkedTexts, csv_row_chunks
from ceasefire.publish.publishing import (
    TEMP_PREFIX, Rendered, _fsync_path, clear_leftovers, file_blocks, promote, replace_durably, write_durably,
)  # fmt: skip
from ceasefire.errors import RawInputError
from ceasefire.extract.raw import RawCorpus
from ceasefire.validate.corrections import read_review_file

REPORT_FORMAT = "2.1"
RULES_FILE = "rules.json"
DEFAULT_ACKNOWLEDGEMENTS = Path("reviews") / "acknowledgements.json"
ROWS_FILE = "report-rows.csv"  # the rows each summary finding stands for
SAMPLES_PER_RULE = 5
_LOCK_FILE = ".reports.lock"


# --- rule catalogue -------------------------------------------------------------------------------


def load_rule_catalogue(schemas_dir: Path) -> dict[str, dict[str, str]]:
    """Rule id -> title, explanation and fix, from ``schemas/rules.json``."""
    with (schemas_dir / RULES_FILE).open(encoding="utf-8") as handle:
        return json.load(handle)["rules"]


def describe_rule(catalogue: Mapping[str, dict], rule: str) -> dict[str, str]:
    """The catalogue entry of ``rule``; an unknown rule still gets a usable text."""
    if rule in catalogue:
        return dict(catalogue[rule])
    return {"title": rule, "explanation": f"No explanation for the rule {rule!r} in schemas/{RULES_FILE} yet.", "fix": ""}


# --- acknowledgements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledgement:
    """A reviewed, known finding: by fingerprint, or by rule plus file and line, or rule plus row id."""

    reason: str
    who: str
    date: str
    fingerprint: str | None = None
    rule: str | None = None
    file: str | None = None
    line: int | None = None
    resource: str | None = None
    row_id: str | None = None

    def matches(self, finding: Finding, fingerprint: str) -> bool:
        if self.fingerprint is not None:
            return self.fingerprint == fingerprint
        if self.rule != finding.rule or (self.resource is not None and self.resource != finding.resource):
            return False
        if self.row_id is not None:
            return self.row_id == finding.row_id
        return self.file == finding.source_file and self.line == finding.source_line

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def parse_acknowledgements(data: object) -> tuple[list[Acknowledgement], list[str]]:
    """Acknowledgements from the parsed file, plus a problem message for each unusable entry.

    Example:
        >>> acks, problems = parse_acknowledgements({"acknowledgements": [
        ...     {"rule": "chronological-order", "file": "a.txt", "line": 83, "reason": "checked",
        ...      "who": "maintainer", "date": "2024-05-01"}, {"reason": "no target"}]})
        >>> len(acks), problems
        (1, ['entry 2: needs reason, who and date (YYYY-MM-DD)'])
    """
    entries = data.get("acknowledgements") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [], ["the file needs an 'acknowledgements' list"]
    acknowledgements, problems = [], []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"entry {number}: not an object")
            continue
        if not all(isinstance(entry.get(key), str) and entry[key].strip() for key in ("reason", "who", "date")) or not _is_iso_date(entry["date"]):
            problems.append(f"entry {number}: needs reason, who and date (YYYY-MM-DD)")
            continue
        by_line = entry.get("rule") and entry.get("file") and isinstance(entry.get("line"), int)
        by_row = entry.get("rule") and entry.get("row_id")
        if not (entry.get("fingerprint") or by_line or by_row):
            problems.append(f"entry {number}: needs a fingerprint, or rule + file + line, or rule + row_id")
            continue
        known = {name for name in Acknowledgement.__dataclass_fields__}
        acknowledgements.append(Acknowledgement(**{key: value for key, value in entry.items() if key in known}))
    return acknowledgements, problems


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def load_acknowledgements(path: Path) -> tuple[list[Acknowledgement], list[str]]:
    """Read the reviewed acknowledgements file; a missing file means none.

    An unreadable file or one of the wrong shape raises :class:`RawInputError`; an entry that
    cannot be used is a problem shown in the report.
    """
    data = read_review_file(path, str(path))
    if data is None:
        return [], []
    if not isinstance(data, dict) or not isinstance(data.get("acknowledgements"), list):
        raise RawInputError(str(path), "needs an object with an 'acknowledgements' list")
    return parse_acknowledgements(data)


# --- one run --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunInfo:
    """What a report needs to know about its run besides the findings."""

    run_id: str
    started: str
    command: str
    previous: dict | None = None
    acknowledgements: tuple[Acknowledgement, ...] = ()
    acknowledgement_problems: tuple[str, ...] = ()
    acknowledgements_file: str = "none"


def make_run_id(now: dt.datetime) -> str:
    """``<UTC timestamp>-<short id>``: sorts by start time, unique across concurrent runs.

    Example:
        >>> make_run_id(dt.datetime(2024, 5, 1, 3, 4, 5, tzinfo=dt.timezone.utc))[:17]
        '20240501T030405Z-'
    """
    return f"{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def start_run(
    command: str,
    reports_dir: Path | None = None,
    acknowledgements_path: Path | None = None,
    now: dt.datetime | None = None,
) -> RunInfo:
    """A new run: its id, the previous run's report (``<reports>/latest/``) and the acknowledgements.

    Without ``reports_dir`` there is nothing to compare with; without ``acknowledgements_path``
    nothing is acknowledged.
    """
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    acknowledgements, problems = load_acknowledgements(acknowledgements_path) if acknowledgements_path else ([], [])
    return RunInfo(
        run_id=make_run_id(now),
        started=f"{now:%Y-%m-%dT%H:%M:%S.%f}Z",  # fixed width, so it sorts as text
        command=command,
        previous=read_latest_report(reports_dir) if reports_dir is not None else None,
        acknowledgements=tuple(acknowledgements),
        acknowledgement_problems=tuple(problems),
        acknowledgements_file=str(acknowledgements_path) if acknowledgements_path else "none",
    )


def input_error_finding(error: RawInputError) -> Finding:
    """Unusable raw input as a finding, so even a run that could not start leaves a report."""
    return Finding(
        severity="error", rule="unusable-input", engine="extraction", resource="raw", message=error.reason,
        source_file=error.file, source_line=error.line, source_column=error.column,
    )  # fmt: skip


def read_latest_report(reports_dir: Path) -> dict | None:
    """The report at the stable path, or None if there is none or it cannot be read."""
    try:
        return json.loads((reports_dir / "latest" / "report.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


# --- building the report --------------------------------------------------------------------------


def raw_line_of(corpus: RawCorpus | None, finding: Finding) -> str | None:
    if corpus is None or finding.source_file is None or finding.source_line is None:
        return None
    for document in corpus.documents:
        if document.name == finding.source_file and 1 <= finding.source_line <= len(document.lines):
            return document.line(finding.source_line)
    return None


def highlight_span(line: str, value: str | None, column: int | None) -> tuple[int, int] | None:
    """The ``[start, end)`` characters of ``line`` to highlight for a finding.

    The offending value where the cell starts; else the whole cell at ``column``; else the row.

    Example:
        >>> highlight_span("| 31.02.2022 | 1 | x |", "31.02.2022", 3)
        (2, 12)
        >>> highlight_span("| 06.03.2022 | 3 | area |", "2022-03-06-area", 1)
        (0, 25)
    """
    if not line.strip():
        return None
    if column is not None and 1 <= column <= len(line) + 1:
        start = column - 1
        if value and line.startswith(value, start):
            return start, start + len(value)
        end = line.find("|", start)
        cell_end = len(line.rstrip()) if end == -1 else len(line[:end].rstrip())
        if cell_end > start:
            return start, cell_end
    if value:
        found = line.find(value)
        if found != -1 and line.count(value) == 1:
            return found, found + len(value)
    start = len(line) - len(line.lstrip())
    return start, len(line.rstrip())


def fingerprint_findings(findings: list[Finding], corpus: RawCorpus | None) -> list[str]:
    """A stable id per finding, independent of line numbers so inserting lines above keeps it.

    It hashes the rule, resource, column, row id (or the raw line's text when the row has no id),
    value and file. Identical findings (a duplicated row) get ``-2``, ``-3``… in order.
    """
    fingerprints, seen = [], Counter()
    for finding in findings:
        raw = raw_line_of(corpus, finding)
        anchor = finding.row_id or (" ".join(raw.split()) if raw is not None else str(finding.source_line or ""))
        key = json.dumps([finding.rule, finding.resource, finding.column or "", anchor, finding.value or "",
                          finding.source_file or ""], ensure_ascii=False)  # fmt: skip
        base = f"{finding.rule}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}"
        seen[base] += 1
        fingerprints.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return fingerprints


def report_status(findings: list[Finding]) -> str:
    counts = count_by_severity(findings)
    if counts["error"]:
        return "failed"
    return "passed with warnings" if counts["warning"] else "passed"


@dataclass
class ReportInputs:
    """What a report is built from. ``corpus`` and ``extractions`` are None when input was unusable."""

    findings: list[Finding]
    schemas_dir: Path
    corpus: RawCorpus | None = None
    extractions: Mapping[str, Any] = field(default_factory=dict)
    release: dict | None = None  # ceasefire.pipeline.release_comparison with the last published version


def build_report(
    inputs: ReportInputs, run: RunInfo, *, outcome: str, version: str | None = None, message: str = ""
) -> dict[str, Any]:
    """The report of one run as a JSON-ready dict (structure in docs/REPORTS.md).

    ``outcome`` is what the run did: published, unchanged, failed (nothing published) or validated
    (``ceasefire validate``: nothing is ever published).
    """
    catalogue = load_rule_catalogue(inputs.schemas_dir)
    findings = inputs.findings
    fingerprints = fingerprint_findings(findings, inputs.corpus)
    previous = _comparable(run.previous)
    previous_fingerprints = {f["fingerprint"] for f in previous["findings"]} if previous else set()
    used_acknowledgements: set[int] = set()
    entries = []
    for finding, fingerprint in zip(findings, fingerprints):
        acknowledgement = None
        for index, candidate in enumerate(run.acknowledgements):
            if candidate.matches(finding, fingerprint):
                acknowledgement = candidate.to_dict()
                used_acknowledgements.add(index)
                break
        raw = raw_line_of(inputs.corpus, finding)
        entries.append(
            {
                "fingerprint": fingerprint,
                **finding.to_dict(),
                "location": finding.location,
                "raw_line": raw,
                "highlight": _highlight(raw, finding),
                "new": acknowledgement is None and fingerprint not in previous_fingerprints,
                "acknowledged": acknowledgement,
                "fix": fill_in_commands(describe_rule(catalogue, finding.rule)["fix"], fingerprint, finding),
                **({"rows_file": ROWS_FILE} if finding.rows else {}),
            }
        )  # fmt: skip
    current = set(fingerprints)
    resolved = [_resolved_entry(f) for f in previous["findings"] if f["fingerprint"] not in current] if previous else []
    rules = sorted({f.rule for f in findings})
    frame = inputs.extractions.get("violations")
    events = inputs.extractions.get("events")
    return {
        "report_format": REPORT_FORMAT,
        "package": PACKAGE_NAME,
        "run": {"id": run.run_id, "started": run.started, "command": run.command, "outcome": outcome,
                "version": version, "message": message},  # fmt: skip
        "status": report_status(findings),
        "counts": {
            "by_severity": count_by_severity(findings),
            "by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
            "by_resource": dict(sorted(Counter(f.resource for f in findings).items())),
            "new": sum(entry["new"] for entry in entries),
            "resolved": len(resolved),
            "acknowledged": sum(entry["acknowledged"] is not None for entry in entries),
        },
        "rows": {name: len(extraction.frame) for name, extraction in inputs.extractions.items()},
        "raw_files": [{"file": d.name, "role": d.role, "sha256": d.sha256, "lines": len(d.lines)}
                      for d in inputs.corpus.documents] if inputs.corpus else [],  # fmt: skip
        "rules": {rule: describe_rule(catalogue, rule) for rule in rules},
        "groups": _groups(entries),
        "findings": entries,
        "since_release": _since_release(inputs.release, entries),
        "comparison": {
            "previous_run": previous["run"]["id"] if previous else None,
            "previous_status": previous["status"] if previous else None,
            "new": [entry["fingerprint"] for entry in entries if entry["new"]],
            "resolved": resolved,
        },
        "acknowledgements": {
            "file": run.acknowledgements_file,
            "entries": len(run.acknowledgements),
            "matched": len(used_acknowledgements),
            "unused": [a.to_dict() for i, a in enumerate(run.acknowledgements) if i not in used_acknowledgements],
            "problems": list(run.acknowledgement_problems),
        },
        "charts": {
            "violations_per_month": violations_per_month(frame.frame) if frame is not None else None,
            "events_per_month": events_per_month(events.frame) if events is not None else None,
            "casualties_per_month": casualties_per_month(frame.frame) if frame is not None else None,
        },
    }


def fill_in_commands(fix: str, fingerprint: str, finding: Finding) -> str:
    """The rule's fix with this finding's fingerprint, row id and field put into its commands.

    Example:
        >>> fill_in_commands("Run `ceasefire ack FINGERPRINT --reason R` (FIELD x).", "rule-1a2b",
        ...                  Finding("warning", "rule", "pandera", "violations", "m", row_id="r1", column="x"))
        'Run `ceasefire ack rule-1a2b --reason R` (FIELD x).'
    """
    values = {"FINGERPRINT": fingerprint, "ROW_ID": finding.row_id, "FIELD": finding.column}

    def fill(command: re.Match) -> str:
        return re.sub(r"\b(FINGERPRINT|ROW_ID|FIELD)\b", lambda m: values[m.group(1)] or m.group(1), command.group(0))

    return re.sub(r"`ceasefire [^`]*`", fill, fix)


def _since_release(release: dict | None, entries: list[dict]) -> dict | None:
    """The data diff since the last published version and the findings that version did not have."""
    if release is None:
        return None
    recorded = set(release["findings"])
    return {
        "version": release["version"],
        "changes": release["changes"],
        "new_findings": [e["fingerprint"] for e in entries if e["fingerprint"] not in recorded and not e["acknowledged"]],
    }


def _highlight(raw: str | None, finding: Finding) -> list[int] | None:
    span = highlight_span(raw, finding.value, finding.source_column) if raw is not None else None
    return list(span) if span else None


def _comparable(previous: dict | None) -> dict | None:
    """The previous report if it has fingerprints (format 2.x); older formats cannot be compared."""
    if not previous or not str(previous.get("report_format", "")).startswith("2."):
        return None
    return previous


def _resolved_entry(entry: dict) -> dict:
    keys = ("fingerprint", "severity", "rule", "resource", "location", "row_id", "column", "value", "message")
    return {key: entry.get(key) for key in keys}


def _groups(entries: list[dict]) -> list[dict]:
    """Findings grouped by rule, errors first: count, new, acknowledged and the first samples."""
    by_rule: dict[str, list[dict]] = {}
    for entry in entries:
        by_rule.setdefault(entry["rule"], []).append(entry)
    groups = []
    for rule, members in by_rule.items():
        severity = min((m["severity"] for m in members), key=SEVERITY_ORDER.__getitem__)
        groups.append(
            {
                "rule": rule,
                "severity": severity,
                "count": len(members),
                "new": sum(m["new"] for m in members),
                "acknowledged": sum(m["acknowledged"] is not None for m in members),
                "resources": sorted({m["resource"] for m in members}),
                "samples": [m["fingerprint"] for m in members[:SAMPLES_PER_RULE]],
            }
        )
    return sorted(groups, key=lambda g: (SEVERITY_ORDER[g["severity"]], g["rule"]))


# --- writing --------------------------------------------------------------------------------------


def report_file_names(report: dict) -> list[str]:
    """The names of the files :func:`report_files` makes of ``report``, without making them: a
    finding that stands for many rows names the rows file."""
    rows_file = any(entry.get("rows_file") for entry in report["findings"])
    return ["report.json", "report.html", *([ROWS_FILE] if rows_file else [])]


def report_files(report: dict, findings: Sequence[Finding] = ()) -> dict[str, bytes | Rendered]:
    """``report.json`` and ``report.html`` of a report, and its rows file when a summary finding
    stands for many rows: rendered slice by slice as it is written, since it may name millions of rows.

    ``findings`` are the findings the report was built from, in its order.
    """
    from ceasefire.report.html import render_report_html

    files = {
        "report.json": (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
        "report.html": render_report_html(report).encode("utf-8"),
    }
    summaries = [(entry["fingerprint"], finding.rows) for entry, finding in zip(report["findings"], findings) if finding.rows]
    if summaries:
        files[ROWS_FILE] = Rendered(lambda: rows_file_chunks(summaries))
    return files


def render_rows_file(summaries: Sequence[tuple[str, Sequence[str]]]) -> bytes:
    """The rows each summary finding stands for: a CSV of ``fingerprint,row_id``, in the rows' order,
    quoted as the csv module quotes (rendered by Arrow: a summary may stand for millions of rows)."""
    return b"".join(rows_file_chunks(summaries))


def rows_file_chunks(summaries: Sequence[tuple[str, Sequence[str]]]) -> Iterator[bytes]:
    """:func:`render_rows_file` in chunks, a slice of rows at a time."""
    yield b"fingerprint,row_id\n"
    for fingerprint, rows in summaries:
        for texts in rows.arrays() if isinstance(rows, MarkedTexts) else [rows]:  # a summary's ids, a window at a time
            ids = pd.Series(texts, dtype="string[pyarrow]")
            frame = pd.DataFrame({"fingerprint": pd.Series(fingerprint, index=ids.index, dtype="string[pyarrow]"), "row_id": ids})
            yield from csv_row_chunks(frame)


@contextmanager
def _reports_lock(reports_dir: Path) -> Iterator[None]:
    with (reports_dir / _LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_run_report(reports_dir: Path, run_id: str, files: Mapping[str, bytes | Rendered], started: str = "") -> Path:
    """Write a run's folder ``runs/<run id>/`` whole, then refresh ``latest/``; return the run folder.

    The run folder is staged and renamed into place. In ``latest/`` each file is replaced
    atomically, under a lock, and only by a run that started no earlier than the one it replaces,
    so the stable path always holds complete files of the newest run.
    """
    runs = reports_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stage = runs / f"{TEMP_PREFIX}{run_id}-{uuid.uuid4().hex}"
    stage.mkdir()
    for name, content in sorted(files.items()):
        write_durably(stage / name, content)
    _fsync_path(stage)
    target = runs / run_id
    promote(stage, target)
    latest = reports_dir / "latest"
    with _reports_lock(reports_dir):
        latest.mkdir(exist_ok=True)
        clear_leftovers(latest)
        shown = (read_latest_report(reports_dir) or {}).get("run") or {}
        if (shown.get("started") or "", shown.get("id") or "") <= (started, run_id):
            # report.json last: a reader that sees the new JSON also finds the new HTML.
            for name in sorted(files, key=lambda n: n == "report.json"):
                replace_durably(latest / name, file_blocks(target / name))  # the run's own copy, not rendered again
    return target


def findings_table(report: dict, limit: int = 1000) -> list[dict[str, Any]]:
    """One flat row per finding, for a table (Prefect's table artifact, a spreadsheet)."""
    rows = []
    for entry in report["findings"][:limit]:
        rows.append(
            {
                "severity": entry["severity"],
                "rule": entry["rule"],
                "where": entry["location"],
                "resource": entry["resource"],
                "row": entry["row_id"] or "",
                "column": entry["column"] or "",
                "value": entry["value"] if entry["value"] is not None else "",
                "expected": entry["expected"] or "",
                "state": "acknowledged" if entry["acknowledged"] else "new" if entry["new"] else "known",
                "fingerprint": entry["fingerprint"],
            }
        )
    return rows


def report_url(path: Path) -> str:
    """``file://`` URL of a report file, for links from Prefect and the terminal."""
    return path.resolve().as_uri()

