"""Counting the killed and wounded that a piece of text reports.

Rules, in order (documented in the README):

1. The text is cut into clauses at sentence ends, semicolons, commas, dashes and ``and``.
2. A clause that negates casualties ("no casualties", "no one was injured", "was not injured",
   "without casualties") says 0 killed and 0 wounded.
3. A clause with a death word (killed, dead, died, death) or an injury word (wounded, injured,
   injuries, a wound) counts the first quantity in the clause before that word: digits, a number
   word (one … twenty, thirty, forty, fifty, hundred, "another") nearest before that word; else
   "a"/"an"/"he"/"she" (1); else a quantity right after the word ("injuring six", "the death of
   three").
4. Counts of several clauses are summed per kind.
5. A kind that the text never mentions stays None, so "two wounded" gives killed None.
6. Across clauses: a clause that starts with a singular passive ("was killed", "has been
   wounded") and counts nobody itself counts 1 when the clause before it names one person: a
   proper name ("Seyran Sargsyan", "55-year-old Aram Tepnants") or a singular "a"/"an" phrase ("a
   resident of Chartar village"). "were killed" with no number stays None: the grammar says
   one person only in the singular.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The largest count a cell or a sentence can report. A larger number is a typo or hostile input, and
# it would not fit the published integer columns (int64): extraction reports it (rule count-bound in
# schemas/rules.json) instead of publishing or crashing on it.
COUNT_LIMIT = 1_000_000

NUMBER_WORDS = {
    "a": 1, "an": 1, "he": 1, "she": 1, "another": 1, "one": 1, "single": 1,
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "hundred": 100,
}  # fmt: skip

_WEAK_WORDS = {"a", "an", "he", "she"}
_KILLED = r"killed|killing|dead|died|deaths?"
_WOUNDED = r"wounded|wounding|injured|injuring|injuries|injury|(?:received|sustained) (?:a )?wounds?"
_KIND = re.compile(rf"\b(?:(?P<killed>{_KILLED})|(?P<wounded>{_WOUNDED}))\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:no casualties|no victims|without casualties|no one (?:was|were) (?:injured|hurt|wounded|killed)"
    r"|nobody (?:was )?(?:injured|hurt|wounded|killed)|(?:was|were) not (?:injured|hurt|wounded|killed)"
    r"|no (?:injuries|deaths|dead|wounded))\b",
    re.IGNORECASE,
)
_CLAUSE_SPLIT = re.compile(r"[.;:,]\s+|\s+[-–—]\s+|\s+and\s+|[.;]$", re.IGNORECASE)
_NUMBER_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
# A digit count is not a distance, a height or a time ("2 km", "2054.0", "07:00").
_QUANTITY = re.compile(
    rf"\b(?:(?P<digits>\d+)(?![.,:]\d)(?!\s*(?:km|m|kilometres?|kilometers?|metres?|meters?|%|st|nd|rd|th|hours?|minutes?)\b)"
    rf"|(?P<word>{_NUMBER_WORD}))\b",
    re.IGNORECASE,
)
_AFTER = re.compile(rf"^\s*(?:of\s+)?(?:(?P<digits>\d+)|(?P<word>{_NUMBER_WORD}))\b", re.IGNORECASE)


@dataclass(frozen=True)
class Casualties:
    killed: int | None = None
    wounded: int | None = None

    @property
    def mentioned(self) -> bool:
        return self.killed is not None or self.wounded is not None


def _quantity_value(match: re.Match) -> int:
    if match.group("digits"):
        digits = match.group("digits")
        # Past the limit the exact value does not matter, and int() refuses over 4,300 digits.
        return int(digits) if len(digits) <= len(str(COUNT_LIMIT)) else COUNT_LIMIT + 1
    return NUMBER_WORDS[match.group("word").lower()]


def split_clauses(text: str) -> list[str]:
    return [clause for clause in _CLAUSE_SPLIT.split(text) if clause and clause.strip()]


def _count_clause(clause: str) -> tuple[str, int] | None:
    kind_match = _KIND.search(clause)
    if not kind_match:
        return None
    kind = "killed" if kind_match.group("killed") else "wounded"
    quantities = list(_QUANTITY.finditer(clause[: kind_match.start()]))
    strong = [match for match in quantities if (match.group("word") or "").lower() not in _WEAK_WORDS]
    if strong:
        return kind, _quantity_value(strong[-1])
    if quantities:
        return kind, _quantity_value(quantities[0])
    after = _AFTER.match(clause[kind_match.end() :])
    if after:
        return kind, _quantity_value(after)
    return None


_SINGULAR_PASSIVE = re.compile(
    rf"^\s*(?:was|has been|had been)\s+(?:\w+ly\s+)?(?:(?P<killed>killed|shot dead)|(?P<wounded>wounded|injured))\b", re.IGNORECASE
)
# One named person ("Seyran Sargsyan", "55-year-old Aram Tepnants", "local Armenian Norayr Mirzoyan")
# or a singular indefinite phrase ("a resident of Chartar village", "an Artsakh civilian").
_ONE_PERSON = re.compile(
    r"^\s*(?:(?:\d{1,3}-year-old\s+)?(?:[a-z]+\s+){0,2}[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){1,3}|an?\s+\w[\w\s'’-]*)\s*$"
)


def _count_singular_subject(clause: str, previous: str) -> tuple[str, int] | None:
    passive = _SINGULAR_PASSIVE.match(clause)
    if not passive or not _ONE_PERSON.match(previous):
        return None
    return ("killed" if passive.group("killed") else "wounded"), 1


def parse_casualties(text: str | None) -> Casualties:
    """Count the killed and wounded that ``text`` reports.

    Example:
        >>> parse_casualties("fired on - 1 worker killed and 3 injured")
        Casualties(killed=1, wounded=3)
        >>> parse_casualties("two UAV strikes on the positions")
        Casualties(killed=None, wounded=None)
    """
    if not text:
        return Casualties()
    totals: dict[str, int | None] = {"killed": None, "wounded": None}
    clauses = split_clauses(text)
    for position, clause in enumerate(clauses):
        if _NEGATION.search(clause):
            for kind in totals:
                totals[kind] = totals[kind] or 0
            continue
        counted = _count_clause(clause) or _count_singular_subject(clause, clauses[position - 1] if position else "")
        if counted:
            kind, number = counted
            totals[kind] = (totals[kind] or 0) + number
    return Casualties(killed=totals["killed"], wounded=totals["wounded"])
