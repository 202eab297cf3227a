"""The typed contract: one :class:`Schema` per resource, read from ``schemas/<resource>.schema.json``.

A Frictionless Table Schema is the single definition of a resource. Every other form is derived
from it here: the field list, the pandas dtypes of the frames, the pandera schema
(:meth:`Schema.to_pandera`), the CSV and JSON codecs (text or JSON value to typed value and back)
and the descriptor published in ``datapackage.json``. Anything the contract cannot express
exactly (an unknown type, field key or constraint) fails closed with a :class:`ContractError`
naming the schema file and the key, instead of being skipped.

Example:
    >>> schema = Schema.from_descriptor(
    ...     {"fields": [{"name": "n", "type": "integer", "constraints": {"minimum": 1}}], "primaryKey": "n"})
    >>> schema.primary_key, schema.field("n").from_text("3"), schema.to_pandas_dtypes()
    (('n',), 3, {'n': 'Int64'})
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property, partial
from itertools import compress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pandas and pandera load only when a derived form needs them
    import pandas as pd
    import pyarrow as pa

    from ceasefire.contracts.pandera_adapter import RuledSchema

# Table Schema type -> the dtype a frame holds it in. Dates are ``datetime.date`` objects and lists
# Python lists, so both live in object columns.
PANDAS_DTYPES = {
    "string": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "object",
    "list": "object",
}


def _is_arrow_text(values: object) -> bool:
    import pyarrow as pa

    return isinstance(values, pa.Array) and (pa.types.is_string(values.type) or pa.types.is_large_string(values.type))


def text_column(values: object, may_repeat: bool = True) -> "pd.api.extensions.ExtensionArray":
    """A text field's values as a column: pandas' Arrow-backed strings, or, when the column repeats
    its texts (at most one distinct text in two rows: a place, a violator, a source file, the
    consequences), a categorical that holds each distinct text once. A field whose texts are
    unique (``may_repeat`` false: an id) is not counted, and keeps the first form.

    Both hold the same Python strings and render to the same bytes; a repeated text takes one code
    (one to four bytes) per row instead of its length plus eight. A missing text is ``pd.NA`` in
    the first form and ``nan`` in the second: both are missing to ``pd.isna`` and to every writer.

    Example:
        >>> str(text_column(["a", "b", "a", None]).dtype), str(text_column(["a", "b", "c", None]).dtype)
        ('category', 'string')
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pd.array(values, dtype="string")  # Arrow text already: no copy
    if len(texts) < 2 or not may_repeat:
        return texts
    arrow = pa.chunked_array(pa.array(texts))
    if pc.count_distinct(arrow).as_py() * 2 > len(texts):
        return texts
    return categorical_of(pc.dictionary_encode(arrow))


def categorical_of(encoded: "pa.ChunkedArray") -> "pd.Categorical":
    """A dictionary-encoded Arrow text column as a pandas categorical, its texts (object) in the dictionary's order."""
    import numpy as np
    import pandas as pd
    import pyarrow.compute as pc

    encoded = encoded.unify_dictionaries()
    codes = [pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False) for chunk in encoded.chunks if len(chunk)]
    texts = encoded.chunk(0).dictionary.to_pylist() if encoded.num_chunks else []
    return pd.Categorical.from_codes(np.concatenate(codes) if codes else np.array([], np.int8), pd.Index(texts, dtype=object))


# Bytes of parts deleted by concat_frames before the C library is asked to return them (~15 ms a call).
_RELEASED_BYTES = 64 * 2**20


