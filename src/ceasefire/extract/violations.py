"""Extracting the ``violations`` resource from the article's pipe table.

Each table row becomes one typed record. A cell that cannot be parsed becomes an extraction
finding that names the file, line and column; the record keeps an empty value there, and the
finding blocks publishing.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ceasefire.extract.article import PipeTable, find_pipe_tables, split_pipe_row, table_line_problem
from ceasefire.extract.casualties import COUNT_LIMIT, parse_casualties
from ceasefire.extract.locations import find_unresolved_places, location_precision
from ceasefire.extract.table_cells import flags, split_block
from ceasefire.errors import RawInputError
from ceasefire.findings import Finding
from ceasefire.extract.raw import RawDocument
from ceasefire.contracts.schema import concat_frames
from ceasefire.contracts.vocabularies import Contracts
from ceasefire.memory import give_back
from ceasefire.threads import in_threads

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

# Typed fields derived from a raw cell: a finding on the cell covers them.
DERIVED_FROM = {"date_start": "date_text", "date_end": "date_text", "places": "location",
                "killed": "consequences", "wounded": "consequences", "location_precision": "location"}  # fmt: skip

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
    table, positions, _ = _find_tables(document)
    return table, positions


def _header_positions(table: PipeTable) -> dict[str, int]:
    positions = {}
    for index, name in enumerate(table.columns):
        if name in HEADER_FIELDS:
            positions[HEADER_FIELDS[name]] = index
    return positions


def _find_tables(document: RawDocument) -> tuple[PipeTable, dict[str, int], list[PipeTable]]:
    """The violations table, its field -> cell index map, and every other table block."""
    tables = find_pipe_tables(document, split_rows=False)
    for table in tables:
        positions = _header_positions(table)
        if REQUIRED_HEADERS <= positions.keys():
            return table, positions, [other for other in tables if other is not table]
    found = "; ".join(f"line {t.header.line}: {' | '.join(t.columns)}" for t in tables) or "no pipe table at all"
    raise RawInputError(
        document.name,
        f"no table with the columns date | number of violations | location | the violator | consequences ({found})",
    )


def _other_table_findings(document: RawDocument, table: PipeTable, others: list[PipeTable]) -> list[Finding]:
    """A finding for every other table block: none of their lines is extracted, and that is never silent.

    A second block with the violation headers is an error (its rows would be lost); a table of
    another kind is a warning.
    """
    findings = []
    for other in others:
        lines = f"lines {other.header.line}-{other.last_line}"
        if REQUIRED_HEADERS <= _header_positions(other).keys():
            findings.append(_finding(
                document, other.header.line, "table-second-block",
                f"a second violations table ({lines}): its rows are not extracted; merge them into the table "
                f"at line {table.header.line}", source_column=1,
            ))  # fmt: skip
        else:
            findings.append(dataclasses.replace(_finding(
                document, other.header.line, "table-second-block",
                f"a pipe table ({lines}) that is not the violations table: its lines are not extracted",
                source_column=1,
            ), severity="warning"))  # fmt: skip
    return findings


def _finding(document: RawDocument, line: int, rule: str, message: str, **kwargs) -> Finding:
    return Finding(
        severity="error", rule=rule, engine="extraction", resource=RESOURCE, message=message,
        source_file=document.name, source_line=line, **kwargs,
    )  # fmt: skip


class TableCellColumns(Sequence):
    """For each frame row: field -> 1-based raw column where its cell starts, computed on access.

    A million-row table would need a million dicts; instead each row's columns are worked out from
    its raw line (read again from the file, a block of lines at a time) only when a finding asks for
    them. It holds the document and the rows' line numbers, so a stored build refers to the raw
    file, not its lines.
    """

    def __init__(self, document: RawDocument, line_numbers: np.ndarray, positions: dict[str, int]):
        self.document = document
        self.line_numbers = np.asarray(line_numbers, dtype=np.int64).view()  # a view: the caller's array stays writable
        self.line_numbers.flags.writeable = False
        self._positions = dict(positions)

    def __len__(self) -> int:
        return len(self.line_numbers)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        cells = split_pipe_row(self.document.line(int(self.line_numbers[row])))
        columns = {name: cells[index].column for name, index in self._positions.items()}
        columns.update(
            {"date_start": columns["date_text"], "date_end": columns["date_text"], "places": columns["location"],
             "killed": columns["consequences"], "wounded": columns["consequences"], "violation_id": 1,
             "location_precision": columns["location"]}
        )  # fmt: skip
        return columns


def parse_count(text: str) -> int | str | None:
    """A violation count: ASCII digits up to :data:`COUNT_LIMIT`; ``"beyond"`` above it, else None.

    Example:
        >>> parse_count("3"), parse_count("99999999999999999999"), parse_count("²")
        (3, 'beyond', None)
    """
    if not (text.isascii() and text.isdigit()):
        return None
    # Past the limit the exact value does not matter, and int() refuses over 4,300 digits.
    return int(text) if len(text) <= len(str(COUNT_LIMIT)) and int(text) <= COUNT_LIMIT else "beyond"


def map_distinct(values: pd.Series | pa.Array, *parses: Callable[[str], object]) -> tuple[np.ndarray, ...]:
    """Each row's position among the distinct values (-1 for a missing one), then for each of
    ``parses`` its result on each distinct value (table cells repeat), in an object array whose last
    item is the result on None when a value is missing: ``parsed[codes]`` is every row's result, and
    a column derived from the results is derived once per distinct value (:func:`_per_row`).

    An Arrow column is dictionary-encoded by Arrow: only its distinct values become Python strings,
    once for all of ``parses``.
    """
    if isinstance(values, pa.Array):
        encoded = values.dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    else:
        codes, uniques = pd.factorize(values.astype(object), sort=False)
        distinct = uniques.tolist()
    results = []
    for parse in parses:
        parsed = np.empty(len(distinct) + 1, dtype=object)
        for index, value in enumerate(distinct):  # one by one: a list result must stay one element
            parsed[index] = parse(value)
        if (codes == -1).any():
            parsed[-1] = parse(None)
        results.append(parsed)
    return codes, *results


def _per_row(codes: np.ndarray, parsed: np.ndarray, derive: Callable[[object], object]) -> np.ndarray:
    """``derive`` of each distinct result (:func:`map_distinct`), taken for every row: an object array."""
    derived = np.empty(len(parsed), dtype=object)
    for index, value in enumerate(parsed.tolist()):  # one by one: a list result must stay one element
        derived[index] = derive(value)
    return derived[codes]


def _texts(codes: np.ndarray, parsed: np.ndarray) -> pa.Array:
    """Distinct results that are texts or None (:func:`map_distinct`) as every row's Arrow text."""
    return pa.array(parsed.tolist(), pa.large_string()).take(pa.array(np.where(codes < 0, len(parsed) - 1, codes)))


