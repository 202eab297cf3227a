"""Control characters in list cells are found by Arrow on the flattened items, exactly where the
per-value search finds them, whatever else the column holds."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.validate.characters import CONTROL_CHARACTERS, _suspect_rows

ITEM_TEXT = st.text(st.sampled_from(["a", " ", "é", "\x00", "\t", "\n", "\x85", "\u2028", "\u202e", "\u2066", "\x7f"]), max_size=5)
ITEMS = ITEM_TEXT | st.sampled_from([b"\x00", None, 1])  # not texts: looked at value by value
CELLS = st.none() | st.lists(ITEM_TEXT, max_size=3) | st.lists(ITEMS, max_size=3) | st.tuples(ITEM_TEXT)


def rows_by_value(values: list) -> list[int]:
    return [position for position, value in enumerate(values)
            if isinstance(value, list) and any(isinstance(i, str) and CONTROL_CHARACTERS.search(i) for i in value)]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(CELLS, min_size=1, max_size=8) | st.lists(st.none() | st.lists(ITEM_TEXT, max_size=3), min_size=1, max_size=8))
def test_list_cells_with_control_characters_are_the_ones_a_search_of_each_item_finds(values: list) -> None:
    frame = pd.DataFrame({"places": pd.Series([[]] + values, dtype=object)})
    assert _suspect_rows(frame, ["places"]) == rows_by_value([[]] + values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | ITEM_TEXT, min_size=1, max_size=4).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), min_size=1, max_size=12).map(lambda drawn: drawn * 2).flatmap(st.permutations)))
def test_a_repeated_text_column_has_its_control_characters_found_in_the_rows_a_search_of_each_value_finds(values: list) -> None:
    """A text column held once per distinct text (a categorical) is searched text by text, and each
    row holding a found text is suspect: the rows the search of every value finds."""
    from ceasefire.contracts.schema import text_column

    column = text_column(values)
    assert isinstance(column.dtype, pd.CategoricalDtype)
    found = [position for position, value in enumerate(values) if value is not None and CONTROL_CHARACTERS.search(value)]
    assert _suspect_rows(pd.DataFrame({"text": column}), ["text"]) == found
    assert _suspect_rows(pd.DataFrame({"text": pd.array(values, dtype="string")}), ["text"]) == found


@settings(max_examples=300, deadline=None)
@given(pool=st.lists(CELLS, min_size=1, max_size=5), picks=st.lists(st.integers(0, 4), min_size=1, max_size=12))
def test_a_list_shared_by_many_rows_is_searched_once_and_found_in_every_row(pool: list, picks: list) -> None:
    """The rows of one location share one list of places: each distinct list is searched once, and
    every row holding it (or an equal list of its own) is found."""
    values = [pool[pick % len(pool)] for pick in picks]
    frame = pd.DataFrame({"places": pd.Series([[]] + values, dtype=object)})
    assert _suspect_rows(frame, ["places"]) == rows_by_value([[]] + values)
