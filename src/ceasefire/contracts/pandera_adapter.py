"""Pandera schemas built from the Frictionless Table Schemas in ``schemas/``.

pandera's own ``from_frictionless_schema`` reads dates as strings and targets older frictionless
releases, so this small adapter maps each Table Schema field to a pandera column that keeps dates
as ``datetime.date``. Every check carries the rule id and the expected value that findings report;
:class:`RuledSchema` keeps them beside the pandera schema so a failure can be named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
from pandera.engines import pandas_engine


@dataclass(frozen=True)
class Rule:
    """What a check means to a maintainer."""

    rule: str
    expected: str
    column: str | None = None
    message: str = ""


@dataclass
class RuledSchema:
    """A pandera schema plus the rule behind each of its checks, in check order."""

    schema: pa.DataFrameSchema
    column_rules: dict[str, list[Rule]] = field(default_factory=dict)
    frame_rules: list[Rule] = field(default_factory=list)


PANDAS_DTYPES = {
    "string": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
    "date": pandas_engine.Date,
    "list": object,
}


def _is_list_of_strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def column_for_field(spec: dict) -> tuple[pa.Column, list[Rule]]:
    """One Table Schema field as a pandera column and the rules of its checks.

    Example:
        >>> column, rules = column_for_field({"name": "n", "type": "integer", "constraints": {"minimum": 1}})
        >>> [r.rule for r in rules]
        ['minimum']
    """
    name, kind = spec["name"], spec["type"]
    if kind not in PANDAS_DTYPES:
        raise ValueError(f"field {name!r}: Table Schema type {kind!r} has no pandas mapping yet")
    constraints = spec.get("constraints", {})
    checks: list[pa.Check] = []
    rules: list[Rule] = []
    if kind == "list":
        checks.append(pa.Check(_is_list_of_strings, element_wise=True, ignore_na=True))
        rules.append(Rule("type", f"a list of {spec.get('itemType', 'string')} items", name))
    if "minimum" in constraints:
        checks.append(pa.Check.ge(constraints["minimum"]))
        rules.append(Rule("minimum", f">= {constraints['minimum']}", name))
    if "maximum" in constraints:
        checks.append(pa.Check.le(constraints["maximum"]))
        rules.append(Rule("maximum", f"<= {constraints['maximum']}", name))
    if "enum" in constraints:
        checks.append(pa.Check.isin(constraints["enum"]))
        rules.append(Rule("enum", "one of " + ", ".join(map(str, constraints["enum"])), name))
    if "pattern" in constraints:
        # Table Schema patterns match the whole value.
        checks.append(pa.Check.str_matches(f"^(?:{constraints['pattern']})$"))
        rules.append(Rule("pattern", f"matches {constraints['pattern']}", name))
    if "minLength" in constraints or "maxLength" in constraints:
        checks.append(pa.Check.str_length(constraints.get("minLength"), constraints.get("maxLength")))
        rules.append(Rule("length", f"length in [{constraints.get('minLength')}, {constraints.get('maxLength')}]", name))
    column = pa.Column(
        PANDAS_DTYPES[kind],
        checks=checks,
        nullable=not constraints.get("required", False),
        unique=bool(constraints.get("unique", False)),
        coerce=False,
        title=spec.get("title"),
        description=spec.get("description"),
    )
    return column, rules


def build_pandera_schema(table_schema: dict, name: str, frame_checks: list[tuple[pa.Check, Rule]] = ()) -> RuledSchema:
    """Build the pandera schema of a resource from its Table Schema plus cross-column checks."""
    columns = {}
    column_rules = {}
    for spec in table_schema["fields"]:
        columns[spec["name"]], column_rules[spec["name"]] = column_for_field(spec)
    primary_key = table_schema.get("primaryKey")
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    schema = pa.DataFrameSchema(
        columns,
        checks=[check for check, _ in frame_checks],
        unique=primary_key if primary_key and len(primary_key) > 1 else None,
        strict=True,
        ordered=True,
        name=name,
    )
    return RuledSchema(schema=schema, column_rules=column_rules, frame_rules=[rule for _, rule in frame_checks])


BUILTIN_RULES = {
    "not_nullable": ("required", "a value"),
    "field_uniqueness": ("unique", "a value no other row has"),
    "multiple_fields_uniqueness": ("primary-key", "a primary key no other row has"),
    "column_in_dataframe": ("missing-column", "the column to be present"),
    "column_in_schema": ("extra-column", "only the schema's columns"),
    "column_ordered": ("column-order", "the schema's column order"),
}


def rule_for_failure(ruled: RuledSchema, column: str | None, check: str, check_number: object) -> Rule:
    """Name the rule behind one row of pandera's ``failure_cases``."""
    if check in BUILTIN_RULES:
        rule, expected = BUILTIN_RULES[check]
        return Rule(rule, expected, column)
    if check.startswith("dtype("):
        dtype = re.sub(r"^dtype[(](.*)[)]$", r"\1", check)
        return Rule("type", f"values of type {dtype}", column)
    number = int(check_number) if check_number is not None and not pd.isna(check_number) else None
    if column in ruled.column_rules and number is not None and number < len(ruled.column_rules[column]):
        return ruled.column_rules[column][number]
    if number is not None and number < len(ruled.frame_rules):
        return ruled.frame_rules[number]
    return Rule(check, check, column)
