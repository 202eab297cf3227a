"""The report's monthly series, counted in integer arrays, against the sums spelled out record by record.

``monthly_series`` below is the definition the charts had as one Python record per row: a series
shows when some dated row gives it an amount other than 0, the months run over every dated row,
the series are ordered by their total (largest first) then name. The charts must give exactly that
for any frame: missing, unreadable and text dates, missing violators and a violator literally
called "not indicated", missing and zero counts.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.report import charts
from ceasefire.report.charts import _month, casualties_per_month, events_per_month, month_range, violations_per_month


def monthly_series(records: list[tuple[str | None, str, int]], unit: str) -> dict[str, Any] | None:
    """``(month, series, amount)`` records summed into ``{"months", "series": {name: [..]}, "unit"}``."""
    dated = [record for record in records if record[0] is not None]
    counted = [record for record in dated if record[2]]
    if not counted:
        return None
    months = month_range(min(r[0] for r in dated), max(r[0] for r in dated))
    series: dict[str, list[int]] = {}
    for month, name, amount in counted:
        series.setdefault(name, [0] * len(months))[months.index(month)] += int(amount)
    return {"unit": unit, "months": months, "series": dict(sorted(series.items(), key=lambda item: (-sum(item[1]), item[0])))}


dates = st.one_of(
    st.dates(min_value=dt.date(2020, 11, 1), max_value=dt.date(2021, 6, 30)),
    st.sampled_from(["2021-02-03", "2020-12", "not a date", None]),
)
violators = st.sampled_from(["Azerbaijan", "Armenia", "not indicated", None])
counts = st.sampled_from([0, 1, 2, 7, None])


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(dates, violators, counts, counts, counts), max_size=12), categorical=st.booleans(),
       chart_rows=st.integers(1, 13))  # fmt: skip
def test_the_monthly_series_are_the_sums_of_the_records(rows: list[tuple], categorical: bool, chart_rows: int) -> None:
    """Counted a window of ``chart_rows`` rows at a time, the series are the sums of every row's record."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(charts, "CHART_ROWS", chart_rows)
        _check_monthly_series(rows, categorical)


def _check_monthly_series(rows: list[tuple], categorical: bool) -> None:
    frame = pd.DataFrame({
        "date_start": pd.Series([row[0] for row in rows], dtype=object),
        "violator": pd.Series([row[1] for row in rows], dtype="category" if categorical else "string[pyarrow]"),
        "violation_count": pd.array([row[2] for row in rows], dtype="Int64"),
        "killed": pd.array([row[3] for row in rows], dtype="Int64"),
        "wounded": pd.array([row[4] for row in rows], dtype="Int64"),
    })  # fmt: skip
    month = [_month(row[0]) for row in rows]
    assert in_order(violations_per_month(frame)) == in_order(monthly_series(
        [(m, row[1] if row[1] is not None else "not indicated", row[2] or 0) for m, row in zip(month, rows)], "violations"
    ))
    expected = monthly_series([(m, kind, row[index] or 0) for kind, index in (("killed", 3), ("wounded", 4)) for m, row in zip(month, rows)], "people")
    if expected:
        expected["series"] = {kind: expected["series"].get(kind, [0] * len(expected["months"])) for kind in ("killed", "wounded")}
    assert in_order(casualties_per_month(frame)) == in_order(expected)
    assert in_order(events_per_month(frame)) == in_order(monthly_series([(m, "events", 1) for m in month], "events"))


def in_order(chart: dict | None) -> str:
    """The chart as report.json holds it: the order of its series is the legend's."""
    return json.dumps(chart)
