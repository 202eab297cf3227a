"""What changed between two releases, which version number that earns, and the changelog.

The comparison works on what a user downloads: each table resource's schema and its CSV rows,
keyed by the resource's primary key, plus the descriptive metadata of the package. The bump
follows the Data Package Version recipe, as refined in RELEASING.md:

- MAJOR: a resource removed; a field removed, renamed, retyped or moved; a field inserted before
  existing fields; a constraint made stricter; the primary key or foreign keys changed.
  Rows removed: an id that users join on disappears (publishing needs a reviewed removal first).
- MINOR: a resource added; a field added after the existing ones; a constraint loosened; rows added.
- PATCH: values corrected, or descriptive metadata corrected.

Identical content gives no change at all, so no new version.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from dataclasses import dataclass, field
from pathlib import Path

from ceasefire.plurals import plural
from ceasefire.publish.changes_file import ReadChanges, read_changes
from ceasefire.publish.markdown import markdown_code, markdown_text
from ceasefire.contracts.schema import row_key_of
from ceasefire.publish.publishing import DataFile, Version, hash_file, list_versions

BUMP_ORDER = {"none": 0, "patch": 1, "minor": 2, "major": 3}
CHANGES_FILE = "changes.json"
CHANGES_FORMAT = "1.0"
# Descriptive metadata whose correction is a PATCH. Provenance (code commit, software versions,
# raw checksums) and the run's date are not content: they change no published value.
METADATA_KEYS = ("name", "id", "title", "description", "homepage", "keywords", "licenses", "sources", "contributors",
                 "corrections")  # fmt: skip
RESOURCE_METADATA_KEYS = ("title", "description")
# A published cell is as long as the raw cell it comes from; the csv module's default limit
# (128 KiB) would make the diff fail on a long cell that validation had passed.
CSV_FIELD_LIMIT = 2**31 - 1
csv.field_size_limit(CSV_FIELD_LIMIT)
# Arrow reads the key columns in blocks of this size; a row that does not fit one is read by the csv module.
# With blocks of 16 MB, Arrow held ~550 MB at once to read the 3M ids of a 894 MB file (145 MB kept),
# with 1 MB ~175 MB, and it read them a little faster (docs/BENCHMARKS.md, round 10).
KEY_BLOCK_BYTES = 1 << 20
# Field properties that change how a value is read: a change is a retype.
TYPE_KEYS = ("type", "format", "itemType", "delimiter", "trueValues", "falseValues", "decimalChar", "groupChar")


@dataclass
class ResourceSnapshot:
    """A table resource as published: its schema and its rows by key, values as CSV text."""

    name: str
    schema: dict
    rows: Mapping[str, dict[str, str | None]]  # a dict, or CsvRows parsed on demand
    metadata: dict


@dataclass
class Snapshot:
    """What a user gets from one version: metadata and every resource by name."""

    metadata: dict
    resources: dict[str, ResourceSnapshot]
    resource_names: list[str]  # every resource, the JSON forms included


def _row_key(key: tuple[str, ...], row: dict[str, str | None]) -> str:
    return "/".join(str(row.get(name) or "") for name in key)


def parse_csv_rows(content: bytes, schema: dict) -> dict[str, dict[str, str | None]]:
    """CSV bytes to rows keyed by primary key; empty cells (the missing value) become None."""
    return _rows_by_key(io.StringIO(content.decode("utf-8"), newline=""), schema)


def _rows_by_key(text: io.TextIOBase, schema: dict) -> dict[str, dict[str, str | None]]:
    missing = set(schema.get("missingValues", [""]))
    key = row_key_of(schema)
    rows = {}
    for row in csv.DictReader(text):
        clean = {name: (None if value in missing else value) for name, value in row.items()}
        rows[_row_key(key, clean)] = clean
    return rows


def _as_empty(cells: "pa.Array", missing: "pa.Array") -> "pa.Array":
    """``cells`` with each missing value made empty (the cells themselves when none is missing)."""
    import pyarrow.compute as pc

    absent = pc.is_in(cells, value_set=missing)
    return pc.if_else(absent, "", cells) if pc.any(absent).as_py() else cells


def _may_repeat(keys: "pa.ChunkedArray") -> bool:
    """Whether two of ``keys`` may be equal: two share Python's hash of their text. Equal texts
    always do; different ones almost never (the caller then finds the repeats exactly). A block of
    the file at a time is made Python strings, 8 bytes a key are kept."""
    import numpy as np

    hashes = np.concatenate([np.fromiter(map(hash, chunk.to_pylist()), dtype=np.int64, count=len(chunk)) for chunk in keys.chunks]
                            or [np.empty(0, dtype=np.int64)])  # fmt: skip
    hashes.sort()
    return bool((hashes[1:] == hashes[:-1]).any())


class CsvRows(Mapping):
    """The rows of a CSV file on disk, keyed by primary key, read on demand.

    Keys come from the key columns alone, rows only when read: a million-row resource as a dict of
    dicts takes gigabytes, and a release diff mostly needs the keys (rows added and removed) and,
    when the files' sha256 are equal, no row at all.
    """

    def __init__(self, path: Path, schema: dict, sha256: str | None = None):
        self.path, self.schema = path, schema
        if sha256 is not None:
            self.__dict__["sha256"] = sha256  # known from writing it

    @cached_property
    def sha256(self) -> str:
        return hash_file(self.path)[1]

    @cached_property
    def _keys(self) -> "pa.Array | pa.ChunkedArray":
        """Each row's key (its key cells joined by ``/``, a missing cell as empty), first occurrence
        first, as Arrow texts (a million keys as Python strings would be ~100 MB more).

        A published file's keys do not repeat, which their hashes show (:func:`_may_repeat`):
        Arrow's ``unique`` would hold a second copy of them and a hash table (its ``count_distinct``
        took +1 GB for ten million ids, docs/BENCHMARKS.md, round 10).
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        with self.path.open(encoding="utf-8", newline="") as text:
            header = next(csv.reader(text), [])
        try:
            keys = pa.chunked_array(self._keys_by_arrow(header), pa.string())
        except pa.ArrowInvalid:  # a row Arrow cannot read in one block, or a ragged row: the csv module reads any
            keys = pa.chunked_array([pa.array(self._keys_by_csv_module(header), pa.string())])
        return pc.unique(keys) if _may_repeat(keys) else keys  # in the order of first occurrence

    def _keys_by_arrow(self, header: list[str]) -> list["pa.Array"]:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pv

        key = row_key_of(self.schema)
        present = [name for name in key if name in header]
        missing = pa.array(sorted(set(self.schema.get("missingValues", [""]))), pa.string())
        convert = pv.ConvertOptions(include_columns=present, column_types={name: pa.string() for name in present},
                                    strings_can_be_null=False, quoted_strings_can_be_null=False, null_values=[])  # fmt: skip
        reader = pv.open_csv(self.path, read_options=pv.ReadOptions(block_size=KEY_BLOCK_BYTES),
                             parse_options=pv.ParseOptions(newlines_in_values=True), convert_options=convert)  # fmt: skip
        keys: list[pa.Array] = []
        for batch in reader:
            empty = pa.array([""] * batch.num_rows, pa.string())
            parts = [_as_empty(batch.column(name), missing) if name in present else empty for name in key]
            keys.append(parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "/"))
        return keys

    def _keys_by_csv_module(self, header: list[str]) -> list[str]:
        missing = set(self.schema.get("missingValues", [""]))
        positions = [header.index(name) if name in header else None for name in row_key_of(self.schema)]
        with self.path.open(encoding="utf-8", newline="") as text:
            reader = csv.reader(text)
            next(reader, None)
            return [
                "/".join("" if at is None or at >= len(row) or row[at] in missing else row[at] for at in positions)
                for row in reader
            ]  # fmt: skip

    @cached_property
    def _key_set(self) -> set[str]:
        return set(self._keys.to_pylist())

    @cached_property
    def _rows(self) -> dict[str, dict[str, str | None]]:
        with self.path.open(encoding="utf-8", newline="") as text:
            return _rows_by_key(text, self.schema)

    def __getitem__(self, key: str) -> dict[str, str | None]:
        return self._rows[key]

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self._keys), _ITER_KEYS):
            yield from self._keys[start : start + _ITER_KEYS].to_pylist()

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._key_set

    def text_table(self) -> "pa.Table | None":
        """Every column as text (a missing cell null) and each row's key in a last column, read by
        Arrow; None when Arrow cannot read the file as the csv module does (a ragged row, a row
        longer than a block, a repeated column name) or the keys repeat."""
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pv

        with self.path.open(encoding="utf-8", newline="") as text:
            header = next(csv.reader(text), [])
        if len(set(header)) != len(header) or _KEY_COLUMN in header:
            return None
        convert = pv.ConvertOptions(column_types={name: pa.string() for name in header}, null_values=list(self.schema.get("missingValues", [""])),
                                    strings_can_be_null=True, quoted_strings_can_be_null=True)  # fmt: skip
        try:
            table = pv.read_csv(self.path, read_options=pv.ReadOptions(block_size=KEY_BLOCK_BYTES),
                                parse_options=pv.ParseOptions(newlines_in_values=True), convert_options=convert)  # fmt: skip
        except pa.ArrowInvalid:
            return None
        empty = pa.array([""] * table.num_rows, pa.string())
        parts = [pc.fill_null(table.column(name), "") if name in header else empty for name in row_key_of(self.schema)]
        keys = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "/")
        if _may_repeat(keys) and len(pc.unique(keys)) != table.num_rows:
            return None
        return table.append_column(_KEY_COLUMN, keys)


