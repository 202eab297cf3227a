"""The three beats of a run: extract, validate, publish. Plain functions, no orchestration.

The Prefect flow in ``flows/`` calls these same functions as tasks; tests and scripts can call
them directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from ceasefire import PACKAGE_NAME
from ceasefire.publish.catalog import refresh_downloads
from ceasefire.validate.corrections import AppliedCorrection, Correction, apply_corrections, default_corrections_file, load_corrections
from ceasefire.findings import Finding, count_by_severity, sort_findings
from ceasefire.validate.formulas import RULE as FORMULA_RULE
from ceasefire.validate.formulas import find_formula_cells
from ceasefire.publish.publishing import (
    FIRST_VERSION,
    DataFile,
    Version,
    clear_leftovers,
    list_versions,
    pause_point,
    promote,
    publish_lock,
    stage_version,
)
from ceasefire.extract.raw import RawCorpus, read_raw_dir
from ceasefire.publish.releases import (
    CHANGES_FILE,
    changes_record,
    compare,
    corrections_added,
    initial_changes,
    snapshot_from_files,
    snapshot_from_folder,
)
from ceasefire.errors import RawInputError
from ceasefire.report.build import (
    DEFAULT_ACKNOWLEDGEMENTS,
    ReportInputs,
    RunInfo,
    input_error_finding,
    report_files,
    start_run,
    write_run_report,
)
from ceasefire.report.build import build_report as build_run_report
from ceasefire.publish import formats
from ceasefire.publish.bundle import bundle_files
from ceasefire.publish.serialize import render_csv, render_jsonl
from ceasefire.extract.events import extract_events, relink_events
from ceasefire.validate.validation import validate_across, validate_extraction, validate_written_package
from ceasefire.publish.version_readme import render_version_readme
from ceasefire.extract.violations import Extraction, extract_violations
from ceasefire.contracts.vocabularies import Contracts, default_schemas_dir, load_contracts

LICENSE = {
    "name": "CC-BY-SA-4.0",
    "path": "https://creativecommons.org/licenses/by-sa/4.0/",
    "title": "Creative Commons Attribution Share-Alike 4.0",
}
ARTICLE_URL = "https://en.wikipedia.org/wiki/Peacekeeping_operations_in_Nagorno-Karabakh"
# The package's identity across versions (Data Package `id`), fixed once: uuid5(URL, the article URL + "#dataset").
PACKAGE_ID = "urn:uuid:2f266dbf-eab1-5ced-9545-f917d4a58a3e"
# Where dist/ is served; its index.html is the landing page.
HOMEPAGE = "https://nagorno-karabakh-ceasefire.github.io/"


@dataclass
class Build:
    """Everything a run extracted and found, before anything is written."""

    corpus: RawCorpus
    contracts: Contracts
    extractions: dict[str, Extraction]
    findings: list[Finding] = field(default_factory=list)
    corrections: list[AppliedCorrection] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)

    @property
    def status(self) -> str:
        counts = self.counts
        if counts["error"]:
            return "failed"
        return "passed with warnings" if counts["warning"] else "passed"


@dataclass
class Outcome:
    """What a run did. ``exit_code`` is the command line's: 0 published or unchanged, 1 errors."""

    status: str  # published | unchanged | failed
    version: str | None
    findings: list[Finding]
    rows: dict[str, int]
    path: Path | None = None
    bump: str | None = None
    message: str = ""
    report: dict | None = None  # the report published inside the version folder, if any

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "failed" else 0

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)


def extract(corpus: RawCorpus, contracts: Contracts) -> dict[str, Extraction]:
    """Every resource extracted from the raw corpus, by resource name."""
    violations = extract_violations(corpus.by_role("article"), contracts)
    events = extract_events(corpus, contracts, violations.frame)
    return {violations.resource: violations, events.resource: events}