def _integers(values: np.ndarray) -> pd.arrays.IntegerArray:
    """An object array of Python integers and None (nothing else) as a nullable integer array."""
    missing = pd.isna(values)
    numbers = np.where(missing, 0, values).astype(np.int64)
    return pd.arrays.IntegerArray(numbers, missing)


def make_violation_ids(date_texts: pa.Array, locations: pa.Array) -> pa.Array:
    """:func:`make_violation_id` for whole columns: the date part per distinct date, the slug column-wise."""
    encoded = date_texts.dictionary_encode()
    date_parts = pa.array([make_violation_id(text, "x")[:-2] for text in encoded.dictionary.to_pylist()], pa.large_string())
    return pc.binary_join_element_wise(date_parts.take(encoded.indices), slugify_many(locations), pa.scalar("-", pa.large_string()))


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify_many(texts: pa.Array, limit: int = 60) -> pa.Array:
    """:func:`slugify` for a whole column of texts (a missing text has no slug); slugs longer than
    ``limit`` are cut by :func:`slugify` itself.

    Each distinct text is slugged once (the rows of one location share it; at 1,000,000 rows the
    regular expression ran over every row for ~1 s of CPU), then taken for each row. ASCII texts
    are lowered and slugged by Arrow kernels; a text with any other character goes through Python's
    ``str.lower`` (which can turn one into ASCII: ``"İ".lower()`` is ``"i̇"``).
    """
    encoded = texts.cast(pa.large_string()).dictionary_encode()
    return _slugify_texts(encoded.dictionary, limit).take(encoded.indices)


