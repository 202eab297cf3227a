"""Pandera schemas built from the typed contract (:mod:`ceasefire.contracts.schema`).

pandera's own ``from_frictionless_schema`` reads dates as strings and targets older frictionless
releases, so this small adapter maps each Table Schema field to a pandera column that keeps dates
as ``datetime.date``. Every check is named after its rule, and the rule (id, expected value,
message) travels in the check's ``title`` and ``description`` and in :class:`RuledSchema`, looked
up by the check's name: a failure case names its rule directly, never by position.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.dtypes import DataType
from pandera.engines import pandas_engine

from ceasefire.contracts.schema import Field, Schema
from ceasefire.findings import Severity


@dataclass(frozen=True)
class Rule:
    """What a check means to a maintainer."""

    rule: str
    expected: str
    column: str | None = None
    message: str = ""
    severity: Severity = "error"
    whole_frame: bool = False  # the check compares a row with other rows (not uniqueness): it sees the whole frame at once


@dataclass
class RuledSchema:
    """A pandera schema plus the rule behind each of its checks, by check name."""

    schema: pa.DataFrameSchema
    column_rules: dict[str, list[Rule]] = field(default_factory=dict)
    frame_rules: list[Rule] = field(default_factory=list)
    rules_by_check: dict[tuple[str | None, str], Rule] = field(default_factory=dict)

    def rule_of(self, column: str | None, check: str) -> Rule | None:
        return self.rules_by_check.get((column, check)) or self.rules_by_check.get((None, check))


class Date(pandas_engine.Date):
    """pandera's date type, whose check calls a Python function per value (two date columns of a
    million rows: ~1.4 s): a column whose values are all ``datetime.date`` or None passes at once,
    by the set of their types; any other column gets pandera's own check, value by value.

    The storage type is compared as pandera's own check compares it (``pandas_engine.DataType``:
    ``object`` is ``object``); ``pandera.dtypes.DataType`` would compare the classes (a date is not
    ``object``), and no column would ever pass at once."""

    def check(self, pandera_dtype: DataType, data_container: pd.Series | None = None):  # type: ignore[override]
        if (data_container is not None and pandas_engine.DataType.check(self, pandera_dtype, data_container)
                and set(map(type, data_container)) <= {dt.date, type(None)}):  # fmt: skip
            return pd.Series(True, index=data_container.index)
        return super().check(pandera_dtype, data_container)


class Text(pandas_engine.STRING):
    """pandera's text type, which also takes a categorical of texts: the form a text column takes
    when it repeats its values (:func:`ceasefire.contracts.schema.text_column`)."""

    def check(self, pandera_dtype: DataType, data_container: pd.Series | None = None):  # type: ignore[override]
        if data_container is not None and isinstance(data_container.dtype, pd.CategoricalDtype):
            texts = set(map(type, data_container.cat.categories)) <= {str}
            return pd.Series(texts, index=data_container.index)
        return super().check(pandera_dtype, data_container)


PANDERA_DTYPES = {
    "string": Text(),
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": Date(),
    "list": object,
}


def _is_list_of_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _lists_of_strings(values: pd.Series) -> pd.Series:
    """:func:`_is_list_of_strings` of each value: at once, by the set of the values' and items'
    types, when every one is a list of texts; value by value otherwise, to name the ones that fail."""
    if set(map(type, values)) <= {list} and set(map(type, itertools.chain.from_iterable(values))) <= {str}:
        return pd.Series(True, index=values.index)
    return values.map(_is_list_of_strings)


def rule_check(test: Callable, rule: Rule) -> tuple[pa.Check, Rule]:
    """A frame-wide check and its rule, for the cross-column rules of ``validate/``.

    A row whose every cell is missing passes, as pandera's ``ignore_na`` has it; pandera would find
    those rows with ``isna`` over every cell of the frame, once per rule (object columns a value at
    a time: ~0.1 s a rule at 1M rows), where :func:`blank_rows` mostly reads one column.
    """

    def test_or_blank(frame: pd.DataFrame) -> pd.Series:
        return test(frame) | blank_rows(frame)

    return named_check(test_or_blank, rule, ignore_na=False), rule


def blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Whether each row of ``frame`` has every cell missing: ``frame.isna().all(axis="columns")``,
    each column read only at the rows still blank (none, after a required column). The first column
    is read whole: the positions of every row would be 8 bytes a row (80 MB at ten million rows)."""
    if not frame.shape[1]:
        return pd.Series(True, index=frame.index, dtype=bool)
    blank = np.array(frame.iloc[:, 0].isna().to_numpy(dtype=bool), dtype=bool)  # a copy of its own, written below
    for position in range(1, frame.shape[1]):
        rows = np.flatnonzero(blank)
        if not len(rows):
            break
        blank[rows] = frame.iloc[rows, position].isna().to_numpy(dtype=bool)
    return pd.Series(blank, index=frame.index)


def named_check(test: Callable, rule: Rule, *, element_wise: bool = False, ignore_na: bool = True) -> pa.Check:
    """A pandera check that carries its rule: the name is the lookup key, title and description say it."""
    name = rule.rule if rule.column is None else f"{rule.rule}:{rule.column}"
    return pa.Check(test, name=name, title=rule.rule, description=rule.message or rule.expected,
                    element_wise=element_wise, ignore_na=ignore_na)  # fmt: skip


