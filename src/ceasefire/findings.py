"""Findings: data problems as values that name the file, line, column, value and rule."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Literal, Sequence

Severity = Literal["error", "warning"]
Engine = Literal["extraction", "pandera", "frictionless", "reconciliation"]

SEVERITY_ORDER = {"error": 0, "warning": 1}


@dataclass(frozen=True)
class Finding:
    """One problem found in the data.

    Example:
        >>> Finding("warning", "chronological-order", "pandera", "violations",
        ...         message="row is earlier than a row above it").severity
        'warning'
    """

    severity: Severity
    rule: str
    engine: Engine
    resource: str
    message: str
    row_id: str | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None
    source_file: str | None = None
    source_line: int | None = None
    source_column: int | None = None
    # A summary finding stands for many rows (their ids, in order): a rule that would otherwise say
    # the same thing once per row of a large table says it once, and the report lists the rows in a file.
    rows: Sequence[str] = field(default=(), compare=False, repr=False)

    @property
    def location(self) -> str:
        """``file:line:column`` of the raw text the finding points at."""
        if self.source_file is None:
            return "-"
        where = self.source_file
        if self.source_line is not None:
            where += f":{self.source_line}"
            if self.source_column is not None:
                where += f":{self.source_column}"
        return where

    @classmethod
    def from_row(
        cls, frame: Any, row: int, *, severity: Severity, rule: str, engine: Engine, resource: str, message: str,
        column: str | None = None, value: str | None = None, expected: str | None = None,
        cell_columns: Sequence[dict[str, int]] = (),
    ) -> Finding:  # fmt: skip
        """A finding about row ``row`` (position) of a resource's frame, traced back to the raw text.

        The row is named by its first column (every resource's id) and located by its
        ``source_file`` and ``source_line``; ``cell_columns`` gives the raw column of each cell.

        Example:
            >>> import pandas as pd
            >>> frame = pd.DataFrame({"event_id": ["e1"], "source_file": ["a.txt"], "source_line": [7]})
            >>> Finding.from_row(frame, 0, severity="error", rule="required", engine="pandera", resource="events",
            ...                  message="m", column="event_id", cell_columns=[{"event_id": 3}]).location
            'a.txt:7:3'
        """
        cells = dict(zip(frame.columns, frame.iloc[row].tolist()))
        line = _text(cells.get("source_line"))
        return cls(
            severity=severity, rule=rule, engine=engine, resource=resource, message=message,
            row_id=_text(frame.iat[row, 0]), column=column, value=value, expected=expected,
            source_file=_text(cells.get("source_file")), source_line=int(line) if line else None,
            source_column=cell_columns[row].get(column) if column and row < len(cell_columns) else None,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The finding's fields as JSON-ready values; ``rows`` only as its count, when it has any."""
        values = {name: getattr(self, name) for name in _PLAIN_FIELDS}
        if self.rows:
            values["row_count"] = len(self.rows)
        return values

    def format(self) -> str:
        """One line for a terminal, in the style of a compiler message."""
        parts = [f"{self.location}: {self.severity}: [{self.rule}] {self.message}"]
        details = []
        if self.row_id:
            details.append(f"row {self.row_id}")
        if self.column:
            details.append(f"column {self.column}")
        if self.value is not None:
            details.append(f"value {self.value!r}")
        if self.expected is not None:
            details.append(f"expected {self.expected}")
        if details:
            parts.append(f" ({', '.join(details)})")
        return "".join(parts)


_PLAIN_FIELDS = tuple(f.name for f in fields(Finding) if f.name != "rows")


def _text(value: object) -> str | None:
    """A cell as finding text; None for a missing value (None, pandas.NA, NaN)."""
    if value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and value != value):
        return None
    return str(value)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then by file, line and rule, so reports are stable across runs."""
    return sorted(
        findings,
        key=lambda f: (
            SEVERITY_ORDER[f.severity],
            f.source_file or "",
            f.source_line or 0,
            f.source_column or 0,
            f.rule,
            f.column or "",
            f.row_id or "",
        ),
    )


def count_by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0}
    for finding in findings:
        counts[finding.severity] += 1
    return counts
