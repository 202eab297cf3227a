"""Pictures for the report: monthly series from the extracted frames, and their SVG geometry.

The series are plain data stored in ``report.json``; :func:`stacked_bars` turns one into the
rectangles, axis ticks and legend that the HTML template draws. No markup is built here, so the
template's autoescaping covers every label (violator names can be raw, untrusted text).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
FIXED_COLOURS = {
    "Azerbaijan": "#0072B2",
    "Armenia": "#E69F00",
    "Nagorno-Karabakh Defense Army": "#D55E00",
    "both sides": "#CC79A7",
    "not indicated": "#999999",
    "killed": "#B2182B",
    "wounded": "#F4A582",
    "events": "#009E73",
}
EVENT_DATE_COLUMNS = ("date_start", "event_date", "date")


def _month(value: object) -> str | None:
    if value is None or (not isinstance(value, (dt.date, str)) and pd.isna(value)):
        return None
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return f"{value.year:04d}-{value.month:02d}"


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive, so quiet months show as gaps.

    Example:
        >>> month_range("2021-11", "2022-02")
        ['2021-11', '2021-12', '2022-01', '2022-02']
    """
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's month as an index into the sorted months the column has (-1: no month), with
    those months; :func:`_month` runs once per distinct value (dates repeat)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    months = [_month(value) for value in uniques]
    names = sorted({month for month in months if month is not None})
    position = {month: index for index, month in enumerate(names)}
    # Code -1 (a missing value) takes the last item: no month.
    of_distinct = np.array([position[month] if month is not None else -1 for month in months] + [-1], dtype=np.int64)
    return of_distinct[codes], names


