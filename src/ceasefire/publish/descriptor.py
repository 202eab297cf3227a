"""What a version folder holds besides the report: its data files and ``datapackage.json``.

The data files are rendered from the extracted frames; each resource's schema and the package's
metadata come from the contract (``schemas/*.schema.json`` and ``schemas/package.json``).
"""

from __future__ import annotations

import itertools
import json
import platform
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

from ceasefire.contracts.vocabularies import Contracts
from ceasefire.extract.raw import RawCorpus
from ceasefire.extract.violations import Extraction
from ceasefire.publish.publishing import DataFile, TablePart, Version, read_parts, write_chunks
from ceasefire.publish.releases import CHANGES_FILE
from ceasefire.publish.serialize import TextList, csv_chunks, csv_header, csv_row_chunks, json_text_list, jsonl_chunks
from ceasefire.validate.formulas import RULE as FORMULA_RULE


def plan_table_files(extractions: dict[str, Extraction], contracts: Contracts) -> list[DataFile]:
    """The CSV and JSON Lines form of every resource, with its Table Schema, not yet written.

    The JSON Lines twin's foreign keys point at the JSON twins too, so frictionless checks each
    form against the same form.
    """
    files = []
    for name in extractions:
        schema = contracts.schema(name)
        title, description = schema.title or name, schema.description or ""
        files.append(DataFile(name, f"data/{name}.csv", "csv", "text/csv", schema.to_descriptor(), title, description))
        files.append(
            DataFile(f"{name}-json", f"data/{name}.jsonl", "jsonl", "application/jsonl",
                     schema.to_descriptor(reference_suffix="-json"), f"{title} (JSON Lines)", description)
        )  # fmt: skip
    return files


TABLE_RENDERERS = {"csv": csv_chunks, "jsonl": jsonl_chunks}
# What comes before the rows, and the rows alone: a table file is its head, then the rows of its
# row ranges in order (a row's bytes depend on that row alone).
TABLE_HEADS = {"csv": csv_header, "jsonl": lambda frame: b""}
ROW_RENDERERS = {"csv": csv_row_chunks, "jsonl": jsonl_chunks}


def write_table_file(
    file: DataFile, frame: pd.DataFrame, folder: Path, parts: Sequence[TablePart] = (), workers: int = 1
) -> DataFile:
    """Render a CSV or JSON Lines form into ``folder`` slice by slice, ``workers`` slices at once on
    as many threads; the file, written.

    With ``parts`` (the rendered rows of consecutive row ranges, :func:`write_table_part`) the rows
    are not rendered again: the file is its head followed by the parts, joined in order.
    """
    if parts:
        chunks = itertools.chain([TABLE_HEADS[file.format](frame)], read_parts(parts))
    else:
        chunks = TABLE_RENDERERS[file.format](frame, workers=workers)
    return file.written(*write_chunks(folder / file.path, chunks))


def write_table_part(table_format: str, rows: pd.DataFrame, path: Path) -> TablePart:
    """Render ``rows`` (a row range of a frame) in ``table_format`` without its head into a new file at ``path``."""
    return TablePart(path, *write_chunks(path, ROW_RENDERERS[table_format](rows)))


def render_data_files(extractions: dict[str, Extraction], contracts: Contracts, folder: Path) -> list[DataFile]:
    """Every CSV and JSON Lines form (:func:`plan_table_files`), written into ``folder``."""
    return [
        write_table_file(file, extractions[file.resource.removesuffix("-json")].frame, folder)
        for file in plan_table_files(extractions, contracts)
    ]


def describe_package(
    contracts: Contracts, corpus: RawCorpus, files: list[DataFile], version: Version | str, created: str, *,
    validation: dict, corrections: list[dict],
) -> dict:  # fmt: skip
    """The package descriptor (Frictionless Data Package v2) with provenance and validation status."""
    package = contracts.package
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": package.name,
        "id": package.id,
        "title": package.title,
        "description": package.description,
        "homepage": package.homepage,
        "version": str(version),
        "created": created,
        "keywords": list(package.keywords),
        "licenses": list(package.licenses),
        "sources": list(package.sources),
        "contributors": list(package.contributors),
        "resources": [file.descriptor() for file in files],
        "provenance": {
            "raw_files": [
                {"path": f"raw/{d.name}", "role": d.role, "sha256": d.sha256, "bytes": d.bytes} for d in corpus.documents
            ],
            "code": read_git_state(contracts.schemas_dir.parent),
            "software": software_versions(),
        },
        "validation": validation,
        "corrections": corrections,
        "spreadsheetSafety": FORMULA_RULE,
        "changes": CHANGES_FILE,
    }


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    versions["sqlite"] = sqlite3.sqlite_version  # its file format version is in the SQLite download's header
    for package in ("frictionless", "pandera", "pandas", "prefect", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def read_git_state(directory: Path) -> dict[str, object]:
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


def json_bytes(data: dict) -> bytes:
    """``data`` as indented JSON (UTF-8, a newline at the end): :func:`json_chunks` joined."""
    return b"".join(json_chunks(data))


def json_chunks(data: dict) -> Iterator[bytes]:
    """``data`` as indented JSON (UTF-8, a newline at the end), in pieces to write one after the
    other. A :class:`TextList` in it is written by Arrow a slice at a time, in the bytes
    ``json.dumps`` gives for the same list. The rest is encoded before this returns, so a value
    JSON cannot hold fails here, not while the pieces are written."""
    lists: dict[str, TextList] = {}
    token = f"\ue000text-list-{uuid.uuid4().hex}-"

    def placeholder(value: object) -> str:
        if not isinstance(value, TextList):
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        key = f"{token}{len(lists)}"
        lists[key] = value
        return key

    text = json.dumps(data, ensure_ascii=False, indent=2, default=placeholder) + "\n"
    return _with_text_lists(text, lists)


def _with_text_lists(text: str, lists: dict[str, TextList]) -> Iterator[bytes]:
    position = 0
    for key, texts in lists.items():
        at = text.index(f'"{key}"', position)
        line_start = text.rfind("\n", 0, at) + 1
        indent = len(text[line_start:at]) - len(text[line_start:at].lstrip(" "))
        yield text[position:at].encode("utf-8")
        yield from json_text_list(texts, indent)
        position = at + len(key) + 2
    yield text[position:].encode("utf-8")
