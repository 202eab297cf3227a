"""Parser units on inline text: table dates, casualty phrases, place aliases, ids, rows."""

from __future__ import annotations

import datetime as dt

import pytest

from ceasefire.extract.article import find_pipe_tables, parse_heading, section_paths, split_pipe_row
from ceasefire.extract.casualties import Casualties, parse_casualties
from ceasefire.errors import RawInputError
from ceasefire.extract.raw import RawDocument, decode_raw_bytes
from ceasefire.extract.violations import DateError, make_violation_id, parse_table_date, slugify
from ceasefire.contracts.vocabularies import load_contracts


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("11.12.2020", dt.date(2020, 12, 11), dt.date(2020, 12, 11)),
        ("24-25.03.2022", dt.date(2022, 3, 24), dt.date(2022, 3, 25)),
        ("24–25.03.2022", dt.date(2022, 3, 24), dt.date(2022, 3, 25)),
        ("30.04-02.05.2022", dt.date(2022, 4, 30), dt.date(2022, 5, 2)),
        ("1.8.2022", dt.date(2022, 8, 1), dt.date(2022, 8, 1)),
        (" 06.01.2023 ", dt.date(2023, 1, 6), dt.date(2023, 1, 6)),
        ("29.02.2024", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ],
)
def test_parse_table_date_accepts_days_and_ranges(text, start, end):
    parsed = parse_table_date(text)
    assert (parsed.start, parsed.end) == (start, end)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31.02.2022", "day 31 does not exist in February 2022"),
        ("29.02.2022", "day 29 does not exist in February 2022"),
        ("11.13.2021", "month 13 does not exist"),
        ("25-24.03.2022", "the range ends before it starts"),
        ("2022-03-24", "expected DD.MM.YYYY"),
        ("11.12.20", "expected DD.MM.YYYY"),
        ("", "expected DD.MM.YYYY"),
        ("March 2022", "expected DD.MM.YYYY"),
    ],
)
def test_parse_table_date_rejects_with_reason(text, reason):
    with pytest.raises(DateError, match=reason):
        parse_table_date(text)


@pytest.mark.parametrize(
    ("text", "killed", "wounded"),
    [
        ("two Armenian servicemen of the Nagorno-Karabakh Defense Army were wounded", None, 2),
        ("a group of Armenian workers from Nagorno-Karabakh were fired on - 1 worker killed and 3 injured", 1, 3),
        ("an Azerbaijani convoy of construction equipment was fired on - no casualties", 0, 0),
        ("military personnel were fired on - as a result gunfire was returned - no one was injured", 0, 0),
        ("no casualties as a result of mortar shelling", 0, 0),
        ("agricultural machinery received minor damage but the resident was not injured", 0, 0),
        ("2 killed and 14 wounded Armenian servicemen of the Nagorno-Karabakh Defense Army", 2, 14),
        ("Two people wounded on both sides as a result of an exchange of fire", None, 2),
        ("gunfire on a position - one serviceman received a wound, no return gunfire", None, 1),
        ("small arms fire at a local resident - he was slightly injured and equipment received minor damage", None, 1),
        ("an Armenian serviceman of the Nagorno-Karabakh Defense Army was wounded", None, 1),
        # Several groups in one cell are summed.
        (
            "fired at a car. As a result three people were killed and one employee who was in the car was "
            "injured. On the Azerbaijani side - two dead, one wounded",
            5,
            2,
        ),
        ("injuring six Armenian servicemen", None, 6),
        ("reported the death of three servicemen", 3, None),
        ("an Azerbaijani soldier was killed and another injured", 1, 1),
        # Distances, heights and strike counts are not casualties.
        ("positions were shelled 2 km southwest of the village - no casualties", 0, 0),
        ("two UAV strikes on the positions of the Nagorno-Karabakh Defense Army", None, None),
        ("occupied the height 2054.0 (2.9 km north - east of Mount Sarybaba)", None, None),
        ("aggravation of the situation", None, None),
        ("", None, None),
        (None, None, None),
        # Across clauses: a singular passive after one named person or one "a/an" phrase counts 1.
        ("a resident of Chartar village, Seyran Sargsyan, was killed by the Azerbaijani armed forces", 1, None),
        ("an Artsakh civilian, 55-year-old Aram Tepnants, was killed during agricultural work", 1, None),
        ("Aram Tepnants, was killed", 1, None),
        ("a local resident, was slightly injured", None, 1),
        ("the residents of the village, were killed", None, None),  # no one person before it
        ("several servicemen, all of them, were killed", None, None),  # plural: no number, none invented
        ("was killed", None, None),  # nobody named before it
    ],
)
def test_parse_casualties(text, killed, wounded):
    assert parse_casualties(text) == Casualties(killed=killed, wounded=wounded)