# Constraint key -> (rule id, how the expectation reads, the vectorised test against the bound).
_BOUND_CHECKS = {
    "minimum": ("minimum", ">= {}", lambda s, v: s >= v),
    "exclusiveMinimum": ("minimum", "> {}", lambda s, v: s > v),
    "maximum": ("maximum", "<= {}", lambda s, v: s <= v),
    "exclusiveMaximum": ("maximum", "< {}", lambda s, v: s < v),
}


def _length_test(low: int | None, high: int | None) -> Callable[[object], bool]:
    def fits(value: object) -> bool:
        size = len(value)  # type: ignore[arg-type]
        return (low is None or size >= low) and (high is None or size <= high)

    return fits


def column_for_field(spec: Field | Mapping) -> tuple[pa.Column, list[Rule]]:
    """One Table Schema field as a pandera column and the rules of its checks.

    Example:
        >>> column, rules = column_for_field({"name": "n", "type": "integer", "constraints": {"minimum": 1}})
        >>> [r.rule for r in rules], [c.name for c in column.checks]
        (['minimum'], ['minimum:n'])
    """
    spec = spec if isinstance(spec, Field) else Field.from_descriptor(spec)
    name, constraints = spec.name, spec.constraints
    pairs: list[tuple[Callable, Rule, bool]] = []  # (test, rule, element_wise)
    if spec.type == "list":
        pairs.append((_lists_of_strings, Rule("type", f"a list of {spec.descriptor.get('itemType', 'string')} items", name), False))
    for key, (rule_id, expected, test) in _BOUND_CHECKS.items():
        if key in constraints:
            bound = spec.bound(key)
            pairs.append((lambda s, test=test, bound=bound: test(s, bound), Rule(rule_id, expected.format(constraints[key]), name), False))
    if "enum" in constraints:
        allowed = list(constraints["enum"])
        pairs.append((lambda s: s.isin(allowed), Rule("enum", "one of " + ", ".join(map(str, allowed)), name), False))
    if "pattern" in constraints:
        # Table Schema patterns match the whole value.
        whole = f"^(?:{constraints['pattern']})$"
        pairs.append((lambda s: s.str.match(whole), Rule("pattern", f"matches {constraints['pattern']}", name), False))
    if "minLength" in constraints or "maxLength" in constraints:
        low, high = constraints.get("minLength"), constraints.get("maxLength")
        expected = f"length in [{low}, {high}]" + (" items" if spec.type == "list" else "")
        pairs.append((_length_test(low, high), Rule("length", expected, name), True))
    checks = [named_check(test, rule, element_wise=element_wise) for test, rule, element_wise in pairs]
    column = pa.Column(
        PANDERA_DTYPES[spec.type],
        checks=checks,
        nullable=not spec.required,
        unique=spec.unique,
        coerce=False,
        title=spec.title,
        description=spec.description,
    )
    return column, [rule for _, rule, _ in pairs]


def build_pandera_schema(schema: Schema | Mapping, name: str, frame_checks: list[tuple[pa.Check, Rule]] = ()) -> RuledSchema:
    """The pandera schema of a resource: its Table Schema plus cross-column checks.

    The primary key is checked as a whole unless it is one field already declared unique (that
    field's ``unique`` check reports the duplicate).
    """
    schema = schema if isinstance(schema, Schema) else Schema.from_descriptor(schema)
    columns, column_rules, by_check = {}, {}, {}
    for spec in schema.fields:
        columns[spec.name], column_rules[spec.name] = column_for_field(spec)
        for check, rule in zip(columns[spec.name].checks, column_rules[spec.name]):
            by_check[(spec.name, check.name)] = rule
    for check, rule in frame_checks:
        by_check[(None, check.name)] = rule
    key = list(schema.primary_key)
    checked_by_column = len(key) == 1 and schema.field(key[0]).unique
    pandera_schema = pa.DataFrameSchema(
        columns,
        checks=[check for check, _ in frame_checks],
        unique=key if key and not checked_by_column else None,
        strict=True,
        ordered=True,
        name=name,
    )
    return RuledSchema(pandera_schema, column_rules, [rule for _, rule in frame_checks], by_check)


BUILTIN_RULES = {
    "not_nullable": ("required", "a value"),
    "field_uniqueness": ("unique", "a value no other row has"),
    "multiple_fields_uniqueness": ("primary-key", "a primary key no other row has"),
    "column_in_dataframe": ("missing-column", "the column to be present"),
    "column_in_schema": ("extra-column", "only the schema's columns"),
    "column_ordered": ("column-order", "the schema's column order"),
}


def rule_for_failure(ruled: RuledSchema, column: str | None, check: str) -> Rule:
    """Name the rule behind one row of pandera's ``failure_cases``, by the check's name."""
    if check in BUILTIN_RULES:
        rule, expected = BUILTIN_RULES[check]
        return Rule(rule, expected, column)
    if check.startswith("dtype("):
        dtype = re.sub(r"^dtype[(](.*)[)]$", r"\1", check)
        return Rule("type", f"values of type {dtype}", column)
    found = ruled.rule_of(column, check)
    if found is not None:
        return found
    return Rule(check, check, column)
