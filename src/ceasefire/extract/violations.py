"""Extracting the ``violations`` resource from the article's pipe table.

Each table row becomes one typed record. A cell that cannot be parsed becomes an extraction
finding that names the file, line and column; the record keeps an empty value there, and the
finding blocks publishing.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ceasefire.extract.article import PipeTable, find_pipe_tables, split_pipe_row
from ceasefire.extract.casualties import parse_casualties
from ceasefire.extract.table_cells import split_cells
from ceasefire.errors import RawInputError
from ceasefire.findings import Finding
from ceasefire.extract.raw import RawDocument
from ceasefire.contracts.vocabularies import Contracts

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
    cell_columns: Sequence[dict[str, int]] = field(default_factory=list)
    section: tuple[str, ...] = ()


def find_violations_table(document: RawDocument) -> tuple[PipeTable, dict[str, int]]:
    """The pipe table whose header names the violation columns, and the field -> cell index map.

    Only each table's header row is split here; the body stays raw lines (``PipeTable.rows`` is
    empty) so a large table is parsed column-wise by :func:`extract_violations`.
    """
    tables = find_pipe_tables(document, split_rows=False)
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


def _finding(document: RawDocument, line: int, rule: str, message: str, **kwargs) -> Finding:
    return Finding(
        severity="error", rule=rule, engine="extraction", resource=RESOURCE, message=message,
        source_file=document.name, source_line=line, **kwargs,
    )  # fmt: skip


class TableCellColumns(Sequence):
    """For each frame row: field -> 1-based raw column where its cell starts, computed on access.

    A million-row table would need a million dicts; the raw lines are already in memory, so each
    row's columns are worked out from its line only when a finding asks for them.
    """

    def __init__(self, lines: Sequence[str], positions: dict[str, int]):
        self._lines = lines
        self._positions = dict(positions)

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        cells = split_pipe_row(self._lines[row])
        columns = {name: cells[index].column for name, index in self._positions.items()}
        columns.update(
            {"date_start": columns["date_text"], "date_end": columns["date_text"], "places": columns["location"],
             "killed": columns["consequences"], "wounded": columns["consequences"], "violation_id": 1}
        )  # fmt: skip
        return columns


def map_unique(values: pd.Series, parse: Callable[[str], object]) -> list[object]:
    """``parse`` applied once per distinct value, spread back over every row (table cells repeat)."""
    parsed: dict[object, object] = {}
    results = []
    for value in values.tolist():
        if value not in parsed:
            parsed[value] = parse(value)
        results.append(parsed[value])
    return results


def split_table_lines(lines: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The cells of pipe-table lines, column-wise, and the number of cells of each line.

    The same cells as :func:`ceasefire.extract.article.split_pipe_row`, whitespace-stripped.
    """
    inner = lines.str.rstrip().str.lstrip().str.slice(1)
    inner = inner.where(~inner.str.endswith("|"), inner.str.slice(0, -1))
    widths = inner.str.count(r"\|") + 1
    cells = inner.str.split("|", expand=True, regex=False) if len(lines) else pd.DataFrame()
    return cells, widths


def make_violation_ids(date_texts: pd.Series, locations: pd.Series) -> pd.Series:
    """:func:`make_violation_id` for whole columns: the date part per distinct date, the slug column-wise."""
    date_parts = pd.Series(map_unique(date_texts, lambda text: make_violation_id(text, "x")[:-2]), index=date_texts.index)
    return date_parts + "-" + slugify_many(locations)


def slugify_many(texts: pd.Series, limit: int = 60) -> pd.Series:
    """:func:`slugify` for a whole column; slugs longer than ``limit`` are cut by :func:`slugify` itself."""
    slugs = texts.str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-")
    slugs = slugs.astype(object)
    long = slugs.str.len() > limit
    if long.any():
        slugs[long] = [slugify(text, limit) for text in texts[long]]
    slugs[slugs == ""] = "unknown"
    return slugs


