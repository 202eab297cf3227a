"""How precisely a location text is known, and the place names in it that the gazetteer lacks.

Both read the same location text as :meth:`Gazetteer.resolve` (a table cell, or an event's clause
and its continuation sentences). The rules and their vocabulary are data in
``schemas/location_precisions.json``; docs/EVENTS.md explains them with examples.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ceasefire.contracts.vocabularies import Gazetteer, Vocabulary

# A place kind not listed in location_precisions.json counts as a place itself.
_DEFAULT_LEVEL = "place"
_PART_SEPARATOR = re.compile(r",|;|\band also\b")
# Words that name a settlement or height explicitly, so the word next to them is a place name.
_PLACE_NOUN = r"(?:villages?|settlements?|communit(?:y|ies)|heights?)"
_NAME = r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)?"
_NAMED_PLACES = [
    # "village of X", "the settlement X", "villages of X and Y"
    re.compile(rf"\b{_PLACE_NOUN}\s+(?:of\s+)?(?P<name>{_NAME})(?:\s+and\s+(?P<second>{_NAME}))?"),
    # "X village", "X and Y heights"
    re.compile(rf"(?:(?P<second>{_NAME})\s+and\s+)?\b(?P<name>{_NAME})\s+{_PLACE_NOUN}\b"),
]
# Capitalised words that follow a place noun but are not place names.
_NOT_NAMES = {"Nagorno-Karabakh", "The", "Of", "Republic", "Artsakh", "Azerbaijan", "Armenia"}


def location_precision(text: str | None, gazetteer: Gazetteer, precisions: Vocabulary) -> str | None:
    """The precision level of a location text, or None when it names no gazetteer place.

    The finest place sets the level by its kind. At the place level, the text is ``near_place`` when
    every place it names has a near-qualifier in its comma-separated part, else ``place``.

    Example:
        >>> from ceasefire.contracts.vocabularies import load_contracts
        >>> c = load_contracts()
        >>> location_precision("2 km northwest of Yeghtsaog", c.gazetteer, c.vocabularies["location_precisions"])
        'near_place'
    """
    if not text:
        return None
    mentions = gazetteer.mentions(text)
    if not mentions:
        return None
    levels = [term["name"] for term in precisions.terms]
    level_of_kind = _level_of_kind(precisions)
    finest = min(levels.index(level_of_kind.get(gazetteer.kind(name) or "", _DEFAULT_LEVEL)) for *_, name in mentions)
    level = levels[finest]
    if level != "place":
        return level
    near = _near_pattern(tuple(precisions.extra.get("near_qualifiers", ())))
    places = [(start, end) for start, end, name in mentions if level_of_kind.get(gazetteer.kind(name) or "", _DEFAULT_LEVEL) == "place"]
    if all(near.search(_part_around(text, start, end)) for start, end in places):
        return "near_place"
    return "place"


def _level_of_kind(precisions: Vocabulary) -> dict[str, str]:
    return {kind: level for level, kinds in precisions.extra.get("kinds", {}).items() for kind in kinds}


@lru_cache(maxsize=8)
def _near_pattern(qualifiers: tuple[str, ...]) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(qualifiers or ("near",)) + r")\b", re.IGNORECASE)


def _part_around(text: str, start: int, end: int) -> str:
    """The comma-separated part of ``text`` that holds the mention ``text[start:end]``."""
    before = [m.end() for m in _PART_SEPARATOR.finditer(text, 0, start)]
    after = _PART_SEPARATOR.search(text, end)
    return text[(before[-1] if before else 0) : (after.start() if after else len(text))]


def find_unresolved_places(text: str | None, gazetteer: Gazetteer) -> list[str]:
    """Names the text calls a village, settlement, community or height that the gazetteer lacks.

    A cell can resolve one place and silently drop another ("near the villages of Muganly and
    Xyz"); this finds the dropped one so it can be reported.

    Example:
        >>> from ceasefire.contracts.vocabularies import load_contracts
        >>> find_unresolved_places("near the villages of Muganly and Xyzkend", load_contracts().gazetteer)
        ['Xyzkend']
    """
    if not text:
        return []
    known = {name for *_, name in gazetteer.mentions(text)}
    unresolved: list[str] = []
    for pattern in _NAMED_PLACES:
        for match in pattern.finditer(text):
            for group in ("name", "second"):
                name = match.group(group)
                if not name or name in _NOT_NAMES or name.split()[0] in _NOT_NAMES:
                    continue
                resolved = gazetteer.resolve(name)
                if resolved and set(resolved) & known:
                    continue
                if not resolved and name not in unresolved:
                    unresolved.append(name)
    return unresolved
