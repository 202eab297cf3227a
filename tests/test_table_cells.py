"""Arrow splits pipe-table lines into the very cells the pandas string methods gave, on hostile lines."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.extract.table_cells import split_cells
from ceasefire.extract.violations import split_table_lines

# Pipes, the whitespace Python and Unicode disagree on (\x1c-\x1f), NEL, NBSP, ideographic space, tabs.
alphabet = st.sampled_from(list("|| ab.-1") + ["\x1c", "\x1f", "\x85", "\xa0", "\u3000", "\t", "\r", "é", "🕊"])
lines = st.lists(st.builds(lambda body, lead: lead + body, st.text(alphabet, max_size=20), st.sampled_from(["|", " |", "", "\x1f|"])),
                 max_size=12)  # fmt: skip


def _with_pandas(lines: list[str], width: int) -> tuple[list[int], list[list[str]]]:
    cells, widths = split_table_lines(pd.Series(lines, dtype=object))
    kept = (widths == width).to_numpy()
    cells = cells.reindex(columns=range(width))
    return widths.tolist(), [cells[index][kept].astype(object).str.strip().tolist() for index in range(width)]


@settings(max_examples=300, deadline=None)
@given(lines, st.integers(1, 4))
def test_arrow_cells_are_the_pandas_cells(lines: list[str], width: int) -> None:
    counts, columns = split_cells(lines, width)
    assert (counts.tolist(), [column.tolist() for column in columns]) == _with_pandas(lines, width)


def test_python_whitespace_is_stripped_and_inner_pipes_split() -> None:
    counts, columns = split_cells(["|\x1c a\x1f | b\u3000|", "| only one |", "|x||"], 2)
    assert counts.tolist() == [2, 1, 2]
    assert [column.tolist() for column in columns] == [["a", "x"], ["b", ""]]
