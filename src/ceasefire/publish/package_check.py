"""Validating a written package before it is published: frictionless, with a streamed pre-check for large packages.

frictionless-py reads row by row, and every resource is published twice (CSV and JSON Lines, which
frictionless reads far slower): docs/BENCHMARKS.md has the numbers. A package of more than
:data:`FULL_FRICTIONLESS_MAX_ROWS` rows first goes through :func:`find_package_errors`, a streamed
check derived from the contract (:mod:`ceasefire.contracts.schema`):

- the descriptor and the first row of every resource, by frictionless itself;
- every file's byte count and sha256;
- every CSV resource in chunks: header, cells per row, blank rows, each distinct cell of a column
  read once with the contract's codec (frictionless' readers), ``required``, every value
  constraint (``Field.broken_constraints``, all distinct values at once), ``unique`` and the
  primary key across chunks (on a hash of each row's key), and the foreign keys;
- every JSON Lines twin: its schema is its CSV form's (foreign keys pointing at the twins) and its
  bytes are those ``serialize.render_jsonl`` writes for the CSV form's typed rows, so it holds the
  same typed records. Each distinct cell is JSON-encoded once with the contract's codec and Arrow
  joins the lines (``tests/test_package_check_twin.py`` proves the bytes equal on hostile columns).

The CSV forms and twins are the bulk of it (:func:`check_csv_forms`). Publishing begins that part
as soon as they are written, beside the typed files and the staging, and the check of the whole
package takes its findings for the resources and the files it read (:class:`CsvFormsChecked`).

Only the verdict has to agree with frictionless: when the check finds anything, frictionless
validates the whole package and its own findings are reported. ``tests/test_package_check.py``
breaks a copy of the seed package once per constraint the contract can express (and in other ways)
and asserts the two agree. Smaller packages, the real dataset included, go to frictionless directly.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ceasefire.contracts.schema import ContractError, Field, Schema
from ceasefire.findings import Finding
from ceasefire.publish.publishing import hash_file
from ceasefire.publish.serialize import jsonl_lines
from ceasefire.threads import Beside, in_threads

# Up to this many rows (all resources), frictionless validates the written package in full.
FULL_FRICTIONLESS_MAX_ROWS = 200_000
# Bytes of a CSV resource read and checked at once, by Arrow's CSV reader: ~3,500 rows of the
# violations table. At 1M rows the check's peak grew with them (420 MB with 1 MB, 677 MB with 8 MB)
# and it was no faster. A row longer than this does not read: the check reports it, and frictionless
# then validates the whole package (only the verdict has to agree).
CHUNK_BYTES = 1 << 20
# Types whose values Field.from_text gives as the plain JSON values Field.to_json would give.
_PLAIN_TYPES = ("string", "integer", "boolean")


class PackageError(NamedTuple):
    """One problem, as frictionless names it: resource, row number (2 = first data row), field, type."""

    resource: str
    row: int | None
    field: str | None
    type: str


def validate_written_package(
    package_dir: Path, sources: Mapping[str, Sized], ahead: Beside[CsvFormsChecked] | None = None
) -> list[Finding]:
    """The frictionless findings of a written package (the module docstring says how).

    ``sources`` maps each resource name to the frame it was written from, so a finding still
    points at the raw text. ``ahead`` is the check of the CSV forms begun before the package was
    complete (:func:`check_csv_forms`), if publishing began one.
    """
    if is_large(sources) and not find_package_errors(package_dir, ahead):
        return []
    return run_frictionless(package_dir, sources)


def is_large(sources: Mapping[str, Sized]) -> bool:
    """Whether a package of these resources (their rows) goes to the streamed check first."""
    return sum(len(rows) for rows in sources.values()) > FULL_FRICTIONLESS_MAX_ROWS


def run_frictionless(package_dir: Path, sources: dict[str, pd.DataFrame]) -> list[Finding]:
    """Validate a written package with frictionless.

    Row numbers map back to raw lines: row 2 of a file is row 0 of its frame in ``sources``.
    """
    from frictionless import Package, system

    from ceasefire.validate.validation import describe_value

    with system.use_context(trusted=False):
        report = Package(str(package_dir / "datapackage.json")).validate()
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




def find_package_errors(package_dir: Path, ahead: Beside[CsvFormsChecked] | None = None) -> list[PackageError]:
    """What the streamed check finds in the package (the module docstring lists it); empty when clean.

    The CSV forms and their twins are read row by row here, unless ``ahead`` read them already:
    the same resources as ``datapackage.json`` lists them, and the same files, unchanged since.
    """
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    errors = _metadata_errors(package_dir / "datapackage.json")
    if errors:
        return errors
    resources = {resource["name"]: resource for resource in descriptor["resources"]}
    # hashlib releases the GIL: the files are hashed on both cores (docs/BENCHMARKS.md, round 8).
    hashed = in_threads([partial(hash_file, package_dir / resource["path"]) for resource in resources.values()], "package-hash")
    for (name, resource), (size, digest) in zip(resources.items(), hashed):
        if resource.get("bytes") != size:
            errors.append(PackageError(name, None, None, "byte-count"))
        if resource.get("hash") != f"sha256:{digest}":
            errors.append(PackageError(name, None, None, "hash-count"))
    schemas, unreadable = _csv_schemas(resources)
    errors += unreadable
    for name, resource in resources.items():
        if resource.get("type") == "file":
            continue  # files (Parquet, SQLite) are checked by size and hash above, and read back when published
        if resource.get("format") != "csv" and (name.removesuffix("-json") not in schemas or resource.get("format") != "jsonl"):
            errors.append(PackageError(name, None, None, "json-not-checked"))
        elif resource.get("format") != "csv" and resource.get("schema") != schemas[name.removesuffix("-json")].to_descriptor(reference_suffix="-json"):
            errors.append(PackageError(name, None, None, "schema-differs-from-csv"))
    checked = ahead.result() if ahead is not None and ahead.started else None
    if checked is None or not checked.holds_for(package_dir, resources):
        checked = check_csv_forms(package_dir, list(resources.values()))
    return errors + checked.errors


class CheckCancelled(Exception):
    """The check of the CSV forms was cancelled before its end: it found nothing to rely on."""


@dataclass(frozen=True)
class CsvFormsChecked:
    """What the streamed check found reading the CSV forms and their twins row by row, foreign keys included.

    Publishing starts :func:`check_csv_forms` as soon as these files are written, beside the other
    files and the staging (docs/BENCHMARKS.md). Its findings hold for the package if it lists
    the same table resources (``resources``, without their size and hash, which the check of the
    package compares with the files itself) and the files are the ones read (``files``: size,
    modification time and inode of each, taken before reading).
    """

    resources: dict[str, dict]
    files: dict[str, tuple[int, int, int]]
    errors: list[PackageError]

    def holds_for(self, package_dir: Path, resources: dict[str, dict]) -> bool:
        tables = _table_resources(resources)
        try:
            return tables == self.resources and _file_states(package_dir, tables) == self.files
        except OSError:  # a file gone: the check of the package reads it again, and says so
            return False


def check_csv_forms(package_dir: Path, resources: list[dict], cancel: threading.Event | None = None) -> CsvFormsChecked:
    """Every CSV resource of ``resources`` (as ``datapackage.json`` lists them) checked in chunks,
    with its JSON Lines twin; :class:`CheckCancelled` before a chunk once ``cancel`` is set.

    A foreign key needs the keys of the rows that point (``pointing``) and, of the rows pointed at,
    only those keys: the resources that point are read first where they can be (not when a
    resource points at itself or the keys point round in a circle), and the keys of a table pointed
    at are then kept only if some row points at them, not every key of the table.
    """
    by_name = {resource["name"]: resource for resource in resources}
    tables = _table_resources(by_name)
    files = _file_states(package_dir, tables)  # before reading: a change while reading is a change
    schemas, _ = _csv_schemas(by_name)
    references = [
        _Reference(name, tuple(key.fields), key.resource or name, tuple(key.reference_fields))
        for name, schema in schemas.items()
        for key in schema.foreign_keys
    ]
    kept: dict[tuple[str, tuple[str, ...]], _KeptKeys] = {}
    found: dict[str, list[PackageError]] = {}
    for name in _reading_order(list(schemas), references):
        keys = {}
        for reference in references:
            if reference.resource == name:
                keys[reference.fields] = kept.setdefault((name, reference.fields), _KeptKeys())
        for reference in references:
            if reference.target == name and reference.target_fields not in keys:
                keys[reference.target_fields] = kept[(name, reference.target_fields)] = _KeptKeys(
                    _pointing_at(name, reference.target_fields, references, kept, found)
                )
        twin = by_name.get(f"{name}-json")
        found[name] = _check_csv(name, package_dir / by_name[name]["path"], schemas[name],
                                 package_dir / twin["path"] if twin else None, keys, cancel)  # fmt: skip
    errors = [error for name in schemas for error in found[name]]
    # frictionless: a foreign key to a resource the package does not have is a resource-error, rows or not.
    errors += [PackageError(r.resource, None, None, "resource-error") for r in references if r.target not in by_name]
    for reference in references if not errors else []:  # with errors, a resource was not read to its end
        values = kept[(reference.resource, reference.fields)].values - {_key_of_missing(reference.fields)}
        target = kept.get((reference.target, reference.target_fields))
        if values - (target.values if target else set()):  # a table not checked holds no key
            errors.append(PackageError(reference.resource, None, None, "foreign-key"))
    return CsvFormsChecked(tables, files, errors)


class _Reference(NamedTuple):
    """A foreign key: the ``fields`` of ``resource`` point at the ``target_fields`` of ``target``."""

    resource: str
    fields: tuple[str, ...]
    target: str
    target_fields: tuple[str, ...]


@dataclass
class _KeptKeys:
    """The keys a foreign key needs from one resource: every key read, or only those in ``among``."""

    among: set | None = None
    values: set = dataclass_field(default_factory=set)

    def update(self, keys: Iterable) -> None:
        self.values.update(keys if self.among is None else self.among.intersection(keys))


def _reading_order(names: list[str], references: list[_Reference]) -> list[str]:
    """``names`` in order, but a resource that others point at after them, as far as a circle allows."""
    order, left = [], list(names)
    while left:
        ready = [name for name in left if not any(r.target == name and r.resource in left and r.resource != name for r in references)]
        order.append((ready or left)[0])
        left.remove(order[-1])
    return order


def _pointing_at(
    name: str, fields: tuple[str, ...], references: list[_Reference], kept: dict, read: dict
) -> set | None:
    """The keys that point at ``fields`` of ``name``, if every resource that points there was read."""
    sources = [(r.resource, r.fields) for r in references if (r.target, r.target_fields) == (name, fields)]
    if any(resource == name or resource not in read for resource, _ in sources):
        return None
    sets = [kept[source].values for source in sources]
    return sets[0] if len(sets) == 1 else set().union(*sets)


def _csv_schemas(resources: dict[str, dict]) -> tuple[dict[str, Schema], list[PackageError]]:
    """The contract of each CSV resource, and a ``schema-not-checked`` error for each that does not read."""
    schemas: dict[str, Schema] = {}
    errors = []
    for name, resource in resources.items():
        if resource.get("format") == "csv":
            try:
                schemas[name] = Schema.from_descriptor(resource["schema"], source=f"datapackage.json: resource {name}")
            except ContractError:
                errors.append(PackageError(name, None, None, "schema-not-checked"))
    return schemas, errors


def _table_resources(resources: dict[str, dict]) -> dict[str, dict]:
    """The table resources (CSV forms and twins), without size and hash."""
    return {name: {key: value for key, value in resource.items() if key not in ("bytes", "hash")}
            for name, resource in resources.items() if resource.get("type") != "file"}  # fmt: skip


def _file_states(package_dir: Path, tables: dict[str, dict]) -> dict[str, tuple[int, int, int]]:
    states = {}
    for resource in tables.values():
        stat = (package_dir / resource["path"]).stat()
        states[resource["path"]] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    return states


def _metadata_errors(descriptor_path: Path) -> list[PackageError]:
    """frictionless on the metadata and the first row of each resource."""
    from frictionless import Package, system

    # Foreign keys make frictionless read every row of the referenced resource; the check does it.
    descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
    for resource in descriptor.get("resources", []):
        resource.get("schema", {}).pop("foreignKeys", None)
        if resource.get("type") == "file":
            # frictionless reads every byte of a download (Parquet, SQLite) only to compare its size
            # and hash; the check hashes every file itself. Without them it still opens the file.
            resource.pop("hash", None)
            resource.pop("bytes", None)
    with system.use_context(trusted=False):
        report = Package(descriptor, basepath=str(descriptor_path.parent)).validate(limit_rows=1)
    found = [PackageError("datapackage", None, None, error.type) for error in report.errors]
    for task in report.tasks:
        # hash and bytes are counted on the rows read only; the check counts them in full.
        found += [PackageError(task.name, getattr(e, "row_number", None), getattr(e, "field_name", None), e.type)
                  for e in task.errors if e.type not in ("hash-count", "byte-count")]  # fmt: skip
    return found


def _check_csv(
    name: str, path: Path, schema: Schema, twin: Path | None, keys: dict[tuple[str, ...], _KeptKeys],
    cancel: threading.Event | None = None,
) -> list[PackageError]:
    """One CSV resource in chunks: cells, types, constraints, keys; and its JSON Lines twin alongside.

    Arrow reads the cells; each column of a chunk is dictionary-encoded: every distinct cell is read,
    checked and JSON-encoded once, and each row gets the values of its distinct cell by a ``take``,
    not a Python loop over rows. ``keys`` keeps the keys a foreign key needs (:func:`check_csv_forms`).
    Whether a unique field or the primary key repeats is decided at the end on a hash of each row's
    key (:class:`_KeyHashes`), not on a set of the keys themselves.
    """
    names, missing = list(schema.field_names), set(schema.missing_values)
    errors: list[PackageError] = []
    unique = [(spec.name,) for spec in schema.fields if spec.unique]
    primary_key = tuple(schema.primary_key) if schema.primary_key else None
    hashed = {fields: _KeyHashes() for fields in [*unique, *([primary_key] if primary_key else [])]}
    json_file = twin.open("rb") if twin else None
    try:
        reader = _csv_cells(path, names)
        if reader.schema.names != names:
            return [PackageError(name, None, None, "label-or-cell-error")]
        for chunk in reader:
            if cancel is not None and cancel.is_set():
                raise CheckCancelled(f"the check of {name} was cancelled")
            if any(column.null_count for column in chunk.columns):
                return [*errors, PackageError(name, None, None, "label-or-cell-error")]
            columns: dict[str, DistinctColumn] = {}
            for spec in schema.fields:
                column = columns[spec.name] = DistinctColumn.read(spec, chunk.column(spec.name), missing)
                errors += [PackageError(name, None, spec.name, problem) for problem in column.problems]
            if columns and np.logical_and.reduce([column.absent[column.codes] for column in columns.values()]).any():
                errors.append(PackageError(name, None, None, "blank-row"))  # every cell missing: frictionless' blank row
            if errors:
                return errors
            for fields, hashes in hashed.items():
                hashes.add(columns, fields)
            for fields, kept in keys.items():
                # A key of one field: the distinct values of the chunk are its keys (a set needs no more).
                kept.update(columns[fields[0]].typed if len(fields) == 1 else _key_rows(columns, fields))
            if json_file is not None:
                expected = jsonl_lines({field: columns[field].json_cells() for field in names})
                if json_file.read(len(expected)) != expected:
                    return [PackageError(f"{name}-json", None, None, "json-differs-from-csv")]
        if json_file is not None and json_file.read(1):
            return [PackageError(f"{name}-json", None, None, "json-differs-from-csv")]
    except pa.ArrowInvalid:  # a row with too few or too many cells, a blank line, bytes that are not UTF-8
        return [*errors, PackageError(name, None, None, "label-or-cell-error")]
    finally:
        if json_file is not None:
            json_file.close()
    errors = [PackageError(name, None, fields[0], "unique-error") for fields in unique if hashed[fields].repeat()]
    # frictionless: a primary key may not be missing (all its fields), nor repeat; a unique value may be missing.
    if not errors and primary_key and (hashed[primary_key].missing() or hashed[primary_key].repeat()):
        errors.append(PackageError(name, None, None, "primary-key"))
    return errors


def _csv_cells(path: Path, names: list[str]) -> pa.ipc.RecordBatchReader:
    """The CSV file's cells as text, in batches of about :data:`CHUNK_BYTES`: quotes undone, nothing
    read as missing (that is the field's business), a blank line an error (frictionless' blank-row)."""
    import pyarrow.csv as pv

    return pv.open_csv(
        path,
        read_options=pv.ReadOptions(block_size=CHUNK_BYTES, use_threads=False),
        parse_options=pv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
    )


def _key_rows(columns: dict[str, DistinctColumn], fields: tuple[str, ...]) -> list:
    """Each row's key of ``fields``: the tuple of its values."""
    return list(zip(*(columns[field].values() for field in fields)))


