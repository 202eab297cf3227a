"""The column-wise table parser gives what the row-by-row parser gives, line by line, on hostile tables.

``extract_violations`` classifies and splits the table block with Arrow kernels
(``extract/table_cells.py``), builds ids with Arrow string kernels (``slugify_many``) and parses
each distinct cell once (``map_distinct``). The oracle is the row-by-row code each replaces:
``table_line_problem`` and ``split_pipe_row`` for every line, ``slugify`` for every id, ``parse``
for every cell.
"""

from __future__ import annotations

import sys

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.extract.article import is_pipe_like, split_pipe_row, table_line_problem
from ceasefire.extract import violations
from ceasefire.extract.casualties import COUNT_LIMIT, parse_casualties
from ceasefire.extract.raw import RawDocument
from ceasefire.extract.table_cells import PYTHON_WHITESPACE, split_block
from ceasefire.extract.violations import extract_violations, make_violation_id, map_distinct, slugify, slugify_many

CONTRACTS = load_contracts()
HEADER = "| date | number of violations | location | the violator | consequences |"
# Pipes, the whitespace Python and Unicode disagree on (\x1c-\x1f), NEL, NBSP, ideographic space,
# tabs, and letters whose lower case is or holds ASCII (İ, the Kelvin sign).
SPACES = ["\x1c", "\x1f", "\x85", "\xa0", "\u3000", "\u2028", "\t", "\r", " "]
alphabet = st.sampled_from(list("|| ab.-1Z") + SPACES + ["é", "🕊", "İ", "\u212a"])
body_lines = st.lists(
    st.builds(lambda lead, body: lead + body, st.sampled_from(["|", " |", "", "\x1f|", "\u3000|"]), st.text(alphabet, max_size=24)),
    max_size=12,
)  # fmt: skip


def test_the_whitespace_is_pythons() -> None:
    assert PYTHON_WHITESPACE == "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())


@settings(max_examples=300, deadline=None)
@given(body_lines, st.integers(1, 5))
def test_lines_and_cells_are_those_of_the_row_by_row_parser(lines: list[str], width: int) -> None:
    block = split_block(lines, width)
    assert block.is_row.tolist() == [table_line_problem(line) is None for line in lines]
    rows = [[cell.text for cell in split_pipe_row(line)] for line in lines if table_line_problem(line) is None]
    assert block.counts.tolist() == [len(cells) for cells in rows]
    assert [column.to_pylist() for column in block.columns] == [list(cells) for cells in zip(*[r for r in rows if len(r) == width])] or (
        not any(len(r) == width for r in rows) and all(len(column) == 0 for column in block.columns)
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet, max_size=80) | st.sampled_from(["İstanbul", "a" * 70, "--", ""]), max_size=10))
def test_column_slugs_are_slugify_of_each_text(texts: list[str]) -> None:
    assert slugify_many(pa.array(texts, pa.string())).to_pylist() == [slugify(text) for text in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet, max_size=8), min_size=1, max_size=4).flatmap(
    lambda pool: st.lists(st.none() | st.sampled_from([*pool, "İ", "a" * 70]), max_size=16)))  # fmt: skip
def test_repeated_texts_are_slugged_once_each_row_its_own_slug(texts: list[str | None]) -> None:
    """Texts that repeat (a location's rows) are slugged once and taken for every row; a missing text has no slug."""
    assert slugify_many(pa.array(texts, pa.string())).to_pylist() == [None if text is None else slugify(text) for text in texts]


@given(st.lists(st.none() | st.sampled_from(["a", "b", "", "İ"]), max_size=10), st.booleans())
def test_each_distinct_cell_is_parsed_once_and_spread_back(values: list[str | None], arrow: bool) -> None:
    """A pandas column or an Arrow one (the table's cells stay Arrow texts from the split to the frame)."""
    calls: list = []
    column = pa.array(values, pa.large_string()) if arrow else pd.Series(values, dtype=object)
    codes, distinct = map_distinct(column, lambda value: calls.append(value) or [value])
    parsed = distinct[codes].tolist()
    assert parsed == [[value] for value in values]
    assert sorted(calls, key=str) == sorted(set(values), key=str)


def _parsed(parse, text):
    try:
        return parse(text)
    except violations.DateError as error:
        return error


cells = st.text(st.sampled_from(list("0123456789.-| ab") + ["İ", "\xa0", "\x1f"]), max_size=14)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(cells, min_size=4, max_size=6).map(lambda c: "|" + "|".join(c) + "|") | st.sampled_from(["", "\t", "a\tb", "x | y"]),
                min_size=1, max_size=10))  # fmt: skip
@example(["| 1.1.2021 | 2 | Nowhere village | Azerbaijan | 99999999 killed and 2 wounded |",
          "| 31.02.2021 | x | Shusha | Armenia | 2 killed and 3 wounded |", "| 1.1.2021 | 99999999 | | | |",
          "| 24-25.03.2022 | 1 | Shusha | Armenia | |",
          "| 1.1.2021 | 2 | Nowhere village | Azerbaijan | 99999999 killed and 2 wounded |"])  # fmt: skip
