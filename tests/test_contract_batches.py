"""The contract's batch forms give what its per-value forms give, value for value.

The streamed package check reads a million distinct cells per column: ``Field.read_text`` maps
the codec over them and ``Field.broken_constraints`` runs each value constraint over all of them
at once. Here both are compared on hostile values with the per-value forms and with the
constraints as Table Schema states them (written out below, one value at a time).
"""

from __future__ import annotations

import datetime as dt
import math
import re

import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pandera.engines import pandas_engine

from ceasefire.contracts.pandera_adapter import Date, _is_list_of_strings, _lists_of_strings
from ceasefire.contracts.schema import Field


def constraint_as_stated(spec: dict, value: object) -> str | None:
    """The first constraint ``value`` breaks, in the contract's order, as Table Schema states each one."""
    field = Field.from_descriptor(spec)
    constraints = spec.get("constraints", {})
    stated = {
        "minimum": lambda bound: value >= bound,
        "maximum": lambda bound: value <= bound,
        "exclusiveMinimum": lambda bound: value > bound,
        "exclusiveMaximum": lambda bound: value < bound,
    }
    for key, holds in stated.items():
        if key in constraints and not holds(field.bound(key)):
            return key
    if "enum" in constraints and value not in [field.from_text(item) if isinstance(item, str) else item for item in constraints["enum"]]:
        return "enum"
    if "pattern" in constraints and not re.match(f"^(?:{constraints['pattern']})$", value):
        return "pattern"
    if "minLength" in constraints and len(value) < constraints["minLength"]:
        return "minLength"
    if "maxLength" in constraints and len(value) > constraints["maxLength"]:
        return "maxLength"
    return None


def _bounds(values: st.SearchStrategy) -> st.SearchStrategy[dict]:
    keys = st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"])
    return st.dictionaries(keys, values, max_size=4)


_INTEGERS = st.integers(-(2**70), 2**70)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_DATES = st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31))
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
_PATTERNS = st.sampled_from(["[0-9]{4}-[a-z]+", "a|b", "(ab)*", "x?", ".+", "[^-]*-[^-]*", ""])