def _series_codes(values: pd.Series, missing: str) -> tuple[np.ndarray, list[str]]:
    """Each row's series as an index into the names, a missing value named ``missing`` (one series with a value so named)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = [str(value) for value in uniques] + [missing]
    names = sorted(set(labels))
    position = {name: index for index, name in enumerate(names)}
    return np.array([position[label] for label in labels], dtype=np.int64)[codes], names


def _amounts(values: pd.Series) -> np.ndarray:
    """A count column as plain integers, a missing count as 0."""
    return values.fillna(0).astype("int64").to_numpy()


# Rows counted at once: the charts' per-row codes and amounts are a few MB whatever the table's length.
CHART_ROWS = 262_144


def _row_windows(frame: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """``frame`` a window of :data:`CHART_ROWS` rows at a time (views, not copies); an empty frame is one empty window."""
    for start in range(0, max(len(frame), 1), CHART_ROWS):
        yield frame.iloc[start : start + CHART_ROWS]


Window = tuple[np.ndarray, list[str], list[tuple[np.ndarray, np.ndarray]], list[str]]


def monthly_sums(windows: Iterable[Window], unit: str) -> dict[str, Any] | None:
    """Amounts summed per series and month into ``{"unit", "months", "series": {name: [..]}}`` by
    counting in integer arrays, not a frame of one record per row, a window of rows at a time.

    Each window gives, per row, its month (an index into the window's months, -1 for none), those
    months, and blocks of (series, an index into the window's names; amount), with those names. A
    series shows when some dated row gives it an amount other than 0; the months run over every
    dated row, so charts of the same rows share one axis. None when no dated row has an amount."""
    months_dated: set[str] = set()
    sums: dict[tuple[str, str], int] = {}
    shown: set[str] = set()
    for month, months_named, blocks, names in windows:
        dated = month >= 0
        months_dated.update(months_named)  # every month named is some row's
        for series, amount in blocks:
            counted = dated & (amount != 0)
            keys = series[counted] * len(months_named) + month[counted]
            table = np.zeros(len(names) * len(months_named), dtype=np.int64)
            np.add.at(table, keys, amount[counted])
            for key in np.unique(keys).tolist():
                name, named = names[key // len(months_named)], months_named[key % len(months_named)]
                shown.add(name)
                sums[name, named] = sums.get((name, named), 0) + int(table[key])
    if not months_dated or not shown:
        return None
    months = month_range(min(months_dated), max(months_dated))
    series = {name: [sums.get((name, month), 0) for month in months] for name in shown}
    return {"unit": unit, "months": months, "series": dict(sorted(series.items(), key=lambda item: (-sum(item[1]), item[0])))}


def violations_per_month(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Violations (the table's counts, not rows) per month of ``date_start``, by violator."""

    def window(rows: pd.DataFrame) -> Window:
        violator, names = _series_codes(rows["violator"], "not indicated")
        return *_month_codes(rows["date_start"]), [(violator, _amounts(rows["violation_count"]))], names

    return monthly_sums(map(window, _row_windows(frame)), "violations")


def casualties_per_month(frame: pd.DataFrame) -> dict[str, Any] | None:
    """People killed and wounded per month of ``date_start``, as the consequences report them."""
    kinds = [kind for kind in ("killed", "wounded") if kind in frame.columns]
    if not kinds or "date_start" not in frame.columns:
        return None  # a schema without casualty fields has nothing to draw
    names = sorted(kinds)

    def window(rows: pd.DataFrame) -> Window:
        blocks = [(np.full(len(rows), names.index(kind), dtype=np.int64), _amounts(rows[kind])) for kind in kinds]
        return *_month_codes(rows["date_start"]), blocks, names

    series = monthly_sums(map(window, _row_windows(frame)), "people")
    if series:
        series["series"] = {name: series["series"].get(name, [0] * len(series["months"])) for name in kinds}
    return series


def events_per_month(frame: pd.DataFrame) -> dict[str, Any] | None:
    """Rows of the events resource per month of its first date column."""
    column = next((name for name in EVENT_DATE_COLUMNS if name in frame.columns), None)
    if column is None:
        return None

    def window(rows: pd.DataFrame) -> Window:
        return *_month_codes(rows[column]), [(np.zeros(len(rows), dtype=np.int64), np.ones(len(rows), dtype=np.int64))], ["events"]

    return monthly_sums(map(window, _row_windows(frame)), "events")


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above ``value``: 1, 2, 5 times a power of ten."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def stacked_bars(chart: dict[str, Any], width: int = 760, height: int = 240) -> dict[str, Any]:
    """Rectangles, ticks and legend for a stacked monthly bar chart; each bar has a hover title.

    Example:
        >>> geometry = stacked_bars({"unit": "violations", "months": ["2022-01", "2022-02"],
        ...                          "series": {"Azerbaijan": [1, 3]}})
        >>> [bar["title"] for bar in geometry["bars"]]
        ['2022-01 · Azerbaijan: 1 violations', '2022-02 · Azerbaijan: 3 violations']
    """
    left, right, top, bottom = 44, 8, 10, 44
    months, series = chart["months"], chart["series"]
    plot_width, plot_height = width - left - right, height - top - bottom
    totals = [sum(values[i] for values in series.values()) for i in range(len(months))]
    y_max = _nice_ceiling(max(totals))
    band = plot_width / len(months)
    bar_width = max(1.0, band * 0.72)
    colours = _colours(list(series))
    bars = []
    for index, month in enumerate(months):
        stacked = 0
        for name, values in series.items():
            amount = values[index]
            if not amount:
                continue
            bar_height = amount / y_max * plot_height
            y = top + plot_height - (stacked + amount) / y_max * plot_height
            bars.append({"x": round(left + index * band + (band - bar_width) / 2, 2), "y": round(y, 2),
                         "width": round(bar_width, 2), "height": round(bar_height, 2), "colour": colours[name],
                         "title": f"{month} · {name}: {amount} {chart['unit']}"})  # fmt: skip
            stacked += amount
    step = max(1, math.ceil(len(months) / 12))
    x_ticks = [{"x": round(left + i * band + band / 2, 2), "label": months[i]} for i in range(0, len(months), step)]
    y_ticks = [{"y": round(top + plot_height - v / y_max * plot_height, 2), "label": str(v)}
               for v in sorted({0, y_max // 2 if y_max % 2 == 0 else y_max / 2, y_max}) if float(v).is_integer()]  # fmt: skip
    return {
        "width": width, "height": height, "left": left, "right": width - right, "top": top,
        "bottom": top + plot_height, "bars": bars, "x_ticks": x_ticks, "y_ticks": y_ticks,
        "legend": [{"name": name, "colour": colours[name], "total": sum(values)} for name, values in series.items()],
        "rows": [{"month": month, "values": [values[i] for values in series.values()], "total": totals[i]}
                 for i, month in enumerate(months)],
        "columns": list(series),
    }  # fmt: skip


def _colours(names: list[str]) -> dict[str, str]:
    spare = iter(colour for colour in PALETTE if colour not in FIXED_COLOURS.values())
    return {name: FIXED_COLOURS.get(name) or next(spare, "#666666") for name in names}