def _key_of_missing(fields: tuple[str, ...]) -> object:
    """The key a row gets whose fields are all missing (a foreign key that points nowhere)."""
    return None if len(fields) == 1 else tuple(None for _ in fields)


def _hash(value: object) -> int:
    """Python's hash of a key: equal values hash alike (1 and 1.0, 0.0 and -0.0), as in a set.
    A list (the one type of the contract a set cannot hold) or a tuple hashes by its items."""
    return hash(tuple(map(_hash, value))) if isinstance(value, (list, tuple)) else hash(value)


class _KeyHashes:
    """The hash of every row's key of some fields, chunk by chunk, and whether the key is present.

    Ten million ids take 80 MB as hashes, against about 1 GB as a Python set of their texts
    (docs/BENCHMARKS.md, round 10). Two keys that differ may share a hash: the check then reports
    a repeat that is not one, and frictionless validates the whole package (only the verdict has to
    agree), which gives the true answer. Equal keys always share a hash, so no repeat is missed.
    """

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._present: list[np.ndarray] = []

    def add(self, columns: dict[str, DistinctColumn], fields: tuple[str, ...]) -> None:
        if len(fields) == 1:
            column = columns[fields[0]]
            plain = hash if column.spec.type == "string" else _hash  # a text or None: hash() alone, faster
            hashes = np.fromiter(map(plain, column.typed), dtype=np.int64, count=len(column.typed))[column.codes]
        else:
            rows = _key_rows(columns, fields)
            hashes = np.fromiter(map(_hash, rows), dtype=np.int64, count=len(rows))
        # Missing is a missing cell, as frictionless reads it (a missing list reads [] here, None there).
        present = ~np.logical_and.reduce([columns[field].absent[columns[field].codes] for field in fields])
        self._hashes.append(hashes)
        self._present.append(present)

    def repeat(self) -> bool:
        """Whether two rows' present keys (not all missing) hash alike."""
        if not self._hashes:
            return False
        hashes = np.concatenate(self._hashes)[np.concatenate(self._present)]
        hashes.sort()
        return bool((hashes[1:] == hashes[:-1]).any())

    def missing(self) -> bool:
        """Whether some row's key is missing (each of its fields)."""
        return not all(present.all() for present in self._present)