def concat_frames(frames: list["pd.DataFrame"], unique: Iterable[str] = (), release_parts: bool = False) -> "pd.DataFrame":
    """The rows of ``frames`` (same columns) one after the other, renumbered: ``pd.concat``, except
    that a text column comes out in the form :func:`text_column` gives the whole column, whatever
    form its parts had (the texts of categorical parts are joined without a Python string per row).
    The columns named in ``unique`` are unique fields, texts that never take the categorical form.

    ``release_parts``: ``frames`` is emptied, and each column's parts are let go once they are
    joined, so the parts and the whole are not both held in full (docs/BENCHMARKS.md, round 12).
    The caller must hold no other reference to the frames."""
    import pandas as pd
    import pyarrow as pa
    from pandas.api.types import union_categoricals

    from ceasefire.memory import give_back

    names = list(frames[0].columns)
    by_column = {name: [frame[name] for frame in frames] for name in names}
    if release_parts:
        frames.clear()
    columns, released = {}, 0
    for name in names:
        parts = by_column.pop(name) if release_parts else by_column[name]
        if name in unique or not any(isinstance(part.dtype, (pd.CategoricalDtype, pd.StringDtype)) for part in parts):
            columns[name] = pd.concat(parts, ignore_index=True)
        elif all(isinstance(part.dtype, pd.CategoricalDtype) for part in parts):
            # Each part uses every one of its texts, in order of appearance.
            joined = union_categoricals([part.array for part in parts])
            columns[name] = joined if len(joined.categories) * 2 <= len(joined) else pd.array(joined, dtype="string")
        else:
            columns[name] = text_column(pa.chunked_array([pa.array(part, type=pa.large_string(), from_pandas=True) for part in parts]))
        if release_parts:
            released += sum(part.array.nbytes for part in parts)
            del parts
            # The parts were made on other threads, whose heaps this thread's allocations do not reuse.
            if released >= _RELEASED_BYTES:
                give_back()
                released = 0
    return pd.DataFrame(columns, columns=names, copy=False)


# Which constraint keys each type supports, as frictionless applies them.
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
_COMMON = ("required", "unique", "enum")
CONSTRAINTS_BY_TYPE = {
    "string": (*_COMMON, "pattern", "minLength", "maxLength"),
    "integer": (*_COMMON, *_BOUNDS),
    "number": (*_COMMON, *_BOUNDS),
    "boolean": ("required", "enum"),
    "date": (*_COMMON, *_BOUNDS),
    "list": ("required", "minLength", "maxLength"),
}
FIELD_KEYS = ("name", "type", "title", "description", "example", "constraints", "itemType", "delimiter", "format",
              "x-vocabulary")  # fmt: skip
SCHEMA_KEYS = ("$schema", "title", "description", "fields", "primaryKey", "foreignKeys", "missingValues")
LIST_ITEM_TYPES = ("string",)
DATE_FORMAT = "%Y-%m-%d"  # frictionless' default date pattern
TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")


class ContractError(ValueError):
    """A schema the code cannot honour exactly: named by file and key, never skipped."""

    def __init__(self, source: str, key: str, problem: str):
        self.source, self.key = source, key
        super().__init__(f"{source}: {key}: {problem}")


def normalise_key(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """A ``primaryKey`` or foreign-key ``fields`` value as a tuple: Table Schema allows a string.

    Example:
        >>> normalise_key("violation_id"), normalise_key(["a", "b"]), normalise_key(None)
        (('violation_id',), ('a', 'b'), ())
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def row_key_of(descriptor: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields that name a row of a Table Schema descriptor: its primary key, else its first field.

    For published descriptors of any version, which are read without the full contract.

    Example:
        >>> row_key_of({"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": "b"})
        ('b',)
    """
    return normalise_key(descriptor.get("primaryKey")) or (descriptor["fields"][0]["name"],)


def json_value(value: object) -> object:
    """A frame cell as a plain JSON value: dates ISO, numpy scalars unwrapped, missing values None.

    An empty list is a missing value too, as in every published format: CSV cannot tell the two apart.
    """
    if isinstance(value, list):
        return [str(item) for item in value] or None
    if value is None or _is_pandas_missing(value):
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def csv_text(value: object, delimiter: str = ";") -> str:
    """A plain value (what :func:`json_value` gives) as a CSV cell; a missing value is the empty cell."""
    if value is None:
        return ""
    if isinstance(value, list):
        return delimiter.join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_pandas_missing(value: object) -> bool:
    return type(value).__name__ == "NAType"  # pandas.NA, without importing pandas here


def _read_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, DATE_FORMAT).date()