def validate(
    corpus: RawCorpus, contracts: Contracts, extractions: dict[str, Extraction], corrections: list[Correction] | None = None
) -> Build:
    """Apply the reviewed corrections, then validate every resource (formula-injection guard included)."""
    findings: list[Finding] = []
    applied: list[AppliedCorrection] = []
    corrected = {}
    for name, extraction in extractions.items():  # violations come first: events link to them
        extraction = _schema_fields_only(extraction, contracts)
        if name == "events" and "violations" in corrected and any(a.correction.resource == "violations" for a in applied):
            extraction = relink_events(extraction, corrected["violations"].frame, contracts.gazetteer)
        extraction, done, problems = apply_corrections(extraction, corrections or [], contracts)
        corrected[name] = extraction
        applied += done
        findings += problems
        findings += validate_extraction(extraction, contracts)
        findings += find_formula_cells(extraction, contracts.table_schema(name))
    known = set(extractions)
    for correction in corrections or []:
        if correction.resource not in known:
            findings.append(
                Finding("error", "correction", "extraction", correction.resource,
                        f"correction not applied: no resource named {correction.resource!r}",
                        row_id=correction.id, column=correction.field, source_file="reviews/corrections.json")
            )  # fmt: skip
    findings += validate_across(corpus, contracts, corrected)
    return Build(corpus=corpus, contracts=contracts, extractions=corrected, findings=sort_findings(findings), corrections=applied)


def _schema_fields_only(extraction: Extraction, contracts: Contracts) -> Extraction:
    """The schema is the contract: a column it does not list is not published.

    Removing a field from ``schemas/`` removes it from the package (a MAJOR release) without a code
    change. A field the schema lists but the extraction lacks stays missing, and validation says so.
    """
    listed = [spec["name"] for spec in contracts.table_schema(extraction.resource)["fields"]]
    dropped = [name for name in extraction.frame.columns if name not in listed]
    if not dropped:
        return extraction
    return dataclasses.replace(extraction, frame=extraction.frame.drop(columns=dropped))


def build_dataset(raw_dir: Path, schemas_dir: Path | None = None, corrections_file: Path | None = None) -> Build:
    """Extract, correct and validate; writes nothing.

    ``corrections_file`` defaults to ``reviews/corrections.json`` beside the raw folder.
    """
    contracts = load_contracts(schemas_dir)
    corpus = read_raw_dir(raw_dir)
    corrections = load_corrections(corrections_file or default_corrections_file(raw_dir))
    return validate(corpus, contracts, extract(corpus, contracts), corrections)


def table_files(build: Build) -> list[DataFile]:
    """The CSV and JSON Lines form of every resource, with its Table Schema."""
    files = []
    for name, extraction in build.extractions.items():
        schema = build.contracts.table_schema(name)
        for field_spec in schema["fields"]:
            field_spec.pop("x-vocabulary", None)
        title = schema.pop("title", name)
        description = schema.pop("description", "")
        files.append(
            DataFile(name, f"data/{name}.csv", "csv", "text/csv", render_csv(extraction.frame), schema,
                     title, description)
        )  # fmt: skip
        files.append(
            DataFile(f"{name}-json", f"data/{name}.jsonl", "jsonl", "application/jsonl",
                     render_jsonl(extraction.frame), _json_twin_schema(schema), f"{title} (JSON Lines)", description)
        )  # fmt: skip
    return files


def data_files(build: Build) -> list[DataFile]:
    """Every download of a validated build: the tables (:func:`table_files`), then Parquet per resource
    and one SQLite database of them all, typed by the same Table Schemas and declared as files.

    The database enforces primary keys and required fields, so the build must have passed validation.
    """
    files = table_files(build)
    typed = []
    for name, extraction in build.extractions.items():
        csv_form = next(file for file in files if file.resource == name)
        metadata = {"title": csv_form.title, "description": csv_form.description}
        typed.append((name, metadata, build.contracts.table_schema(name), formats.typed_columns(extraction.frame)))
    for name, metadata, schema, columns in typed:
        files.append(
            DataFile(f"{name}-parquet", formats.parquet_path(name), "parquet", formats.PARQUET_MEDIATYPE,
                     formats.render_parquet(columns, schema), None, f"{metadata['title']} (Parquet)", formats.PARQUET_DESCRIPTION)
        )  # fmt: skip
    files.append(
        DataFile("sqlite", formats.SQLITE_PATH, "sqlite", formats.SQLITE_MEDIATYPE, formats.render_sqlite(typed), None,
                 "Every table in one SQLite database", formats.SQLITE_DESCRIPTION)
    )  # fmt: skip
    return files


