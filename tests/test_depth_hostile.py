"""Hostile text: the attribution, role, precision, place and cross-clause casualty rules never crash,
never name an actor or place the text lacks, and never invent a number."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.extract.casualties import NUMBER_WORDS, parse_casualties
from ceasefire.extract.events import find_actor_mentions, find_event_type, find_actors
from ceasefire.extract.attribution import acled_types, attribute, find_roles, VIOLENT_TYPES
from ceasefire.extract.locations import find_unresolved_places, location_precision

CONTRACTS = load_contracts()
ACTORS = CONTRACTS.vocabularies["actors"]
FRAGMENTS = [
    "according to the", "confirmed by the", " stated that ", " said ", " reported ", "Russian defence ministry",
    "Artsakh authorities", "Azerbaijani media", "Azerbaijani forces", "Armenia", "Azerbaijan", "TASS", " attacked ",
    " killed by the ", " was killed", " were killed", ", ", " and ", "shelling from the ", " the positions of the ",
    "Artsakh Defence Army", "'s control", " towards the ", "village of ", " village", " heights", "near ", "2 km north of ",
    "Hadrut", "Farukh", "Shusha", "Nagorno-Karabakh", "Qwerty", "Seyran Sargsyan", "a resident", "an ", "one", "two",
    "grenade", "drone", "road", ".", ";", "’", "'", "-", "\n", "Ω", "0", "99",
]
text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=10)), max_size=30).map("".join)
_NUMBERS = re.compile(r"\d|\b(?:" + "|".join(w for w in NUMBER_WORDS if w not in ("a", "an", "he", "she", "another")) + r")\b",
                      re.IGNORECASE)


@settings(max_examples=200, deadline=None)
@given(clause=text, before=text)
def test_attribution_and_roles_name_only_what_the_text_names(clause, before):
    event_type, cue = find_event_type(clause, CONTRACTS.vocabularies["event_types"])
    attribution = attribute(clause, before, lambda t: find_actor_mentions(t, ACTORS), CONTRACTS.vocabularies["reporters"], cue)
    assert attribution.claim_status in CONTRACTS.vocabularies["claim_statuses"].names
    if attribution.reported_by is None:
        assert attribution.claim_status == "article"
    else:
        assert attribution.reported_by in CONTRACTS.vocabularies["reporters"].names
    for forced_type in (event_type, *VIOLENT_TYPES):
        perpetrator, target = find_roles(clause, forced_type, find_actor_mentions(clause, ACTORS))
        named = set(find_actors(clause, ACTORS))
        assert perpetrator is None or perpetrator in named
        assert target is None or (target in named and target != perpetrator)
    acled = acled_types(event_type, clause, CONTRACTS.vocabularies["acled_event_types"])
    assert (acled[0] is None) == (acled[1] is None)


@settings(max_examples=200, deadline=None)
@given(location=text)
def test_precision_and_unresolved_places_come_from_the_text(location):
    precision = location_precision(location, CONTRACTS.gazetteer, CONTRACTS.vocabularies["location_precisions"])
    assert (precision is None) == (not CONTRACTS.gazetteer.resolve(location))
    assert precision is None or precision in CONTRACTS.vocabularies["location_precisions"].names
    for name in find_unresolved_places(location, CONTRACTS.gazetteer):
        assert name in location and not CONTRACTS.gazetteer.resolve(name)


@settings(max_examples=300, deadline=None)
@given(consequences=text)
def test_casualties_without_numbers_in_the_text_are_at_most_one_per_mention(consequences):
    casualties = parse_casualties(consequences)
    for count in (casualties.killed, casualties.wounded):
        assert count is None or count >= 0
    if not _NUMBERS.search(consequences):
        # Without a digit or a number word, a count can only come from a singular ("a", "was killed"):
        # one per casualty word at most.
        words = len(re.findall(r"kill|dead|died|death|wound|injur", consequences, re.IGNORECASE))
        assert (casualties.killed or 0) + (casualties.wounded or 0) <= words