def _slugify_texts(array: pa.Array, limit: int) -> pa.Array:
    slugs = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_lower(array), _NOT_SLUG.pattern, "-"), "-")
    other = np.flatnonzero(~flags(pc.string_is_ascii(array)))
    slugs = _replace_at(slugs, other, [_NOT_SLUG.sub("-", array[position].as_py().lower()).strip("-") for position in other.tolist()])
    lengths = pc.utf8_length(slugs).to_numpy(zero_copy_only=False)
    long = np.flatnonzero(lengths > limit)
    slugs = _replace_at(slugs, long, [slugify(array[position].as_py(), limit) for position in long.tolist()])
    return _replace_at(slugs, np.flatnonzero(lengths == 0), "unknown")


def _replace_at(texts: pa.Array, positions: np.ndarray, values: list[str] | str) -> pa.Array:
    """``texts`` with the values at ``positions`` replaced by ``values`` (one each, or one for all)."""
    if not len(positions):
        return texts
    mask = np.zeros(len(texts), dtype=bool)
    mask[positions] = True
    replacements = [values] * len(positions) if isinstance(values, str) else values
    return pc.replace_with_mask(texts, pa.array(mask), pa.array(replacements, texts.type))


def _empty_as_null(texts: pa.Array) -> pa.Array:
    """An empty cell is a missing value."""
    return pc.if_else(pc.equal(texts, ""), pa.scalar(None, texts.type), texts)


def extract_violations(document: RawDocument, contracts: Contracts) -> Extraction:
    """Turn the article's violations table into one typed record per row.

    The table is parsed column-wise: Arrow kernels classify the lines and split and strip the cells
    (:mod:`ceasefire.extract.table_cells`), and each parser (dates, counts, violators, places,
    casualties) runs once per distinct cell value.
    """
    table, positions, others = _find_tables(document)
    width = len(table.header.cells)
    first, last = table.header.line + 1, table.last_line
    # A block of lines at a time: the per-row Python values of parsing (ids, dates, lists of places)
    # exist for the blocks in flight only, so a table of millions of rows does not hold them all at
    # once. Two blocks are parsed at a time, on two threads (ceasefire.threads).
    starts = range(first, max(last + 1, first + 1), BLOCK_LINES)
    parsers = _cell_parsers(contracts)  # shared by the blocks
    blocks = in_threads([partial(_extract_block_and_give_back, document, contracts, positions, width, start, min(start + BLOCK_LINES - 1, last), parsers)
                         for start in starts], "extract")  # fmt: skip
    frames = [frame for frame, _ in blocks]
    # (line, order, finding), reported in table order; a stable sort of the blocks' lists in turn
    problems = sorted((problem for _, found in blocks for problem in found), key=lambda problem: problem[:2])
    del blocks  # the blocks' frames are joined column by column, and let go as they are (concat_frames)
    unique = [spec.name for spec in contracts.schema(RESOURCE).fields if spec.unique]
    frame = frames[0] if len(frames) == 1 else concat_frames(frames, unique, release_parts=True)
    # The rows' line numbers are the frame's own source_line (never missing), not a copy of them.
    line_numbers = frame["source_line"].to_numpy(dtype=np.int64)
    return Extraction(
        resource=RESOURCE, frame=frame, findings=[finding for *_, finding in problems] + _other_table_findings(document, table, others),
        cell_columns=TableCellColumns(document, line_numbers, positions), section=table.section,
    )  # fmt: skip


# Lines of the table parsed together (see :func:`extract_violations`); the output does not depend on it.
BLOCK_LINES = 100_000
# Distinct cells of a column whose parsed values the blocks of one table share (per parser): a cell
# that recurs in every block (a place, a date) is parsed once for the table, not once per block,
# and a column of ever new cells holds no more than this many.
SHARED_CELLS = 1 << 16