# Keys made Python strings at a time while iterating a :class:`CsvRows`.
_ITER_KEYS = 65_536
# The column of :meth:`CsvRows.text_table` that holds each row's key.
_KEY_COLUMN = "\x00key"


def _compare_csv_rows(old: CsvRows, new: CsvRows) -> tuple[list[str], list[str], list[str], dict, dict] | None:
    """Rows removed, rows added and rows changed (keys in both whose rows differ, in ``new``'s
    order) between two CSV files, with the rows these name, compared column-wise by Arrow instead
    of as a dict of every row; None when either file cannot be read so (the caller compares dicts)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    before, after = old.text_table(), new.text_table()
    if before is None or after is None:
        return None
    old_keys, new_keys = before.column(_KEY_COLUMN), after.column(_KEY_COLUMN)
    removed = old_keys.filter(pc.invert(pc.is_in(old_keys, value_set=new_keys))).to_pylist()
    positions = pc.index_in(new_keys, value_set=old_keys)  # of each new row in the old file, null if new
    shared = pc.is_valid(positions)
    added = new_keys.filter(pc.invert(shared)).to_pylist()
    if set(before.column_names) != set(after.column_names) or not before.num_rows:
        differs = shared  # dicts with other keys differ, whatever their values (and no row is shared)
    else:
        differs = pa.array([False] * after.num_rows, pa.bool_())
        previous = pc.fill_null(positions, 0)
        for name in after.column_names:
            if name == _KEY_COLUMN:
                continue
            one, other = after.column(name), before.column(name).take(previous)  # a column at a time
            unequal = pc.fill_null(pc.not_equal(one, other), True)  # one cell missing, the other not
            differs = pc.or_(differs, pc.and_(unequal, pc.invert(pc.and_(pc.is_null(one), pc.is_null(other)))))
        differs = pc.and_(differs, shared)
    changed = new_keys.filter(differs).to_pylist()
    named_old = set(removed) | set(changed)
    return removed, added, changed, _rows_named(before, named_old), _rows_named(after, set(added) | set(changed))


def _rows_named(table: "pa.Table", keys: set[str]) -> dict[str, dict[str, str | None]]:
    """The rows of a :meth:`CsvRows.text_table` whose key is in ``keys``, as the csv module reads them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chosen = table.filter(pc.is_in(table.column(_KEY_COLUMN), value_set=pa.array(sorted(keys), pa.string())))
    return {row.pop(_KEY_COLUMN): row for row in chosen.to_pylist()}


