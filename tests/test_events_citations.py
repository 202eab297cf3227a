"""Citation markers of the cited-sentences file, attached to the article sentences they belong to."""

from __future__ import annotations

from test_events_dates import corpus_of

from ceasefire.extract.citations import attach_citations, parse_cited_line
from ceasefire.extract.sentences import article_sentences, split_sentences

ARTICLE = (
    "= Title =\n"
    "The war ended. Russia sent peacekeepers. The centre opened near Marzili.\n"
    "Azerbaijan blocked the road.Since 12 December 2022, activists have protested on the corridor, blocking the only road. "
    "The U.S. Helsinki Commission criticised the \"peacekeepers\"."
)


def citations_by_sentence(cited: str) -> tuple[dict[str, list[str]], list]:
    corpus = corpus_of(ARTICLE, cited)
    sentences = article_sentences(corpus.by_role("article"))
    found, findings = attach_citations(corpus.by_role("cited_sentences"), sentences)
    return {sentences[index].text: markers for index, markers in found.items()}, findings


def test_sentences_split_at_a_missing_space_but_not_after_initials():
    assert [text for _, text in split_sentences(ARTICLE.splitlines()[2])] == [
        "Azerbaijan blocked the road.",
        "Since 12 December 2022, activists have protested on the corridor, blocking the only road.",
        'The U.S. Helsinki Commission criticised the "peacekeepers".',
    ]


def test_parse_cited_line_splits_leading_and_inline_markers():
    line = parse_cited_line(28, '"[154] The U.S. Commission[155] also criticised it.')
    assert (line.leading, line.inline, line.text) == (("154",), ("155",), "The U.S. Commission also criticised it.")


def test_a_leading_marker_belongs_to_the_article_sentence_before_and_an_inline_one_to_its_own():
    found, findings = citations_by_sentence(
        "[18] Russia sent peacekeepers.\n"
        "[85]Since 12 December 2022, activists have protested on the corridor,[86] blocking the only road.\n"
    )
    assert findings == []
    assert found == {
        "The war ended.": ["18"],
        "Azerbaijan blocked the road.": ["85"],
        "Since 12 December 2022, activists have protested on the corridor, blocking the only road.": ["86"],
    }


def test_a_closing_quote_at_line_start_and_a_slightly_different_split_still_match():
    found, findings = citations_by_sentence(
        '"[32][33] The centre opened near Marzili, Aghdam.\n'
        "The U.S. Helsinki Commission criticised the “peacekeepers”[40].\n"
    )
    assert findings == []
    assert found == {
        "Russia sent peacekeepers.": ["32", "33"],
        'The U.S. Helsinki Commission criticised the "peacekeepers".': ["40"],
    }


def test_markers_on_a_sentence_the_article_does_not_have_are_a_warning():
    found, findings = citations_by_sentence("[7] Something entirely different was said here.\n")
    assert found == {}
    assert [(f.rule, f.severity, f.source_file, f.source_line) for f in findings] == [
        ("citation-unmatched", "warning", "cited.txt", 1)
    ]


def test_the_seed_attaches_all_28_markers_to_the_sentences_before_or_around_them():
    from conftest import seed_article, seed_cited

    corpus = corpus_of(seed_article(), seed_cited())
    sentences = article_sentences(corpus.by_role("article"))
    found, findings = attach_citations(corpus.by_role("cited_sentences"), sentences)
    assert findings == []
    assert sum(len(markers) for markers in found.values()) == 28
    by_start = {sentences[index].text[:40]: markers for index, markers in found.items()}
    assert by_start["On 29 December, Turkey sent 35 of its of"] == ["36"]
    assert by_start["The Turkish officers arrived in Azerbaij"] == ["37"]
    assert by_start["On March 30, Artsakh State Minister Arta"] == ["85"]
    assert by_start["Since 12 December 2022, citizens of Azer"] == ["86", "87"]
    assert by_start["The Dutch Parliament in a resolution on "] == ["156"]
