"""The structure of the article: headings and pipe tables, each with its raw line numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ceasefire.extract.raw import FileLines, RawDocument
from ceasefire.extract.table_cells import flags, strip

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
    """A table block: its header row (the first line that starts with ``|``) down to the last
    pipe-like line of its section.

    Every line of the block is either a row or a :func:`table_line_problem`, so no line between
    the header and the table's end can be dropped without a finding.
    """

    section: tuple[str, ...]
    header: TableRow
    rows: tuple[TableRow, ...]
    last_line: int = 0  # 1-based line of the block's last line (the header's line when it has none)

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
    return [path for _, _, path in walk_sections(document)]


# Lines classified at once by Arrow in :func:`walk_sections` with ``keep``; the output does not depend on it.
WALK_LINES = 1 << 16


def walk_sections(
    document: RawDocument, keep: Callable[[pa.Array], np.ndarray] | None = None
) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """Each line in order, as ``(number, line, heading path in force)``: one pass over the lines,
    which a large article reads from disk a block at a time.

    With ``keep``, only the lines it selects and the lines that start with ``=`` (any heading) are
    given. ``keep`` is given a block of lines as Arrow texts (each may end with its line end, which
    is whitespace to Python's ``strip``) and returns a NumPy mask of them: Arrow kernels, not Python,
    then pass over the million rows of a table that a caller has no use for.
    """
    path: list[str] = []
    current: tuple[str, ...] = ()  # one tuple per heading, shared by the lines under it
    numbered = enumerate(document.lines, start=1) if keep is None else _kept_lines(document.lines, keep)
    for number, line in numbered:
        heading = parse_heading(line) if line.startswith("=") else None
        if heading:
            level, title = heading
            path = path[: level - 1] + [""] * max(0, level - 1 - len(path)) + [title]
            current = tuple(path)
        yield number, line, current


def _kept_lines(lines: Sequence[str], keep: Callable[[pa.Array], np.ndarray]) -> Iterator[tuple[int, str]]:
    """``(number, line)`` of the lines ``keep`` selects and of those that start with ``=``, :data:`WALK_LINES` at a time."""
    for first in range(0, len(lines), WALK_LINES):
        stop = min(len(lines), first + WALK_LINES)
        on_disk = isinstance(lines, FileLines)
        texts = lines.texts(first, stop) if on_disk else pa.array(lines[first:stop], type=pa.large_string())
        for offset in np.flatnonzero(keep(texts) | flags(pc.starts_with(texts, "="))).tolist():
            if not on_disk:
                yield first + offset + 1, lines[first + offset]
                continue
            line = texts[offset].as_py()[:-1]  # the line without its end, as FileLines.read gives it
            yield first + offset + 1, line[:-1] if line.endswith("\r") else line


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


def is_pipe_like(line: str) -> bool:
    """A line that looks like part of a table: it holds a ``|`` or a tab (pipes typed as tabs)."""
    return "|" in line or "\t" in line


def table_line_problem(line: str) -> tuple[str, str] | None:
    """Why a line inside a table block is not a row, or None when it is one.

    Example:
        >>> table_line_problem("| 08.11.2021 | 1 |") is None
        True
        >>> table_line_problem("")[0]
        'table-line'
    """
    stripped = line.strip()
    if stripped.startswith("|"):
        return None
    if not stripped:
        return "table-line", "blank line inside the table: the table goes on below it; remove the blank line"
    if "|" in stripped:
        return "table-line", "row does not start with '|': add the leading '|'"
    if "\t" in stripped:
        return "table-line", "cells separated by tabs, not '|': write the row as | cell | cell |"
    return "table-line", "a line that is not a table row sits inside the table: move it out or make it a row"


def find_pipe_tables(document: RawDocument, split_rows: bool = True) -> list[PipeTable]:
    """Every table block in the document, with the heading path it sits under.

    A block starts at a line that starts with ``|`` (its header) and runs to the last pipe-like
    line (:func:`is_pipe_like`) before the next heading. With ``split_rows=False`` only the header
    row is split and ``rows`` stays empty; the body is lines ``header.line + 1`` to ``last_line``,
    for callers that parse it column-wise; Python then sees only the lines :func:`table_bounds`
    selects. With ``split_rows=True``, ``rows`` holds the body lines that are rows; the others are
    :func:`table_line_problem` lines.
    """
    tables: list[PipeTable] = []
    # The open block: its header line and section, the rows so far (when split), its last pipe-like line.
    header: tuple[int, str, tuple[str, ...]] | None = None
    rows: list[TableRow] = []
    last = 0

    def close() -> None:
        first, text, section = header
        tables.append(PipeTable(section=section, header=TableRow(line=first, cells=split_pipe_row(text)),
                                rows=tuple(rows), last_line=last))  # fmt: skip

    for number, line, section in walk_sections(document, keep=None if split_rows else table_bounds):
        if header is not None:
            if line.startswith("=") and parse_heading(line):
                close()
                header, rows = None, []
            elif is_pipe_like(line):
                last = number
                if split_rows and table_line_problem(line) is None:
                    rows.append(TableRow(line=number, cells=split_pipe_row(line)))
        if header is None and line.lstrip().startswith("|"):
            header, last = (number, line, section), number
    if header is not None:
        close()
    return tables


def table_bounds(texts: pa.Array) -> np.ndarray:
    """The lines of a block that :func:`find_pipe_tables` needs to find the tables' bounds (besides
    the lines that start with ``=``, which :func:`walk_sections` gives anyway): the first line that
    starts with ``|`` in the block and after each ``=`` line (where a table may start), and the
    last pipe-like line in the block and before each ``=`` line (where a table may end). Any
    other pipe-like line would only move a table's end to a line before one of these.
    """
    pipe_like = flags(pc.match_substring(texts, "|"))
    # A "|" is found at a row's first character; a tab is looked for in the other lines only, which
    # Arrow has to read to their end.
    others = np.flatnonzero(~pipe_like)
    pipe_like[others] = flags(pc.match_substring(texts.take(others), "\t"))
    pipe_like = np.flatnonzero(pipe_like)
    # line.lstrip().startswith("|") is line.strip().startswith("|"); Arrow trims both ends much faster than one.
    starts = np.flatnonzero(flags(pc.starts_with(strip(texts), "|")))
    headings = np.flatnonzero(flags(pc.starts_with(texts, "=")))
    wanted = np.zeros(len(texts), dtype=bool)
    if len(pipe_like):
        before = np.searchsorted(pipe_like, headings) - 1
        wanted[pipe_like[before[before >= 0]]] = True
        wanted[pipe_like[-1]] = True
    if len(starts):
        after = np.searchsorted(starts, headings, side="right")
        wanted[starts[after[after < len(starts)]]] = True
        wanted[starts[0]] = True
    return wanted
