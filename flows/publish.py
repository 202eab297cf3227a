"""The ``publish-dataset`` flow: extract, validate and publish as Prefect tasks.

Tasks are thin: each calls one function of the ``ceasefire`` package and adds only orchestration:
logging, retries with backoff for filesystem hiccups, cached results keyed on content and code
(``flows/caching.py``), artifacts and the ``ceasefire.package.published`` event.

Reading, extracting and validating are cached: a re-run on unchanged input, or after a crash,
reuses their persisted results. These tasks hand each other references (``flows/references.py``):
the raw files by path and checksum, each build as Arrow files in a folder named by its cache key;
Prefect persists only the references. Publishing is never cached: it always looks at ``dist/`` under the
publish lock, and reports ``unchanged`` when the latest version already holds the same data.
Every run, failed or not, writes its report (docs/REPORTS.md) and publishes three artifacts with
stable keys: the run summary, the table of findings and a link to report.html.
"""

from __future__ import annotations

import json
import traceback
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE, TASK_SOURCE, CacheKeyFnPolicy
from prefect.context import FlowRunContext
from prefect.events import emit_event
from prefect.states import Failed, State
from prefect.utilities.annotations import quote

from ceasefire import PACKAGE_NAME, pipeline
from ceasefire.plurals import plural
from ceasefire.validate.corrections import default_corrections_file, load_corrections
from ceasefire.validate.removals import Removal, default_removals_file, load_removals
from ceasefire.errors import InternalError, OutputLocationError, PublishLockTimeout, RawInputError
from ceasefire.report.build import DEFAULT_ACKNOWLEDGEMENTS, RunInfo, findings_table, report_url, start_run
from ceasefire.findings import Finding
from ceasefire.publish.markdown import markdown_text
from ceasefire.publish.publishing import publish_lock
from ceasefire.extract.raw import load_provenance, read_raw_document
from ceasefire.contracts.vocabularies import load_contracts
from flows.caching import key_build, key_raw_document
from flows.references import BuildRef, CorpusRef, DocumentRef, retaining, store_build, task_cache_key
from flows.partitions import partition_scratch, render_partitions
from flows.runners import TaskRunnerName, build_task_runner, retry_on_filesystem_error

SUMMARY_ARTIFACT_KEY = "ceasefire-run-summary"
FINDINGS_ARTIFACT_KEY = "ceasefire-findings"
REPORT_LINK_ARTIFACT_KEY = "ceasefire-report"
PUBLISHED_EVENT = "ceasefire.package.published"
# How long a run waits for another run's publish before giving up (exit code 3).
PUBLISH_LOCK_TIMEOUT_SECONDS = 900.0


class ValidationFailed(Exception):
    """The build has errors; nothing was published. Carries the outcome for the caller.

    The message, which Prefect shows as the Failed state's message, starts with the error count.
    """

    def __init__(self, outcome: pipeline.Outcome, report: str | None = None):
        self.outcome = outcome
        self.report = report
        counts = outcome.counts
        message = f"{plural(counts['error'], 'validation error')}, {plural(counts['warning'], 'warning')}; nothing published"
        super().__init__(message + (f"; report: {report}" if report else ""))

    def __reduce__(self):
        return ValidationFailed, (self.outcome, self.report)


@task(
    name="read-raw-document", retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=retry_on_filesystem_error,
    cache_policy=TASK_SOURCE + CacheKeyFnPolicy(cache_key_fn=key_raw_document), persist_result=True,
)  # fmt: skip
def read_document_task(raw_dir: Path, entry: dict) -> DocumentRef:
    document = read_raw_document(raw_dir, entry)
    get_run_logger().info("read %s (%s): %d lines, sha256 %s", document.name, document.role, len(document.lines), document.sha256[:12])
    return DocumentRef.of(raw_dir, entry, document)