def _json_twin_schema(schema: dict) -> dict:
    """The schema of a resource's JSON Lines twin: its foreign keys point at the JSON twins too,
    so frictionless checks each form against the same form."""
    if not schema.get("foreignKeys"):
        return schema
    twin = json.loads(json.dumps(schema))
    for key in twin["foreignKeys"]:
        reference = key["reference"]
        if reference.get("resource"):
            reference["resource"] = f"{reference['resource']}-json"
    return twin


def _software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    versions["sqlite"] = sqlite3.sqlite_version  # its file format version is in the SQLite download's header
    for package in ("frictionless", "pandera", "pandas", "prefect", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _git_state(directory: Path) -> dict[str, object]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=directory, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}


def build_report(
    build: Build,
    version: str | None,
    *,
    run: RunInfo | None = None,
    outcome: str = "validated",
    message: str = "",
    findings: list[Finding] | None = None,
) -> dict:
    """The report of a run over ``build`` (format in docs/REPORTS.md).

    ``findings`` replaces the build's own when publishing added frictionless findings.
    """
    inputs = ReportInputs(
        findings=build.findings if findings is None else findings,
        schemas_dir=build.contracts.schemas_dir,
        corpus=build.corpus,
        extractions=build.extractions,
    )
    run = run or start_run("library")
    report = build_run_report(inputs, run, outcome=outcome, version=version, message=message)
    report["corrections_applied"] = [applied.to_dict() for applied in build.corrections]
    return report


def write_report(build: Build, outcome: Outcome, run: RunInfo, reports_dir: Path) -> Path:
    """Write the run's report into ``reports_dir`` (a run folder plus ``latest/``); return the folder.

    A published run reuses the report inside its version folder, byte for byte.
    """
    report = outcome.report or build_report(
        build, outcome.version, run=run, outcome=outcome.status, message=outcome.message, findings=outcome.findings
    )
    return write_run_report(reports_dir, run.run_id, report_files(report), run.started)


def write_input_error_report(error: RawInputError, run: RunInfo, reports_dir: Path, schemas_dir: Path | None = None) -> Path:
    """The failed report of a run whose raw input could not be used at all (exit code 2)."""
    inputs = ReportInputs(findings=[input_error_finding(error)], schemas_dir=schemas_dir or default_schemas_dir())
    report = build_run_report(inputs, run, outcome="failed", message=f"unusable input: {error}")
    return write_run_report(reports_dir, run.run_id, report_files(report), run.started)


def package_descriptor(build: Build, files: list[DataFile], version: Version | str, created: str) -> dict:
    corpus = build.corpus
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": PACKAGE_NAME,
        "id": PACKAGE_ID,
        "homepage": HOMEPAGE,
        "title": "Ceasefire violations reported during the Russian peacekeeping operation in Nagorno-Karabakh, 2020-2024",
        "description": (
            "Ceasefire violations reported by the Russian peacekeeping mission in Nagorno-Karabakh, extracted from "
            "the English Wikipedia article 'Peacekeeping operations in Nagorno-Karabakh' and validated with "
            "Frictionless and pandera, with a timeline of the dated statements of the article's prose (events) "
            "linked to them. Each row traces back to a raw file and line (source_file, source_line)."
        ),
        "version": str(version),
        "created": created,
        "keywords": ["Nagorno-Karabakh", "ceasefire", "peacekeeping", "conflict events", "Armenia", "Azerbaijan"],
        "licenses": [LICENSE],
        "sources": [
            {
                "title": "Peacekeeping operations in Nagorno-Karabakh, English Wikipedia, CC BY-SA 4.0",
                "path": ARTICLE_URL,
            }
        ],
        "contributors": [
            {"title": "Wikipedia contributors to the article", "path": "https://en.wikipedia.org/w/index.php?title=Peacekeeping_operations_in_Nagorno-Karabakh&action=history", "roles": ["author"]},
            {"title": "Nagorno-Karabakh ceasefire dataset maintainers", "roles": ["publisher", "maintainer"]},
        ],
        "resources": [file.descriptor() for file in files],
        "provenance": {
            "raw_files": [
                {"path": f"raw/{d.name}", "role": d.role, "sha256": d.sha256, "bytes": d.bytes} for d in corpus.documents
            ],
            "code": _git_state(build.contracts.schemas_dir.parent),
            "software": _software_versions(),
        },
        "validation": {"status": build.status, **build.counts, "report": "report.json"},
        "corrections": [applied.to_dict() for applied in build.corrections],
        "spreadsheetSafety": FORMULA_RULE,
        "changes": CHANGES_FILE,
    }


