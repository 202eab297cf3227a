"""Who said it and who did it: an event's reporter, claim status, perpetrator and target, and its
ACLED event type.

Every rule reads only the text: a role is filled when the clause says so, never guessed from the
actors' usual parts. docs/EVENTS.md documents each rule with the seed's sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ceasefire.contracts.vocabularies import Vocabulary

# Verbs that carry someone's statement. "confirmed" also names the source of a confirmation.
REPORTING_VERBS = (
    r"stated|states|said|says|reported|reports|announced|claimed|claims|confirmed|tweeted|noted|notified|refuted|"
    r"denied|accused|blamed|reiterated|acknowledged|called on|called for|demanded|criticised|criticized|condemned|"
    r"summoned|pointed to|expressed|released|shared|identified|denounced|threatened|warned"
)
# Between a source and its verb: a few words (a name, a title), no sentence break.
# Words that start a new clause or a passive end the gap: "servicemen were stationed, and threw …"
# names no thrower, and "a soldier was killed" is no perpetrator.
_GAP = (r"(?:[\s,]+(?!(?:and|or|but|was|were|is|are|been|being|where|while|who|whom|which|that|when)\b)[\w'’.-]+){0,4}?"
        r"[\s,]+(?:also\s+|later\s+|then\s+|only\s+)?")
VIOLENT_TYPES = ("ceasefire_violation", "offensive", "territorial_control", "armed_clash", "casualty")
_VIOLENT_VERBS = (
    r"attacked|attacking|attacks|fired|firing|shelled|shelling|seized|seizing|captured|capturing|launched|launching|"
    r"initiated|violated|violating|crossed|entered|killed|took control|taking control|advanced|threw|inflicted|"
    r"occupied|struck|shot|advance|advancing"
)
_TARGET_HEAD = r"(?:the\s+)?(?:(?:positions?|units?|posts?|troops|servicemen|soldiers)\s+of\s+(?:the\s+)?)?"


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    name: str


def find_mentions(text: str, patterns: list[tuple[str, re.Pattern]], skip=None) -> list[Mention]:
    """Every match of each named pattern, in reading order; ``skip(text, match)`` drops a match."""
    mentions = [
        Mention(match.start(), match.end(), name)
        for name, pattern in patterns
        for match in pattern.finditer(text)
        if skip is None or not skip(text, match)
    ]
    return sorted(mentions, key=lambda m: (m.start, -m.end))


def _alias_patterns(vocabulary: Vocabulary) -> list[tuple[str, re.Pattern]]:
    return _compile_aliases(tuple((term["name"], tuple(term.get("aliases", []))) for term in vocabulary.terms))


@lru_cache(maxsize=8)
def _compile_aliases(terms: tuple[tuple[str, tuple[str, ...]], ...]) -> list[tuple[str, re.Pattern]]:
    patterns = []
    for name, term_aliases in terms:
        aliases = sorted(term_aliases, key=len, reverse=True)
        if aliases:
            options = "|".join(re.escape(alias) for alias in aliases)
            patterns.append((name, re.compile(rf"(?<![\w-])(?:{options})(?![\w])", re.IGNORECASE)))
    return patterns


@dataclass(frozen=True)
class Attribution:
    reported_by: str | None
    claim_status: str  # article | claim | confirmed


def attribute(clause: str, before: str, mention_actors: Callable[[str], list[Mention]], reporters: Vocabulary,
              cue_start: int | None, confirmed_later: bool = False) -> Attribution:
    """The reporter of a statement and how the article presents it.

    The reporter is the source of an attribution in the clause: "according to X", "confirmed by X",
    or X followed by a reporting verb ("the Russian defence ministry said"), where the attribution
    starts before the words that gave the event its type (so "…, although the Russian officials
    stated …" after a signing does not make the signing Russia's claim). A clause without one
    inherits the last attribution of its sentence before it ("Azerbaijani media reported that …,
    and on 11 December, that …"). The Russian peacekeepers or defence ministry as reporter make the
    event ``confirmed``, and so does ``confirmed_later`` (a continuation sentence in which they
    confirm it); any other reporter gives ``claim``; none, ``article``.
    """
    found = _attribution_source(clause, _sources(clause, mention_actors, reporters), limit=cue_start)
    if found is None and before:
        found = _attribution_source(before, _sources(before, mention_actors, reporters), limit=None, last=True)
    if found is None:
        return Attribution(None, "confirmed" if confirmed_later else "article")
    source, text = found
    russian_mission = source == "Russia" and _RUSSIAN_MISSION.search(text)
    return Attribution(source, "confirmed" if russian_mission or confirmed_later else "claim")


# The Russian side that monitors the ceasefire: its peacekeepers and its defence ministry.
_RUSSIAN_MISSION = re.compile(r"peacekeep|defen[cs]e|military", re.IGNORECASE)


def _sources(text: str, mention_actors: Callable[[str], list[Mention]], reporters: Vocabulary) -> list[Mention]:
    """Reporter mentions: media by alias, actors by the actors' rules; a medium covers an actor inside it."""
    media = find_mentions(text, _alias_patterns(reporters))
    names = {term["name"] for term in reporters.terms if term.get("actor")}
    covered = [(m.start, m.end) for m in media]
    actors = [a for a in mention_actors(text) if a.name in names and not any(s <= a.start and a.end <= e for s, e in covered)]
    return sorted([*media, *actors], key=lambda m: m.start)


def _until_next(text: str, mentions: list[Mention], position: int, limit: int) -> str:
    """The text after a mention, up to ``limit`` characters and never past the next mention."""
    mention = mentions[position]
    stop = mention.end + limit
    for later in mentions[position + 1 :]:
        if later.start >= mention.end:
            stop = min(stop, later.start)
            break
    return text[mention.end : stop]


_ACCORDING = re.compile(r"\b(?:according to|confirmed by|reported by|claimed by)\s+(?:the\s+)?$", re.IGNORECASE)
_VERB_AFTER = re.compile(rf"^{_GAP}(?:has\s+|have\s+|had\s+)?(?:{REPORTING_VERBS})\b", re.IGNORECASE)


def _attribution_source(text: str, mentions: list[Mention], limit: int | None, last: bool = False) -> tuple[str, str] | None:
    """(reporter, the words that name it) of the first attribution (the last when ``last``)."""
    found = []
    for position, mention in enumerate(mentions):
        window = text[max(0, mention.start - 40) : mention.start]
        if _ACCORDING.search(window):  # "according to X" attributes the whole clause, wherever it stands
            found.append((mention.name, text[mention.start : mention.end]))
            if not last:
                break
            continue
        if limit is not None and mention.start > limit:
            continue
        if _VERB_AFTER.match(_until_next(text, mentions, position, 80)):
            found.append((mention.name, text[mention.start : mention.end]))
            if not last:
                break
    return found[-1] if found else None


_VIOLENT_NOUNS = r"capture|seizure|attacks?|assault|shelling|offensive|strikes?"
_PASSIVE_AGENT = re.compile(
    rf"\b(?:(?:{_VIOLENT_VERBS}|{_VIOLENT_NOUNS})\b[^,;.:]{{0,80}}?\bby|came under (?:the\s+)?control of)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
# "Azerbaijan's blitzkrieg", "came under Azerbaijan's control"
_POSSESSIVE_ACT = re.compile(rf"^['’]s\s+(?:\w+\s+)?(?:{_VIOLENT_NOUNS}|blitzkrieg|control|advance)\b", re.IGNORECASE)
# "an Azerbaijani soldier was killed", "three Azerbaijani servicemen were killed"
_VICTIM = re.compile(
    r"^(?:\s+\w+)?\s+(?:was|were|had been|have been|has been)\s+(?:\w+ly\s+)?(?:killed|wounded|injured|shot|attacked|captured)\b",
    re.IGNORECASE,
)
_SOURCE_OF_FIRE = re.compile(r"\b(?:shelling|fire|gunfire|attacks?|strikes?)\s+(?:from|by)\s+(?:the\s+)?$", re.IGNORECASE)
_ACTIVE_VERB = re.compile(rf"^{_GAP}(?:had\s+|have\s+|has\s+|then\s+)?(?:{_VIOLENT_VERBS})\b", re.IGNORECASE)
_TARGET_BEFORE = re.compile(rf"\b(?:{_VIOLENT_VERBS}|against|towards|toward|on|at)\s+{_TARGET_HEAD}$", re.IGNORECASE)


def find_roles(clause: str, event_type: str, actor_mentions: list[Mention]) -> tuple[str | None, str | None]:
    """(perpetrator, target) of a violent event, each only where the clause says so.

    Perpetrator (ACLED actor1): the agent of a passive ("killed by the Azerbaijani armed forces",
    "came under the control of the Russian peacekeeping contingent"), the source of fire ("shelling
    from the Azerbaijani side"), or an actor right before a violent verb ("the Azerbaijani forces
    seized", "the armed forces of Azerbaijan, violating …"), or its possessive ("Azerbaijan's
    blitzkrieg", "came under Azerbaijan's control"). Target (ACLED actor2): an actor right after a
    violent verb or against/towards/on/at, optionally as "the positions/units of" it, or the victims
    of a passive ("an Azerbaijani soldier was killed").
    """
    if event_type not in VIOLENT_TYPES:
        return None, None
    perpetrator = target = None
    for position, mention in enumerate(actor_mentions):
        before = clause[max(0, mention.start - 100) : mention.start]
        after = _until_next(clause, actor_mentions, position, 60)
        if perpetrator is None and (_PASSIVE_AGENT.search(before) or _SOURCE_OF_FIRE.search(before)
                                    or _POSSESSIVE_ACT.match(after)):
            perpetrator = mention.name
        elif target is None and (_TARGET_BEFORE.search(before) or _VICTIM.match(after)):
            target = mention.name
        elif perpetrator is None and _ACTIVE_VERB.match(after):
            perpetrator = mention.name
    if perpetrator == target:
        target = None
    return perpetrator, target


def acled_types(event_type: str, clause: str, mapping: Vocabulary) -> tuple[str | None, str | None]:
    """ACLED's (event type, sub-event type) for an event type, refined by the clause's cues.

    Example:
        >>> from ceasefire.contracts.vocabularies import load_contracts
        >>> acled_types("armed_clash", "four strikes by a Bayraktar drone", load_contracts().vocabularies["acled_event_types"])
        ('Explosions/Remote violence', 'Air/drone strike')
    """
    term = next((t for t in mapping.terms if t["name"] == event_type), None)
    if term is None or "acled_event_type" not in term:
        return None, None
    for rule in term.get("refine", []):
        if re.search(rf"\b(?:{rule['cue']})\b", clause, re.IGNORECASE):
            return rule["acled_event_type"], rule["acled_sub_event_type"]
    return term["acled_event_type"], term["acled_sub_event_type"]
