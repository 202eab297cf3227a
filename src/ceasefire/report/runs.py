"""The report of a pipeline run, built from what the run extracted, found and published."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ceasefire.contracts.vocabularies import default_schemas_dir
from ceasefire.errors import RawInputError
from ceasefire.findings import Finding
from ceasefire.publish.publishing import Rendered, file_blocks
from ceasefire.report.build import (
    ReportInputs, RunInfo, input_error_finding, report_file_names, report_files, start_run, write_run_report,
)  # fmt: skip
from ceasefire.report.build import build_report as build_run_report

if TYPE_CHECKING:
    from ceasefire.pipeline import Build, Outcome


def build_report(
    build: Build,
    version: str | None,
    *,
    run: RunInfo | None = None,
    outcome: str = "validated",
    message: str = "",
    findings: list[Finding] | None = None,
    release: dict | None = None,
) -> dict:
    """The report of a run over ``build`` (format in docs/REPORTS.md).

    ``findings`` replaces the build's own when publishing added frictionless findings; ``release``
    is what changed since the last published version (``pipeline.release_comparison``).
    """
    inputs = ReportInputs(
        findings=build.findings if findings is None else findings,
        schemas_dir=build.contracts.schemas_dir,
        corpus=build.corpus,
        extractions=build.extractions,
        release=release,
    )
    run = run or start_run("library")
    report = build_run_report(inputs, run, outcome=outcome, version=version, message=message)
    report["corrections_applied"] = [applied.to_dict() for applied in build.corrections]
    return report


def write_report(build: Build, outcome: Outcome, run: RunInfo, reports_dir: Path, *, release: dict | None = None) -> Path:
    """Write the run's report into ``reports_dir`` (a run folder plus ``latest/``); return the folder.

    A published run reuses the report inside its version folder, byte for byte: its files are
    copied from there, not rendered again (the rows file may name millions of rows).
    """
    report = outcome.report or build_report(
        build, outcome.version, run=run, outcome=outcome.status, message=outcome.message, findings=outcome.findings,
        release=release,
    )
    if outcome.report and outcome.path is not None:
        files = {name: Rendered(partial(file_blocks, outcome.path / name)) for name in report_file_names(report)}
    else:
        files = report_files(report, outcome.findings)
    return write_run_report(reports_dir, run.run_id, files, run.started)


def write_input_error_report(error: RawInputError, run: RunInfo, reports_dir: Path, schemas_dir: Path | None = None) -> Path:
    """The failed report of a run whose raw input could not be used at all (exit code 2)."""
    inputs = ReportInputs(findings=[input_error_finding(error)], schemas_dir=schemas_dir or default_schemas_dir())
    report = build_run_report(inputs, run, outcome="failed", message=f"unusable input: {error}")
    return write_run_report(reports_dir, run.run_id, report_files(report), run.started)




def write_traceback(reports_dir: Path, run_id: str, text: str) -> Path | None:
    """Save the traceback of a bug into the run's report folder; None when even that fails."""
    path = reports_dir / "runs" / run_id / "traceback.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return path