def publish(
    build: Build,
    dist_dir: Path,
    *,
    lock_timeout: float = 900.0,
    now: dt.datetime | None = None,
    run: RunInfo | None = None,
) -> Outcome:
    """Publish ``build`` as the next version, or report it unchanged or failed. Never overwrites.

    Under the publish lock: clear what a killed run left, compare with the latest version, stage
    the new version in a hidden folder, validate it, rename it into place, then refresh the
    downloads (zip, latest.json, CHANGELOG.md, catalog) from the version folders. The version
    folder carries the report of ``run`` (report.json and report.html).
    """
    rows = {name: len(e.frame) for name, e in build.extractions.items()}
    if build.counts["error"]:
        return Outcome("failed", None, build.findings, rows, message=f"{build.counts['error']} validation errors")
    files = data_files(build)
    package_dir = dist_dir / PACKAGE_NAME
    created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    candidate = snapshot_from_files(package_descriptor(build, files, "0.0.0", created), files)
    with publish_lock(dist_dir, lock_timeout):
        pause_point("locked")
        clear_leftovers(dist_dir)  # a temporary catalog.json or index.html
        clear_leftovers(package_dir)
        versions = list_versions(package_dir)
        if versions:
            latest = versions[-1]
            previous = snapshot_from_folder(package_dir / str(latest))
            changes = compare(previous, candidate)
            if changes.empty:
                refresh_downloads(dist_dir)
                return Outcome("unchanged", str(latest), build.findings, rows, path=package_dir / str(latest),
                               message=f"content unchanged since {latest}; nothing published")  # fmt: skip
            kind, version = changes.bump, latest.bump(changes.bump)
            corrections = corrections_added(previous, candidate)
        else:
            latest, changes, kind, version = None, initial_changes(candidate), "initial", FIRST_VERSION
            corrections = candidate.metadata.get("corrections") or []
        descriptor = package_descriptor(build, files, version, created)
        message = f"published {version} ({kind})"
        report = build_report(build, str(version), run=run, outcome="published", message=message)
        record = changes_record(changes, version, latest, kind, created, corrections)
        contents = {file.path: file.content for file in files}
        contents["datapackage.json"] = _json_bytes(descriptor)
        contents.update(report_files(report))
        contents[CHANGES_FILE] = _json_bytes(record)
        contents.update(bundle_files(descriptor, build.corpus, build.contracts.schemas_dir))
        contents["README.md"] = render_version_readme(descriptor, report, record, sorted(contents)).encode("utf-8")
        stage = stage_version(package_dir, version, contents)
        pause_point("staged")
        tables = [file for file in files if file.schema is not None]
        frames = {file.resource: build.extractions[file.resource.removesuffix("-json")].frame for file in tables}
        mismatches = formats.find_written_mismatches(stage, {f.resource: f.schema for f in tables if f.format == "csv"})
        if mismatches:  # a bug in a writer, not in the data: nothing is published
            shutil.rmtree(stage)
            raise formats.FormatMismatch("; ".join(mismatches))
        package_findings = validate_written_package(stage, frames)
        if package_findings:
            shutil.rmtree(stage)
            findings = sort_findings(build.findings + package_findings)
            return Outcome("failed", None, findings, rows, message=f"{len(package_findings)} frictionless errors")
        target = package_dir / str(version)
        promote(stage, target)
        pause_point("promoted")
        refresh_downloads(dist_dir)
    return Outcome("published", str(version), build.findings, rows, path=target, bump=kind,
                   message=message, report=report)  # fmt: skip


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def run(
    raw_dir: Path, dist_dir: Path, schemas_dir: Path | None = None, reports_dir: Path | None = None, *,
    corrections_file: Path | None = None, lock_timeout: float = 900.0,
) -> Outcome:
    """Extract, validate and publish without any orchestrator; write the run's report if asked."""
    build = build_dataset(raw_dir, schemas_dir, corrections_file)
    if reports_dir is None:
        return publish(build, dist_dir, lock_timeout=lock_timeout)
    info = start_run("publish", reports_dir, DEFAULT_ACKNOWLEDGEMENTS)
    outcome = publish(build, dist_dir, lock_timeout=lock_timeout, run=info)
    write_report(build, outcome, info, reports_dir)
    return outcome