@dataclass
class DistinctColumn:
    """A column of CSV cells as its distinct cells (read once each) and, per row, which one it holds."""

    spec: Field
    codes: np.ndarray  # per row: the index of its cell in ``typed``
    typed: list  # per distinct cell: its typed value (None when missing or unreadable)
    problems: list[str]  # what frictionless would report in the column, sorted
    absent: np.ndarray  # per distinct cell: whether it is a missing value

    @classmethod
    def read(cls, spec: Field, cells: pa.Array, missing: set[str]) -> DistinctColumn:
        encoded = pc.dictionary_encode(cells)  # distinct cells in the order they first occur
        distinct = encoded.dictionary.to_pylist()
        typed, problems = _read_distinct(spec, distinct, missing)
        absent = pc.is_in(encoded.dictionary, value_set=pa.array(sorted(missing), encoded.dictionary.type))
        return cls(spec, encoded.indices.to_numpy(zero_copy_only=False), typed, sorted(problems), absent.to_numpy(zero_copy_only=False))

    def values(self) -> list:
        """The typed value of every row (lists are shared between the rows of one distinct cell)."""
        array = np.empty(len(self.typed), dtype=object)
        for index, value in enumerate(self.typed):  # one by one: a list value must stay one element
            array[index] = value
        return array[self.codes].tolist()

    def present_values(self) -> list:
        """The distinct typed values that are not missing."""
        return [value for value in self.typed if value is not None]

    def repeats_present(self) -> bool:
        """Whether a present (not missing) distinct cell occurs on more than one row."""
        counts = np.bincount(self.codes, minlength=len(self.typed))
        present = np.fromiter((value is not None for value in self.typed), dtype=bool, count=len(self.typed))
        return bool((counts[present] > 1).any())

    def json_cells(self) -> pa.Array:
        """Every row's value encoded as ``json.dumps`` encodes it inside a record (the contract's JSON codec)."""
        if self.spec.type == "list":
            encoded = [json.dumps(self.spec.to_json(value), ensure_ascii=False) for value in self.typed]
        else:
            # Strings, integers and booleans are read as plain Python values already (``to_json`` keeps them).
            plain = self.typed if self.spec.type in _PLAIN_TYPES else [self.spec.to_json(value) for value in self.typed]
            # Scalars in one call, as serialize does: a newline cannot occur inside an encoded scalar.
            encoded = json.dumps(plain, ensure_ascii=False, separators=("\n", ": "))[1:-1].split("\n") if plain else []
        return pa.array(encoded, type=pa.large_string()).take(pa.array(self.codes))


