"""Who said it, who did it, where exactly, and which incident: one inline sentence per rule."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_events_dates import corpus_of
from test_events_rules import TABLE, build

from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.extract.events import extract_events
from ceasefire.extract.locations import find_unresolved_places, location_precision
from conftest import ARTICLE, seed_article, seed_cited, write_raw_dir


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def first_event(article: str, contracts) -> dict:
    frame = extract_events(corpus_of("== A ==\n" + article), contracts).frame
    return {key: (None if value is None or value != value else value) for key, value in frame.iloc[0].to_dict().items()}


@pytest.mark.parametrize(
    ("sentence", "reported_by", "claim_status"),
    [
        ("On 3 December 2021, a resident of Chartar village was killed.", None, "article"),
        ("On 10 December 2020, the Mayor of Stepanakert stated that 18,000 people had returned.",
         "Nagorno-Karabakh authorities", "claim"),
        ("In mid-December 2020, Azerbaijani media reported that armed groups were attacking employees.",
         "Azerbaijani media", "claim"),
        ("The Russian defence ministry said that on 13 October 2021 a convoy was fired upon.", "Russia", "confirmed"),
        ("On 11 December 2020 a breach of the ceasefire was confirmed by the Russian peacekeeping forces near Hadrut.",
         "Russia", "confirmed"),
        # The Russian foreign ministry is Russia, but not the mission that monitors the ceasefire.
        ("On 21 June 2023 the Spokeswoman of the Ministry of Foreign Affairs of Russia said the border was not delimited.",
         "Russia", "claim"),
        # A statement after the signing does not make the signing a claim.
        ("On 11 November 2020, the Russian and Turkish defence ministers signed a memorandum of understanding, "
         "although the Russian officials stated that nothing changes.", None, "article"),
        ("On 26 April 2024 the RTJMC was opened near Marzili according to Russian state media TASS.",
         "Russian state media", "claim"),
    ],
)  # fmt: skip
def test_reporter_and_claim_status_come_from_the_attribution(sentence, reported_by, claim_status, contracts):
    event = first_event(sentence, contracts)
    assert (event["reported_by"], event["claim_status"]) == (reported_by, claim_status)


def test_a_later_clause_inherits_the_attribution_of_its_sentence(contracts):
    frame = extract_events(corpus_of(
        "== A ==\nIn mid-December 2020, Azerbaijani media reported that groups were attacking employees, "
        "and on 11 December 2020, that an Azerbaijan soldier was injured."), contracts).frame  # fmt: skip
    assert frame["reported_by"].tolist() == ["Azerbaijani media", "Azerbaijani media"]
    assert frame["target"].astype("string").fillna("").tolist() == ["", "Azerbaijan"]


def test_a_russian_confirmation_in_a_continuation_sentence_confirms_the_incident(contracts):
    event = first_event(
        "On 25 March 2023, Artsakh’s InfoCenter reported that the armed forces of Azerbaijan had violated the line of contact. "
        "The Russian peacekeepers also confirmed that Azerbaijani forces had crossed the line of contact.", contracts)  # fmt: skip
    assert (event["reported_by"], event["claim_status"], event["incident_sentences"]) == (
        "Nagorno-Karabakh authorities", "confirmed", 2)
    announced = first_event(
        "On 9 October 2021, a civilian was killed as a result of shelling from the Azerbaijani side. "
        "The Russian Defense Ministry announced that the command is investigating the incident.", contracts)  # fmt: skip
    assert announced["claim_status"] == "article"  # announcing an investigation is not confirming


@pytest.mark.parametrize(
    ("sentence", "perpetrator", "target"),
    [
        ("On 14 October 2021, Azerbaijani militaries have attacked the positions of the Artsakh Defence Army near Nor Shen.",
         "Azerbaijan", "Nagorno-Karabakh authorities"),
        ("On 3 December 2021, a resident of Chartar village, Seyran Sargsyan, was killed by the Azerbaijani armed forces.",
         "Azerbaijan", None),
        ("On 9 October 2021, a civilian was killed as a result of shelling from the Azerbaijani side.", "Azerbaijan", None),
        ("On 13 November 2021, a man got out of a taxi near Shusha, where Russian peacekeepers and Azerbaijani servicemen "
         "were stationed, and threw a grenade towards the Azerbaijani military.", None, "Azerbaijan"),
        ("On December 28, 2020, an Azerbaijani soldier was killed and another injured during a shooting attack.",
         None, "Azerbaijan"),
        ("On 14 December 2020 both villages came under Azerbaijan's control.", "Azerbaijan", None),
        # Roles are for violent events only: a memorandum has parties, not a perpetrator.
        ("On 11 November 2020, Russia and Turkey signed a memorandum.", None, None),
    ],
)  # fmt: skip
def test_perpetrator_and_target_only_where_the_clause_says_so(sentence, perpetrator, target, contracts):
    event = first_event(sentence, contracts)
    assert (event["perpetrator"], event["target"]) == (perpetrator, target)


@pytest.mark.parametrize(
    ("sentence", "acled"),
    [
        ("On 13 November 2021, a man threw a grenade at the post.", ("Explosions/Remote violence", "Grenade")),
        ("On 24 March 2022, four strikes by a Bayraktar drone hit the positions.", ("Explosions/Remote violence", "Air/drone strike")),
        ("On 26 November 2020, a clash broke out.", ("Battles", "Armed clash")),
        ("On 13 December 2020, Hin Tagher came under the control of the Russian peacekeeping contingent.",
         ("Strategic developments", "Non-violent transfer of territory")),
        ("On 22 December 2022 Pashinyan stated that the contingent failed.", (None, None)),  # ACLED codes no statements
    ],
)  # fmt: skip
def test_acled_types_follow_the_mapping_file(sentence, acled, contracts):
    event = first_event(sentence, contracts)
    assert (event["acled_event_type"], event["acled_sub_event_type"]) == acled


def test_the_acled_mapping_names_its_source_and_every_event_type(contracts):
    mapping = json.loads((contracts.schemas_dir / "acled_event_types.json").read_text(encoding="utf-8"))
    assert mapping["source"]["path"].startswith("https://acleddata.com/")
    assert [t["name"] for t in mapping["terms"]] == contracts.vocabularies["event_types"].names


@pytest.mark.parametrize(
    ("location", "precision"),
    [
        ("Farukh village", "place"),
        ("Sotk, Armenia", "place"),
        ("near the village of Dzhanatag", "near_place"),
        ("2 km northwest of Yeghtsaog", "near_place"),
        ("Madagiz-Getavan-Vank road", "near_place"),
        ("territory of the former Askeran province 1.8 km east of Khramort village", "near_place"),
        ("Yarymdzha village of the former Mardakert province", "place"),
        ("territory of the former Hadrut province", "district"),
        ("area of responsibility of Russian peacekeepers", "region"),
        ("Nagorno-Karabakh", "region"),
        ("Parukh village, and the nearby village Khramort", "place"),  # one place is named without a qualifier
        ("somewhere else entirely", None),
    ],
)
def test_location_precision_rules(location, precision, contracts):
    assert location_precision(location, contracts.gazetteer, contracts.vocabularies["location_precisions"]) == precision


@pytest.mark.parametrize(
    ("location", "unresolved"),
    [
        ("near the villages of Muganly and Xyzkend", ["Xyzkend"]),
        ("Qarabulaq village of the former Mardakert province", ["Qarabulaq"]),
        ("in the area of Saribaba and Zorbaba heights", ["Zorbaba"]),
        ("near the settlement Hatsi", []),
        ("Farukh village", []),
        ("territory of the former Askeran province", []),
    ],
)
def test_named_places_the_gazetteer_lacks_are_found(location, unresolved, contracts):
    assert find_unresolved_places(location, contracts.gazetteer) == unresolved


def test_an_unknown_village_beside_a_known_one_warns_through_the_cli(tmp_path):
    """The real path: `ceasefire validate` on a raw folder whose row names Muganly and an unknown village."""
    article = seed_article().replace("near the villages of Muganly and Janyatag", "near the villages of Muganly and Xyzkend")
    raw = write_raw_dir(tmp_path / "raw", article, seed_cited())
    reports = tmp_path / "reports"
    cli = Path(sys.executable).parent / "ceasefire"
    result = subprocess.run([str(cli), "validate", "--raw", str(raw), "--reports", str(reports)],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))
    [finding] = [f for f in report["findings"] if f["rule"] == "place-unresolved"]
    assert (finding["severity"], finding["source_file"], finding["source_line"], finding["column"]) == (
        "warning", ARTICLE, 89, "location")
    assert "'Xyzkend'" in finding["message"]


def test_continuation_sentences_link_the_incident_to_its_table_row(contracts):
    article = (
        "== Violations ==\nBetween 24–25 March 2022, the armed forces of Azerbaijan entered the territory of Nagorno-Karabakh. "
        "According to the Russian defence ministry, four strikes were inflicted near the settlement of Parukh. "
        "On 27 March 2022, the Russian Ministry of Defence reported a withdrawal.\n" + TABLE
    )
    frame = build(article, contracts).extractions["events"].frame
    first = frame.iloc[0]
    assert (first["incident_sentences"], first["incident_places"], first["violation_id"]) == (
        2, ["Azerbaijan", "Nagorno-Karabakh", "Parukh"], "2022-03-24-25-farukh-village")
    assert first["places"] == ["Azerbaijan", "Nagorno-Karabakh"]  # the clause's own places are unchanged
    assert frame.iloc[1]["incident_sentences"] == 1


def test_an_incident_without_a_place_links_by_date_only_to_a_single_row(contracts):
    article = "== Violations ==\nOn 11 December 2020, an Azerbaijani soldier was injured in an attack.\n" + TABLE
    assert build(article, contracts).extractions["events"].frame["violation_id"].tolist() == [
        "2020-12-11-territory-of-the-former-hadrut-province"]
    statement = "== Violations ==\nOn 11 December 2020, the minister stated that talks went well.\n" + TABLE
    assert build(statement, contracts).extractions["events"].frame["violation_id"].isna().all()  # not violation-like


def test_reconciliation_lists_prose_incidents_the_table_lacks(contracts):
    article = (
        "== Violations ==\nOn 20 December 2020, an Azerbaijani soldier was killed near Shusha. "
        "On 20 December 2021, a soldier was killed near Shusha.\n" + TABLE
    )
    findings = [f for f in build(article, contracts).findings if f.rule == "prose-incident-without-table-row"]
    # Both lie within the table's dates (11 December 2020 to 25 March 2022) and name no row's place.
    assert [(f.source_line, f.value, f.severity) for f in findings] == [
        (2, "On 20 December 2020", "warning"), (2, "On 20 December 2021", "warning")]
    outside = "== Violations ==\nOn 20 December 2023, a soldier was killed near Shusha.\n" + TABLE
    assert not [f for f in build(outside, contracts).findings if f.rule == "prose-incident-without-table-row"]


def test_counted_days_resolve_from_the_event_they_name_or_warn(contracts):
    resolved = extract_events(corpus_of(
        "== A ==\nBetween 19 and 20 September 2023, Azerbaijan launched an offensive. "
        "Talks began on the second day of the offensive."), contracts)  # fmt: skip
    assert [(str(d), t) for d, t in zip(resolved.frame["date_start"], resolved.frame["date_text"])] == [
        ("2023-09-19", "Between 19 and 20 September 2023"), ("2023-09-20", "on the second day of the offensive")]
    unnamed = extract_events(corpus_of(
        "== A ==\nBetween 19 and 20 September 2023, Azerbaijan launched an offensive. "
        "A ceasefire was negotiated on the second day after the surrender of the forces."), contracts)  # fmt: skip
    assert len(unnamed.frame) == 1
    [warning] = unnamed.findings
    assert (warning.rule, warning.severity, warning.value) == ("date-unresolved", "warning", "on the second day after the surrender")