def _metadata(descriptor: dict) -> dict:
    return {key: descriptor.get(key) for key in METADATA_KEYS}


def _resource_metadata(resource: dict) -> dict:
    return {key: resource.get(key) for key in RESOURCE_METADATA_KEYS}


def snapshot_from_files(descriptor: dict, files: list[DataFile], folder: Path) -> Snapshot:
    """The snapshot of a build whose CSV forms are written in ``folder``.

    ``files`` lists every file of the build; only the CSV forms need to be written (a comparison
    reads no other form), the rest give their resource names.
    """
    resources = {
        f.resource: ResourceSnapshot(f.resource, f.schema, CsvRows(folder / f.path, f.schema, f.sha256), _resource_metadata(f.descriptor()))
        for f in files
        if f.format == "csv"
    }
    return Snapshot(_metadata(descriptor), resources, [f.resource for f in files])


def snapshot_from_folder(version_dir: Path) -> Snapshot:
    """The snapshot of a published version folder."""
    descriptor = json.loads((version_dir / "datapackage.json").read_text(encoding="utf-8"))
    resources = {}
    for resource in descriptor["resources"]:
        if resource.get("format") == "csv":
            resources[resource["name"]] = ResourceSnapshot(
                resource["name"], resource["schema"], CsvRows(version_dir / resource["path"], resource["schema"]),
                _resource_metadata(resource),
            )
    return Snapshot(_metadata(descriptor), resources, [r["name"] for r in descriptor["resources"]])