def _read_boolean(text: str) -> bool:
    if text in TRUE_VALUES or text in FALSE_VALUES:
        return text in TRUE_VALUES
    raise ValueError(f"{text!r} is not a boolean")


@dataclass(frozen=True)
class Field:
    """One Table Schema field: its type, constraints and codecs.

    ``descriptor`` is the field exactly as the schema file writes it (vocabulary enums filled
    in); the published descriptor is derived from it, key order included.
    """

    name: str
    type: str
    constraints: Mapping[str, Any]
    descriptor: Mapping[str, Any]
    title: str | None = None
    description: str | None = None
    delimiter: str = ","
    vocabulary: str | None = None

    @classmethod
    def from_descriptor(cls, spec: Mapping[str, Any], source: str = "schema") -> Field:
        """Read one field; an unknown key, type or constraint raises :class:`ContractError`."""
        name = spec.get("name")
        where = f"fields[{name!r}]"
        if not isinstance(name, str) or not name:
            raise ContractError(source, "fields[].name", "every field needs a name")
        for key in spec:
            if key not in FIELD_KEYS:
                raise ContractError(source, f"{where}.{key}", f"unknown field key; supported: {', '.join(FIELD_KEYS)}")
        kind = spec.get("type", "string")
        if kind not in CONSTRAINTS_BY_TYPE:
            raise ContractError(source, f"{where}.type", f"unsupported type {kind!r}; supported: {', '.join(CONSTRAINTS_BY_TYPE)}")
        if spec.get("format", "default") != "default":
            raise ContractError(source, f"{where}.format", f"unsupported format {spec['format']!r}; only the default")
        if kind == "list" and spec.get("itemType", "string") not in LIST_ITEM_TYPES:
            raise ContractError(source, f"{where}.itemType", f"unsupported item type {spec['itemType']!r}")
        if kind != "list" and ("itemType" in spec or "delimiter" in spec):
            raise ContractError(source, f"{where}.{'itemType' if 'itemType' in spec else 'delimiter'}", "only list fields take it")
        constraints = spec.get("constraints", {})
        for key in constraints:
            if key not in CONSTRAINTS_BY_TYPE[kind]:
                raise ContractError(source, f"{where}.constraints.{key}",
                                    f"not a constraint a {kind} field supports here; supported: {', '.join(CONSTRAINTS_BY_TYPE[kind])}")  # fmt: skip
        return cls(
            name=name, type=kind, constraints=dict(constraints), descriptor=copy.deepcopy(dict(spec)),
            title=spec.get("title"), description=spec.get("description"), delimiter=spec.get("delimiter", ","),
            vocabulary=spec.get("x-vocabulary"),
        )  # fmt: skip

    @property
    def required(self) -> bool:
        return bool(self.constraints.get("required", False))

    @property
    def unique(self) -> bool:
        return bool(self.constraints.get("unique", False))

    @property
    def pandas_dtype(self) -> str:
        return PANDAS_DTYPES[self.type]

    @property
    def is_text(self) -> bool:
        """Text cells a spreadsheet could read as a formula: strings and the items of lists."""
        return self.type in ("string", "list")

    def to_descriptor(self, extensions: bool = False) -> dict:
        """The field as published: the schema file's own keys, minus project extensions (``x-``) unless asked."""
        return {key: copy.deepcopy(value) for key, value in self.descriptor.items() if extensions or not key.startswith("x-")}

    def bound(self, key: str) -> object:
        """A bound constraint (``minimum``, ``exclusiveMaximum``...) as the field's values hold it: dates as dates."""
        value = self.constraints[key]
        where = f"fields[{self.name!r}].constraints.{key}"
        if self.type == "date":
            try:
                return self.from_text(str(value))
            except ValueError:
                raise ContractError("schema", where, f"{value!r} is not a date") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContractError("schema", where, f"{value!r} is not a number")
        return value

    @cached_property
    def _value_tests(self) -> tuple[tuple[str, Callable[[Any], object]], ...]:
        """Each value constraint as ``(key, test)``: a value keeps it when its test is truthy.

        The tests are C callables where Python has one (a bound comparison, ``re.Pattern.match``,
        ``list.__contains__``), so :meth:`broken_constraints` maps them over many values without a
        Python frame per value. ``partial(operator.le, bound)(value)`` is ``bound <= value``, which
        Python evaluates as ``value >= bound``.
        """
        tests: list[tuple[str, Callable[[Any], object]]] = []
        for key, compare in (("minimum", operator.le), ("maximum", operator.ge),
                             ("exclusiveMinimum", operator.lt), ("exclusiveMaximum", operator.gt)):  # fmt: skip
            if key in self.constraints:
                tests.append((key, partial(compare, self.bound(key))))
        if "enum" in self.constraints:
            allowed = [self.from_text(item) if isinstance(item, str) else item for item in self.constraints["enum"]]
            tests.append(("enum", allowed.__contains__))
        if "pattern" in self.constraints:
            tests.append(("pattern", re.compile(f"^(?:{self.constraints['pattern']})$").match))
        if "minLength" in self.constraints:
            tests.append(("minLength", lambda value, low=self.constraints["minLength"]: len(value) >= low))
        if "maxLength" in self.constraints:
            tests.append(("maxLength", lambda value, high=self.constraints["maxLength"]: len(value) <= high))
        return tuple(tests)

    def broken_constraint(self, value: object) -> str | None:
        """The first value constraint a typed, present value breaks (``required`` and ``unique`` are the table's).

        Example:
            >>> Field.from_descriptor({"name": "n", "type": "integer", "constraints": {"maximum": 1}}).broken_constraint(2)
            'maximum'
        """
        return next((key for key, test in self._value_tests if not test(value)), None)

    def broken_constraints(self, values: Sequence[object]) -> list[str | None]:
        """:meth:`broken_constraint` of each value, one test at a time over all the values still unbroken.

        Each test sees exactly the values it would see one by one (those that kept every test
        before it), so the answers are the same; the loop per value runs in C.

        Example:
            >>> Field.from_descriptor({"name": "n", "type": "integer", "constraints": {"minimum": 1, "maximum": 3}}
            ...                       ).broken_constraints([0, 2, 5])
            ['minimum', None, 'maximum']
        """
        broken: list[str | None] = [None] * len(values)
        positions, candidates = range(len(values)), list(values)
        for key, test in self._value_tests:
            # No list of results unless a value breaks the test: a million live Match objects would
            # wake the cyclic garbage collector again and again.
            if all(map(test, candidates)):
                continue
            kept = list(map(bool, map(test, candidates)))
            for position, keeps in zip(positions, kept):
                if not keeps:
                    broken[position] = key
            positions, candidates = list(compress(positions, kept)), list(compress(candidates, kept))
        return broken

    @cached_property
    def read_text(self) -> Callable[[str], object]:
        """The codec of a present CSV cell (not a missing value); raises ValueError on text not of the type.

        Example:
            >>> list(map(Field.from_descriptor({"name": "n", "type": "integer"}).read_text, ["1", "079"]))
            [1, 79]
        """
        if self.type == "integer":
            return int
        if self.type == "number":
            return float
        if self.type == "date":
            return _read_date
        if self.type == "boolean":
            return _read_boolean
        if self.type == "list":
            return operator.methodcaller("split", self.delimiter)
        return str

    def from_text(self, text: str | None, missing_values: Iterable[str] = ("",)) -> object:
        """A CSV cell as the frame holds it; a missing value is None (an empty list for lists).

        Raises:
            ValueError: the text is not a value of the field's type.

        Example:
            >>> Field.from_descriptor({"name": "d", "type": "date"}).from_text("2022-03-24")
            datetime.date(2022, 3, 24)
        """
        if text is None or text in missing_values:
            return [] if self.type == "list" else None
        return self.read_text(text)

    def to_text(self, value: object) -> str | None:
        """A frame cell as its CSV text; None for a missing value (the empty cell)."""
        plain = json_value(value)
        return None if plain is None else csv_text(plain, self.delimiter)

    def from_json(self, value: object) -> object:
        """A JSON Lines value as the frame holds it."""
        if value is None:
            return [] if self.type == "list" else None
        if self.type == "date":
            return dt.date.fromisoformat(value)
        return value

    def to_json(self, value: object) -> object:
        """A frame cell as its JSON Lines value."""
        return json_value(value)


