"""Table Schema field types as storage types: Arrow (Parquet) and SQLite.

One mapping per target, each a pure function of a Table Schema field descriptor, so the typed
formats are generated from the contract and a new field needs no code change. A type with no
mapping fails closed: the error names the field and the key that holds the unknown type.

>>> sqlite_type({"name": "killed", "type": "integer"})
'INTEGER'
>>> sqlite_type({"name": "places", "type": "list", "itemType": "string"})
'TEXT'
>>> str(arrow_type({"name": "places", "type": "list", "itemType": "string"}))
'list<item: string>'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# Table Schema scalar type -> Arrow type factory name (pyarrow is imported only when asked).
_ARROW_SCALARS = {
    "string": "string",
    "integer": "int64",
    "number": "float64",
    "boolean": "bool_",
    "date": "date32",
}
# SQLite has no date or list type: dates are ISO 8601 text (sortable, what date() reads) and lists
# are JSON arrays as text (what json_each() and Datasette's array facets read).
_SQLITE_TYPES = {
    "string": "TEXT",
    "integer": "INTEGER",
    "number": "REAL",
    "boolean": "INTEGER",
    "date": "TEXT",
    "list": "TEXT",
}


class UnknownStorageType(ValueError):
    """A Table Schema field whose type has no storage mapping."""


def _declared(field: dict, key: str, known: dict, target: str) -> str:
    kind = field.get(key, "string" if key == "type" else None)
    if kind not in known:
        raise UnknownStorageType(
            f"field {field.get('name')!r}: {key} {kind!r} has no {target} mapping (known: {', '.join(sorted(known))})"
        )
    return kind


def arrow_type(field: dict) -> "pa.DataType":
    """The Arrow type of a Table Schema field: dates as date32, integers as int64, lists as lists.

    Every Arrow type is nullable, so an integer field with missing values stays an integer.
    """
    import pyarrow as pa

    kind = field.get("type", "string")
    if kind == "list":
        item = _declared(field, "itemType", _ARROW_SCALARS, "Arrow")
        return pa.list_(getattr(pa, _ARROW_SCALARS[item])())
    return getattr(pa, _ARROW_SCALARS[_declared(field, "type", _ARROW_SCALARS, "Arrow")])()


def sqlite_type(field: dict) -> str:
    """The SQLite column type (type affinity) of a Table Schema field."""
    kind = _declared(field, "type", _SQLITE_TYPES, "SQLite")
    if kind == "list":
        _declared(field, "itemType", _ARROW_SCALARS, "SQLite list item")
    return _SQLITE_TYPES[kind]