def test_casualties_mentioned_only_when_something_is_said():
    assert not parse_casualties("aggravation of the situation").mentioned
    assert parse_casualties("no casualties").mentioned


@pytest.mark.parametrize(
    ("location", "places"),
    [
        ("in the Martuni province, in the vicinity of Shushi", ["Martuni Province", "Shusha"]),
        ("near Shusha", ["Shusha"]),
        ("territory of the former Shusha district", ["Shusha District"]),
        ("Farukh village", ["Parukh"]),
        ("near the village of Dzhanatag", ["Janyatag"]),
        ("near the villages of Muganly and Janyatag", ["Muganly", "Janyatag"]),
        ("Saribaba height area", ["Saribaba"]),
        ("2.9 km north - east of Mount Sarybaba", ["Saribaba"]),
        ("2 km northwest of Yeghtsaog", ["Yeghtsahogh"]),
        ("Madagiz-Getavan-Vank road", ["Madagiz", "Getavan", "Vank"]),
        ("Sotk, Armenia", ["Sotk", "Armenia"]),
        ("area of responsibility of Russian peacekeepers", ["Russian peacekeeping zone"]),
        ("NEAR SHUSHI", ["Shusha"]),
        ("somewhere unknown", []),
        # Whole words only: an alias inside a longer word is no mention.
        ("Vankadzor", []),
    ],
)
def test_gazetteer_resolves_aliases(contracts, location, places):
    assert contracts.gazetteer.resolve(location) == places


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("Azerbaijan", "Azerbaijan"), ("azerbaijani side", "Azerbaijan"), ("Armenia", "Armenia"),
     ("not indicated", "not indicated"), ("Not  indicated", "not indicated"), ("Martians", None)],
)  # fmt: skip
def test_violator_vocabulary(contracts, text, canonical):
    assert contracts.vocabularies["violators"].resolve(text) == canonical


def test_violation_id_is_built_from_values_not_position():
    assert make_violation_id("24-25.03.2022", "Farukh village") == "2022-03-24-25-farukh-village"
    assert make_violation_id("08.11.2021", "near Shusha") == "2021-11-08-near-shusha"
    assert make_violation_id("30.04-02.05.2022", "near Shusha") == "2022-04-30-05-02-near-shusha"
    # A malformed date still gives an id, so the finding can name the row.
    assert make_violation_id("31.02.2022", "near Shusha") == "2022-02-31-near-shusha"
    assert make_violation_id("soon", "near Shusha") == "0000-00-00-near-shusha"


def test_slugify_cuts_at_a_word_boundary():
    slug = slugify("territory of the former Askeran province 1.8 km east of Khramort village")
    assert slug == "territory-of-the-former-askeran-province-1-8-km-east-of"
    assert len(slug) <= 60


def test_split_pipe_row_keeps_cell_columns():
    cells = split_pipe_row("| 11.12.2020 | 1 | near Shusha | |")
    assert [c.text for c in cells] == ["11.12.2020", "1", "near Shusha", ""]
    assert [c.column for c in cells] == [3, 16, 20, 34]


def test_headings_and_tables_know_their_section():
    document = RawDocument(
        name="a.txt", role="article", sha256="", bytes=0,
        lines=("= Title =", "== Ceasefire violations ==", "=== 2021 ===", "text", "| a | b |", "| 1 | 2 |", "",
               "== Other ==", "| x |"),
    )  # fmt: skip
    assert parse_heading("== Background ==") == (2, "Background")
    assert parse_heading("== unbalanced =") is None
    assert section_paths(document)[3] == ("Title", "Ceasefire violations", "2021")
    tables = find_pipe_tables(document)
    assert [(t.section, t.header.line, [r.line for r in t.rows]) for t in tables] == [
        (("Title", "Ceasefire violations", "2021"), 5, [6]),
        (("Title", "Other"), 9, []),
    ]


def test_decode_names_line_and_column_of_a_bad_byte():
    with pytest.raises(RawInputError) as caught:
        decode_raw_bytes("article.txt", "line one\nline tw\xe9o".encode("latin-1"))
    assert str(caught.value).startswith("article.txt:2:8: not valid UTF-8 (byte e9)")


def test_decode_rejects_an_empty_file():
    with pytest.raises(RawInputError, match=r"^article.txt:1: the file is empty$"):
        decode_raw_bytes("article.txt", b"  \n\n")


def test_decode_strips_a_byte_order_mark():
    assert decode_raw_bytes("a.txt", b"\xef\xbb\xbfone\r\ntwo") == ("one", "two")
