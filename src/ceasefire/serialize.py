"""Typed frames to bytes: CSV and JSON Lines, deterministic to the byte.

The same frame always gives the same bytes: fixed field order, ``\\n`` line ends, ISO dates,
integers without decimals, empty cells for missing values in CSV and ``null`` in JSON.
Multi-valued fields are ``;``-joined in CSV and arrays in JSON.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pandas as pd


def _plain(value: object) -> object:
    """A frame cell as a plain JSON value."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """Plain records in field order."""
    columns = list(frame.columns)
    return [dict(zip(columns, map(_plain, row))) for row in frame.itertuples(index=False, name=None)]


def _csv_cell(value: object, delimiter: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return delimiter.join(value)
    return str(value)


def render_csv(frame: pd.DataFrame, list_delimiter: str = ";") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(frame.columns)
    for record in records(frame):
        writer.writerow([_csv_cell(value, list_delimiter) for value in record.values()])
    return buffer.getvalue().encode("utf-8")


def render_jsonl(frame: pd.DataFrame) -> bytes:
    lines = [json.dumps(record, ensure_ascii=False) for record in records(frame)]
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