@dataclass(frozen=True)
class ForeignKey:
    fields: tuple[str, ...]
    resource: str  # "" refers to the resource itself
    reference_fields: tuple[str, ...]

    def to_descriptor(self, reference_suffix: str = "") -> dict:
        resource = f"{self.resource}{reference_suffix}" if self.resource else self.resource
        return {"fields": list(self.fields), "reference": {"resource": resource, "fields": list(self.reference_fields)}}


@dataclass(frozen=True)
class Schema:
    """A resource's Table Schema, typed; every derived form is a method."""

    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    missing_values: tuple[str, ...] = ("",)
    title: str | None = None
    description: str | None = None
    source: str = "schema"
    name: str | None = None
    declares_missing_values: bool = dataclass_field(default=True, compare=False, repr=False)

    @classmethod
    def from_file(cls, path: Path, vocabularies: Mapping[str, list[str]] | None = None) -> Schema:
        """Read ``schemas/<resource>.schema.json``; ``x-vocabulary`` fields get the terms as their enum."""
        source = f"schemas/{path.name}" if path.parent.name == "schemas" else str(path)
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ContractError(source, "(file)", f"not a readable JSON schema: {error}") from None
        for spec in descriptor.get("fields", []):
            vocabulary = spec.get("x-vocabulary") if isinstance(spec, dict) else None
            if vocabulary is None:
                continue
            if vocabularies is None or vocabulary not in vocabularies:
                raise ContractError(source, f"fields[{spec.get('name')!r}].x-vocabulary", f"no vocabulary named {vocabulary!r}")
            spec.setdefault("constraints", {})["enum"] = list(vocabularies[vocabulary])
        return cls.from_descriptor(descriptor, source=source, name=path.name.removesuffix(".schema.json"))

    @classmethod
    def from_descriptor(cls, descriptor: Mapping[str, Any], source: str = "schema", name: str | None = None) -> Schema:
        """Read a Table Schema descriptor (a file's or a published one)."""
        for key in descriptor:
            if key not in SCHEMA_KEYS:
                raise ContractError(source, key, f"unknown schema key; supported: {', '.join(SCHEMA_KEYS)}")
        specs = descriptor.get("fields")
        if not isinstance(specs, list) or not specs:
            raise ContractError(source, "fields", "a schema needs a list of fields")
        fields = tuple(Field.from_descriptor(spec, source) for spec in specs)
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ContractError(source, "fields", "field names repeat")
        primary_key = normalise_key(descriptor.get("primaryKey"))
        foreign_keys = []
        for number, key in enumerate(descriptor.get("foreignKeys", [])):
            reference = key.get("reference", {})
            foreign_keys.append(ForeignKey(normalise_key(key.get("fields")), reference.get("resource", ""),
                                           normalise_key(reference.get("fields"))))  # fmt: skip
            if len(foreign_keys[-1].fields) != len(foreign_keys[-1].reference_fields):
                raise ContractError(source, f"foreignKeys[{number}]", "fields and reference fields differ in number")
        for key_name, key_fields in [("primaryKey", primary_key), *(("foreignKeys", k.fields) for k in foreign_keys)]:
            unknown = [name for name in key_fields if name not in names]
            if unknown:
                raise ContractError(source, key_name, f"names fields the schema lacks: {', '.join(unknown)}")
        return cls(
            fields=fields, primary_key=primary_key, foreign_keys=tuple(foreign_keys),
            missing_values=tuple(descriptor.get("missingValues", [""])), title=descriptor.get("title"),
            description=descriptor.get("description"), source=source, name=name,
            declares_missing_values="missingValues" in descriptor,
        )  # fmt: skip

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(f"{self.source}: no field {name!r}")

    @property
    def row_key(self) -> tuple[str, ...]:
        """The fields that name a row: the primary key, else the first field (as :func:`row_key_of`)."""
        return self.primary_key or (self.fields[0].name,)

    def to_pandas_dtypes(self) -> dict[str, str]:
        """Field -> the dtype the pipeline's frames hold it in."""
        return {f.name: f.pandas_dtype for f in self.fields}

    def to_pyarrow(self) -> pa.Schema:
        """The Arrow schema of the Parquet download: dates as dates, nullable integers, lists as lists."""
        import pyarrow as pa

        from ceasefire.contracts.storage_types import arrow_type

        return pa.schema([
            pa.field(f.name, arrow_type(f.descriptor), metadata={key: f.descriptor[key] for key in ("title", "description") if f.descriptor.get(key)})
            for f in self.fields
        ])  # fmt: skip

    def to_sqlite(self) -> dict[str, str]:
        """Field -> its column type in the SQLite download (``publish/formats.py`` adds keys and indexes)."""
        from ceasefire.contracts.storage_types import sqlite_type

        return {f.name: sqlite_type(f.descriptor) for f in self.fields}

    def frame_from_records(self, records: Iterable[Mapping[str, object]]) -> pd.DataFrame:
        """Records (typed values) as a frame with the schema's fields, in order, and dtypes."""
        records = list(records)
        present = set().union(*records) if records else set(self.field_names)
        return self.frame_from_columns({name: [record.get(name) for record in records] for name in self.field_names if name in present})

    def frame_from_columns(self, columns: Mapping[str, list]) -> pd.DataFrame:
        """Typed values by field as a frame with the schema's dtypes, in schema order.

        A column the schema does not list is left out (the schema is the contract); a field the
        columns lack stays missing, and validation reports it.
        """
        import numpy as np
        import pandas as pd

        data = {}
        for f in self.fields:
            if f.name not in columns:
                continue
            values = columns[f.name]
            if f.pandas_dtype == "string":
                data[f.name] = text_column(values, may_repeat=not f.unique)
                continue
            if not isinstance(values, (np.ndarray, pd.api.extensions.ExtensionArray)):
                values = list(values)
            data[f.name] = pd.Series(values, dtype="object") if f.pandas_dtype == "object" else pd.array(values, dtype=f.pandas_dtype)
        return pd.DataFrame(data, columns=list(data), copy=False)

    def to_pandera(self, name: str | None = None, frame_checks: Iterable = ()) -> RuledSchema:
        """The pandera schema: every column check, the primary key, plus cross-column ``frame_checks``."""
        from ceasefire.contracts.pandera_adapter import build_pandera_schema

        return build_pandera_schema(self, name or self.name or "table", list(frame_checks))

    def to_descriptor(self, reference_suffix: str = "", *, as_written: bool = False) -> dict:
        """The frictionless Table Schema as published in ``datapackage.json``.

        ``reference_suffix`` renames the foreign keys' target resources (``-json`` for the JSON
        Lines twins). ``as_written`` gives the schema file's form instead: its title and
        description (the resource's, once published) and the ``x-`` extensions.
        """
        descriptor: dict[str, Any] = {}
        if as_written:
            descriptor |= {key: value for key, value in (("title", self.title), ("description", self.description)) if value is not None}
        descriptor["fields"] = [f.to_descriptor(extensions=as_written) for f in self.fields]
        if self.primary_key:
            descriptor["primaryKey"] = list(self.primary_key)
        if self.foreign_keys:
            descriptor["foreignKeys"] = [key.to_descriptor(reference_suffix) for key in self.foreign_keys]
        if self.declares_missing_values:
            descriptor["missingValues"] = list(self.missing_values)
        return descriptor