@task(
    name="extract", retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=retry_on_filesystem_error,
    cache_policy=TASK_SOURCE + CacheKeyFnPolicy(cache_key_fn=key_build), persist_result=True,
)  # fmt: skip
def extract_task(corpus: CorpusRef, schemas_dir: Path | None) -> BuildRef:
    logger = get_run_logger()
    contracts = load_contracts(schemas_dir)
    raw = corpus.load()
    extractions = pipeline.extract(raw, contracts)
    for name, extraction in extractions.items():
        logger.info("extracted %d %s rows from %s", len(extraction.frame), name, " / ".join(extraction.section))
    return store_build(pipeline.Build(corpus=raw, contracts=contracts, extractions=extractions), corpus, task_cache_key())


@task(name="validate", cache_policy=TASK_SOURCE + CacheKeyFnPolicy(cache_key_fn=key_build), persist_result=True)
def validate_task(extracted: BuildRef, corrections_file: Path) -> BuildRef:
    logger = get_run_logger()
    corrections = load_corrections(corrections_file)
    built = extracted.load()
    build = pipeline.validate(built.corpus, built.contracts, built.extractions, corrections)
    for applied in build.corrections:
        logger.info("applied correction to %s %s.%s", applied.correction.resource, applied.correction.id, applied.correction.field)
    # One line, not one per finding: the command line prints each finding once, and the findings
    # artifact and report.html list them all.
    logger.info("validation %s: %d errors, %d warnings", build.status, build.counts["error"], build.counts["warning"])
    # A frame validation did not change (no corrections) is linked from the extracted build, not written again.
    unchanged = {name: extracted.frame_file(name) for name, e in build.extractions.items()
                 if name in built.extractions and e.frame is built.extractions[name].frame}  # fmt: skip
    return store_build(build, extracted.corpus, task_cache_key(), unchanged=unchanged)


def _submit_build_task(runner, build_task, parameters: dict) -> BuildRef:
    """Run a task that stores a build; if its cached result points at a folder since deleted, run it again."""
    ref = runner.submit(build_task, parameters).result()
    if not ref.is_stored():
        get_run_logger().warning("the build stored for %s is gone (%s); running it again", build_task.name, ref.folder)
        ref = runner.submit(build_task.with_options(refresh_cache=True), parameters).result()
    return ref


def _publish_lock_is_held(dist_dir: Path) -> bool:
    try:
        with publish_lock(dist_dir, timeout=0):
            return False
    except PublishLockTimeout:
        return True


@task(
    name="publish", retries=2, retry_delay_seconds=[2, 8], retry_condition_fn=retry_on_filesystem_error,
    cache_policy=NO_CACHE, persist_result=False,
)  # fmt: skip
def publish_task(
    build: pipeline.Build, dist_dir: Path, run: RunInfo, removals: list[Removal] | None = None, parts: pipeline.TableParts | None = None
) -> pipeline.Outcome:
    logger = get_run_logger()
    # A build with errors never touches dist/, not even to look at the lock.
    waited = not build.counts["error"] and _publish_lock_is_held(dist_dir)
    if waited:
        logger.warning(
            "another run is publishing into %s; waiting up to %.0f s for it to finish, then comparing with what it published",
            dist_dir, PUBLISH_LOCK_TIMEOUT_SECONDS,
        )  # fmt: skip
    outcome = pipeline.publish(build, dist_dir, lock_timeout=PUBLISH_LOCK_TIMEOUT_SECONDS, run=run, removals=removals, parts=parts)
    if waited and outcome.status == "unchanged":
        logger.info("the other run already published these inputs as %s; this run publishes nothing", outcome.version)
    logger.info(outcome.message)
    if outcome.status == "published":
        _emit_published_event(outcome)
    return outcome


def _emit_published_event(outcome: pipeline.Outcome) -> None:
    """Tell downstream automations that a version exists (``ceasefire.package.published``)."""
    emit_event(
        event=PUBLISHED_EVENT,
        resource={
            "prefect.resource.id": f"ceasefire.package.{PACKAGE_NAME}",
            "prefect.resource.name": PACKAGE_NAME,
            "ceasefire.version": str(outcome.version),
            "ceasefire.bump": str(outcome.bump),
        },
        payload={
            "version": outcome.version,
            "bump": outcome.bump,
            "path": str(outcome.path),
            "rows": outcome.rows,
            "warnings": outcome.counts["warning"],
        },
    )