def extract_violations(document: RawDocument, contracts: Contracts) -> Extraction:
    """Turn the article's violations table into one typed record per row.

    The table is parsed column-wise: pandas string operations split and strip the cells, and each
    parser (dates, counts, violators, places, casualties) runs once per distinct cell value.
    """
    table, positions = find_violations_table(document)
    width = len(table.header.cells)
    first, last = table.header.line + 1, table.last_line
    numbers = pd.Series(range(first, last + 1), dtype="int64")
    raw_lines = document.lines[first - 1 : last]
    counts, cells = split_cells(raw_lines, width)  # Arrow kernels over the whole column
    widths = pd.Series(counts)
    problems: list[tuple[int, int, Finding]] = []  # (row, order, finding): reported in table order
    bad_width = (widths != width).to_numpy()
    for position in bad_width.nonzero()[0].tolist():
        line, count = int(numbers.iat[position]), int(widths.iat[position])
        problems.append((position, 0, _finding(document, line, "cell-count", f"row has {count} cells but the header has {width}",
                                              value=str(count), expected=str(width), source_column=1)))  # fmt: skip
    kept = ~bad_width
    numbers = numbers[kept].reset_index(drop=True)
    kept_lines = [line for line, keep in zip(raw_lines, kept.tolist()) if keep] if bad_width.any() else raw_lines
    cell_columns = TableCellColumns(kept_lines, positions)
    column = {name: cells[index] for name, index in positions.items()}
    date_text, location = column["date_text"], column["location"]
    violation_ids = make_violation_ids(date_text, location)

    def parse_date(text: str) -> TableDate | DateError:
        try:
            return parse_table_date(text)
        except DateError as error:
            return error

    dates = map_unique(date_text, parse_date)
    counts = map_unique(column["violation_count"], lambda text: int(text) if text.isdigit() else None)
    violators = contracts.vocabularies["violators"]
    violator = map_unique(column["violator"], lambda text: violators.resolve(text) or text or None)
    consequences = pd.Series([text or None for text in column["consequences"].tolist()], dtype=object)
    casualties = map_unique(consequences, parse_casualties)
    for position, parsed in enumerate(dates):
        if isinstance(parsed, DateError):
            text = date_text.iat[position]
            columns = cell_columns[position]
            problems.append((position, 1, _finding(
                document, int(numbers.iat[position]), "date-format", f"date {text!r} is not valid: {parsed}",
                row_id=violation_ids.iat[position], column="date_text", value=text,
                expected="DD.MM.YYYY or DD-DD.MM.YYYY, a real calendar date", source_column=columns["date_text"],
            )))  # fmt: skip
    for position in [i for i, count in enumerate(counts) if count is None]:
        text = column["violation_count"].iat[position]
        problems.append((position, 2, _finding(
            document, int(numbers.iat[position]), "count-format", f"number of violations {text!r} is not a whole number",
            row_id=violation_ids.iat[position], column="violation_count", value=text,
            expected="an integer of at least 1", source_column=cell_columns[position]["violation_count"],
        )))  # fmt: skip
    problems.sort(key=lambda problem: problem[:2])
    frame = pd.DataFrame(
        {
            "violation_id": pd.array(violation_ids.tolist(), dtype="string"),
            "date_start": pd.Series([d.start if isinstance(d, TableDate) else None for d in dates], dtype="object"),
            "date_end": pd.Series([d.end if isinstance(d, TableDate) else None for d in dates], dtype="object"),
            "date_text": pd.array(date_text.tolist(), dtype="string"),
            "violation_count": pd.array(counts, dtype="Int64"),
            "location": pd.array([text or None for text in location.tolist()], dtype="string"),
            "places": pd.Series(contracts.gazetteer.resolve_many(location.tolist()), dtype="object"),
            "violator": pd.array(violator, dtype="string"),
            "consequences": pd.array(consequences.tolist(), dtype="string"),
            "killed": pd.array([c.killed for c in casualties], dtype="Int64"),
            "wounded": pd.array([c.wounded for c in casualties], dtype="Int64"),
            "source_file": pd.array([document.name] * len(numbers), dtype="string"),
            "source_line": pd.array(numbers.tolist(), dtype="Int64"),
        },
        columns=list(FIELDS),
    )
    return Extraction(
        resource=RESOURCE, frame=frame, findings=[finding for *_, finding in problems],
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
