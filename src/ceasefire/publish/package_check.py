"""A streamed check of a written package that finds what frictionless finds, column-wise.

frictionless-py validates row by row in Python (about 65k rows/s here, and the package holds every
resource twice: CSV and JSON Lines). Publishing first runs this check instead:

- every resource: its byte count and sha256 against ``datapackage.json``;
- every CSV resource, streamed in chunks: the header labels, the number of cells of each row, then
  per field the Table Schema type (integer, date, list, string, read as frictionless reads them) and
  constraints (required, minimum, enum, pattern, unique), the primary key across all chunks and the
  foreign keys against the referenced resource;
- every JSON Lines twin: it must be, byte for byte, what ``serialize.render_jsonl`` makes of the
  typed rows of its CSV form. Both forms then hold the same typed records, so frictionless finds in
  the twin what it finds in the CSV (``tests/test_package_check.py`` shows it).

frictionless also reads the metadata and the first rows of every resource (``limit_rows``), which
covers the descriptor, the schemas and the way frictionless opens each file.

The check returns frictionless' own error types, flattened as ``(resource, row, field, type)``.
Publishing runs frictionless in full only when the check finds something, so the findings of a bad
package are frictionless' own; ``tests/test_package_check.py`` proves both find the same errors on
bad input (hash, bytes, types, constraints, primary and foreign keys).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pandas as pd

from ceasefire.publish.serialize import render_jsonl

CHUNK_ROWS = 100_000
_DATE_PATTERN = "%Y-%m-%d"  # frictionless' DEFAULT_DATE_PATTERN


class PackageError(NamedTuple):
    """One problem, as frictionless names it: resource, row number (2 = first data row), field, type."""

    resource: str
    row: int | None
    field: str | None
    type: str


def _read_integer(cell: str) -> int | None:
    try:
        return int(cell.strip())
    except ValueError:
        return None


def _read_date(cell: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(cell, _DATE_PATTERN).date()
    except ValueError:
        return None


def _value_reader(spec: dict) -> Callable[[str], object]:
    """How frictionless reads a non-missing CSV cell of this field (None: a type error)."""
    kind = spec.get("type", "string")
    if kind == "integer":
        return _read_integer
    if kind == "date":
        return _read_date
    if kind == "list":
        delimiter = spec.get("delimiter", ",")
        return lambda cell: cell.split(delimiter)
    if kind == "string" and not spec.get("format"):
        return lambda cell: cell
    raise NotImplementedError(f"no quick reader for type {kind!r}")


def _read_unique(cells: list[str], read: Callable[[str], object]) -> list[object]:
    """``read`` once per distinct cell."""
    seen: dict[str, object] = {}
    out = []
    for cell in cells:
        if cell not in seen:
            seen[cell] = read(cell)
        out.append(seen[cell])
    return out


class _CsvChecker:
    """Checks one CSV resource chunk by chunk; keeps the key values seen so far."""

    def __init__(self, name: str, schema: dict, missing: set[str]):
        self.name, self.schema, self.missing = name, schema, missing
        self.fields = schema["fields"]
        self.readers = [_value_reader(spec) for spec in self.fields]
        self.patterns = {
            spec["name"]: re.compile(f"^{spec['constraints']['pattern']}$")
            for spec in self.fields if "pattern" in spec.get("constraints", {})
        }  # fmt: skip
        self.primary_key = schema.get("primaryKey") or []
        self.keys_seen: set[tuple] = set()
        self.unique_seen: dict[str, set] = {spec["name"]: set() for spec in self.fields if spec.get("constraints", {}).get("unique")}
        self.key_values: dict[tuple[str, ...], set[tuple]] = {}  # field tuple -> values (for foreign keys)

    def check_chunk(self, chunk: pd.DataFrame, first_row: int) -> tuple[list[PackageError], pd.DataFrame]:
        """Errors of rows ``first_row``… and the chunk's typed values (None where missing or invalid)."""
        errors: list[PackageError] = []
        typed = {}
        for spec, read in zip(self.fields, self.readers):
            name = spec["name"]
            cells = chunk[name].tolist()
            values = _read_unique(cells, lambda cell: None if cell in self.missing else read(cell))
            constraints = spec.get("constraints", {})
            pattern = self.patterns.get(name)
            enum = set(constraints["enum"]) if "enum" in constraints else None
            minimum = constraints.get("minimum")
            unique = self.unique_seen.get(name)
            for offset, (cell, value) in enumerate(zip(cells, values)):
                row = first_row + offset
                if cell in self.missing:
                    if constraints.get("required"):
                        errors.append(PackageError(self.name, row, name, "constraint-error"))
                    continue
                if value is None:
                    errors.append(PackageError(self.name, row, name, "type-error"))
                    continue
                broken = (
                    (enum is not None and value not in enum)
                    or (minimum is not None and value < minimum)
                    or (pattern is not None and not pattern.match(cell))
                )
                if broken:
                    errors.append(PackageError(self.name, row, name, "constraint-error"))
                if unique is not None:
                    if value in unique:
                        errors.append(PackageError(self.name, row, name, "unique-error"))
                    unique.add(value)
            typed[name] = values
        for spec in self.fields:  # the frames hold an empty list, not a missing value, for no items
            if spec.get("type") == "list":
                typed[spec["name"]] = [value if value is not None else [] for value in typed[spec["name"]]]
        dtypes = {"integer": "Int64", "string": "string"}  # as the pipeline's frames hold them
        frame = pd.DataFrame({spec["name"]: pd.array(typed[spec["name"]], dtype=dtypes.get(spec.get("type"), object))
                              for spec in self.fields})  # fmt: skip
        if self.primary_key:
            for offset, key in enumerate(zip(*(typed[name] for name in self.primary_key))):
                if any(part is None for part in key):
                    continue
                if key in self.keys_seen:
                    errors.append(PackageError(self.name, first_row + offset, None, "primary-key"))
                self.keys_seen.add(key)
        return errors, frame

    def remember(self, fields: tuple[str, ...], frame: pd.DataFrame) -> None:
        values = self.key_values.setdefault(fields, set())
        values.update(zip(*(frame[name].tolist() for name in fields)))


