"""The cells of many pipe-table lines at once, split and stripped by Arrow compute kernels.

pandas runs ``str`` methods on a column of Python strings one string at a time; a million-row
table spent most of its extraction there. This module gives the same cells as
:func:`ceasefire.extract.violations.split_table_lines` with pyarrow: each kernel runs over the whole
column in C. "Whitespace" is Python's (``str.strip``), given as an explicit set of characters, so
a hostile cell comes out as the row-by-row parser has it whatever Arrow counts as whitespace.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PYTHON_WHITESPACE = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())


def _strip(array: pa.Array) -> pa.Array:
    return pc.utf8_trim(array, characters=PYTHON_WHITESPACE)


def split_cells(lines: Sequence[str], width: int) -> tuple[np.ndarray, list[pd.Series]]:
    """The number of cells of each line, and the stripped cells of the lines that have ``width`` of them.

    The cells come as ``width`` columns of Python strings (object Series), one row per line whose
    cell count is ``width``, in line order.

    Example:
        >>> counts, columns = split_cells(["| a | b |", "| c |", "|d|e"], 2)
        >>> counts.tolist(), [column.tolist() for column in columns]
        ([2, 1, 2], [['a', 'd'], ['b', 'e']])
    """
    text = pa.array(lines, type=pa.large_string())
    inner = pc.utf8_slice_codeunits(_strip(text), 1)
    inner = pc.if_else(pc.ends_with(inner, "|"), pc.utf8_slice_codeunits(inner, 0, -1), inner)
    counts = pc.add(pc.count_substring(inner, "|"), 1).to_numpy(zero_copy_only=False).astype(np.int64)
    kept = pc.filter(inner, pa.array(counts == width))
    cells = pc.list_flatten(pc.split_pattern(kept, "|"))  # width cells per kept line, row after row
    rows = len(kept)
    columns = []
    for index in range(width):
        column = _strip(pc.take(cells, pa.array(np.arange(index, rows * width, width, dtype=np.int64))))
        columns.append(pd.Series(column.to_numpy(zero_copy_only=False), dtype=object))
    return counts, columns