@task(name="write-report", cache_policy=NO_CACHE)
def write_report_task(
    build: pipeline.Build, outcome: pipeline.Outcome, run: RunInfo, reports_dir: Path, dist_dir: Path | None = None
) -> Path:
    folder = pipeline.write_report(build, outcome, run, reports_dir, dist_dir)
    get_run_logger().info("report: %s", report_url(folder / "report.html"))
    return folder


def publish_report_artifacts(folder: Path) -> dict:
    """The findings table and the link to report.html, under stable keys; returns the report."""
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    create_table_artifact(
        key=FINDINGS_ARTIFACT_KEY,
        table=findings_table(report),
        description=f"Findings of run {report['run']['id']}: {report['status']}",
    )
    create_link_artifact(
        key=REPORT_LINK_ARTIFACT_KEY,
        link=report_url(folder / "report.html"),
        link_text=f"Validation report of run {report['run']['id']} ({report['status']})",
        description="The HTML report on this machine's disk; open it in a browser.",
    )
    return report


def summary_markdown(outcome: pipeline.Outcome, report: dict | None = None, report_link: str | None = None) -> str:
    """The run summary shown as a Prefect artifact."""
    lines = [
        f"# Ceasefire dataset run: {outcome.status}",
        "",
        f"- **Version:** {outcome.version or 'none published'}" + (f" ({outcome.bump})" if outcome.bump else ""),
        f"- **Message:** {markdown_text(outcome.message)}",
        f"- **Findings:** {plural(outcome.counts['error'], 'error')}, {plural(outcome.counts['warning'], 'warning')}",
    ]
    if report is not None:
        counts = report["counts"]
        lines.append(f"- **Since the previous run:** {counts['new']} new, {counts['resolved']} resolved, "
                     f"{counts['acknowledged']} acknowledged")  # fmt: skip
    if report_link:
        lines.append(f"- **Report:** [{report_link}]({report_link})")
    lines += [
        "",
        "| resource | rows |",
        "|---|---|",
        *[f"| {name} | {count} |" for name, count in outcome.rows.items()],
    ]
    if outcome.findings:
        lines += ["", "| severity | rule | where | row | column | value |", "|---|---|---|---|---|---|"]
        lines += [_finding_row(finding) for finding in outcome.findings[:50]]
        if len(outcome.findings) > 50:
            lines.append(f"\n… and {len(outcome.findings) - 50} more; see report.json")
    return "\n".join(lines) + "\n"


def _finding_row(finding: Finding) -> str:
    cells = [finding.severity, finding.rule, finding.location, finding.row_id or "", finding.column or "", finding.value or ""]
    return "| " + " | ".join(markdown_text(cell) for cell in cells) + " |"


# Failures a user can fix: the flow ends Failed with their one-line message, no traceback.
EXPECTED_FAILURES = (RawInputError, OutputLocationError, PublishLockTimeout)


@flow(name="publish-dataset", log_prints=True)
def publish_dataset(
    raw_dir: str = "raw",
    dist_dir: str = "dist",
    schemas_dir: str | None = None,
    reports_dir: str = "reports",
    acknowledgements: str = str(DEFAULT_ACKNOWLEDGEMENTS),
    corrections_file: str | None = None,
    task_runner: TaskRunnerName = "threads",
    dask_address: str | None = None,
    dask_workers: int = 2,
) -> pipeline.Outcome:
    """Extract the raw text, validate it with both engines, publish a versioned package and report.

    ``task_runner`` runs reading, extraction and validation in a thread pool (``threads``) or on
    Dask (``dask``: a LocalCluster of ``dask_workers`` processes, or the scheduler at
    ``dask_address``); on Dask the workers also render the rows of a big table, range by range
    (``flows/partitions.py``). Publishing runs in the flow's own process, next to ``dist_dir``.

    An expected failure (validation errors, unusable input, an unwritable output folder, a held
    lock) ends the run Failed with a one-line message and no traceback; the exception it carries
    (:class:`ValidationFailed`, :class:`RawInputError`, ...) is raised to a caller that asks for the
    result. Any other exception is a bug: its traceback goes to ``traceback.txt`` in the run's
    report folder, and the run fails with :class:`InternalError`.
    """
    reports = Path(reports_dir)
    try:
        for folder in (Path(dist_dir), reports):
            pipeline.check_output_location(folder)
        run = start_run("publish", reports, Path(acknowledgements))
    except EXPECTED_FAILURES as error:
        return _failed(error, str(error))
    try:
        return _publish_dataset(run, Path(raw_dir), Path(dist_dir), schemas_dir, reports, corrections_file,
                                task_runner, dask_address, dask_workers)  # fmt: skip
    except EXPECTED_FAILURES as error:
        return _failed(error, str(error))
    except Exception as error:  # a bug in our code, not in the input
        saved = pipeline.write_traceback(reports, run.run_id, traceback.format_exc())
        failure = InternalError(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
                                str(saved) if saved else None)  # fmt: skip
        return _failed(failure, str(failure))


