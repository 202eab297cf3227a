"""Finding date phrases in prose and resolving them to date ranges.

Forms (month names capitalised, so the verb "may" or "march" is never a month):

- full dates: ``10 November 2020``, ``December 28, 2020``;
- day and month, year resolved later: ``On 11 November``, ``on November 8``;
- ranges: ``24–25 March 2022``, ``Between 19 and 20 September 2023``, ``March 24–25, 2022``,
  ``30 November – 2 December 2020``;
- months: ``In September 2023``, ``In December``, ``In early January 2021``, ``In late April``
  (early = days 1–10, mid = 11–20, late = 21 to the end of the month);
- a year, only as a sentence opener: ``In 2021,``;
- open-ended: ``By 22 November 2020``, ``Since 12 December 2022``: dated by their anchor day;
- relative days: ``the next day``, ``the following day`` (+1), ``the same day`` (+0).

A date that only names a document (``the agreement of 9 November 2020``, ``the November 9
agreement``, ``the agreements signed in November 2020``) is a *reference*: it dates the agreement,
not the statement, so it is neither an event nor a context for other dates.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {name: number for number, name in enumerate(calendar.month_name) if name}
_MONTH = "(?:" + "|".join(MONTHS) + ")"
_DASH = r"\s*[-–—]\s*"
_DAY = r"(?<![\d,.])\d{1,2}(?!\d)"
_YEAR = r"\d{4}(?![\d:])"
_PART = r"(?:early|mid|late)"
_PREP = r"(?:(?P<prep>[Oo]n|[Ii]n|[Bb]y|[Ss]ince|[Bb]etween|[Aa]round|[Ff]rom|[Uu]ntil)\s+)?"

_FORMS = [
    ("cross_month_range", rf"(?P<d1>{_DAY})\s+(?P<m1>{_MONTH}){_DASH}(?P<d2>{_DAY})\s+(?P<m2>{_MONTH})(?:,?\s+(?P<y>{_YEAR}))?"),
    ("day_range", rf"(?P<d1>{_DAY})(?:{_DASH}|\s+and\s+)(?P<d2>{_DAY})\s+(?P<m>{_MONTH})(?:,?\s+(?P<y>{_YEAR}))?"),
    ("month_day_range", rf"(?P<m>{_MONTH})\s+(?P<d1>{_DAY}){_DASH}(?P<d2>{_DAY})(?:,\s*(?P<y>{_YEAR}))?"),
    ("day_month", rf"(?P<d>{_DAY})\s+(?P<m>{_MONTH})(?:,?\s+(?P<y>{_YEAR}))?"),
    ("month_day", rf"(?P<m>{_MONTH})\s+(?P<d>{_DAY})(?:st|nd|rd|th)?(?:,\s*(?P<y>{_YEAR}))?"),
    ("month_year", rf"(?:(?P<part>{_PART})[- ]\s*)?(?P<m>{_MONTH})\s+(?P<y>{_YEAR})"),
    ("month", rf"(?:(?P<part>{_PART})[- ]\s*)?(?P<m>{_MONTH})\b(?!\s+\d)"),
    ("relative", r"\b(?:[Tt]he|[Oo]n the)\s+(?P<rel>next|following|same)\s+day\b"),
    ("year", rf"^In\s+(?P<y>{_YEAR})(?=,)"),
]
_PATTERN = re.compile(
    "|".join(
        f"(?P<{name}>{_PREP if name not in ('relative', 'year') else ''}{body})"
        .replace("?P<prep>", f"?P<prep_{index}>")
        .replace("?P<d1>", f"?P<d1_{index}>").replace("?P<d2>", f"?P<d2_{index}>")
        .replace("?P<m1>", f"?P<m1_{index}>").replace("?P<m2>", f"?P<m2_{index}>")
        .replace("?P<m>", f"?P<m_{index}>").replace("?P<d>", f"?P<d_{index}>")
        .replace("?P<y>", f"?P<y_{index}>").replace("?P<part>", f"?P<part_{index}>")
        .replace("?P<rel>", f"?P<rel_{index}>")
        for index, (name, body) in enumerate(_FORMS)
    )
)  # fmt: skip
# A bare month needs a preposition ("In December"); otherwise "December" in a name is no date.
_MONTH_NEEDS_PREP = {"month"}
_REFERENCE_BEFORE = re.compile(r"agreements?(?:\s+signed)?(?:\s+(?:of|on|in))?\s*$", re.IGNORECASE)
_REFERENCE_AFTER = re.compile(r"^\s*(?:ceasefire\s+|trilateral\s+)?agreements?\b", re.IGNORECASE)
_PART_DAYS = {"early": (1, 10), "mid": (11, 20), "late": (21, 31)}
_OFFSETS = {"next": 1, "following": 1, "same": 0}


@dataclass(frozen=True)
class DatePhrase:
    """A date phrase as found in a sentence; the year may still be missing."""

    text: str
    start: int  # 0-based offsets in the sentence
    end: int
    form: str
    precision: str  # day | month | year
    year: int | None
    month_start: int | None = None
    day_start: int | None = None
    month_end: int | None = None
    day_end: int | None = None
    part: str | None = None  # early | mid | late
    offset: int | None = None  # relative days
    reference: bool = False

    @property
    def is_relative(self) -> bool:
        return self.form == "relative"


class DateRangeError(ValueError):
    """A date phrase whose day does not exist or whose range runs backwards."""


def find_date_phrases(sentence: str) -> list[DatePhrase]:
    """Every date phrase in ``sentence``, in order, with references marked.

    Example:
        >>> [(p.text, p.precision, p.year) for p in find_date_phrases("On 11 November, X; by June 2021, Y.")]
        [('On 11 November', 'day', None), ('by June 2021', 'month', 2021)]
    """
    phrases = []
    for match in _PATTERN.finditer(sentence):
        form = match.lastgroup
        index = next(i for i, (name, _) in enumerate(_FORMS) if name == form)
        groups = {key.rsplit("_", 1)[0]: value for key, value in match.groupdict().items() if key.endswith(f"_{index}") and value}
        if form in _MONTH_NEEDS_PREP and not groups.get("prep"):
            continue
        phrases.append(_phrase(sentence, match, form, groups))
    return phrases


def _phrase(sentence: str, match: re.Match, form: str, groups: dict[str, str]) -> DatePhrase:
    year = int(groups["y"]) if "y" in groups else None
    text = match.group(0)
    reference = bool(_REFERENCE_BEFORE.search(sentence[: match.start()]) or _REFERENCE_AFTER.match(sentence[match.end() :]))
    common = {"text": text, "start": match.start(), "end": match.end(), "form": form, "year": year, "reference": reference}
    if form == "relative":
        return DatePhrase(precision="day", offset=_OFFSETS[groups["rel"]], **common)
    if form == "year":
        return DatePhrase(precision="year", **common)
    if form in ("month_year", "month"):
        month = MONTHS[groups["m"]]
        return DatePhrase(precision="month", month_start=month, month_end=month, part=groups.get("part"), **common)
    if form == "cross_month_range":
        months = MONTHS[groups["m1"]], MONTHS[groups["m2"]]
        days = int(groups["d1"]), int(groups["d2"])
    elif form in ("day_range", "month_day_range"):
        months = (MONTHS[groups["m"]],) * 2
        days = int(groups["d1"]), int(groups["d2"])
    else:
        months = (MONTHS[groups["m"]],) * 2
        days = (int(groups["d"]),) * 2
    return DatePhrase(precision="day", month_start=months[0], day_start=days[0], month_end=months[1], day_end=days[1], **common)


def resolve_range(phrase: DatePhrase, year: int) -> tuple[dt.date, dt.date]:
    """The first and last day ``phrase`` covers in ``year`` (not for relative phrases).

    Example:
        >>> resolve_range(find_date_phrases("In late April")[0], 2021)
        (datetime.date(2021, 4, 21), datetime.date(2021, 4, 30))
    """
    if phrase.precision == "year":
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    if phrase.precision == "month":
        last = calendar.monthrange(year, phrase.month_start)[1]
        first_day, last_day = _PART_DAYS.get(phrase.part or "", (1, last))
        return dt.date(year, phrase.month_start, first_day), dt.date(year, phrase.month_start, min(last_day, last))
    try:
        start = dt.date(year, phrase.month_start, phrase.day_start)
        end = dt.date(year, phrase.month_end, phrase.day_end)
    except ValueError as error:
        raise DateRangeError(f"{phrase.text!r} is not a calendar date in {year}: {error}") from None
    if end < start:
        raise DateRangeError(f"{phrase.text!r} ends before it starts")
    return start, end


def nearest_year(phrase: DatePhrase, anchor: dt.date) -> int:
    """The year that puts ``phrase`` nearest to ``anchor``: the anchor's year or one either side.

    A narrative moves on from its last explicit date, so "On 11 December" after "30 January 2021"
    in a summary is 11 December 2020, and "on 8 May" after "2 January 2021" is 8 May 2021.

    Example:
        >>> nearest_year(find_date_phrases("on 11 December")[0], dt.date(2021, 1, 30))
        2020
    """
    best: tuple[int, int] | None = None
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            start, _ = resolve_range(phrase, year)
        except DateRangeError:
            continue  # 29 February in a year without one
        distance = abs((start - anchor).days)
        if best is None or distance < best[0]:
            best = (distance, year)
    return best[1] if best else anchor.year
