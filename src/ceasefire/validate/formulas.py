"""Spreadsheet formula injection (OWASP "CSV injection"): such a text cell blocks the release.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-``, ``@``, tab, carriage return or
line feed as a formula. We block rather than neutralise: neutralising (prefixing ``'``) would
publish a value that is not in the source, and the CSV and JSON forms would disagree. A blocked
value is fixed with a reviewed correction (``reviews/corrections.json``), which the package records.

Only text cells are checked (``string`` fields and the items of ``list`` fields): numbers such as
``-1`` are typed values, not formulas, and stay as they are.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ceasefire.contracts.schema import Schema
from ceasefire.findings import Finding
from ceasefire.extract.violations import Extraction
from ceasefire.publish.serialize import answer_each_object

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")

RULE = {
    "name": "csv-formula-injection",
    "action": "block",
    "prefixes": list(FORMULA_PREFIXES),
    "fields": "every field of type string, and every item of a field of type list",
    "description": (
        "No published text cell begins with =, +, -, @, tab, carriage return or line feed, so no "
        "spreadsheet runs a cell as a formula (OWASP CSV injection). Such a value blocks the release; "
        "it is never altered silently. A maintainer fixes it with a reviewed correction, recorded in "
        "the package. Numeric fields are not checked: -1 is a number, not a formula."
    ),
}


def is_formula_text(text: str) -> bool:
    """True when a spreadsheet would run ``text`` as a formula.

    Example:
        >>> is_formula_text("=HYPERLINK(\\"http://x\\")"), is_formula_text("near Shusha - 2 km")
        (True, False)
    """
    return text.startswith(FORMULA_PREFIXES)


def _holds_formula_text(value: object) -> bool:
    """Whether a cell, a text or a list whose text items are tested, begins with a formula prefix."""
    if isinstance(value, list):
        return any(isinstance(item, str) and is_formula_text(item) for item in value)
    return isinstance(value, str) and is_formula_text(value)


def _formula_text_mask(column: pd.Series) -> np.ndarray:
    """For each row of ``column``: does its text, or any text item of its list, begin with a formula prefix?

    Each distinct value is tested once: a categorical's texts, and the objects of an object column
    (the rows of one location share their list of places), where every row's text or list items
    were made into one column first (the check's peak at 3,000,000 rows: +155 -> +116 MB,
    docs/BENCHMARKS.md, round 12). A column of pandas' strings is tested by its string methods.
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        hits = np.array([_holds_formula_text(text) for text in column.cat.categories], dtype=bool)
        codes = column.cat.codes.to_numpy()
        return np.append(hits, False)[codes]  # a missing cell's code, -1, takes the last: False
    if column.dtype == object:
        return answer_each_object(column.to_numpy(), _holds_formula_text)
    return column.astype("string").str.startswith(FORMULA_PREFIXES).fillna(False).to_numpy(dtype=bool)


def _rows_with_formula_text(frame, names: list[str]) -> list[int]:
    """Positions of rows where any text cell (or list item) begins with a formula prefix."""
    suspect = np.zeros(len(frame), dtype=bool)
    for name in names:
        suspect |= _formula_text_mask(frame[name])
    return suspect.nonzero()[0].tolist()


def find_formula_cells(extraction: Extraction, schema: Schema) -> list[Finding]:
    """One error finding per text cell of ``extraction`` that a spreadsheet would run."""
    frame = extraction.frame
    text_fields = [spec.name for spec in schema.fields if spec.is_text]
    findings = []
    for position in _rows_with_formula_text(frame, [name for name in text_fields if name in frame.columns]):
        record = dict(zip(frame.columns, frame.iloc[position].tolist()))
        for name in text_fields:
            value = record.get(name)
            items = value if isinstance(value, list) else [value]
            hostile = [item for item in items if isinstance(item, str) and is_formula_text(item)]
            if not hostile:
                continue
            findings.append(
                Finding.from_row(
                    frame, position, severity="error", rule=RULE["name"], engine="extraction", resource=extraction.resource,
                    message=(
                        f"{name} begins with {hostile[0][:1]!r}, which a spreadsheet runs as a formula; "
                        "fix it with a reviewed correction in reviews/corrections.json"
                    ),
                    column=name, value=hostile[0], expected="text that does not begin with = + - @ tab CR LF",
                    cell_columns=extraction.cell_columns,
                )
            )  # fmt: skip
    return findings