@dataclass
class SchemaChange:
    kind: str  # field-removed | field-added | field-retyped | fields-reordered | constraint-stricter | ...
    bump: str
    detail: str
    field: str | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "field": self.field, "bump": self.bump, "detail": self.detail}


@dataclass
class ResourceChanges:
    """What changed in one table resource."""

    name: str
    rows_before: int
    rows_after: int
    added: Sequence[str] = field(default_factory=list)  # a TextList for a first release's every row
    removed: list[str] = field(default_factory=list)
    changed: list[dict] = field(default_factory=list)  # {"id", "previous_id", "fields": {f: {"old", "new"}}}
    schema: list[SchemaChange] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.schema or self.metadata)

    def to_dict(self) -> dict:
        return {
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "rows_added": self.added,
            "rows_removed": self.removed,
            "rows_changed": self.changed,
            "schema_changes": [change.to_dict() for change in self.schema],
            "metadata_changes": self.metadata,
        }


@dataclass
class Changes:
    """The comparison of two snapshots and the bump it earns."""

    resources_added: list[str]
    resources_removed: list[str]
    resources: dict[str, ResourceChanges]
    metadata: list[str]

    @property
    def empty(self) -> bool:
        return not (self.resources_added or self.resources_removed or self.metadata) and all(
            r.empty for r in self.resources.values()
        )

    @property
    def reasons(self) -> list[tuple[str, str]]:
        """(bump, why) for every change, strongest first."""
        reasons = [("major", f"resource {name} removed") for name in self.resources_removed]
        reasons += [("minor", f"resource {name} added") for name in self.resources_added]
        for name, resource in self.resources.items():
            reasons += [(c.bump, f"{name}: {c.detail}") for c in resource.schema]
            if resource.added:
                reasons.append(("minor", f"{name}: {plural(len(resource.added), 'row')} added"))
            if resource.removed:
                reasons.append(("major", f"{name}: {plural(len(resource.removed), 'row')} removed"))
            if resource.changed:
                reasons.append(("patch", f"{name}: {plural(len(resource.changed), 'row')} changed"))
            reasons += [("patch", f"{name}: {m}") for m in resource.metadata]
        reasons += [("patch", m) for m in self.metadata]
        return sorted(reasons, key=lambda reason: -BUMP_ORDER[reason[0]])

    @property
    def bump(self) -> str:
        """``major``, ``minor``, ``patch``, or ``none`` when nothing changed."""
        return self.reasons[0][0] if self.reasons else "none"

    def to_dict(self) -> dict:
        return {
            "bump": self.bump,
            "reasons": [{"bump": bump, "change": why} for bump, why in self.reasons],
            "resources_added": self.resources_added,
            "resources_removed": self.resources_removed,
            "metadata_changes": self.metadata,
            "resources": {name: resource.to_dict() for name, resource in self.resources.items()},
        }