def _read_distinct(spec: Field, cells: list[str], missing: set[str]) -> tuple[list, set[str]]:
    """The typed value of each distinct cell, and the problems frictionless would report among them.

    A missing cell breaks ``required``; an unreadable one is a ``type-error`` (its value None);
    a present value that breaks a value constraint is a ``constraint-error``. The cells are
    distinct, so at most one per missing value is missing; the others are read by one ``map`` of
    the field's codec, and one by one only when some cell does not read.
    """
    problems: set[str] = set()
    absent = sorted(cells.index(value) for value in missing if value in cells)
    if absent and spec.required:
        problems.add("constraint-error")
    present = [cell for cell in cells if cell not in missing] if absent else cells
    try:
        read = list(map(spec.read_text, present))
    except ValueError:
        read = [_read_or_none(spec, cell) for cell in present]
        problems.add("type-error")
    if "constraint-error" not in problems:
        readable = [value for value in read if value is not None] if "type-error" in problems else read
        if any(spec.broken_constraints(readable)):
            problems.add("constraint-error")
    empty = spec.from_text(None)
    for position in absent:  # ascending: each goes back where it was among the cells
        read.insert(position, empty)
    return read, problems


def _read_or_none(spec: Field, cell: str) -> object:
    try:
        return spec.read_text(cell)
    except ValueError:
        return None