def _iter_csv(path: Path, names: list[str], errors: list[PackageError], resource: str) -> Iterator[tuple[pd.DataFrame, int]]:
    """Chunks of raw cells (all text, nothing converted) with the row number of their first row."""
    with path.open(encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\r\n")
        if header.split(",") != names:
            errors.append(PackageError(resource, 1, None, "incorrect-label"))
            return
        reader = pd.read_csv(handle, header=None, names=names, dtype=str, keep_default_na=False, na_filter=False,
                             skip_blank_lines=False, chunksize=CHUNK_ROWS, engine="c", on_bad_lines="error")  # fmt: skip
        row = 2
        try:
            for chunk in reader:
                if chunk.isna().any().any():
                    errors.append(PackageError(resource, None, None, "missing-cell"))
                    return
                yield chunk, row
                row += len(chunk)
        except (pd.errors.ParserError, ValueError):
            errors.append(PackageError(resource, None, None, "extra-cell"))


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            size += len(block)
            digest.update(block)
    return size, digest.hexdigest()


def _metadata_errors(descriptor_path: Path) -> list[PackageError]:
    """frictionless on the metadata and the first rows of each resource."""
    from frictionless import Package, system

    # Foreign keys make frictionless read every row of the referenced resource; they are checked below.
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for resource in descriptor.get("resources", []):
        resource.get("schema", {}).pop("foreignKeys", None)
    with system.use_context(trusted=False):
        report = Package(descriptor, basepath=str(descriptor_path.parent)).validate(limit_rows=1)
    found = [PackageError("datapackage", None, None, error.type) for error in report.errors]
    for task in report.tasks:
        for error in task.errors:
            if error.type in ("hash-count", "byte-count"):  # counted on the first rows only; checked in full below
                continue
            found.append(PackageError(task.name, getattr(error, "row_number", None), getattr(error, "field_name", None), error.type))
    return found


def find_package_errors(package_dir: Path) -> list[PackageError]:
    """Everything frictionless would find in the package at ``package_dir``, found column-wise."""
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    errors = _metadata_errors(package_dir / "datapackage.json")
    if errors:
        return errors
    resources = {resource["name"]: resource for resource in descriptor["resources"]}
    for name, resource in resources.items():
        size, digest = _digest(package_dir / resource["path"])
        if "bytes" in resource and size != resource["bytes"]:
            errors.append(PackageError(name, None, None, "byte-count"))
        if "hash" in resource and f"sha256:{digest}" != resource["hash"]:
            errors.append(PackageError(name, None, None, "hash-count"))
    checkers: dict[str, _CsvChecker] = {}
    twins: dict[str, list[pd.DataFrame]] = {}
    wanted = _referenced_fields(resources)
    for name, resource in resources.items():
        if resource.get("format") != "csv":
            continue
        schema = resource["schema"]
        checker = checkers[name] = _CsvChecker(name, schema, set(schema.get("missingValues", [""])))
        names = [spec["name"] for spec in schema["fields"]]
        twins[name] = []
        for chunk, first_row in _iter_csv(package_dir / resource["path"], names, errors, name):
            chunk_errors, typed = checker.check_chunk(chunk, first_row)
            errors += chunk_errors
            for fields in wanted.get(name, []):
                checker.remember(fields, typed)
            twins[name].append(typed if not chunk_errors else None)
    errors += _foreign_key_errors(resources, checkers, package_dir, wanted)
    for name, resource in resources.items():
        if resource.get("format") == "csv" or resource.get("type") == "file":
            continue  # files (Parquet, SQLite) are checked by size and hash above, and read back when published
        source = _csv_twin_of(name, resource, resources)
        if source is None or any(typed is None for typed in twins.get(source, [None])):
            errors.append(PackageError(name, None, None, "json-not-checked"))
            continue
        errors += _compare_twin(name, package_dir / resource["path"], twins[source])
    return errors


def _csv_twin_of(name: str, resource: dict, resources: dict) -> str | None:
    """The CSV resource a JSON Lines resource mirrors: ``violations`` for ``violations-json``."""
    source = name.removesuffix("-json")
    if source != name and resources.get(source, {}).get("format") == "csv" and resource.get("format") == "jsonl":
        return source
    return None


def _compare_twin(name: str, path: Path, chunks: list[pd.DataFrame]) -> list[PackageError]:
    """The JSON Lines file must be exactly the rendering of its CSV twin's typed rows."""
    row = 2
    with path.open("rb") as handle:
        for typed in chunks:
            expected = render_jsonl(typed)
            actual = handle.read(len(expected))
            if actual != expected:
                return [PackageError(name, row, None, "json-differs-from-csv")]
            row += len(typed)
        if handle.read(1):
            return [PackageError(name, row, None, "json-differs-from-csv")]
    return []


def _referenced_fields(resources: dict) -> dict[str, list[tuple[str, ...]]]:
    """Resource -> the field tuples that foreign keys use, on both ends."""
    wanted: dict[str, list[tuple[str, ...]]] = {}
    for name, resource in resources.items():
        for key in resource.get("schema", {}).get("foreignKeys", []):
            fields = tuple(key["fields"]) if isinstance(key["fields"], list) else (key["fields"],)
            reference = key["reference"]
            target_fields = reference["fields"]
            target_fields = tuple(target_fields) if isinstance(target_fields, list) else (target_fields,)
            wanted.setdefault(name, []).append(fields)
            wanted.setdefault(reference.get("resource") or name, []).append(target_fields)
    return wanted


def _foreign_key_errors(resources: dict, checkers: dict[str, _CsvChecker], package_dir: Path, wanted) -> list[PackageError]:
    errors = []
    for name, resource in resources.items():
        if name not in checkers:
            continue
        for key in resource.get("schema", {}).get("foreignKeys", []):
            fields = tuple(key["fields"]) if isinstance(key["fields"], list) else (key["fields"],)
            reference = key["reference"]
            target = reference.get("resource") or name
            target_fields = reference["fields"]
            target_fields = tuple(target_fields) if isinstance(target_fields, list) else (target_fields,)
            if target not in checkers:
                errors.append(PackageError(name, None, None, "foreign-key-not-checked"))
                continue
            known = checkers[target].key_values.get(target_fields, set())
            source_values = checkers[name].key_values.get(fields, set())
            if source_values - known - {tuple(None for _ in fields)}:
                missing = {values for values in source_values - known if not all(v is None for v in values)}
                errors += _rows_with_values(name, package_dir / resource["path"], fields, missing, resource)
    return errors


def _rows_with_values(name: str, path: Path, fields: tuple[str, ...], values: set, resource: dict) -> list[PackageError]:
    """The rows of a CSV whose ``fields`` hold one of ``values`` (foreign keys that point nowhere)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=list(fields))
    keys = list(zip(*(frame[field].tolist() for field in fields)))
    return [PackageError(name, number + 2, None, "foreign-key") for number, key in enumerate(keys) if key in values]

