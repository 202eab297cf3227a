"""Event types, actors, places, casualties, links to the table, validation and reconciliation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_events_dates import corpus_of

from ceasefire.extract.events import extract_events, find_actors, share_place
from ceasefire.pipeline import validate
from ceasefire.extract.violations import extract_violations
from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.validate.validation import _referenced_keys

TABLE = (
    "=== List ===\n"
    "| date | number of violations | location | the violator | consequences |\n"
    "| 11.12.2020 | 1 | territory of the former Hadrut province | not indicated | |\n"
    "| 24-25.03.2022 | 1 | Farukh village | Azerbaijan | |\n"
)


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def build(article: str, contracts):
    corpus = corpus_of(article)
    violations = extract_violations(corpus.by_role("article"), contracts)
    events = extract_events(corpus, contracts, violations.frame)
    return validate(corpus, contracts, {"violations": violations, "events": events})


@pytest.mark.parametrize(
    ("sentence", "event_type"),
    [
        ("Following the capture of Shusha, a ceasefire agreement was signed on 10 November 2020.", "agreement"),
        ("The first major breach of the ceasefire occurred on 11 December 2020, near Hadrut.", "ceasefire_violation"),
        ("Between 19 and 20 September 2023, Azerbaijan initiated a military offensive.", "offensive"),
        ("On 13 December 2020, the Russian peacekeeping contingent took control of Hin Tagher.", "territorial_control"),
        ("On 13 October 2021, a convoy was fired upon.", "armed_clash"),
        ("On 26 April 2024, the RTJMC was closed after a ceremony.", "facility"),
        ("In April 2024, Russian peacekeepers began to withdraw.", "withdrawal"),
        ("Since 12 December 2022, activists have been blocking the only road.", "blockade"),
        ("On 3 December 2021, a resident of Chartar village was killed.", "casualty"),
        ("By 22 November 2020, 25,000 displaced Armenians had returned.", "humanitarian"),
        ("On 16 December 2020, 136 members of a mine clearance team were sent.", "demining"),
        ("On 29 December 2020, Turkey sent 35 of its officers to Azerbaijan.", "deployment"),
        ("On 22 December 2022 Pashinyan stated that the contingent failed.", "statement"),
        ("In late April 2021, a parade was rehearsed at Stepanakert Airport.", "other"),
    ],
)
def test_event_type_is_the_first_rule_that_matches(sentence, event_type, contracts):
    assert list(extract_events(corpus_of(sentence), contracts).frame["event_type"]) == [event_type]


def test_actors_need_an_institution_for_adjectives_and_skip_places(contracts):
    actors = contracts.vocabularies["actors"]
    assert find_actors("the Russian and Turkish defence ministers met near Marzili in Aghdam, Azerbaijan", actors) == ["Russia", "Turkey"]
    assert find_actors("six Armenian servicemen were injured by shelling from the Azerbaijani side", actors) == ["Azerbaijan"]
    assert find_actors("Artsakh authorities urged the Armenian government to act", actors) == ["Nagorno-Karabakh authorities", "Armenia"]


def test_places_share_when_one_lies_within_the_other_but_countries_never_count(contracts):
    gazetteer = contracts.gazetteer
    assert share_place(["Hadrut"], ["Hadrut Province"], gazetteer)
    assert share_place(["Hadrut Province"], ["Chaylaggala"], gazetteer)
    assert not share_place(["Azerbaijan"], ["Azerbaijan"], gazetteer)
    assert not share_place(["Shusha"], ["Hadrut Province"], gazetteer)


def test_an_event_links_to_the_row_with_an_overlapping_date_and_a_shared_place(contracts):
    article = (
        "== Violations ==\nThe first breach confirmed by the Russian peacekeeping forces occurred on 11 December 2020, near Hadrut. "
        "Pashinyan recalled the March 24, 2022, seizure of the village of Parukh, and the 25 March 2022 shooting near Shusha.\n"
        + TABLE
    )
    frame = build(article, contracts).extractions["events"].frame
    assert list(zip(frame["date_text"], frame["violation_id"].fillna(""))) == [
        ("on 11 December 2020", "2020-12-11-territory-of-the-former-hadrut-province"),
        ("March 24, 2022", "2022-03-24-25-farukh-village"),
        ("25 March 2022", ""),  # Shusha is not Parukh
    ]


def test_casualties_of_the_clause_use_the_table_rules_and_ignore_day_numbers(contracts):
    article = "== A ==\nOn 26 November 2020, three servicemen were killed and two were wounded; on 8 December 2020, one more died."
    frame = extract_events(corpus_of(article), contracts).frame
    assert list(zip(frame["killed"], frame["wounded"])) == [(3, 2), (1, pd.NA)]


def test_reconciliation_warns_about_unmatched_rows_and_confirmed_violations_without_a_row(contracts):
    article = (
        "== Violations ==\nOn 11 December 2020, a breach of the ceasefire was confirmed by the Russian peacekeeping forces near Hadrut. "
        "On 5 May 2022, the Russian peacekeepers confirmed that Azerbaijani forces had violated the ceasefire near Shusha.\n" + TABLE
    )
    build_result = build(article, contracts)
    reconciliation = [f for f in build_result.findings if f.engine == "reconciliation"]
    assert [(f.rule, f.severity, f.source_line, f.value or f.row_id) for f in reconciliation] == [
        ("confirmed-without-table-row", "warning", 2, "On 5 May 2022"),
        ("table-rows-without-prose-event", "warning", 6, "2022-03-24-25-farukh-village"),
    ]
    assert build_result.status == "passed with warnings"


def test_validation_reports_broken_precision_spans_vocabularies_sentences_and_links(contracts):
    article = "== A ==\nOn 11 December 2020, a breach of the ceasefire occurred near Hadrut.\n" + TABLE
    corpus = corpus_of(article)
    violations = extract_violations(corpus.by_role("article"), contracts)
    events = extract_events(corpus, contracts, violations.frame)
    frame = events.frame
    frame.loc[0, "date_end"] = dt.date(2021, 1, 20)  # 40 days cannot have day precision
    frame.at[0, "actors"] = ["Martians"]
    frame.loc[0, "sentence"] = "A sentence the article never had."
    frame.loc[0, "violation_id"] = "2020-12-12-nowhere"
    frame.loc[0, "event_type"] = "party"  # and its ACLED types no longer belong to it
    errors = [f for f in validate(corpus, contracts, {"violations": violations, "events": events}).findings if f.severity == "error"]
    assert sorted((f.rule, f.column, f.source_line) for f in errors) == [
        ("acled-mapping", "acled_sub_event_type", 2),
        ("date-precision", "date_precision", 2),
        ("enum", "event_type", 2),
        ("foreign-key", "violation_id", 2),
        ("sentence-verbatim", "sentence", 2),
        ("vocabulary", "actors", 2),
    ]


def test_a_correction_that_moves_a_table_id_relinks_the_events(tmp_path):
    """Events link to table rows by id; a reviewed correction of the row must not leave them dangling."""
    import json

    from ceasefire.pipeline import build_dataset
    from conftest import seed_article, seed_cited, write_raw_dir

    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    corrections = tmp_path / "corrections.json"
    corrections.write_text(json.dumps({"corrections": [{
        "resource": "violations", "id": "2020-12-11-territory-of-the-former-hadrut-province", "field": "location",
        "old_value": "territory of the former Hadrut province", "new_value": "near Hadrut",
        "reason": "test", "reviewer": "A. Reviewer", "date": "2024-05-02"}]}), encoding="utf-8")  # fmt: skip

    build = build_dataset(raw, corrections_file=corrections)

    assert [f.rule for f in build.findings if f.severity == "error"] == []
    events = build.extractions["events"].frame
    linked = events.loc[events["violation_id"].notna(), ["source_line", "violation_id"]].values.tolist()
    assert [9, "2020-12-11-near-hadrut"] in linked
    assert "2020-12-11-territory-of-the-former-hadrut-province" not in set(events["violation_id"].dropna())


_KEY_TEXTS = st.one_of(st.none(), st.sampled_from(["a", "b", "<NA>", "None", "1", "2021-01-01"]))


@settings(max_examples=200, deadline=None)
@given(
    source=st.lists(st.tuples(_KEY_TEXTS, st.one_of(st.none(), st.integers(0, 3))), max_size=8),
    target=st.lists(st.tuples(_KEY_TEXTS, st.one_of(st.none(), st.integers(0, 3))), max_size=12),
    text_dtype=st.sampled_from(["string[pyarrow]", "string[python]", "object"]),
)
def test_foreign_keys_are_looked_up_as_the_text_of_every_target_key(source, target, text_dtype):
    """The lookup reads only the target rows a source row could name, and finds exactly the keys a set
    of every target key (compared as text) holds."""

    def frame(rows):
        return pd.DataFrame({"id": pd.Series([r[0] for r in rows], dtype=text_dtype),
                             "n": pd.array([r[1] for r in rows], dtype="Int64")})  # fmt: skip

    source_frame, target_frame = frame(source), frame(target)
    every = set(zip(*(map(str, target_frame[name]) for name in ("id", "n"))))
    named = {tuple(map(str, row)) for row in zip(source_frame["id"].tolist(), source_frame["n"].tolist())
             if not any(pd.isna(value) for value in row)}  # fmt: skip
    assert _referenced_keys(source_frame, target_frame) == every & named


_DAYS = st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_DAYS, st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 12, 31)),
                          _DAYS.map(pd.Timestamp)), max_size=10))  # fmt: skip
def test_the_date_index_counts_each_dates_days_since_1970_as_pandas_does(values):
    """The violations' date index reads a column of dates through Arrow's date32 (its days since
    1970); a column with datetimes or timestamps in it, as pandas reads it: the day each falls on."""
    from ceasefire.extract.events import epoch_days

    column = pd.Series(values, dtype=object)
    expected = pd.to_datetime(column).to_numpy(dtype="datetime64[D]").astype(np.int64).tolist() if values else []
    assert epoch_days(column).tolist() == expected


_SMALL_DAYS = st.dates(dt.date(2021, 1, 1), dt.date(2021, 1, 20))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | _SMALL_DAYS, st.none() | _SMALL_DAYS), max_size=12), _SMALL_DAYS, _SMALL_DAYS,
       st.sampled_from([1, 2, 3, 5, 65_536]))  # fmt: skip
def test_the_date_index_finds_the_rows_a_scan_of_the_table_finds(rows, first, last, window):
    """The violations' date index (32-bit days, positions kept only when a row lacks a date, read a
    window of rows at a time) gives the rows whose two dates are known and whose range overlaps the
    query, as a scan does, the one such row when there is exactly one, and the span of those rows' dates."""
    from ceasefire.extract import events

    saved, events._MATCH_ROWS = events._MATCH_ROWS, window
    try:
        _check_the_date_index(rows, first, last)
    finally:
        events._MATCH_ROWS = saved


