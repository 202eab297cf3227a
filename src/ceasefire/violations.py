"""Extracting the ``violations`` resource from the article's pipe table.

Each table row becomes one typed record. A cell that cannot be parsed becomes an extraction
finding that names the file, line and column; the record keeps an empty value there, and the
finding blocks publishing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

import pandas as pd

from .article import PipeTable, TableRow, find_pipe_tables
from .casualties import parse_casualties
from .errors import RawInputError
from .findings import Finding
from .raw import RawDocument
from .vocabularies import Contracts

RESOURCE = "violations"

# Header cell (lower case) -> field. The table is found by these headers, not by position.
HEADER_FIELDS = {
    "date": "date_text",
    "number of violations": "violation_count",
    "location": "location",
    "the violator": "violator",
    "violator": "violator",
    "consequences": "consequences",
}
REQUIRED_HEADERS = {"date_text", "violation_count", "location", "violator", "consequences"}

FIELDS = (
    "violation_id", "date_start", "date_end", "date_text", "violation_count", "location", "places",
    "violator", "consequences", "killed", "wounded", "source_file", "source_line",
)  # fmt: skip

# Typed fields derived from a raw cell: a finding on the cell covers them.
DERIVED_FROM = {"date_start": "date_text", "date_end": "date_text", "places": "location",
                "killed": "consequences", "wounded": "consequences"}  # fmt: skip

_TABLE_DATE = re.compile(
    r"^(?P<d1>\d{1,2})(?:\.(?P<m1>\d{1,2}))?(?:\s*[-–]\s*(?P<d2>\d{1,2}))?\.(?P<m2>\d{1,2})\.(?P<y>\d{4})$"
)


class DateError(ValueError):
    """A date cell that does not follow the table's date rules."""


@dataclass(frozen=True)
class TableDate:
    start: dt.date
    end: dt.date


def parse_table_date(text: str) -> TableDate:
    """Parse ``DD.MM.YYYY``, ``DD-DD.MM.YYYY`` or ``DD.MM-DD.MM.YYYY``.

    Example:
        >>> parse_table_date("24-25.03.2022")
        TableDate(start=datetime.date(2022, 3, 24), end=datetime.date(2022, 3, 25))
    """
    match = _TABLE_DATE.match(text.strip())
    if not match:
        raise DateError("expected DD.MM.YYYY or a range DD-DD.MM.YYYY")
    year = int(match["y"])
    end_month = int(match["m2"])
    start_month = int(match["m1"]) if match["m1"] else end_month
    if match["m1"] and not match["d2"]:
        raise DateError("expected DD.MM.YYYY or a range DD-DD.MM.YYYY")
    start_day = int(match["d1"])
    end_day = int(match["d2"]) if match["d2"] else start_day
    dates = []
    for day, month in ((start_day, start_month), (end_day, end_month)):
        if not 1 <= month <= 12:
            raise DateError(f"month {month} does not exist")
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            raise DateError(f"day {day} does not exist in {calendar.month_name[month]} {year}")
        dates.append(dt.date(year, month, day))
    if dates[1] < dates[0]:
        raise DateError("the range ends before it starts")
    return TableDate(start=dates[0], end=dates[1])


