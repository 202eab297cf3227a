"""The three beats of a run: extract, validate, publish. Plain functions, no orchestration.

The Prefect flow in ``flows/`` calls these same functions as tasks; tests and scripts can call
them directly.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import PACKAGE_NAME
from .findings import Finding, count_by_severity, sort_findings
from .publishing import (
    FIRST_VERSION,
    DataFile,
    Version,
    bump_kind,
    clear_leftovers,
    list_versions,
    promote,
    publish_lock,
    read_descriptor,
    replace_durably,
    same_content,
    stage_version,
)
from .raw import RawCorpus, read_raw_dir
from .serialize import render_csv, render_jsonl
from .events import extract_events
from .validation import run_frictionless, validate_across, validate_extraction
from .violations import Extraction, extract_violations
from .vocabularies import Contracts, load_contracts

REPORT_FORMAT_VERSION = "1.0"
LICENSE = {
    "name": "CC-BY-SA-4.0",
    "path": "https://creativecommons.org/licenses/by-sa/4.0/",
    "title": "Creative Commons Attribution Share-Alike 4.0",
}
ARTICLE_URL = "https://en.wikipedia.org/wiki/Peacekeeping_operations_in_Nagorno-Karabakh"


@dataclass
class Build:
    """Everything a run extracted and found, before anything is written."""

    corpus: RawCorpus
    contracts: Contracts
    extractions: dict[str, Extraction]
    findings: list[Finding] = field(default_factory=list)

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


def validate(corpus: RawCorpus, contracts: Contracts, extractions: dict[str, Extraction]) -> Build:
    findings: list[Finding] = []
    for extraction in extractions.values():
        findings.extend(validate_extraction(extraction, contracts))
    findings.extend(validate_across(corpus, contracts, extractions))
    return Build(corpus=corpus, contracts=contracts, extractions=extractions, findings=sort_findings(findings))


def build_dataset(raw_dir: Path, schemas_dir: Path | None = None) -> Build:
    """Extract and validate; writes nothing."""
    contracts = load_contracts(schemas_dir)
    corpus = read_raw_dir(raw_dir)
    return validate(corpus, contracts, extract(corpus, contracts))


def data_files(build: Build) -> list[DataFile]:
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
    for package in ("frictionless", "pandera", "pandas", "prefect"):
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


def build_report(build: Build, version: str | None) -> dict:
    """The machine-readable findings of a run (format documented in the README)."""
    return {
        "report_format": REPORT_FORMAT_VERSION,
        "package": PACKAGE_NAME,
        "version": version,
        "status": build.status,
        "counts": build.counts,
        "rows": {name: len(e.frame) for name, e in build.extractions.items()},
        "findings": [finding.to_dict() for finding in build.findings],
    }


def package_descriptor(build: Build, files: list[DataFile], version: Version, created: str) -> dict:
    corpus = build.corpus
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": PACKAGE_NAME,
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
    }


def publish(build: Build, dist_dir: Path, *, lock_timeout: float = 900.0, now: dt.datetime | None = None) -> Outcome:
    """Publish ``build`` as the next version, or report it unchanged or failed. Never overwrites."""
    rows = {name: len(e.frame) for name, e in build.extractions.items()}
    if build.counts["error"]:
        return Outcome("failed", None, build.findings, rows, message=f"{build.counts['error']} validation errors")
    files = data_files(build)
    package_dir = dist_dir / PACKAGE_NAME
    with publish_lock(dist_dir, lock_timeout):
        clear_leftovers(package_dir)
        versions = list_versions(package_dir)
        if versions:
            latest = versions[-1]
            descriptor = read_descriptor(package_dir, latest)
            if same_content(descriptor, files):
                return Outcome("unchanged", str(latest), build.findings, rows, path=package_dir / str(latest),
                               message=f"inputs unchanged since {latest}; nothing published")  # fmt: skip
            kind = bump_kind(descriptor, files, _ids(build), _published_ids(package_dir / str(latest), descriptor))
            version = latest.bump(kind)
        else:
            kind, version = "initial", FIRST_VERSION
        created = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        contents = {file.path: file.content for file in files}
        contents["datapackage.json"] = _json_bytes(package_descriptor(build, files, version, created))
        contents["report.json"] = _json_bytes(build_report(build, str(version)))
        stage = stage_version(package_dir, version, contents)
        frames = {file.resource: build.extractions[file.resource.removesuffix("-json")].frame for file in files}
        package_findings = run_frictionless(stage, frames)
        if package_findings:
            import shutil

            shutil.rmtree(stage)
            findings = sort_findings(build.findings + package_findings)
            return Outcome("failed", None, findings, rows, message=f"{len(package_findings)} frictionless errors")
        target = package_dir / str(version)
        promote(stage, target)
        replace_durably(package_dir / "latest.json", _json_bytes({"name": PACKAGE_NAME, "version": str(version), "path": f"{version}/datapackage.json"}))
    return Outcome("published", str(version), build.findings, rows, path=target, bump=kind,
                   message=f"published {version} ({kind})")  # fmt: skip


def _ids(build: Build) -> dict[str, set[str]]:
    return {name: set(map(str, e.frame.iloc[:, 0])) for name, e in build.extractions.items()}


def _published_ids(version_dir: Path, descriptor: dict) -> dict[str, set[str]]:
    import csv

    ids: dict[str, set[str]] = {}
    for resource in descriptor["resources"]:
        if resource["format"] == "csv":
            with (version_dir / resource["path"]).open(encoding="utf-8", newline="") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                ids[resource["name"]] = {row[0] for row in reader if row}
    return ids


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def run(raw_dir: Path, dist_dir: Path, schemas_dir: Path | None = None) -> Outcome:
    """Extract, validate and publish without any orchestrator."""
    return publish(build_dataset(raw_dir, schemas_dir), dist_dir)