def _check_the_date_index(rows, first, last):
    from ceasefire.extract.events import ViolationIndex

    frame = pd.DataFrame({"violation_id": pd.Series([f"v{n}" for n in range(len(rows))], dtype="string"),
                          "date_start": pd.Series([start for start, _ in rows], dtype=object),
                          "date_end": pd.Series([end for _, end in rows], dtype=object),
                          "places": pd.Series([["Shusha"]] * len(rows), dtype=object)})  # fmt: skip
    index = ViolationIndex(frame)
    windows = list(index.overlapping_windows(first, last))
    positions = np.concatenate([found for found, _ in windows]) if windows else np.array([], dtype=int)
    starts = np.concatenate([days for _, days in windows]) if windows else np.array([], dtype=int)
    expected = [n for n, (start, end) in enumerate(rows) if start and end and start <= last and end >= first]
    dated = frame[["date_start", "date_end"]].dropna()  # the table's span, as reconciliation took it before the index
    assert index.span() == ((dated["date_start"].min(), dated["date_end"].max()) if len(dated) else None)
    assert sorted(positions.tolist()) == expected
    assert [starts[list(positions).index(n)] for n in expected] == [(rows[n][0] - dt.date(1970, 1, 1)).days for n in expected]
    only = index.overlaps_one(first, last)
    assert (None if only is None else only.tolist()) == (expected if len(expected) == 1 else None)


