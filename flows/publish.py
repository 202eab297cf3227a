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
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE, TASK_SOURCE, CacheKeyFnPolicy
from prefect.context import FlowRunContext
from prefect.events import emit_event

from ceasefire import PACKAGE_NAME, pipeline
from ceasefire.validate.corrections import default_corrections_file, load_corrections
from ceasefire.errors import PublishLockTimeout, RawInputError
from ceasefire.report.build import DEFAULT_ACKNOWLEDGEMENTS, RunInfo, findings_table, report_url, start_run
from ceasefire.findings import Finding
from ceasefire.publish.publishing import publish_lock
from ceasefire.extract.raw import load_provenance, read_raw_document
from ceasefire.contracts.vocabularies import load_contracts
from flows.caching import key_build, key_raw_document
from flows.references import BuildRef, CorpusRef, DocumentRef, store_build, task_cache_key
from flows.runners import TaskRunnerName, build_task_runner

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
        message = f"{counts['error']} validation errors, {counts['warning']} warnings; nothing published"
        super().__init__(message + (f"; report: {report}" if report else ""))


def _retry_on_filesystem_error(task, task_run, state) -> bool:
    """Retry filesystem hiccups (OSError) only: bad input or a held lock is not fixed by retrying."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False


@task(
    name="read-raw-document", retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=_retry_on_filesystem_error,
    cache_policy=TASK_SOURCE + CacheKeyFnPolicy(cache_key_fn=key_raw_document), persist_result=True,
)  # fmt: skip
def read_document_task(raw_dir: Path, entry: dict) -> DocumentRef:
    document = read_raw_document(raw_dir, entry)
    get_run_logger().info("read %s (%s): %d lines, sha256 %s", document.name, document.role, len(document.lines), document.sha256[:12])
    return DocumentRef.of(raw_dir, entry, document)


@task(
    name="extract", retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=_retry_on_filesystem_error,
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
    logger.info("validation %s: %d errors, %d warnings", build.status, build.counts["error"], build.counts["warning"])
    for finding in build.findings:
        (logger.error if finding.severity == "error" else logger.warning)(finding.format())
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
    name="publish", retries=2, retry_delay_seconds=[2, 8], retry_condition_fn=_retry_on_filesystem_error,
    cache_policy=NO_CACHE, persist_result=False,
)  # fmt: skip
def publish_task(build: pipeline.Build, dist_dir: Path, run: RunInfo) -> pipeline.Outcome:
    logger = get_run_logger()
    # A build with errors never touches dist/, not even to look at the lock.
    waited = not build.counts["error"] and _publish_lock_is_held(dist_dir)
    if waited:
        logger.warning(
            "another run is publishing into %s; waiting up to %.0f s for it to finish, then comparing with what it published",
            dist_dir, PUBLISH_LOCK_TIMEOUT_SECONDS,
        )  # fmt: skip
    outcome = pipeline.publish(build, dist_dir, lock_timeout=PUBLISH_LOCK_TIMEOUT_SECONDS, run=run)
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
def write_report_task(build: pipeline.Build, outcome: pipeline.Outcome, run: RunInfo, reports_dir: Path) -> Path:
    folder = pipeline.write_report(build, outcome, run, reports_dir)
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
        f"- **Message:** {outcome.message}",
        f"- **Findings:** {outcome.counts['error']} errors, {outcome.counts['warning']} warnings",
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
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


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
    ``dask_address``). Publishing runs in the flow's own process, next to ``dist_dir``.
    """
    run = start_run("publish", Path(reports_dir), Path(acknowledgements))
    schemas = Path(schemas_dir) if schemas_dir else None
    corrections = Path(corrections_file) if corrections_file else default_corrections_file(Path(raw_dir))
    api_url = FlowRunContext.get().client.api_url
    try:
        provenance = load_provenance(Path(raw_dir))
        with build_task_runner(task_runner, dask_address, dask_workers, api_url=str(api_url)) as runner:
            documents = runner.map(read_document_task, {"raw_dir": unmapped(Path(raw_dir)), "entry": provenance["files"]}).result()
            # Cache keys hash content, not paths: a cached reference is pointed at this run's raw folder.
            corpus = CorpusRef(documents=tuple(d.at(Path(raw_dir)) for d in documents), provenance=provenance)
            extracted = _submit_build_task(runner, extract_task, {"corpus": corpus, "schemas_dir": schemas}).with_corpus(corpus)
            validated = _submit_build_task(runner, validate_task, {"extracted": extracted, "corrections_file": corrections}).with_corpus(corpus)
        build = validated.load()
    except RawInputError as error:
        publish_report_artifacts(pipeline.write_input_error_report(error, run, Path(reports_dir), schemas))
        raise
    outcome = publish_task(build, Path(dist_dir), run)
    folder = write_report_task(build, outcome, run, Path(reports_dir))
    report = publish_report_artifacts(folder)
    link = report_url(folder / "report.html")
    create_markdown_artifact(key=SUMMARY_ARTIFACT_KEY, markdown=summary_markdown(outcome, report, link), description="Run summary")
    if outcome.status == "failed":
        raise ValidationFailed(outcome, link)
    return outcome
