"""Hostile text never crashes the parsers: it gives values, findings or a RawInputError."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceasefire.extract.article import split_pipe_row
from ceasefire.extract.casualties import parse_casualties
from ceasefire.errors import RawInputError
from ceasefire.extract.raw import RawDocument, decode_raw_bytes
from ceasefire.validate.validation import validate_extraction
from ceasefire.extract.violations import DateError, extract_violations, parse_table_date
from ceasefire.contracts.vocabularies import load_contracts

CONTRACTS = load_contracts()
HEADER = "| date | number of violations | location | the violator | consequences |"
cell_text = st.text(alphabet=st.characters(blacklist_characters="|\n\r", blacklist_categories=("Cs",)), max_size=40)
casualty_words = st.sampled_from(
    ["killed", "wounded", "injured", "dead", "no casualties", "two", "1", "an", "and", "-", ",", ".", "km", "2.9", "of"]
)


@given(st.text(max_size=200))
def test_casualty_parser_returns_counts_or_nothing(text):
    result = parse_casualties(text)
    for count in (result.killed, result.wounded):
        assert count is None or (isinstance(count, int) and count >= 0)


@given(st.lists(casualty_words, max_size=25).map(" ".join))
def test_casualty_parser_on_casualty_vocabulary(text):
    result = parse_casualties(text)
    assert result.killed is None or result.killed >= 0
    assert result.wounded is None or result.wounded >= 0


@given(st.text(max_size=30))
def test_table_date_parser_gives_a_date_or_a_date_error(text):
    try:
        parsed = parse_table_date(text)
    except DateError as error:
        assert str(error)
    else:
        assert isinstance(parsed.start, dt.date) and parsed.start <= parsed.end


@given(st.text(max_size=120))
def test_pipe_rows_split_into_cells_that_point_into_the_line(line):
    for cell in split_pipe_row(line):
        assert cell.column >= 1
        if cell.text:
            assert line[cell.column - 1 :].startswith(cell.text)


@given(st.binary(max_size=200))
def test_decoding_gives_lines_or_a_located_error(data):
    try:
        lines = decode_raw_bytes("hostile.txt", data)
    except RawInputError as error:
        assert error.file == "hostile.txt" and error.line >= 1
    else:
        assert all("\n" not in line for line in lines)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(cell_text, min_size=3, max_size=6), min_size=1, max_size=6))
def test_hostile_table_rows_become_findings_not_crashes(rows):
    lines = ["= Article =", "=== List ===", HEADER] + ["| " + " | ".join(cells) + " |" for cells in rows]
    document = RawDocument(name="hostile.txt", role="article", lines=tuple(lines), sha256="", bytes=0)
    extraction = extract_violations(document, CONTRACTS)
    findings = validate_extraction(extraction, CONTRACTS)
    assert len(extraction.frame) + sum(f.rule == "cell-count" for f in findings) == len(rows)
    for finding in findings:
        assert finding.source_file == "hostile.txt"
        assert 4 <= finding.source_line <= 3 + len(rows)
    if not any(f.severity == "error" for f in findings):
        assert extraction.frame["violation_count"].min() >= 1
