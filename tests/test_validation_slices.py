"""pandera validates a big frame in slices (memory): the findings are those of the frame validated at once."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.extract.violations import Extraction
from ceasefire.pipeline import build_dataset
from ceasefire.validate import validation
from conftest import SEED_RAW


@lru_cache(maxsize=1)
def _seed_violations() -> Extraction:
    return build_dataset(SEED_RAW).extractions["violations"]


def _findings(extraction: Extraction, slice_rows: int) -> list:
    contracts = load_contracts()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "VALIDATE_ROWS", slice_rows)
        found = [finding for check in validation.pandera_checks(extraction, contracts) for finding in check()]
    return sorted(found, key=repr)


# What a row can be made to hold: another row's id (a repeated key, in any slice), a bad id, no id,
# a count below the minimum, a violator outside the vocabulary, a date before the row above it.
EDITS = st.sampled_from(["copy-id", "bad-id", "no-id", "zero-count", "martians", "early-date"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), EDITS), max_size=8), st.integers(1, 9))
def test_a_frame_validated_in_slices_gives_the_findings_of_the_frame_validated_at_once(edits: list, slice_rows: int) -> None:
    seed = _seed_violations()
    frame = seed.frame.copy()
    frame["violator"] = frame["violator"].astype("string")  # any text can be written into it
    rows = len(frame)
    for target, source, edit in edits:
        target, source = target % rows, source % rows
        if edit == "copy-id":
            frame.loc[target, "violation_id"] = frame.loc[source, "violation_id"]
        elif edit == "bad-id":
            frame.loc[target, "violation_id"] = "Bad Id"
        elif edit == "no-id":
            frame.loc[target, "violation_id"] = pd.NA
        elif edit == "zero-count":
            frame.loc[target, "violation_count"] = 0
        elif edit == "martians":
            frame.loc[target, "violator"] = "Martians"
        else:
            frame.at[target, "date_start"] = dt.date(2020, 11, 10)
    extraction = Extraction("violations", frame, [], seed.cell_columns)
    before = frame.copy(deep=True)
    whole = _findings(extraction, rows + 1)
    assert _findings(extraction, slice_rows) == whole
    # pandera validates the frame in place, without its copy of it (memory): it must change nothing.
    pd.testing.assert_frame_equal(frame, before, check_exact=True)
    if frame["violation_id"].dropna().duplicated().any():
        assert any(finding.rule == "unique" for finding in whole)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | st.sampled_from(["a", "b", "é", "a ", ""]) | st.text(max_size=3), max_size=30), st.integers(1, 5), st.integers(1, 4))
def test_the_repeated_ids_found_by_sorting_are_those_pandas_finds(values: list, window: int, chunks: int) -> None:
    """Which rows hold a value another row holds too, for a column of Arrow texts in several chunks,
    compared a few sorted neighbours at a time."""
    import pyarrow as pa

    size = -(-len(values) // chunks) or 1
    texts = pa.chunked_array([pa.array(values[start : start + size], pa.large_string()) for start in range(0, len(values), size)], pa.large_string())
    column = pd.Series(pd.array(texts, dtype="string"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(validation, "_NEIGHBOURS", window)
        assert validation._repeated_values(column).tolist() == column.duplicated(keep=False).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.none() | st.text(max_size=4), max_size=6), min_size=1, max_size=6), st.data())
def test_rows_taken_chunk_by_chunk_are_the_rows_arrow_takes(chunks: list, data) -> None:
    """Rows of a chunked column of texts (chunks empty or not, missing values), taken in any order
    and any number of times, are those Arrow's own take gives."""
    import numpy as np
    import pyarrow as pa

    texts = pa.chunked_array([pa.array(chunk, pa.large_string()) for chunk in chunks], pa.large_string())
    rows = len(texts)
    indices = np.array(data.draw(st.lists(st.integers(0, rows - 1), max_size=20) if rows else st.just([])), dtype=np.int64)
    assert validation.take_from_chunks(texts, indices).to_pylist() == texts.take(indices).to_pylist()
