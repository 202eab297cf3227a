"""The lines of a pipe-table block, classified and split into cells by Arrow compute kernels at once.

pandas runs ``str`` methods on a column of Python strings one string at a time; a million-row
table spent most of its extraction there. Here each kernel runs over the whole block in C and
gives what the row-by-row parser gives line by line: a line is a row exactly when
:func:`ceasefire.extract.article.table_line_problem` says so, and a row's cells are the texts of
:func:`ceasefire.extract.article.split_pipe_row`. "Whitespace" is Python's (``str.strip``), given
as an explicit set of characters, so a hostile line comes out as the row-by-row parser has it
whatever Arrow counts as whitespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


# Every character ``str.strip()`` removes (``str.isspace``), written out: computing it walks all of
# Unicode. tests/test_table_cells.py checks it against Python's own.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def strip(array: pa.Array) -> pa.Array:
    """``str.strip()`` of every string."""
    return pc.utf8_trim(array, characters=PYTHON_WHITESPACE)


@dataclass(frozen=True)
class SplitBlock:
    """A table block's lines: which are rows, how many cells each row has, and the cells of the full rows."""

    is_row: np.ndarray  # per line of the block
    counts: np.ndarray  # per row: its number of cells
    columns: list[pa.Array]  # per cell index: the stripped cell of each row that has ``width`` cells (Arrow texts)

    @property
    def full(self) -> np.ndarray:
        """Per row: whether it has the header's number of cells (and so has cells in :attr:`columns`)."""
        return self.counts == len(self.columns)


def split_block(lines: Sequence[str], width: int) -> SplitBlock:
    """Classify the lines of a table body and split the rows that have ``width`` cells.

    Example:
        >>> block = split_block(["| a | b |", "", "| c |", "|d|e"], 2)
        >>> block.is_row.tolist(), block.counts.tolist(), [column.to_pylist() for column in block.columns]
        ([True, False, True, True], [2, 1, 2], [['a', 'd'], ['b', 'e']])
    """
    stripped = strip(pa.array(lines, type=pa.large_string()))
    is_row = flags(pc.starts_with(stripped, "|"))
    inner = pc.utf8_slice_codeunits(stripped.filter(pa.array(is_row)), 1)
    inner = pc.if_else(pc.ends_with(inner, "|"), pc.utf8_slice_codeunits(inner, 0, -1), inner)
    counts = pc.add(pc.count_substring(inner, "|"), 1).to_numpy(zero_copy_only=False).astype(np.int64)
    full = inner.filter(pa.array(counts == width))
    cells = pc.list_flatten(pc.split_pattern(full, "|"))  # ``width`` cells per full row, row after row
    columns = [strip(cells.take(pa.array(np.arange(index, len(full) * width, width, dtype=np.int64)))) for index in range(width)]
    return SplitBlock(is_row=is_row, counts=counts, columns=columns)


def flags(mask: pa.Array) -> np.ndarray:
    """An Arrow boolean mask as a numpy one (an empty mask too)."""
    return mask.to_numpy(zero_copy_only=False).astype(bool) if len(mask) else np.zeros(0, dtype=bool)