def _constraint_changes(name: str, old: dict, new: dict) -> list[SchemaChange]:
    """Constraint by constraint: stricter is MAJOR, looser is MINOR."""
    changes = []

    def add(stricter: bool, detail: str) -> None:
        kind = "constraint-stricter" if stricter else "constraint-loosened"
        changes.append(SchemaChange(kind, "major" if stricter else "minor", f"field {name}: {detail}", name))

    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None:
            if key in ("required", "unique") and after is False:
                continue
            add(True, f"constraint {key} added ({after!r})")
        elif after is None:
            if key in ("required", "unique") and before is False:
                continue
            add(False, f"constraint {key} removed (was {before!r})")
        elif key in ("required", "unique"):
            add(bool(after), f"{key} {before!r} → {after!r}")
        elif key in ("minimum", "minLength", "exclusiveMinimum"):
            add(after > before, f"{key} {before!r} → {after!r}")
        elif key in ("maximum", "maxLength", "exclusiveMaximum"):
            add(after < before, f"{key} {before!r} → {after!r}")
        elif key == "enum":
            gone, extra = set(map(str, before)) - set(map(str, after)), set(map(str, after)) - set(map(str, before))
            if gone:
                add(True, f"enum values removed: {sorted(gone)}")
            if extra:
                add(False, f"enum values added: {sorted(extra)}")
        else:  # a changed pattern or anything we cannot order: assume it may reject old values
            add(True, f"{key} {before!r} → {after!r}")
    return changes


def compare_schemas(old: dict, new: dict) -> list[SchemaChange]:
    """Field-level changes between two Table Schemas."""
    changes: list[SchemaChange] = []
    old_fields = {spec["name"]: spec for spec in old["fields"]}
    new_fields = {spec["name"]: spec for spec in new["fields"]}
    old_order = [spec["name"] for spec in old["fields"]]
    new_order = [spec["name"] for spec in new["fields"]]
    for name in old_order:
        if name not in new_fields:
            changes.append(SchemaChange("field-removed", "major", f"field {name} removed (or renamed)", name))
    kept_old = [name for name in old_order if name in new_fields]
    kept_new = [name for name in new_order if name in old_fields]
    if kept_old != kept_new:
        changes.append(SchemaChange("fields-reordered", "major", f"fields reordered: {kept_old} → {kept_new}"))
    last_old_position = max((new_order.index(name) for name in kept_new), default=-1)
    for position, name in enumerate(new_order):
        if name in old_fields:
            continue
        if position < last_old_position:
            changes.append(SchemaChange("field-inserted", "major", f"field {name} inserted before existing fields", name))
        else:
            changes.append(SchemaChange("field-added", "minor", f"field {name} added", name))
    for name in kept_new:
        before, after = old_fields[name], new_fields[name]
        retyped = {key: (before.get(key), after.get(key)) for key in TYPE_KEYS if before.get(key) != after.get(key)}
        if retyped:
            detail = ", ".join(f"{key} {a!r} → {b!r}" for key, (a, b) in retyped.items())
            changes.append(SchemaChange("field-retyped", "major", f"field {name} retyped: {detail}", name))
        changes += _constraint_changes(name, before.get("constraints", {}), after.get("constraints", {}))
        for key in ("title", "description"):
            if before.get(key) != after.get(key):
                changes.append(SchemaChange("field-description", "patch", f"field {name}: {key} corrected", name))
    for key in ("primaryKey", "foreignKeys", "missingValues"):
        if old.get(key) != new.get(key):
            bump = "minor" if key == "foreignKeys" and not new.get(key) else "major"
            changes.append(SchemaChange(key, bump, f"{key} {old.get(key)!r} → {new.get(key)!r}"))
    return changes


def _pair_corrected_rows(old: ResourceSnapshot, new: ResourceSnapshot, removed: list[str], added: list[str]) -> list[tuple[str, str]]:
    """Pair removed and added rows that describe the same record under a new id.

    An id derived from a corrected value moves. Two rows are the same record when most of their
    other fields are equal; the pair with most equal fields wins, then a shared source line.
    """
    shared = [spec["name"] for spec in new.schema["fields"] if any(f["name"] == spec["name"] for f in old.schema["fields"])]
    key = row_key_of(new.schema)
    compared = [name for name in shared if name not in key]
    if not compared:
        return []
    candidates = []
    for old_id in removed:
        for new_id in added:
            before, after = old.rows[old_id], new.rows[new_id]
            equal = sum(before.get(name) == after.get(name) for name in compared)
            if equal * 2 > len(compared):
                same_line = before.get("source_line") == after.get("source_line")
                candidates.append((-equal, not same_line, old_id, new_id))
    pairs, used_old, used_new = [], set(), set()
    for _, _, old_id, new_id in sorted(candidates):
        if old_id not in used_old and new_id not in used_new:
            pairs.append((old_id, new_id))
            used_old.add(old_id)
            used_new.add(new_id)
    return pairs


