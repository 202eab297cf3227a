"""Validating a written package before it is published: frictionless, and for large packages the twins.

Every resource is published twice, as CSV and as its JSON Lines twin, and frictionless-py reads
JSON Lines far slower than CSV (docs/BENCHMARKS.md: 100,000 rows took 29 s for the whole package,
5.7 s for the CSV resources alone). So a package of more than :data:`FULL_FRICTIONLESS_MAX_ROWS`
rows is validated like this:

- frictionless validates the CSV resources in full (types, every constraint, keys, foreign keys,
  bytes and hash): no constraint is re-implemented here;
- each JSON Lines twin must be, byte for byte, the rendering (``serialize.render_jsonl``) of the
  typed rows of its CSV form, read with the contract's codec; its byte count and sha256 must match
  the descriptor and its schema must be the CSV form's (foreign keys pointing at the twins). The
  twin then holds the same typed records, so frictionless would find in it what it found in the
  CSV form.

If a twin differs, frictionless validates the whole package, so the findings name the cell.
Smaller packages, the real dataset included, are validated by frictionless in full.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from ceasefire.contracts.schema import ContractError, Schema
from ceasefire.findings import Finding
from ceasefire.publish.serialize import render_jsonl

# Up to this many rows (all resources), frictionless validates the written package in full.
FULL_FRICTIONLESS_MAX_ROWS = 200_000
CHUNK_ROWS = 100_000


class PackageError(NamedTuple):
    """One problem, as frictionless names it: resource, row number (2 = first data row), field, type."""

    resource: str
    row: int | None
    field: str | None
    type: str


def validate_written_package(package_dir: Path, sources: dict[str, pd.DataFrame]) -> list[Finding]:
    """The frictionless findings of a written package (the module docstring says how).

    ``sources`` maps each resource name to the frame it was written from, so a finding still
    points at the raw text.
    """
    if sum(len(frame) for frame in sources.values()) <= FULL_FRICTIONLESS_MAX_ROWS:
        return run_frictionless(package_dir, sources)
    findings = run_frictionless(package_dir, sources, csv_only=True)
    if find_twin_errors(package_dir):
        return run_frictionless(package_dir, sources)
    return findings


def run_frictionless(package_dir: Path, sources: dict[str, pd.DataFrame], *, csv_only: bool = False) -> list[Finding]:
    """Validate a written package with frictionless (only its CSV resources if ``csv_only``).

    Row numbers map back to raw lines: row 2 of a file is row 0 of its frame in ``sources``.
    """
    from frictionless import Package, system

    from ceasefire.validate.validation import describe_value

    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    if csv_only:
        descriptor["resources"] = [resource for resource in descriptor["resources"] if resource.get("format") == "csv"]
    with system.use_context(trusted=False):
        report = Package(descriptor, basepath=str(package_dir)).validate()
    findings = []
    for task in report.tasks:
        frame = sources.get(task.name)
        for error in task.errors:
            row_number = getattr(error, "row_number", None)
            row = row_number - 2 if row_number is not None else None
            record = frame.iloc[row] if frame is not None and row is not None and 0 <= row < len(frame) else None
            findings.append(
                Finding(
                    severity="error",
                    rule=error.type,
                    engine="frictionless",
                    resource=task.name,
                    message=error.message,
                    row_id=describe_value(record.iloc[0]) if record is not None else None,
                    # A primary-key error names no field; our resources' first column is the key.
                    column=getattr(error, "field_name", None)
                    or (str(frame.columns[0]) if error.type == "primary-key" and frame is not None else None),
                    value=describe_value(getattr(error, "cell", None)),
                    expected=getattr(error, "note", None),
                    source_file=describe_value(record["source_file"]) if record is not None else task.place,
                    source_line=int(record["source_line"]) if record is not None else None,
                )
            )
    for error in report.errors:
        findings.append(
            Finding(severity="error", rule=error.type, engine="frictionless", resource="datapackage",
                    message=error.message, source_file="datapackage.json")
        )  # fmt: skip
    return findings


def find_twin_errors(package_dir: Path) -> list[PackageError]:
    """Where a JSON Lines twin is not the rendering of its CSV form, or not what the descriptor says."""
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    resources = {resource["name"]: resource for resource in descriptor["resources"]}
    errors = []
    for name, resource in resources.items():
        if resource.get("format") == "csv":
            continue
        source = name.removesuffix("-json")
        csv_form = resources.get(source)
        if source == name or csv_form is None or csv_form.get("format") != "csv" or resource.get("format") != "jsonl":
            errors.append(PackageError(name, None, None, "json-not-checked"))
            continue
        size, digest = _digest(package_dir / resource["path"])
        if resource.get("bytes") != size:
            errors.append(PackageError(name, None, None, "byte-count"))
        if resource.get("hash") != f"sha256:{digest}":
            errors.append(PackageError(name, None, None, "hash-count"))
        try:
            schema = Schema.from_descriptor(csv_form["schema"], source=f"datapackage.json: resource {source}")
        except ContractError:
            errors.append(PackageError(name, None, None, "json-not-checked"))
            continue
        if resource.get("schema") != schema.to_descriptor(reference_suffix="-json"):
            errors.append(PackageError(name, None, None, "schema-differs-from-csv"))
        errors += _compare_twin(name, package_dir / resource["path"], package_dir / csv_form["path"], schema)
    return errors


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            size += len(block)
            digest.update(block)
    return size, digest.hexdigest()


class _Unreadable(ValueError):
    """A CSV cell the contract's codec cannot read: frictionless reports it in the CSV form."""


def _typed_chunks(csv_path: Path, schema: Schema):
    """The CSV form's rows, typed by the contract's codec (each distinct cell read once), in chunks."""
    names = list(schema.field_names)
    missing = set(schema.missing_values)
    reader = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_filter=False, chunksize=CHUNK_ROWS,
                         engine="c", on_bad_lines="error")  # fmt: skip
    for chunk in reader:
        if list(chunk.columns) != names:
            raise _Unreadable("header")
        columns = {}
        for spec in schema.fields:
            seen: dict[str, object] = {}
            values = []
            for cell in chunk[spec.name].tolist():
                if cell not in seen:
                    try:
                        seen[cell] = spec.from_text(cell, missing)
                    except ValueError as error:
                        raise _Unreadable(str(error)) from None
                values.append(seen[cell])
            columns[spec.name] = values
        yield schema.frame_from_columns(columns)


def _compare_twin(name: str, json_path: Path, csv_path: Path, schema: Schema) -> list[PackageError]:
    """The JSON Lines file must be exactly the rendering of its CSV form's typed rows."""
    row = 2
    with json_path.open("rb") as handle:
        try:
            for typed in _typed_chunks(csv_path, schema):
                expected = render_jsonl(typed)
                if handle.read(len(expected)) != expected:
                    return [PackageError(name, row, None, "json-differs-from-csv")]
                row += len(typed)
        except (_Unreadable, pd.errors.ParserError, ValueError):
            return [PackageError(name, None, None, "json-not-checked")]
        if handle.read(1):
            return [PackageError(name, row, None, "json-differs-from-csv")]
    return []
