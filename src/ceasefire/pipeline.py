"""The three beats of a run: extract, validate, publish. Plain functions, no orchestration.

The Prefect flow in ``flows/`` calls these same functions as tasks; tests and scripts can call
them directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

# load
from ceasefire.contracts.vocabularies import Contracts, load_contracts
from ceasefire.extract.raw import RawCorpus, read_raw_dir
# extract
from ceasefire.extract.events import extract_events, relink_events
from ceasefire.extract.violations import Extraction, extract_violations
# validate
from ceasefire.findings import Finding, count_by_severity, sort_findings
from ceasefire.memory import give_back
from ceasefire.plurals import plural
from ceasefire.threads import WORKERS, Beside, in_threads
from ceasefire.validate.characters import find_control_cells
from ceasefire.validate.corrections import (
    AppliedCorrection, Correction, apply_corrections, default_corrections_file, find_unknown_resources, load_corrections,
)  # fmt: skip
from ceasefire.validate.formulas import find_formula_cells
from ceasefire.validate.removals import Removal, check_removals, default_removals_file, load_removals
from ceasefire.validate.validation import pandera_checks, validate_across
# publish
from ceasefire.publish import formats
from ceasefire.publish.bundle import bundle_files
from ceasefire.publish.catalog import PrebuiltZip, ZipAhead, refresh_downloads
from ceasefire.publish.descriptor import TABLE_RENDERERS, describe_package, json_bytes, json_chunks, plan_table_files, write_table_file
from ceasefire.publish.package_check import CsvFormsChecked, check_csv_forms, is_large, validate_written_package
from ceasefire.errors import OutputLocationError
from ceasefire.publish.publishing import (
    FIRST_VERSION, DataFile, TablePart, Version, check_output_location, clear_leftovers, list_versions, name_stage,
    open_stage, pause_point, promote, publish_lock, stage_version, staged_folders,
)  # fmt: skip
from ceasefire.publish.releases import (
    CHANGES_FILE, Changes, Snapshot, changes_record, compare, corrections_added, initial_changes, snapshot_from_files,
    snapshot_from_folder,
)  # fmt: skip
from ceasefire.publish.version_readme import render_version_readme
# report (the flows in flows/ call build_report, write_report and write_input_error_report through here)
from ceasefire.report.build import DEFAULT_ACKNOWLEDGEMENTS, RunInfo, report_files, start_run
from ceasefire.report.runs import build_report, write_input_error_report, write_traceback
from ceasefire.report.runs import write_report as write_run_report

if TYPE_CHECKING:
    import pandas as pd

# A table file's rows rendered in row ranges, by the file's path in the version folder (``data/violations.csv``).
TableParts = Mapping[str, Sequence[TablePart]]

__all__ = ["Build", "Outcome", "build_dataset", "build_report", "check_output_location", "compare_with_release",
           "data_files", "extract", "package_descriptor", "plan_data_files", "publish", "run", "validate", "write_input_error_report",
           "write_report", "write_traceback"]  # fmt: skip


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
    give_back()  # what extraction freed (its cell texts and parsed lists): ~390 MB at 3M rows
    return {violations.resource: violations, events.resource: events}


def validate(
    corpus: RawCorpus, contracts: Contracts, extractions: dict[str, Extraction], corrections: list[Correction] | None = None
) -> Build:
    """Apply the reviewed corrections, then validate every resource (formula-injection guard included).

    The checks of the corrected resources run on two threads (:mod:`ceasefire.threads`); their
    findings are gathered in the order the checks are listed, so the result does not depend on it.
    """
    found: list[list[Finding] | Callable[[], list[Finding]]] = []  # findings, or a check that gives them
    applied: list[AppliedCorrection] = []
    corrected = {}
    for name, extraction in extractions.items():  # violations come first: events link to them
        extraction = _schema_fields_only(extraction, contracts)
        if name == "events" and "violations" in corrected and any(a.correction.resource == "violations" for a in applied):
            extraction = relink_events(extraction, corrected["violations"].frame, contracts.gazetteer)
        extraction, done, problems = apply_corrections(extraction, corrections or [], contracts)
        corrected[name] = extraction
        applied += done
        found += [problems, extraction.findings, *pandera_checks(extraction, contracts),
                  partial(find_formula_cells, extraction, contracts.schema(name)),
                  partial(find_control_cells, extraction, contracts.table_schema(name))]  # fmt: skip
    found += [find_unknown_resources(corrections or [], set(extractions)), partial(validate_across, corpus, contracts, corrected)]
    # The threads take the checks in turn: the first, the violations' error schema, is the largest.
    results = iter(in_threads([item for item in found if callable(item)], "validate"))
    findings = [finding for item in found for finding in (next(results) if callable(item) else item)]
    give_back()  # what the checks freed, on their threads' heaps
    return Build(corpus=corpus, contracts=contracts, extractions=corrected, findings=sort_findings(findings), corrections=applied)


def _schema_fields_only(extraction: Extraction, contracts: Contracts) -> Extraction:
    """The schema is the contract: a column it does not list is not published.

    Removing a field from ``schemas/`` removes it from the package (a MAJOR release) without a code
    change. A field the schema lists but the extraction lacks stays missing, and validation says so.
    """
    listed = contracts.schema(extraction.resource).field_names
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


def plan_data_files(build: Build) -> list[DataFile]:
    """Every download of a validated build, not yet written: the CSV and JSON Lines form of every
    resource with its Table Schema, then Parquet per resource and one SQLite database of them all,
    typed by the same Table Schemas and declared as files."""
    tables = plan_table_files(build.extractions, build.contracts)
    return tables + formats.plan_typed_files(tables)


def data_files(
    build: Build, folder: Path, files: list[DataFile] | None = None, parts: TableParts | None = None,
    when_rendered: Callable[[list[DataFile]], None] | None = None,
) -> list[DataFile]:
    """Write every download of ``files`` (default :func:`plan_data_files`) that is not written yet
    into ``folder``, slice by slice; return them all, written, in order. ``when_rendered`` is given
    the CSV and JSON Lines files of ``files``, written, as soon as they are, before the typed files are.

    A CSV or JSON Lines file that ``parts`` names (by its path in the version folder) is joined from
    its rows rendered elsewhere, in parts, instead of rendered here: the same bytes.
    The database enforces primary keys and required fields, so the build must have passed validation.
    """
    files = plan_data_files(build) if files is None else files
    parts = parts or {}
    rendered = [file for file in files if file.size is None and file.format in TABLE_RENDERERS]
    typed = [file for file in files if file.size is None and file.format not in TABLE_RENDERERS]
    done: dict[str, DataFile] = {}
    cancel = threading.Event()
    # Parquet and SQLite are written in a thread beside the CSV and JSON Lines: Arrow, ADBC and SQLite
    # do their work without the GIL, so it runs on the other core (docs/BENCHMARKS.md). If the rendering
    # fails or is interrupted, the thread stops before its next batch and is waited for.
    # Without them (the CSV forms compared with a release), the rendering itself takes both cores.
    workers = 1 if typed else WORKERS
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="typed-files") as pool:
        tables = plan_table_files(build.extractions, build.contracts) if typed else []  # the typed files take their titles
        written = pool.submit(formats.write_typed_files, typed, build.extractions, build.contracts, tables, folder, cancel) if typed else None
        try:
            for file in rendered:
                frame = build.extractions[file.resource.removesuffix("-json")].frame
                done[file.path] = write_table_file(file, frame, folder, parts.get(file.path, ()), workers)
            if when_rendered is not None:
                when_rendered([done.get(file.path, file) for file in files if file.format in TABLE_RENDERERS])
        except BaseException:
            cancel.set()
            raise
        for file in written.result() if written is not None else []:
            done[file.path] = file
    return [done.get(file.path, file) for file in files]


def _candidate(build: Build, folder: Path, created: str, parts: TableParts | None = None) -> tuple[list[DataFile], Snapshot]:
    """Only the CSV forms of ``build`` written into ``folder``, and the build's snapshot from them:
    what a comparison with a release needs. The other files are returned planned, not written."""
    planned = plan_data_files(build)
    files = data_files(build, folder, [file for file in planned if file.format == "csv"], parts)
    written = {file.path: file for file in files}
    files = [written.get(file.path, file) for file in planned]
    # The package's metadata is all a snapshot takes from the descriptor; the resources wait for the other files.
    metadata = package_descriptor(build, list(written.values()), "0.0.0", created)
    return files, snapshot_from_files(metadata, files, folder)


def package_descriptor(build: Build, files: list[DataFile], version: Version | str, created: str) -> dict:
    """``datapackage.json`` of ``build`` as version ``version``."""
    validation = {"status": build.status, **build.counts, "report": "report.json"}
    corrections = [applied.to_dict() for applied in build.corrections]
    return describe_package(build.contracts, build.corpus, files, version, created, validation=validation, corrections=corrections)


def write_report(build: Build, outcome: Outcome, run: RunInfo, reports_dir: Path, dist_dir: Path | None = None) -> Path:
    """Write the run's report into ``reports_dir``; return the folder.

    A published run reuses the report inside its version folder, byte for byte. Otherwise the
    report compares the build with the latest version in ``dist_dir``, when there is one.
    """
    release = None if outcome.report else compare_with_release(build, dist_dir)
    return write_run_report(build, outcome, run, reports_dir, release=release)


def release_comparison(version: str, changes: Changes | None, version_dir: Path) -> dict:
    """What changed since published ``version``: its data diff (None when not compared) and the
    fingerprints of the findings its report recorded."""
    try:
        recorded = json.loads((version_dir / "report.json").read_text(encoding="utf-8")).get("findings") or []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        recorded = []  # a version published before reports were kept
    return {
        "version": version,
        "changes": changes.to_dict() if changes is not None else None,
        "findings": [entry["fingerprint"] for entry in recorded if isinstance(entry, dict) and "fingerprint" in entry],
    }


def compare_with_release(build: Build, dist_dir: Path | None) -> dict | None:
    """The build against the latest version in ``dist_dir``; None when nothing is published there.

    A build with errors cannot become a package, so only its findings are compared.
    """
    package_dir = dist_dir / build.contracts.package.name if dist_dir is not None else None
    versions = list_versions(package_dir) if package_dir is not None else []
    if not versions:
        return None
    version_dir = package_dir / str(versions[-1])
    changes = None
    if not build.counts["error"]:
        with tempfile.TemporaryDirectory(prefix="ceasefire-compare-") as scratch:
            _, candidate = _candidate(build, Path(scratch), _UNDATED)
            changes = compare(snapshot_from_folder(version_dir), candidate)
    return release_comparison(str(versions[-1]), changes, version_dir)


# The creation time of a package that is only compared, never written.
_UNDATED = "1970-01-01T00:00:00Z"


def publish(
    build: Build,
    dist_dir: Path,
    *,
    lock_timeout: float = 900.0,
    now: dt.datetime | None = None,
    run: RunInfo | None = None,
    removals: list[Removal] | None = None,
    parts: TableParts | None = None,
) -> Outcome:
    """Publish ``build`` as the next version, or report it unchanged or failed. Never overwrites.

    Under the publish lock: clear what a killed run left, write the CSV forms into a hidden stage
    folder and compare them with the latest version, write the other forms and files beside them,
    read the typed forms back and validate the stage while a thread zips it, rename it into place,
    then refresh the downloads (zip, latest.json, CHANGELOG.md, catalog) from the version folders.
    The version folder carries the report of ``run`` (report.json and report.html). A row of the
    latest version that the build lacks blocks publishing unless ``removals`` approves it.

    Raises :class:`OutputLocationError` when ``dist_dir`` cannot be written before the version is
    in place. Once it is, a failure to refresh the downloads is reported in the outcome's message
    and repaired by the next run: a published version is never followed by a failure.

    ``parts`` hands over CSV and JSON Lines files already rendered in row ranges (:func:`data_files`).
    """
    rows = {name: len(e.frame) for name, e in build.extractions.items()}
    if build.counts["error"]:
        return Outcome("failed", None, build.findings, rows, message=plural(build.counts["error"], "validation error"))
    check_output_location(dist_dir)
    try:
        return _publish_locked(build, dist_dir, lock_timeout, now, run, removals or [], rows, parts)
    except OSError as error:
        where = error.filename or dist_dir
        raise OutputLocationError(str(where), f"cannot be written: {error.strerror or error}; nothing published") from None


def _publish_locked(
    build: Build, dist_dir: Path, lock_timeout: float, now: dt.datetime | None, run: RunInfo | None,
    removals: list[Removal], rows: dict[str, int], parts: TableParts | None,
) -> Outcome:
    package_dir = dist_dir / build.contracts.package.name
    created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    with publish_lock(dist_dir, lock_timeout):
        pause_point("locked")
        clear_leftovers(dist_dir)  # a temporary catalog.json or index.html
        clear_leftovers(package_dir)
        # The data files are rendered straight into the stage, under the lock: a concurrent run
        # clears leftovers only once it holds the lock, so it never removes this one.
        stage = open_stage(package_dir)
        with ZipAhead(package_dir) as zip_ahead:  # its thread ends and its temporary file goes with the run
            try:
                # Their threads have ended when the block is left.
                with formats.ReadBack() as read_back, Beside[CsvFormsChecked]("package-check") as csv_check:
                    ahead = _Ahead(zip_ahead, read_back, csv_check)
                    outcome = _publish_staged(build, dist_dir, package_dir, stage, created, run, removals, rows, parts, ahead)
            finally:  # unchanged, failed or interrupted: the stage goes, under whichever name it has by then
                zip_ahead.stop()  # the zip of the stage, if still being built, no longer reads from it
                for leftover in staged_folders(package_dir, stage):
                    shutil.rmtree(leftover, ignore_errors=True)
            if outcome.status != "failed":
                prebuilt = zip_ahead.wait()
                if outcome.status == "published" and prebuilt is None and zip_ahead.error is not None:
                    error = zip_ahead.error
                    outcome.message += (f"; the zip built beside the checks failed ({getattr(error, 'strerror', None) or error}), "
                                        "so it was built after the promotion")  # fmt: skip
                outcome.message += _refresh_finishing_touches(dist_dir, build, prebuilt)
    return outcome


class _Ahead(NamedTuple):
    """The work publishing does on threads beside its own, each started as soon as what it reads is written."""

    zip: ZipAhead  # the version's zip, from the staged folder, while the stage is checked
    read_back: formats.ReadBack  # the typed files read back, while the rest of the version is staged
    csv_check: Beside[CsvFormsChecked]  # the CSV forms checked, from when they and their twins are written


def _publish_staged(
    build: Build, dist_dir: Path, package_dir: Path, stage: Path, created: str, run: RunInfo | None,
    removals: list[Removal], rows: dict[str, int], parts: TableParts | None, ahead: _Ahead,
) -> Outcome:
    """Compare the build with the latest version, stage it in ``stage`` and promote it (under the lock),
    with the work of ``ahead`` beside."""
    staged = _stage_release(build, package_dir, stage, created, run, removals, rows, parts, ahead)
    if isinstance(staged, Outcome):  # unchanged, or rows removed without review
        return staged
    ahead.zip.start(staged.folder, staged.version)
    # What the release was compared and staged with (changes, the report's files) is gone by now: the
    # rest of the package check has that memory (its CSV forms were checked in ahead.csv_check).
    frames = _table_frames(build, staged.files)
    mismatches = ahead.read_back.result()
    if mismatches:  # a bug in a writer, not in the data: nothing is published
        raise formats.FormatMismatch("; ".join(mismatches))
    package_findings = validate_written_package(staged.folder, frames, ahead.csv_check)
    if package_findings:
        findings = sort_findings(build.findings + package_findings)
        return Outcome("failed", None, findings, rows, message=plural(len(package_findings), "frictionless error"))
    ahead.zip.wait()  # it reads the stage's files by their paths, which the promotion changes
    target = package_dir / str(staged.version)
    promote(staged.folder, target)
    pause_point("promoted")
    return Outcome("published", str(staged.version), build.findings, rows, path=target, bump=staged.kind,
                   message=staged.message, report=staged.report)  # fmt: skip


class _Staged(NamedTuple):
    folder: Path
    files: list[DataFile]
    version: Version
    kind: str
    message: str
    report: dict


def _table_frames(build: Build, files: list[DataFile]) -> dict[str, pd.DataFrame]:
    """The frame each table resource of ``files`` (CSV forms and twins) was written from."""
    return {file.resource: build.extractions[file.resource.removesuffix("-json")].frame for file in files if file.schema is not None}


def _stage_release(
    build: Build, package_dir: Path, stage: Path, created: str, run: RunInfo | None,
    removals: list[Removal], rows: dict[str, int], parts: TableParts | None, ahead: _Ahead,
) -> _Staged | Outcome:
    """Compare the build with the latest version and write every file of the next one into ``stage``;
    the outcome instead when nothing is to be published. Once the CSV forms and their twins are
    written, a large package's are checked in ``ahead.csv_check``; once the typed files are, they
    are read back in ``ahead.read_back``."""
    files, candidate = _candidate(build, stage, created, parts)
    versions = list_versions(package_dir)
    approved: list[Removal] = []
    if versions:
        latest = versions[-1]
        previous = snapshot_from_folder(package_dir / str(latest))
        changes = compare(previous, candidate)
        if changes.empty:
            return Outcome("unchanged", str(latest), build.findings, rows, path=package_dir / str(latest),
                           message=f"content unchanged since {latest}; nothing published")  # fmt: skip
        removed, approved = check_removals(changes, previous, str(latest), removals)
        if removed:
            findings = sort_findings(build.findings + removed)
            return Outcome("failed", None, findings, rows, message=f"{len(removed)} published rows removed without review")
        kind, version = changes.bump, latest.bump(changes.bump)
        corrections = corrections_added(previous, candidate)
    else:
        latest, changes, kind, version = None, initial_changes(candidate, _row_keys(build, candidate)), "initial", FIRST_VERSION
        corrections = candidate.metadata.get("corrections") or []
    # Named after the version before the files are read back, since the reading follows their paths.
    stage = name_stage(package_dir, version, stage)

    def check_ahead(tables: list[DataFile]) -> None:
        if is_large(_table_frames(build, tables)):
            ahead.csv_check.start(check_csv_forms, stage, [file.descriptor() for file in tables])

    files = data_files(build, stage, files, parts, when_rendered=check_ahead)
    give_back()  # what rendering freed, before the version's other files are made
    # After the check of the CSV forms, if one runs: together they held ~100 MB more at 1M rows under Prefect.
    ahead.read_back.start(stage, {file.resource: file.schema for file in files if file.schema is not None and file.format == "csv"},
                          after=ahead.csv_check)  # fmt: skip
    descriptor = package_descriptor(build, files, version, created)
    message = f"published {version} ({kind})"
    release = release_comparison(str(latest), changes, package_dir / str(latest)) if latest else None
    report = build_report(build, str(version), run=run, outcome="published", message=message, release=release)
    record = changes_record(changes, version, latest, kind, created, corrections)
    if approved:
        record["removals_approved"] = [removal.to_dict() for removal in approved]
    contents = {"datapackage.json": json_bytes(descriptor)}
    contents.update(report_files(report, build.findings))
    contents[CHANGES_FILE] = json_chunks(record)  # pieces: a first release lists every id (+558 MB at 3M rows joined at once)
    contents.update(bundle_files(descriptor, build.corpus, build.contracts.schemas_dir))
    listed = sorted([*contents, *(file.path for file in files)])
    contents["README.md"] = render_version_readme(descriptor, report, record, build.contracts.package, listed).encode("utf-8")
    staged = stage_version(package_dir, version, contents, stage)
    # What staging freed (the changes record and the report's rows file, rendered in pieces): at 10M rows
    # ~190 MB held on, under the read-back and the zip that start now (docs/BENCHMARKS.md, round 15).
    give_back()
    pause_point("staged")
    return _Staged(staged, files, version, kind, message, report)


def _row_keys(build: Build, candidate: Snapshot) -> dict[str, Sequence[str]]:
    """Each table's row keys in row order as its CSV form holds them, where the key is one text field:
    the build's column itself (a missing key as the empty text), not a copy read back from the file.

    The CSV form is written from that column, text for text, and a build with a repeated key does
    not publish (the ``unique`` rule is an error). Other keys are read from the file."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from ceasefire.contracts.schema import row_key_of
    from ceasefire.publish.serialize import TextList

    keys: dict[str, Sequence[str]] = {}
    for name, resource in candidate.resources.items():
        key, extraction = row_key_of(resource.schema), build.extractions.get(name)
        if extraction is None or len(key) != 1 or key[0] not in extraction.frame.columns:
            continue
        column = extraction.frame[key[0]]
        if not (isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"):
            continue
        texts = pa.chunked_array(pa.array(column.array))  # the column's own buffers
        keys[name] = TextList(pc.fill_null(texts, "") if texts.null_count else texts)
    return keys


def _refresh_finishing_touches(dist_dir: Path, build: Build, prebuilt_zip: PrebuiltZip | None) -> str:
    """Refresh the downloads; on a filesystem error say so instead of failing (the next run repairs them).

    ``prebuilt_zip``: the new version's zip, built ahead; without it, the zip is built now."""
    try:
        refresh_downloads(dist_dir, build.contracts.package, prebuilt_zip)
    except OSError as error:
        return (f"; the downloads (zip, latest.json, CHANGELOG.md, catalog) could not be refreshed "
                f"({error.filename or dist_dir}: {error.strerror or error}): the next run completes them")  # fmt: skip
    return ""


def run(
    raw_dir: Path, dist_dir: Path, schemas_dir: Path | None = None, reports_dir: Path | None = None, *,
    corrections_file: Path | None = None, removals_file: Path | None = None, lock_timeout: float = 900.0,
) -> Outcome:
    """Extract, validate and publish without any orchestrator; write the run's report if asked."""
    for folder in (dist_dir, reports_dir):
        if folder is not None:
            check_output_location(folder)
    removals = load_removals(removals_file or default_removals_file(raw_dir))
    build = build_dataset(raw_dir, schemas_dir, corrections_file)
    if reports_dir is None:
        return publish(build, dist_dir, lock_timeout=lock_timeout, removals=removals)
    info = start_run("publish", reports_dir, DEFAULT_ACKNOWLEDGEMENTS)
    outcome = publish(build, dist_dir, lock_timeout=lock_timeout, run=info, removals=removals)
    write_report(build, outcome, info, reports_dir, dist_dir)
    return outcome
