"""Invisible and control characters in published text: such a cell blocks the release.

A NUL byte, another C0 or C1 control character, a Unicode line or paragraph separator, or a
bidirectional override or isolate is invisible in most viewers. It can hide or reorder what a
reader sees (the "Trojan Source" trick) or end a line in one tool and not in another, so the value
a user reads would not be the value the source holds. Tab and line feed are plain whitespace and
pass. Like formula text, such a value is reported and never altered silently.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ceasefire.extract.violations import Extraction
from ceasefire.findings import Finding
from ceasefire.publish.serialize import distinct_objects

RULE_NAME = "control-character"
# C0 except tab and LF, DEL and C1 (U+0085 included), line/paragraph separators, bidi embeddings,
# overrides and isolates.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def find_control_character(text: str) -> tuple[int, str] | None:
    """The 1-based position and ``U+XXXX`` name of the first control character in ``text``.

    Example:
        >>> find_control_character("near Shusha\\u202e")
        (12, 'U+202E')
        >>> find_control_character("tab\\tis fine") is None
        True
    """
    match = CONTROL_CHARACTERS.search(text)
    return (match.start() + 1, f"U+{ord(match.group()):04X}") if match else None


def _list_rows_with_controls(values: list) -> list[int] | None:
    """Positions of the lists holding a text with a control character, found by Arrow on their items
    flattened; None unless every value is a list of texts or missing (the caller looks value by value)."""
    # Checked first, as Arrow would take bytes, tuples or missing items for texts and lists.
    if not {type(value) for value in values} <= {list, type(None)} or not {type(item) for value in values if value for item in value} <= {str}:
        return None
    lists = pa.array(values, type=pa.list_(pa.large_string()))
    hits = pc.match_substring_regex(pc.list_flatten(lists), CONTROL_CHARACTERS.pattern)
    return np.unique(pc.list_parent_indices(lists).filter(hits).to_numpy()).tolist()


def _suspect_rows(frame: pd.DataFrame, names: list[str]) -> list[int]:
    suspect: set[int] = set()
    for name in names:
        values = frame[name]
        # A list column: each distinct list searched once (the rows of one location share their list of places).
        codes, listed = distinct_objects(values.to_numpy()) if values.dtype == object else (None, [])
        if any(isinstance(value, list) for value in listed):
            found = _list_rows_with_controls(listed)
            if found is None:
                found = [position for position, value in enumerate(listed)
                         if isinstance(value, list) and any(isinstance(i, str) and CONTROL_CHARACTERS.search(i) for i in value)]  # fmt: skip
            suspect.update(np.flatnonzero(np.isin(codes, found)).tolist())
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):  # a repeated text column: each distinct text searched once
            texts = pd.Series(values.cat.categories, dtype="string").str.contains(CONTROL_CHARACTERS, regex=True).to_numpy(bool)
            codes = values.cat.codes.to_numpy()
            suspect.update(np.flatnonzero(np.isin(codes, np.flatnonzero(texts))).tolist())
            continue
        flags = values.astype("string").str.contains(CONTROL_CHARACTERS, regex=True).fillna(False)
        suspect.update(flags.to_numpy().nonzero()[0].tolist())
    return sorted(suspect)


def find_control_cells(extraction: Extraction, schema: dict) -> list[Finding]:
    """One error finding per text cell of ``extraction`` that holds a control character."""
    frame = extraction.frame
    text_fields = [spec["name"] for spec in schema["fields"] if spec.get("type") in ("string", "list")]
    text_fields = [name for name in text_fields if name in frame.columns]
    findings = []
    for position in _suspect_rows(frame, text_fields):
        record = dict(zip(frame.columns, frame.iloc[position].tolist()))
        columns = extraction.cell_columns[position] if position < len(extraction.cell_columns) else {}
        for name in text_fields:
            value = record.get(name)
            items = value if isinstance(value, list) else [value]
            for item in items:
                found = find_control_character(item) if isinstance(item, str) else None
                if found is None:
                    continue
                offset, code = found
                column = columns.get(name)
                findings.append(
                    Finding(
                        severity="error", rule=RULE_NAME, engine="extraction", resource=extraction.resource,
                        message=f"{name} holds the invisible control character {code} at character {offset}",
                        row_id=str(record[frame.columns[0]]), column=name, value=item.encode("unicode_escape").decode("ascii")[:200],
                        expected="text without control, line-separator or bidi-override characters",
                        source_file=str(record["source_file"]) if record.get("source_file") is not None else None,
                        source_line=int(record["source_line"]) if record.get("source_line") is not None else None,
                        source_column=column,
                    )
                )  # fmt: skip
                break
    return findings