def slugify(text: str, limit: int = 60) -> str:
    """Lower-case ASCII words joined by dashes, cut at a word boundary.

    Example:
        >>> slugify("near the village of Dzhanatag")
        'near-the-village-of-dzhanatag'
    """
    words = re.findall(r"[a-z0-9]+", text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or "unknown"


def make_violation_id(date_text: str, location: str) -> str:
    """A stable id from the date as written (reordered to ISO) and the location as written.

    It depends on no row position, so it survives reordering and insertion of rows.

    Example:
        >>> make_violation_id("24-25.03.2022", "Farukh village")
        '2022-03-24-25-farukh-village'
    """
    match = _TABLE_DATE.match(date_text.strip())
    if match:
        date_part = f"{int(match['y']):04d}-{int(match['m1'] or match['m2']):02d}-{int(match['d1']):02d}"
        if match["m1"]:
            date_part += f"-{int(match['m2']):02d}"
        if match["d2"]:
            date_part += f"-{int(match['d2']):02d}"
    else:
        date_part = "0000-00-00"
    return f"{date_part}-{slugify(location)}"


@dataclass
class Extraction:
    """A typed frame plus what went wrong while building it."""

    resource: str
    frame: pd.DataFrame
    findings: list[Finding] = field(default_factory=list)
    # For each frame row: field -> 1-based raw column where the cell starts.
    cell_columns: list[dict[str, int]] = field(default_factory=list)
    section: tuple[str, ...] = ()


def find_violations_table(document: RawDocument) -> tuple[PipeTable, dict[str, int]]:
    """The pipe table whose header names the violation columns, and the field -> cell index map."""
    tables = find_pipe_tables(document)
    for table in tables:
        positions = {}
        for index, name in enumerate(table.columns):
            if name in HEADER_FIELDS:
                positions[HEADER_FIELDS[name]] = index
        if REQUIRED_HEADERS <= positions.keys():
            return table, positions
    found = "; ".join(f"line {t.header.line}: {' | '.join(t.columns)}" for t in tables) or "no pipe table at all"
    raise RawInputError(
        document.name,
        f"no table with the columns date | number of violations | location | the violator | consequences ({found})",
    )


def _finding(document: RawDocument, row: TableRow, rule: str, message: str, **kwargs) -> Finding:
    return Finding(
        severity="error", rule=rule, engine="extraction", resource=RESOURCE, message=message,
        source_file=document.name, source_line=row.line, **kwargs,
    )  # fmt: skip


def extract_violations(document: RawDocument, contracts: Contracts) -> Extraction:
    """Turn the article's violations table into one typed record per row."""
    table, positions = find_violations_table(document)
    records: list[dict] = []
    cell_columns: list[dict[str, int]] = []
    findings: list[Finding] = []
    width = len(table.header.cells)
    for row in table.rows:
        if len(row.cells) != width:
            findings.append(
                _finding(
                    document, row, "cell-count",
                    f"row has {len(row.cells)} cells but the header has {width}",
                    value=str(len(row.cells)), expected=str(width), source_column=1,
                )
            )  # fmt: skip
            continue
        cells = {name: row.cells[index] for name, index in positions.items()}
        columns = {name: cell.column for name, cell in cells.items()}
        date_text = cells["date_text"].text
        location = cells["location"].text
        violation_id = make_violation_id(date_text, location)
        try:
            dates: TableDate | None = parse_table_date(date_text)
        except DateError as error:
            dates = None
            findings.append(
                _finding(
                    document, row, "date-format", f"date {date_text!r} is not valid: {error}",
                    row_id=violation_id, column="date_text", value=date_text,
                    expected="DD.MM.YYYY or DD-DD.MM.YYYY, a real calendar date",
                    source_column=columns["date_text"],
                )
            )  # fmt: skip
        count_text = cells["violation_count"].text
        count = int(count_text) if count_text.isdigit() else None
        if count is None:
            findings.append(
                _finding(
                    document, row, "count-format", f"number of violations {count_text!r} is not a whole number",
                    row_id=violation_id, column="violation_count", value=count_text,
                    expected="an integer of at least 1", source_column=columns["violation_count"],
                )
            )  # fmt: skip
        violator_text = cells["violator"].text
        consequences = cells["consequences"].text or None
        casualties = parse_casualties(consequences)
        records.append(
            {
                "violation_id": violation_id,
                "date_start": dates.start if dates else None,
                "date_end": dates.end if dates else None,
                "date_text": date_text,
                "violation_count": count,
                "location": location or None,
                "places": contracts.gazetteer.resolve(location),
                "violator": contracts.vocabularies["violators"].resolve(violator_text) or violator_text or None,
                "consequences": consequences,
                "killed": casualties.killed,
                "wounded": casualties.wounded,
                "source_file": document.name,
                "source_line": row.line,
            }
        )
        columns.update(
            {"date_start": columns["date_text"], "date_end": columns["date_text"], "places": columns["location"],
             "killed": columns["consequences"], "wounded": columns["consequences"], "violation_id": 1}
        )  # fmt: skip
        cell_columns.append(columns)
    return Extraction(
        resource=RESOURCE, frame=violations_frame(records), findings=findings,
        cell_columns=cell_columns, section=table.section,
    )  # fmt: skip


def violations_frame(records: list[dict]) -> pd.DataFrame:
    """Records to a frame with the published dtypes: dates as ``datetime.date``, nullable ints."""
    frame = pd.DataFrame.from_records(records, columns=list(FIELDS))
    for name in ("violation_count", "killed", "wounded", "source_line"):
        frame[name] = pd.array(frame[name].tolist(), dtype="Int64")
    for name in ("violation_id", "date_text", "location", "violator", "consequences", "source_file"):
        frame[name] = pd.array(frame[name].tolist(), dtype="string")
    for name in ("date_start", "date_end", "places"):
        frame[name] = pd.Series(frame[name].tolist(), dtype="object")
    return frame