_PLACE_LISTS = [["Shusha"], ["Tugh"], ["Shusha", "Tugh"], [], None, ["Khojavend"], ["Nagorno-Karabakh"]]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_SMALL_DAYS, st.integers(0, 3), st.integers(0, len(_PLACE_LISTS) - 1), st.booleans()), max_size=14),
       _SMALL_DAYS, st.integers(0, 5), st.sampled_from([["Shusha"], ["Tugh", "Khojavend"], ["Azerbaijan"]]),
       st.sampled_from([1, 2, 3, 65_536]))  # fmt: skip
def test_an_event_matches_the_rows_a_row_by_row_scan_matches(contracts, rows, first, length, places, window):
    """The rows an event links to (overlapping dates and a shared place, nearest start first, then
    table order) are those a scan of every row finds, whether rows share one list of places (as
    extraction makes them) or hold equal lists of their own, in windows of any size."""
    from ceasefire.extract import events
    from ceasefire.extract.events import ViolationIndex, share_place

    shared_lists = [list(item) if item is not None else None for item in _PLACE_LISTS]
    frame = pd.DataFrame({
        "violation_id": pd.Series([f"v{n}" for n in range(len(rows))], dtype="string"),
        "date_start": pd.Series([start for start, *_ in rows], dtype=object),
        "date_end": pd.Series([start + dt.timedelta(days=span) for start, span, *_ in rows], dtype=object),
        "places": pd.Series([shared_lists[kind] if shared or shared_lists[kind] is None else list(shared_lists[kind])
                             for _, _, kind, shared in rows], dtype=object),
    })  # fmt: skip
    last = first + dt.timedelta(days=length)
    expected = sorted(
        (abs((start - first).days), n, f"v{n}") for n, (start, span, kind, _) in enumerate(rows)
        if start <= last and start + dt.timedelta(days=span) >= first and share_place(places, list(_PLACE_LISTS[kind] or []), contracts.gazetteer)
    )  # fmt: skip
    saved, events._MATCH_ROWS = events._MATCH_ROWS, window
    try:
        found = ViolationIndex(frame).match(first, last, places, contracts.gazetteer)
    finally:
        events._MATCH_ROWS = saved
    assert found == [violation_id for *_, violation_id in expected]