def _field_changes(before: dict, after: dict) -> dict[str, dict]:
    return {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in list(after) + [n for n in before if n not in after]
        if before.get(name) != after.get(name)
    }


def compare_resources(old: ResourceSnapshot, new: ResourceSnapshot) -> ResourceChanges:
    changes = ResourceChanges(new.name, len(old.rows), len(new.rows))
    changes.schema = compare_schemas(old.schema, new.schema)
    changes.metadata = [f"{key} corrected" for key in RESOURCE_METADATA_KEYS if old.metadata.get(key) != new.metadata.get(key)]
    if isinstance(old.rows, CsvRows) and isinstance(new.rows, CsvRows) and old.rows.sha256 == new.rows.sha256 \
            and old.schema == new.schema:
        return changes  # the same CSV bytes read with the same schema: no row changed
    compared = _compare_csv_rows(old.rows, new.rows) if isinstance(old.rows, CsvRows) and isinstance(new.rows, CsvRows) else None
    if compared is None:
        removed = [key for key in old.rows if key not in new.rows]
        added = [key for key in new.rows if key not in old.rows]
        changed = [key for key, after in new.rows.items() if key in old.rows and old.rows[key] != after]
        old_rows, new_rows = old.rows, new.rows
    else:  # only the rows named are held as dicts
        removed, added, changed, old_rows, new_rows = compared
        old, new = dataclasses.replace(old, rows=old_rows), dataclasses.replace(new, rows=new_rows)
    pairs = _pair_corrected_rows(old, new, removed, added)
    paired_old, paired_new = {a for a, _ in pairs}, {b for _, b in pairs}
    changes.removed = [key for key in removed if key not in paired_old]
    changes.added = [key for key in added if key not in paired_new]
    for key in changed:
        changes.changed.append({"id": key, "previous_id": key, "fields": _field_changes(old_rows[key], new_rows[key])})
    for old_id, new_id in pairs:
        changes.changed.append({"id": new_id, "previous_id": old_id, "fields": _field_changes(old_rows[old_id], new_rows[new_id])})
    return changes


def compare(old: Snapshot, new: Snapshot) -> Changes:
    """Everything that changed from ``old`` to ``new``."""
    resources = {
        name: compare_resources(old.resources[name], resource)
        for name, resource in new.resources.items()
        if name in old.resources
    }
    metadata = [
        "corrections in effect changed" if key == "corrections" else f"{key} corrected"
        for key in METADATA_KEYS
        if (old.metadata.get(key) or None) != (new.metadata.get(key) or None)
    ]
    return Changes(
        resources_added=[name for name in new.resource_names if name not in old.resource_names],
        resources_removed=[name for name in old.resource_names if name not in new.resource_names],
        resources=resources,
        metadata=metadata,
    )


def initial_changes(new: Snapshot, keys: Mapping[str, Sequence[str]] | None = None) -> Changes:
    """The first release: every resource and row is new.

    ``keys``: a resource's row keys in row order, where the caller holds them already (the key
    column its CSV form was written from); the others are read from the rows. Reading them back
    from the file held a second copy of every id until the version was staged (+511 MB at ten
    million rows, docs/BENCHMARKS.md)."""
    keys = keys or {}

    def added(name: str, rows: Mapping) -> Sequence[str]:
        return keys[name] if name in keys else _all_keys(rows)

    resources = {name: added(name, resource.rows) for name, resource in new.resources.items()}
    return Changes(
        resources_added=list(new.resource_names),
        resources_removed=[],
        resources={name: ResourceChanges(name, 0, len(rows), added=rows) for name, rows in resources.items()},
        metadata=[],
    )


def _all_keys(rows: Mapping) -> Sequence[str]:
    """Every row key, in order: as Arrow text when the rows are a CSV file's (a million are ~70 MB as ``str``)."""
    if isinstance(rows, CsvRows):
        from ceasefire.publish.serialize import TextList

        return TextList(rows._keys)
    return list(rows)


def changes_record(changes: Changes, version: Version, previous: Version | None, bump: str, created: str, corrections: list[dict]) -> dict:
    """The machine-readable changelog of one release (``changes.json`` in its folder)."""
    return {
        "changes_format": CHANGES_FORMAT,
        "version": str(version),
        "previous_version": str(previous) if previous else None,
        "bump": bump,
        "created": created,
        **{key: value for key, value in changes.to_dict().items() if key != "bump"},
        "corrections_applied": corrections,
    }