class CellParsers(NamedTuple):
    """The parser of each kind of table cell, each remembering its last :data:`SHARED_CELLS` distinct cells.

    The parsed values are shared between the rows of a cell anyway (:func:`map_distinct`): nothing
    of them is changed in place.
    """

    date: Callable[[str | None], object]
    count: Callable[[str | None], object]
    violator: Callable[[str | None], object]
    casualties: Callable[[str | None], object]
    unresolved: Callable[[str | None], object]
    places: Callable[[str | None], object]
    precision: Callable[[str | None], object]


def _cell_parsers(contracts: Contracts) -> CellParsers:
    gazetteer, violators = contracts.gazetteer, contracts.vocabularies["violators"]
    precisions = contracts.vocabularies["location_precisions"]

    def parse_date(text: str) -> TableDate | DateError:
        try:
            return parse_table_date(text)
        except DateError as error:
            return error

    parsers = CellParsers(
        date=parse_date,
        count=parse_count,
        violator=lambda text: violators.resolve(text) or text or None,
        casualties=parse_casualties,
        unresolved=lambda text: find_unresolved_places(text, gazetteer),
        places=lambda text: gazetteer.resolve_many([text])[0],
        precision=lambda text: location_precision(text, gazetteer, precisions),
    )
    return CellParsers(*(lru_cache(maxsize=SHARED_CELLS)(parse) for parse in parsers))