# (spec, values) pairs: every constraint of every type the contract has, values around the bounds.
FIELDS = st.one_of(
    st.tuples(
        st.builds(lambda c: {"name": "n", "type": "integer", "constraints": c},
                  _bounds(st.integers(-3, 3)) | st.fixed_dictionaries({"enum": st.lists(st.sampled_from(["1", "2", "07"]), max_size=3)})),
        st.lists(st.integers(-5, 5) | _INTEGERS, max_size=40),
    ),
    st.tuples(
        st.builds(lambda c: {"name": "x", "type": "number", "constraints": c}, _bounds(st.floats(-2, 2) | st.integers(-2, 2))),
        st.lists(_FLOATS | st.sampled_from([-0.0, 0.0, 1.0, math.nan, -math.inf]), max_size=40),
    ),
    st.tuples(
        st.builds(lambda c: {"name": "d", "type": "date", "constraints": c}, _bounds(_DATES.map(dt.date.isoformat))),
        st.lists(_DATES, max_size=40),
    ),
    st.tuples(
        st.builds(lambda c: {"name": "s", "type": "string", "constraints": c}, st.fixed_dictionaries({}, optional={
            "enum": st.lists(_TEXT, max_size=4), "pattern": _PATTERNS,
            "minLength": st.integers(0, 4), "maxLength": st.integers(0, 4)})),
        st.lists(_TEXT | st.sampled_from(["2020-abc", "a", "b", "ab\n", "a-b"]), max_size=40),
    ),
    st.tuples(
        st.builds(lambda c: {"name": "l", "type": "list", "constraints": c},
                  st.fixed_dictionaries({}, optional={"minLength": st.integers(0, 3), "maxLength": st.integers(0, 3)})),
        st.lists(st.lists(_TEXT, max_size=4), max_size=40),
    ),
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(FIELDS)
def test_the_batch_finds_the_first_broken_constraint_of_every_value_as_one_by_one(case):
    spec, values = case
    field = Field.from_descriptor(spec)
    batch = field.broken_constraints(values)
    assert batch == [field.broken_constraint(value) for value in values]
    assert batch == [constraint_as_stated(spec, value) for value in values]


def test_a_value_is_named_by_the_first_constraint_it_breaks_not_a_later_one():
    field = Field.from_descriptor({"name": "s", "type": "string",
                                   "constraints": {"enum": ["ab", "abcdef"], "pattern": "a.", "maxLength": 2}})  # fmt: skip
    assert field.broken_constraints(["ab", "abcdef", "zz", "abc"]) == [None, "pattern", "enum", "enum"]
    assert field.broken_constraints([]) == []


@pytest.mark.parametrize(
    ("spec", "texts", "values"),
    [
        ({"name": "n", "type": "integer"}, ["42", "079", "-0", "+3", " 5", "1_000", "3.0", "x"], [42, 79, 0, 3, 5, 1000, ValueError, ValueError]),
        ({"name": "x", "type": "number"}, ["0.5", "1e400", "nan", "-inf", "1,5"], [0.5, math.inf, math.nan, -math.inf, ValueError]),
        ({"name": "b", "type": "boolean"}, ["true", "False", "TRUE", "0", "1", "yes"], [True, False, True, False, True, ValueError]),
        ({"name": "d", "type": "date"}, ["2022-03-24", "2022-3-4", "24.03.2022", "20220324"],
         [dt.date(2022, 3, 24), dt.date(2022, 3, 4), ValueError, ValueError]),
        ({"name": "l", "type": "list", "delimiter": ";"}, ["Shusha;Khojaly", ";", "one"], [["Shusha", "Khojaly"], ["", ""], ["one"]]),
        ({"name": "s", "type": "string"}, ["near Shusha", " ", "n/a"], ["near Shusha", " ", "n/a"]),
    ],
)  # fmt: skip
def test_the_codec_of_a_present_cell_reads_each_type_as_the_csv_codec(spec, texts, values):
    field = Field.from_descriptor(spec)
    for text, value in zip(texts, values, strict=True):
        if value is ValueError:
            for read in (field.read_text, lambda text: field.from_text(text, missing_values=())):
                with pytest.raises(ValueError):
                    read(text)
            continue
        for read in (field.read_text(text), field.from_text(text, missing_values=())):
            assert repr(read) == repr(value)  # nan is nan, 0 is not False


# --- pandera's type checks of a whole column give its value-by-value ones ---

_DATE_VALUES = st.sampled_from([dt.date(2021, 11, 8), dt.date(2024, 1, 1), None, dt.datetime(2021, 11, 8, 1, 2),
                                pd.NaT, float("nan"), "2021-11-08", 20211108, pd.Timestamp("2021-11-08")])  # fmt: skip


class _ListOfText(list):
    pass


_LIST_VALUES = st.sampled_from([["Shusha"], [], ["a", "b"], ("a",), ["a", None], ["a", 3], "a", None, _ListOfText(["a"]),
                                [["nested"]], float("nan")])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_DATE_VALUES, max_size=12))
def test_the_date_type_check_of_a_column_is_panderas_value_by_value_check(values):
    series = pd.Series(values, dtype=object)
    stored = pandas_engine.Engine.dtype(series.dtype)  # what pandera passes: the column's own type
    got = Date().check(stored, series)
    expected = pandas_engine.Date().check(stored, series)
    assert list(got) == list(expected)


def test_a_column_of_dates_passes_pandera_without_a_python_call_per_value(monkeypatch):
    """The whole-column check is the one a real validation takes: pandera's value-by-value check is
    never reached for a column of dates and missing values."""
    frame = pd.DataFrame({"day": pd.Series([dt.date(2021, 11, 8), None, dt.date(2024, 1, 1)] * 4, dtype=object)})
    schema = pa.DataFrameSchema({"day": pa.Column(Date(), nullable=True)})

    def value_by_value(*args, **kwargs):
        raise AssertionError("pandera checked the dates one value at a time")

    monkeypatch.setattr(pandas_engine.Date, "check", value_by_value)
    schema.validate(frame, lazy=True)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_LIST_VALUES, max_size=12))
def test_the_list_type_check_of_a_column_is_the_value_by_value_check(values):
    series = pd.Series(values, dtype=object)
    assert list(_lists_of_strings(series)) == [_is_list_of_strings(value) for value in values]