def _value(value: object) -> str:
    return "(empty)" if value in (None, "") else markdown_code(value)


def render_changes_markdown(record: dict, heading: str = "##", title: str | None = None) -> str:
    """One release's changes for people: bump, reasons, rows by id (old → new), schema, corrections."""
    previous = record.get("previous_version")
    title = title or f"{record['version']} ({record['created'][:10]}, {record['bump']})"
    lines = [f"{heading} {title}", ""]
    if previous:
        lines.append(f"Compared with {previous}.")
    else:
        lines.append("First release.")
    lines.append("")
    for reason in record.get("reasons", []) if previous else []:
        lines.append(f"- **{reason['bump'].upper()}**: {markdown_text(reason['change'])}")
    for name, resource in record.get("resources", {}).items():
        parts = []
        if resource["rows_added"] and previous:
            parts += ["Rows added:", *[f"- {markdown_code(key)}" for key in resource["rows_added"]]]
        elif resource["rows_added"]:
            parts.append(f"{len(resource['rows_added'])} rows.")
        if resource["rows_removed"]:
            parts += ["Rows removed:", *[f"- {markdown_code(key)}" for key in resource["rows_removed"]]]
        if resource["rows_changed"]:
            parts.append("Rows changed (old → new):")
            for row in resource["rows_changed"]:
                moved = f" (was {markdown_code(row['previous_id'])})" if row["previous_id"] != row["id"] else ""
                details = "; ".join(f"{name_}: {_value(v['old'])} → {_value(v['new'])}" for name_, v in row["fields"].items())
                parts.append(f"- {markdown_code(row['id'])}{moved}: {details}")
        if resource["schema_changes"]:
            parts += ["Schema changes:", *[f"- {c['bump'].upper()}: {c['detail']}" for c in resource["schema_changes"]]]
        if parts:
            lines += ["", f"{heading}# {name} ({resource['rows_before']} → {resource['rows_after']} rows)", "", *parts]
    corrections = record.get("corrections_applied", [])
    if corrections:
        lines += ["", f"{heading}# Corrections applied", ""]
        for c in corrections:
            lines.append(
                f"- {markdown_text(c['resource'])} {markdown_code(c['id'])} {c['field']}: "
                f"{_value(c['old_value'])} → {_value(c['new_value'])}. "
                f"{markdown_text(c['reason'])} (reviewed by {markdown_text(c['reviewer'])}, {markdown_text(c['date'])})"
            )
    return "\n".join(lines) + "\n"


def render_changelog(package_dir: Path, title: str, read: ReadChanges = read_changes) -> str:
    """The package's ``CHANGELOG.md``: every release with a changes record, newest first; ``read``
    gives a release's record (default :func:`read_changes`)."""
    lines = [f"# Changelog: {title}", "", "Newest first. Each version's `changes.json` holds the same in machine-readable form.", ""]
    for version in reversed(list_versions(package_dir)):
        path = package_dir / str(version) / CHANGES_FILE
        if path.is_file():
            lines.append(render_changes_markdown(read(path)))  # a first release's every key: counted, not parsed
        else:
            lines += [f"## {version}", "", "Published before changelogs were kept.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def corrections_added(old: Snapshot, new: Snapshot) -> list[dict]:
    """Corrections in effect in ``new`` that were not in effect in ``old``."""
    before = old.metadata.get("corrections") or []
    return [c for c in new.metadata.get("corrections") or [] if c not in before]


def render_diff_text(old_version: str, new_version: str, old: Snapshot, new: Snapshot) -> str:
    """The comparison of two published versions for a terminal (``ceasefire diff``)."""
    changes = compare(old, new)
    if changes.empty:
        return f"{old_version} → {new_version}: no changes\n"
    record = {
        "version": new_version, "previous_version": old_version, "bump": changes.bump, "created": "",
        **{key: value for key, value in changes.to_dict().items() if key != "bump"},
        "corrections_applied": corrections_added(old, new),
    }  # fmt: skip
    return render_changes_markdown(record, heading="#", title=f"{old_version} → {new_version}: {changes.bump}")
