"""Hostile prose never crashes the events extractor, and every event it returns validates."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_events_dates import corpus_of

from ceasefire.extract.events import extract_events
from ceasefire.validate.validation import build_schemas, check_sentences_verbatim, run_pandera
from ceasefire.contracts.vocabularies import load_contracts

CONTRACTS = load_contracts()
SCHEMAS = build_schemas(CONTRACTS, "events")

FRAGMENTS = [
    "On 11 November", "on November 8", "10 November 2020", "December 28, 2020", "On June 21, 2023.", "24–25 March 2022",
    "Between 19 and 20 September 2023", "In September 2023", "In December", "In early January 2021", "In late April",
    "By 22 November 2020", "Since 12 December 2022", "the next day", "The following day", "On the same day", "In 2021,",
    "31 February 2022", "29 February", "5 May 1994", "1 January 2099", "agreement of 9 November 2020", "the November 9 agreement",
    "=== 2021 ===", "== Criticism ==", "= Title =", "|", "| 1 | 2 |", "[12]", "[85]Since", '"', "”", "U.S.", ". ", ".", ",", "; ",
    " and ", "killed", "two wounded", "Hadrut", "Hin Tagher", "Russian peacekeepers", "confirmed by the Russian peacekeeping forces",
    "ceasefire was breached", "Azerbaijani forces", "\n", "\n\n", " ", "\t", "Ω", "\u200b", "0", "99", "May", "march",
]
text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=40).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(article=text, cited=st.one_of(st.none(), text))
def test_hostile_text_never_crashes_and_every_event_validates(article, cited):
    extraction = extract_events(corpus_of(article or " ", cited), CONTRACTS)
    assert all(f.severity == "warning" for f in extraction.findings)
    if extraction.frame.empty:
        return
    errors = [f for f in run_pandera(extraction, SCHEMAS) if f.severity == "error"]
    assert errors == []
    assert check_sentences_verbatim(corpus_of(article or " ", cited), extraction) == []
    assert extraction.frame["event_id"].is_unique
