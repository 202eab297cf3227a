"""The ``publish-dataset`` flow: extract, validate and publish as Prefect tasks.

Tasks are thin: each calls one function of the ``ceasefire`` package and adds only logging,
retries and the run-summary artifact.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from ceasefire import pipeline
from ceasefire.corrections import default_corrections_file, load_corrections
from ceasefire.errors import RawInputError
from ceasefire.findings import Finding
from ceasefire.raw import RawCorpus, RawDocument, load_provenance, read_raw_document
from ceasefire.vocabularies import load_contracts

SUMMARY_ARTIFACT_KEY = "ceasefire-run-summary"


class ValidationFailed(Exception):
    """The build has errors; nothing was published. Carries the outcome for the caller."""

    def __init__(self, outcome: pipeline.Outcome):
        self.outcome = outcome
        super().__init__(f"{outcome.counts['error']} validation errors; nothing published")


def _retry_unless_input_error(task, task_run, state) -> bool:
    """Retry filesystem hiccups, never bad input: re-reading a bad file cannot fix it."""
    try:
        state.result()
    except RawInputError:
        return False
    except Exception:
        return True
    return False


@task(name="read-raw-document", retries=2, retry_delay_seconds=[1, 4], retry_condition_fn=_retry_unless_input_error)
def read_document_task(raw_dir: Path, entry: dict) -> RawDocument:
    document = read_raw_document(raw_dir, entry)
    get_run_logger().info("read %s (%s): %d lines, sha256 %s", document.name, document.role, len(document.lines), document.sha256[:12])
    return document


@task(name="extract")
def extract_task(corpus: RawCorpus, schemas_dir: Path | None) -> pipeline.Build:
    logger = get_run_logger()
    contracts = load_contracts(schemas_dir)
    extractions = pipeline.extract(corpus, contracts)
    for name, extraction in extractions.items():
        logger.info("extracted %d %s rows from %s", len(extraction.frame), name, " / ".join(extraction.section))
    return pipeline.Build(corpus=corpus, contracts=contracts, extractions=extractions)


@task(name="validate")
def validate_task(extracted: pipeline.Build, corrections_file: Path) -> pipeline.Build:
    logger = get_run_logger()
    corrections = load_corrections(corrections_file)
    build = pipeline.validate(extracted.corpus, extracted.contracts, extracted.extractions, corrections)
    for applied in build.corrections:
        logger.info("applied correction to %s %s.%s", applied.correction.resource, applied.correction.id, applied.correction.field)
    logger.info("validation %s: %d errors, %d warnings", build.status, build.counts["error"], build.counts["warning"])
    for finding in build.findings:
        (logger.error if finding.severity == "error" else logger.warning)(finding.format())
    return build


@task(name="publish", retries=2, retry_delay_seconds=[2, 8], retry_condition_fn=_retry_unless_input_error)
def publish_task(build: pipeline.Build, dist_dir: Path) -> pipeline.Outcome:
    logger = get_run_logger()
    outcome = pipeline.publish(build, dist_dir)
    logger.info(outcome.message)
    return outcome


def summary_markdown(outcome: pipeline.Outcome) -> str:
    """The run summary shown as a Prefect artifact."""
    lines = [
        f"# Ceasefire dataset run: {outcome.status}",
        "",
        f"- **Version:** {outcome.version or 'none published'}" + (f" ({outcome.bump})" if outcome.bump else ""),
        f"- **Message:** {outcome.message}",
        f"- **Findings:** {outcome.counts['error']} errors, {outcome.counts['warning']} warnings",
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
    raw_dir: str = "raw", dist_dir: str = "dist", schemas_dir: str | None = None, corrections_file: str | None = None
) -> pipeline.Outcome:
    """Extract the raw text, validate it with both engines and publish a versioned package."""
    provenance = load_provenance(Path(raw_dir))
    documents = read_document_task.map(Path(raw_dir), provenance["files"]).result()
    corpus = RawCorpus(documents=tuple(documents), provenance=provenance)
    extracted = extract_task(corpus, Path(schemas_dir) if schemas_dir else None)
    build = validate_task(extracted, Path(corrections_file) if corrections_file else default_corrections_file(Path(raw_dir)))
    outcome = publish_task(build, Path(dist_dir))
    create_markdown_artifact(key=SUMMARY_ARTIFACT_KEY, markdown=summary_markdown(outcome), description="Run summary")
    if outcome.status == "failed":
        raise ValidationFailed(outcome)
    return outcome
