"""Every date form of the prose, on inline sentences: found, resolved, with precision and basis."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from ceasefire.extract.events import extract_events
from ceasefire.extract.prose_dates import find_date_phrases
from ceasefire.extract.raw import RawCorpus, RawDocument
from ceasefire.contracts.vocabularies import load_contracts

D = dt.date


def corpus_of(article: str, cited: str | None = None) -> RawCorpus:
    documents = []
    for name, role, text in (("article.txt", "article", article), ("cited.txt", "cited_sentences", cited)):
        if text is not None:
            data = text.encode("utf-8")
            documents.append(RawDocument(name, role, tuple(text.splitlines()), hashlib.sha256(data).hexdigest(), len(data)))
    return RawCorpus(documents=tuple(documents), provenance={})


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def dates_of(article: str, contracts) -> list[tuple]:
    frame = extract_events(corpus_of(article), contracts).frame
    return list(zip(frame["date_text"], frame["date_start"], frame["date_end"], frame["date_precision"], frame["date_basis"]))


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The agreement came into force on 10 November 2020.", ("on 10 November 2020", D(2020, 11, 10), D(2020, 11, 10), "day")),
        ("On December 28, 2020, a soldier was killed.", ("On December 28, 2020", D(2020, 12, 28), D(2020, 12, 28), "day")),
        ("On June 21, 2023. the spokeswoman said so.", ("On June 21, 2023", D(2023, 6, 21), D(2023, 6, 21), "day")),
        ("Fighting took place 24–25 March 2022 near Parukh.", ("24–25 March 2022", D(2022, 3, 24), D(2022, 3, 25), "day")),
        ("Between 19 and 20 September 2023, Azerbaijan attacked.", ("Between 19 and 20 September 2023", D(2023, 9, 19), D(2023, 9, 20), "day")),
        ("Fighting lasted March 24–25, 2022.", ("March 24–25, 2022", D(2022, 3, 24), D(2022, 3, 25), "day")),
        ("Talks ran 30 November – 2 December 2020.", ("30 November – 2 December 2020", D(2020, 11, 30), D(2020, 12, 2), "day")),
        ("In September 2023 the offensive began.", ("In September 2023", D(2023, 9, 1), D(2023, 9, 30), "month")),
        ("In early January 2021, officials complained.", ("In early January 2021", D(2021, 1, 1), D(2021, 1, 10), "month")),
        ("In mid-February 2022 shots were fired.", ("In mid-February 2022", D(2022, 2, 11), D(2022, 2, 20), "month")),
        ("In late February 2024, talks resumed.", ("In late February 2024", D(2024, 2, 21), D(2024, 2, 29), "month")),
        ("By 22 November 2020, 25,000 people had returned.", ("By 22 November 2020", D(2020, 11, 22), D(2020, 11, 22), "day")),
        ("Since 12 December 2022, the road has been blocked.", ("Since 12 December 2022", D(2022, 12, 12), D(2022, 12, 12), "day")),
        ("In 2022, shooting went on.", ("In 2022", D(2022, 1, 1), D(2022, 12, 31), "year")),
    ],
)
def test_explicit_forms_resolve_to_their_range(sentence, expected, contracts):
    assert dates_of(sentence, contracts) == [(*expected, "explicit")]


def test_day_and_month_take_the_year_of_the_year_heading(contracts):
    article = "== Ceasefire violations ==\n=== 2021 ===\nOn 13 November, at around 07:00, a grenade was thrown. He was a brother of a worker killed on November 8."
    assert dates_of(article, contracts) == [
        ("On 13 November", D(2021, 11, 13), D(2021, 11, 13), "day", "heading"),
        ("on November 8", D(2021, 11, 8), D(2021, 11, 8), "day", "heading"),
    ]


def test_month_alone_takes_the_year_of_the_heading_and_covers_the_whole_month(contracts):
    article = "=== 2020 ===\nIn December, Turkey sent sappers. In late November, a parade was rehearsed."
    assert dates_of(article, contracts) == [
        ("In December", D(2020, 12, 1), D(2020, 12, 31), "month", "heading"),
        ("In late November", D(2020, 11, 21), D(2020, 11, 30), "month", "heading"),
    ]


def test_context_year_comes_from_the_nearest_earlier_explicit_date_in_the_section(contracts):
    article = "== Claims ==\nOn 2 January 2021, a paper reported it. In late April, a parade was rehearsed. It was acknowledged on 8 May."
    assert [(text, start, basis) for text, start, _, _, basis in dates_of(article, contracts)] == [
        ("On 2 January 2021", D(2021, 1, 2), "explicit"),
        ("In late April", D(2021, 4, 21), "context"),
        ("on 8 May", D(2021, 5, 8), "context"),
    ]


def test_context_year_is_the_one_nearest_the_anchor_so_a_summary_can_look_back(contracts):
    # The lead says "30 January 2021" and then "On 11 December": that is December 2020.
    article = "= Title =\nThe centre opened on 30 January 2021. The first breach occurred on 11 December, near Hadrut."
    assert dates_of(article, contracts)[1] == ("on 11 December", D(2020, 12, 11), D(2020, 12, 11), "day", "context")


def test_context_falls_back_to_a_later_date_in_the_section_then_to_earlier_sections(contracts):
    article = (
        "== A ==\nBy 22 November 2020, people returned.\n"
        "== Monitoring centre ==\nOn 11 November, a memorandum was signed. The officers arrived on 30 January 2021.\n"
        "== B ==\nOn 17 November, demining started."
    )
    assert [(text, start) for text, start, *_ in dates_of(article, contracts)] == [
        ("By 22 November 2020", D(2020, 11, 22)),
        ("On 11 November", D(2020, 11, 11)),
        ("on 30 January 2021", D(2021, 1, 30)),
        # Nearest earlier date anywhere: 30 January 2021; 17 November 2020 is nearer to it than 2021.
        ("On 17 November", D(2020, 11, 17)),
    ]


def test_the_monitoring_centre_sections_11_november_is_2020_on_the_seed(contracts):
    from conftest import seed_article

    frame = extract_events(corpus_of(seed_article()), contracts).frame
    row = frame[(frame["source_line"] == 31) & (frame["date_text"] == "On 11 November")].iloc[0]
    assert (row["date_start"], row["date_basis"]) == (D(2020, 11, 11), "context")
    row = frame[(frame["source_line"] == 61) & (frame["date_text"] == "On 13 November")].iloc[0]
    assert (row["date_start"], row["date_basis"]) == (D(2021, 11, 13), "heading")


def test_relative_days_count_from_the_statement_before_in_the_paragraph(contracts):
    article = (
        "=== 2020 ===\nOn 13 December, the contingent took control of Hin Tagher. On the same day, a session was called. "
        "However, the next day, a map was released. The following day, protests began."
    )
    assert dates_of(article, contracts) == [
        ("On 13 December", D(2020, 12, 13), D(2020, 12, 13), "day", "heading"),
        ("On the same day", D(2020, 12, 13), D(2020, 12, 13), "day", "relative"),
        ("the next day", D(2020, 12, 14), D(2020, 12, 14), "day", "relative"),
        ("The following day", D(2020, 12, 15), D(2020, 12, 15), "day", "relative"),
    ]


def test_a_sentence_with_two_dated_statements_gives_two_events(contracts):
    article = "=== 2020 ===\nOn 1 December, sappers arrived, and the following day, the minister stated that the centre was under construction."
    frame = extract_events(corpus_of(article), contracts).frame
    assert list(zip(frame["date_start"], frame["event_type"])) == [(D(2020, 12, 1), "demining"), (D(2020, 12, 2), "facility")]
    assert frame["sentence"].nunique() == 1


def test_a_relative_day_with_no_date_before_it_in_its_paragraph_is_a_warning_not_an_event(contracts):
    article = "=== 2022 ===\nOn 24 March 2022, Parukh was seized.\nActivists met the commander and protested the next day."
    extraction = extract_events(corpus_of(article), contracts)
    assert list(extraction.frame["date_text"]) == ["On 24 March 2022"]
    assert [(f.rule, f.severity, f.source_line, f.source_column, f.value) for f in extraction.findings] == [
        ("date-unresolved", "warning", 3, 43, "the next day")
    ]


def test_dates_of_agreements_are_references_not_statements(contracts):
    article = (
        "== A ==\nIt breached the trilateral ceasefire agreement of 9 November 2020. They crossed the line, in violation of "
        "the November 9 agreement. It violated the agreements signed in November 2020. On 8 May, the parade was acknowledged."
    )
    phrases = [(p.text, p.reference) for p in find_date_phrases("the agreement of 9 November 2020 and the November 9 agreement")]
    assert phrases == [("9 November 2020", True), ("November 9", True)]
    # References neither become events nor give "On 8 May" a year.
    extraction = extract_events(corpus_of(article), contracts)
    assert extraction.frame.empty
    assert [(f.rule, f.value) for f in extraction.findings] == [("date-unresolved", "On 8 May")]


def test_words_that_look_like_dates_are_not_dates():
    text = "It may march on; 1,960 servicemen and 55-year-old men met at 07:00 in 1994 on the 2nd day."
    assert find_date_phrases(text) == []


def test_impossible_and_out_of_span_dates_become_warnings(contracts):
    article = "== A ==\nOn 31 February 2022, nothing happened. On 5 May 1994, a ceasefire was signed."
    extraction = extract_events(corpus_of(article), contracts)
    assert extraction.frame.empty
    assert [(f.rule, f.value, f.source_column) for f in extraction.findings] == [
        ("date-invalid", "On 31 February 2022", 1),
        ("outside-time-span", "On 5 May 1994", 40),
    ]