def _extract_block(
    document: RawDocument, contracts: Contracts, positions: dict[str, int], width: int, first: int, last: int,
    parsers: CellParsers,
) -> tuple[pd.DataFrame, list[tuple[int, int, Finding]]]:
    """The typed rows of table lines ``first``..``last`` and their findings as
    (line, order within the line, finding). ``parsers`` parse the distinct cells."""
    problems: list[tuple[int, int, Finding]] = []
    block = document.lines[first - 1 : last]
    split = split_block(block, width)  # Arrow kernels over the whole block
    # Every line of the block is a row or a finding: nothing between the header and the table's end
    # is dropped without one.
    for position in np.flatnonzero(~split.is_row).tolist():
        number, (kind, message) = first + position, table_line_problem(block[position])
        problems.append((number, 0, _finding(document, number, kind, message, value=block[position][:200], source_column=1)))
    row_positions = np.flatnonzero(split.is_row)
    for position in np.flatnonzero(~split.full).tolist():
        line, count = first + int(row_positions[position]), int(split.counts[position])
        problems.append((line, 0, _finding(document, line, "cell-count", f"row has {count} cells but the header has {width}",
                                          value=str(count), expected=str(width), source_column=1)))  # fmt: skip
    kept = row_positions[split.full]
    numbers = pd.Series(first + kept, dtype="int64")
    cell_columns = TableCellColumns(document, first + kept, positions)
    column = {name: split.columns[index] for name, index in positions.items()}  # Arrow texts
    date_text, location = column["date_text"], column["location"]
    violation_ids = make_violation_ids(date_text, location)
    # Each parser runs once per distinct cell (map_distinct); the per-row columns and the rows with a
    # problem are found from those results by numpy, with no Python step per row.
    date_codes, dates = map_distinct(date_text, parsers.date)
    count_codes, counts = map_distinct(column["violation_count"], parsers.count)
    violator_codes, violators = map_distinct(column["violator"], parsers.violator)
    consequences = _empty_as_null(column["consequences"])
    casualty_codes, casualties = map_distinct(consequences, parsers.casualties)
    location_codes, unresolved, places, precisions = map_distinct(location, parsers.unresolved, parsers.places, parsers.precision)
    amounts = {}
    for kind in ("killed", "wounded"):
        amount = _per_row(casualty_codes, casualties, lambda parsed, kind=kind: getattr(parsed, kind, None) if parsed is not None else None)
        beyond = _per_row(casualty_codes, casualties, lambda parsed, kind=kind: (getattr(parsed, kind, None) or 0) > COUNT_LIMIT if parsed is not None else False)
        for position in np.flatnonzero(beyond.astype(bool)).tolist():
            amount[position] = None
            problems.append((int(numbers.iat[position]), 3, _finding(
                document, int(numbers.iat[position]), "count-bound",
                f"{kind} count is beyond {COUNT_LIMIT:,}: a typo, not a report",
                row_id=violation_ids[position].as_py(), column=kind, value=consequences[position].as_py()[:200],
                expected=f"at most {COUNT_LIMIT:,}", source_column=cell_columns[position]["consequences"],
            )))  # fmt: skip
        amounts[kind] = amount
    for position in np.flatnonzero(_per_row(date_codes, dates, lambda parsed: isinstance(parsed, DateError)).astype(bool)).tolist():
        text, parsed = date_text[position].as_py(), dates[date_codes[position]]
        columns = cell_columns[position]
        problems.append((int(numbers.iat[position]), 1, _finding(
            document, int(numbers.iat[position]), "date-format", f"date {text!r} is not valid: {parsed}",
            row_id=violation_ids[position].as_py(), column="date_text", value=text,
            expected="DD.MM.YYYY or DD-DD.MM.YYYY, a real calendar date", source_column=columns["date_text"],
        )))  # fmt: skip
    count = _per_row(count_codes, counts, lambda parsed: parsed if isinstance(parsed, int) else None)
    for position in np.flatnonzero(_per_row(count_codes, counts, lambda parsed: not isinstance(parsed, int)).astype(bool)).tolist():
        text = column["violation_count"][position].as_py()
        beyond = counts[count_codes[position]] == "beyond"
        problems.append((int(numbers.iat[position]), 2, _finding(
            document, int(numbers.iat[position]), "count-bound" if beyond else "count-format",
            f"number of violations {text[:40]!r} is beyond {COUNT_LIMIT:,}: a typo, not a report" if beyond
            else f"number of violations {text[:40]!r} is not a whole number",
            row_id=violation_ids[position].as_py(), column="violation_count", value=text[:200],
            expected=f"an integer from 1 to {COUNT_LIMIT:,}", source_column=cell_columns[position]["violation_count"],
        )))  # fmt: skip
    for position in np.flatnonzero(_per_row(location_codes, unresolved, bool).astype(bool)).tolist():
        text = location[position].as_py()
        problems.append((int(numbers.iat[position]), 3, dataclasses.replace(_finding(
            document, int(numbers.iat[position]), "place-unresolved",
            f"the location names {', '.join(map(repr, unresolved[location_codes[position]]))}, which schemas/gazetteer.json does not know; "
            "the row keeps only the places it does know",
            row_id=violation_ids[position].as_py(), column="location", value=text,
            expected="every named village, settlement or height in schemas/gazetteer.json",
            source_column=cell_columns[position]["location"],
        ), severity="warning")))  # fmt: skip
    frame = contracts.schema(RESOURCE).frame_from_columns(
        {
            "violation_id": violation_ids,
            "date_start": _per_row(date_codes, dates, lambda parsed: parsed.start if isinstance(parsed, TableDate) else None),
            "date_end": _per_row(date_codes, dates, lambda parsed: parsed.end if isinstance(parsed, TableDate) else None),
            "date_text": date_text,
            "violation_count": _integers(count),
            "location": _empty_as_null(location),
            # One list per distinct location, shared by its rows (and with the parser's cache):
            # cells are read and replaced, never changed in place. 72 bytes a row less than a list each.
            "places": places[location_codes],
            "violator": _texts(violator_codes, violators),
            "consequences": consequences,
            "killed": _integers(amounts["killed"]),
            "wounded": _integers(amounts["wounded"]),
            "source_file": pa.repeat(pa.scalar(document.name, pa.large_string()), len(numbers)),
            "source_line": pd.arrays.IntegerArray(numbers.to_numpy(dtype=np.int64), np.zeros(len(numbers), dtype=bool)),
            "location_precision": _texts(location_codes, precisions),
        }
    )
    return frame, problems


def _extract_block_and_give_back(*args) -> tuple[pd.DataFrame, list[tuple[int, int, Finding]]]:
    """:func:`_extract_block`, then the memory its temporaries (lines, cells, parsed columns) held
    given back: freed on the thread's heap among the frames of the blocks before it, it would pile up
    until the blocks are joined (at 10,000,000 rows, extraction's peak ~110 MB lower; docs/BENCHMARKS.md)."""
    result = _extract_block(*args)
    give_back()
    return result