def test_a_hostile_table_is_extracted_as_the_row_by_row_parser_reads_it(body: list[str]) -> None:
    lines = ("= Article =", "=== List ===", HEADER, *body, "", "== After ==")
    extraction = extract_violations(RawDocument(name="hostile.txt", role="article", lines=lines, sha256="", bytes=0), CONTRACTS)
    # The block ends at its last pipe-like line; what follows is prose, not part of the table.
    last = max((index for index, line in enumerate(body) if is_pipe_like(line)), default=-1)
    numbered = list(enumerate(body[: last + 1], start=4))
    rows = [(number, split_pipe_row(line)) for number, line in numbered if table_line_problem(line) is None]
    full = [(number, row) for number, row in rows if len(row) == 5]
    frame = extraction.frame.astype(object).where(extraction.frame.notna(), None)
    assert frame["source_line"].tolist() == [number for number, _ in full]
    assert frame["date_text"].tolist() == [row[0].text for _, row in full]
    assert frame["location"].tolist() == [row[2].text or None for _, row in full]
    assert frame["consequences"].tolist() == [row[4].text or None for _, row in full]
    assert frame["violation_id"].tolist() == [make_violation_id(row[0].text, row[2].text) for _, row in full]
    assert [columns["location"] for columns in extraction.cell_columns] == [row[2].column for _, row in full]
    # The typed columns and the findings of each row, as each parser gives them for that row's cells.
    dates = [_parsed(violations.parse_table_date, row[0].text) for _, row in full]
    assert frame["date_start"].tolist() == [d.start if isinstance(d, violations.TableDate) else None for d in dates]
    assert frame["date_end"].tolist() == [d.end if isinstance(d, violations.TableDate) else None for d in dates]
    counts = [violations.parse_count(row[1].text) for _, row in full]
    assert frame["violation_count"].tolist() == [c if isinstance(c, int) else None for c in counts]
    violators = CONTRACTS.vocabularies["violators"]
    assert frame["violator"].tolist() == [violators.resolve(row[3].text) or row[3].text or None for _, row in full]
    casualties = [parse_casualties(row[4].text or None) for _, row in full]
    for kind in ("killed", "wounded"):
        assert frame[kind].tolist() == [None if (getattr(c, kind) or 0) > COUNT_LIMIT else getattr(c, kind) for c in casualties]
    parsed = [(f.source_line, f.rule, f.column) for f in extraction.findings if f.rule not in ("table-line", "cell-count")]
    expected_parsed = [(number, "date-format", "date_text") for (number, _), d in zip(full, dates) if isinstance(d, violations.DateError)]
    expected_parsed += [(number, "count-bound" if c == "beyond" else "count-format", "violation_count")
                        for (number, _), c in zip(full, counts) if not isinstance(c, int)]  # fmt: skip
    expected_parsed += [(number, "count-bound", kind) for (number, _), c in zip(full, casualties) for kind in ("killed", "wounded")
                        if (getattr(c, kind) or 0) > COUNT_LIMIT]  # fmt: skip
    expected_parsed += [(number, "place-unresolved", "location") for number, row in full
                        if violations.find_unresolved_places(row[2].text or None, CONTRACTS.gazetteer)]  # fmt: skip
    assert sorted(parsed) == sorted(expected_parsed)
    structural = [(f.source_line, f.rule) for f in extraction.findings if f.rule in ("table-line", "cell-count")]
    expected = [(number, "table-line") for number, line in numbered if table_line_problem(line) is not None]
    expected += [(number, "cell-count") for number, row in rows if len(row) != 5]
    assert structural == sorted(expected)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(cells, min_size=4, max_size=6).map(lambda c: "|" + "|".join(c) + "|")
                | st.sampled_from(["", "a\tb", "| 1.1.2021 | 2 | Nowhere-on-the-map | Azerbaijan | 99999999 killed |"]),
                min_size=1, max_size=12), st.integers(1, 4))  # fmt: skip
@example([f"| 1.1.2021 | 1 | Nowhere{n} village | Azerbaijan | |" for n in range(3)], 2)  # unknown places in two blocks
def test_the_table_parsed_block_by_block_is_the_table_parsed_whole(body: list[str], block_lines: int) -> None:
    """Lines are parsed a block at a time to bound memory; rows, findings, their order and the cell
    columns are those of one block of the whole table."""
    lines = ("= Article =", "=== List ===", HEADER, *body, "", "== After ==")
    document = RawDocument(name="blocks.txt", role="article", lines=lines, sha256="", bytes=0)
    whole = extract_violations(document, CONTRACTS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(violations, "BLOCK_LINES", block_lines)
        blocks = extract_violations(document, CONTRACTS)
    pd.testing.assert_frame_equal(blocks.frame, whole.frame)
    assert blocks.findings == whole.findings
    assert list(blocks.cell_columns) == list(whole.cell_columns)