def _failed(error: Exception, message: str) -> State:
    """The run's Failed state: its one-line message, and the exception for a caller that asks."""
    return Failed(message=message.splitlines()[0] if message else type(error).__name__, data=error)


def _publish_dataset(
    run: RunInfo, raw_dir: Path, dist_dir: Path, schemas_dir: str | None, reports_dir: Path,
    corrections_file: str | None, task_runner: TaskRunnerName, dask_address: str | None, dask_workers: int,
) -> pipeline.Outcome | State:
    schemas = Path(schemas_dir) if schemas_dir else None
    corrections = Path(corrections_file) if corrections_file else default_corrections_file(raw_dir)
    api_url = FlowRunContext.get().client.api_url
    # The parts of big tables rendered by Dask workers live here until publishing has joined them.
    with partition_scratch() as scratch:
        try:
            provenance = load_provenance(raw_dir)
            removals = load_removals(default_removals_file(raw_dir))
            with retaining(), build_task_runner(task_runner, dask_address, dask_workers, api_url=str(api_url)) as runner:
                documents = runner.map(read_document_task, {"raw_dir": unmapped(raw_dir), "entry": provenance["files"]}).result()
                # Cache keys hash content, not paths: a cached reference is pointed at this run's raw folder.
                corpus = CorpusRef(documents=tuple(d.at(raw_dir) for d in documents), provenance=provenance)
                extracted = _submit_build_task(runner, extract_task, {"corpus": corpus, "schemas_dir": schemas}).with_corpus(corpus)
                validated = _submit_build_task(runner, validate_task, {"extracted": extracted, "corrections_file": corrections}).with_corpus(corpus)
                build = validated.load()
                # On Dask the rows of a big table are rendered by the workers, range by range (flows/partitions.py);
                # a build with errors publishes nothing.
                partitioned = task_runner == "dask" and not build.counts["error"]
                parts = render_partitions(runner, validated, build, scratch) if partitioned else {}
        except RawInputError as error:
            publish_report_artifacts(pipeline.write_input_error_report(error, run, reports_dir, schemas))
            return _failed(error, f"unusable input: {error}")
        # quote: Prefect would otherwise walk every object of a task's parameters looking for futures,
        # the raw corpus's lines one by one (about 10 s per million lines; docs/BENCHMARKS.md).
        outcome = publish_task(quote(build), dist_dir, run, removals, parts)
    try:
        folder = write_report_task(quote(build), quote(outcome), run, reports_dir, dist_dir)
    except OSError as error:
        if outcome.status != "published":
            raise OutputLocationError(str(error.filename or reports_dir), f"cannot be written: {error.strerror or error}") from None
        # The version is in place: say what is missing rather than fail a run that published.
        get_run_logger().warning("the run's report could not be written (%s); the version's own report.json has it", error)
        return outcome
    report = publish_report_artifacts(folder)
    link = report_url(folder / "report.html")
    create_markdown_artifact(key=SUMMARY_ARTIFACT_KEY, markdown=summary_markdown(outcome, report, link), description="Run summary")
    if outcome.status == "failed":
        failure = ValidationFailed(outcome, link)
        return _failed(failure, str(failure))
    return outcome
