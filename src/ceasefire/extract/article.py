"""The structure of the article: headings and pipe tables, each with its raw line numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ceasefire.extract.raw import RawDocument

_HEADING = re.compile(r"^(=+)\s*(.*?)\s*(=+)\s*$")


@dataclass(frozen=True)
class Cell:
    text: str
    column: int  # 1-based character column where the cell text starts (or would start)


@dataclass(frozen=True)
class TableRow:
    line: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class PipeTable:
    """A block of consecutive lines that start with ``|``; the first row is the header."""

    section: tuple[str, ...]
    header: TableRow
    rows: tuple[TableRow, ...]
    last_line: int = 0  # 1-based line of the table's last row (the header's line when it has none)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(cell.text.lower() for cell in self.header.cells)


def parse_heading(line: str) -> tuple[int, str] | None:
    """Return ``(level, title)`` for ``== Title ==`` lines, else None.

    Example:
        >>> parse_heading("=== 2021 ===")
        (3, '2021')
    """
    match = _HEADING.match(line)
    if not match or len(match.group(1)) != len(match.group(3)) or not match.group(2):
        return None
    return len(match.group(1)), match.group(2)


def section_paths(document: RawDocument) -> list[tuple[str, ...]]:
    """The heading path in force at each line (index 0 is line 1)."""
    path: list[str] = []
    paths = []
    for line in document.lines:
        heading = parse_heading(line) if line.startswith("=") else None
        if heading:
            level, title = heading
            path = path[: level - 1] + [""] * max(0, level - 1 - len(path)) + [title]
        paths.append(tuple(path))
    return paths


def split_pipe_row(line: str) -> tuple[Cell, ...]:
    """Split ``| a | b |`` into cells, keeping the column where each cell's text starts.

    Example:
        >>> [c.text for c in split_pipe_row("| 1 | near Shusha | |")]
        ['1', 'near Shusha', '']
    """
    text = line.rstrip()
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] == "|":
        start += 1
    end = len(text) - 1 if text.endswith("|") and len(text) > start else len(text)
    cells = []
    position = start
    for raw_cell in text[start:end].split("|"):
        leading = len(raw_cell) - len(raw_cell.lstrip())
        cells.append(Cell(text=raw_cell.strip(), column=position + leading + 1))
        position += len(raw_cell) + 1
    return tuple(cells)


def find_pipe_tables(document: RawDocument, split_rows: bool = True) -> list[PipeTable]:
    """Every pipe table in the document, with the heading path it sits under.

    With ``split_rows=False`` only the header row is split and ``rows`` stays empty; the body is
    lines ``header.line + 1`` to ``last_line``, for callers that parse it column-wise.
    """
    paths = section_paths(document)
    tables: list[PipeTable] = []
    lines = document.lines
    number, total = 0, len(lines)
    while number < total:
        if not lines[number].lstrip().startswith("|"):
            number += 1
            continue
        first = number
        while number < total and lines[number].lstrip().startswith("|"):
            number += 1
        header = TableRow(line=first + 1, cells=split_pipe_row(lines[first]))
        rows = tuple(TableRow(line=n + 1, cells=split_pipe_row(lines[n])) for n in range(first + 1, number)) if split_rows else ()
        tables.append(PipeTable(section=paths[first], header=header, rows=rows, last_line=number))
    return tables
