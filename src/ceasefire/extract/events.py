"""Extracting the ``events`` resource: one row per dated statement in the article's prose.

Three beats: find the sentences and their date phrases; resolve every date to a range (explicit,
heading, context or relative); describe each statement (type, actors, places, casualties,
citations) and link it to the violations table. docs/EVENTS.md documents every rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from ceasefire.extract.attribution import Mention, acled_types, attribute, find_mentions, find_roles
from ceasefire.extract.casualties import COUNT_LIMIT, parse_casualties
from ceasefire.extract.locations import location_precision
from ceasefire.extract.citations import attach_citations
from ceasefire.findings import Finding
from ceasefire.extract.prose_dates import DatePhrase, DateRangeError, find_date_phrases, nearest_year, resolve_range
from ceasefire.extract.raw import RawCorpus, RawDocument
from ceasefire.extract.sentences import Sentence, article_sentences
from ceasefire.extract.violations import Extraction, slugify
from ceasefire.contracts.schema import text_column
from ceasefire.contracts.vocabularies import Contracts, Gazetteer, Vocabulary
from ceasefire.memory import positions_dtype

RESOURCE = "events"
SECTION_SEPARATOR = " / "
FALLBACK_EVENT_TYPE = "other"
# Place kinds too coarse to say two reports describe the same incident.
_UNLINKABLE_KINDS = {"country"}
_YEAR_HEADING = re.compile(r"^\d{4}$")
# "Separators" between two dated statements of one sentence, strongest first.
_SEPARATORS = [re.compile(r";\s+"), re.compile(r",\s+and\s+"), re.compile(r",\s+"), re.compile(r"\s+and\s+")]
_RUSSIAN_SIDE = r"Russian (?:peacekeep\w*(?: forces| contingent| mission| command)?|Ministry of Defen[cs]e|[Dd]efen[cs]e [Mm]inistry|side|military)"
_RUSSIAN_CONFIRMATION = re.compile(
    rf"(?:confirmed by|according to|reported by) the {_RUSSIAN_SIDE}|[Tt]he {_RUSSIAN_SIDE} (?:also )?(?:confirmed|reported|said|announced|stated)"
)
# A continuation sentence confirms an incident only with the word itself: announcing an
# investigation is not confirming the incident.
_RUSSIAN_CONFIRMS = re.compile(rf"confirmed by the {_RUSSIAN_SIDE}|[Tt]he {_RUSSIAN_SIDE} (?:also )?confirmed")
CONFIRMABLE_TYPES = ("ceasefire_violation", "armed_clash")
# Types of incident that the mission's table would list: reconciliation looks for them in the table,
# and such an incident that names no linkable place may link to the table by its date alone.
VIOLATION_LIKE_TYPES = ("ceasefire_violation", "armed_clash", "casualty")


@dataclass(frozen=True)
class ResolvedDate:
    start: dt.date
    end: dt.date
    precision: str
    basis: str  # explicit | heading | context | relative


@dataclass(frozen=True)
class _Statement:
    """One dated statement before it becomes a row."""

    sentence: Sentence
    sentence_index: int
    phrase: DatePhrase
    segment_start: int
    segment_end: int
    date: ResolvedDate | None = None


@dataclass
class _Anchor:
    position: tuple[int, int]  # (sentence index, phrase start)
    section: tuple[str, ...]
    date: dt.date


@dataclass
class _Resolver:
    """Resolves years and relative days in reading order."""

    anchors: list[_Anchor] = field(default_factory=list)

    def context_anchor(self, position: tuple[int, int], section: tuple[str, ...]) -> dt.date | None:
        """The nearest explicit date: earlier in the section, later in it, earlier, later."""
        same = [a for a in self.anchors if a.section == section]
        for pool in (same, self.anchors):
            earlier = [a for a in pool if a.position < position]
            if earlier:
                return earlier[-1].date
            later = [a for a in pool if a.position > position]
            if later:
                return later[0].date
        return None


def extract_events(corpus: RawCorpus, contracts: Contracts, violations: pd.DataFrame | None = None) -> Extraction:
    """Every dated statement of the article as one typed record."""
    article = corpus.by_role("article")
    cited = next((d for d in corpus.documents if d.role == "cited_sentences"), None)
    sentences = article_sentences(article)
    citations, findings = attach_citations(cited, sentences, RESOURCE)
    statements, date_findings = resolve_statements(article, sentences, contracts)
    findings.extend(date_findings)
    records, cell_columns = [], []
    schema = contracts.schema(RESOURCE)
    index = index_violations(violations)
    continuations = find_continuations(sentences)
    for statement in statements:
        record = describe_statement(statement, article, contracts, citations.get(statement.sentence_index, []),
                                    continuations.get(statement.sentence_index, []))  # fmt: skip
        record["violation_id"] = link_violation(record, index, contracts.gazetteer)
        findings += _count_bound_findings(record, statement)
        records.append(record)
        date_column = statement.sentence.column + statement.phrase.start
        cell_columns.append(
            {name: statement.sentence.column for name in schema.field_names}
            | {"date_start": date_column, "date_end": date_column, "date_text": date_column, "date_precision": date_column,
               "date_basis": date_column}
        )  # fmt: skip
    assign_event_ids(records)
    return Extraction(resource=RESOURCE, frame=schema.frame_from_records(records), findings=findings, cell_columns=cell_columns,
                      section=("prose",))  # fmt: skip


def resolve_statements(document: RawDocument, sentences: list[Sentence], contracts: Contracts) -> tuple[list[_Statement], list[Finding]]:
    """Every dated statement with its resolved date; dates that cannot be used become warnings."""
    pending: list[_Statement] = []
    resolver = _Resolver()
    for index, sentence in enumerate(sentences):
        phrases = find_date_phrases(sentence.text)
        statements = [p for p in phrases if not p.reference]
        for phrase, (start, end) in zip(statements, _segments(sentence.text, statements)):
            pending.append(_Statement(sentence, index, phrase, start, end))
            if phrase.year is not None:
                try:
                    first, _ = resolve_range(phrase, phrase.year)
                except DateRangeError:
                    continue
                resolver.anchors.append(_Anchor((index, phrase.start), sentence.section, first))
    resolved: list[_Statement] = []
    findings: list[Finding] = []
    span = contracts.time_span
    for statement in pending:
        previous = resolved[-1] if resolved and resolved[-1].sentence.line == statement.sentence.line else None
        try:
            date = _resolve_date(statement, resolver, previous)
        except DateRangeError as error:
            findings.append(_date_warning(document, statement, "date-invalid", f"{error}; the statement is left out"))
            continue
        if date is None:
            findings.append(
                _date_warning(document, statement, "date-unresolved",
                              "no earlier date in the paragraph (relative) or in the article (year) to resolve it from; "
                              "the statement is left out")
            )  # fmt: skip
            continue
        if date.start < span.start or date.end > span.end:
            findings.append(
                _date_warning(document, statement, "outside-time-span",
                              f"{date.start}..{date.end} is outside {span.start}..{span.end} (schemas/time_span.json); "
                              "the statement is left out")
            )  # fmt: skip
            continue
        resolved.append(_Statement(**{**statement.__dict__, "date": date}))
    counted, counted_findings = resolve_counted_days(document, sentences, resolved)
    findings.extend(counted_findings)
    resolved = sorted([*resolved, *counted], key=lambda s: (s.sentence_index, s.phrase.start))
    return resolved, findings


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10}  # fmt: skip
_COUNTED_DAY = re.compile(
    r"\b[Oo]n the (?P<n>" + "|".join(_ORDINALS) + r"|\d{1,2}(?:st|nd|rd|th)) day (?P<rel>after|of) (?:the |a |an )?(?P<what>[A-Za-z-]+)"
)


def resolve_counted_days(document: RawDocument, sentences: list[Sentence],
                         resolved: list[_Statement]) -> tuple[list[_Statement], list[Finding]]:
    """Statements dated by counting days from an event the sentence names: "on the second day of
    the offensive" is the offensive's first day + 1; "on the second day after the surrender" is the
    surrender's last day + 2.

    The named event is the nearest earlier day-precise statement of the same paragraph whose clause
    has the noun (compared on its first five letters, so "surrender" finds "surrendered"). Without
    one, the phrase is a ``date-unresolved`` warning, not a guess.
    """
    statements, findings = [], []
    for index, sentence in enumerate(sentences):
        for match in _COUNTED_DAY.finditer(sentence.text):
            number = _ORDINALS.get(match["n"].lower()) or int(re.sub(r"\D", "", match["n"]))
            stem = match["what"].lower()[:5]
            named = [
                earlier for earlier in resolved
                if earlier.sentence.line == sentence.line and earlier.sentence_index <= index
                and earlier.date is not None and earlier.date.precision == "day"
                and stem in sentence_clause(earlier).lower()
            ]  # fmt: skip
            phrase = DatePhrase(text=match.group(0), start=match.start(), end=match.end(), form="counted", precision="day",
                                year=None, offset=number)  # fmt: skip
            if not named:
                findings.append(_date_warning(
                    document, _Statement(sentence, index, phrase, 0, len(sentence.text)), "date-unresolved",
                    f"counts days from '{match['what']}', which no dated statement before it in the paragraph names; "
                    "the statement is left out"))  # fmt: skip
                continue
            base = named[-1].date
            day = base.start + dt.timedelta(days=number - 1) if match["rel"] == "of" else base.end + dt.timedelta(days=number)
            statements.append(_Statement(sentence, index, phrase, 0, len(sentence.text), ResolvedDate(day, day, "day", "relative")))
    return statements, findings


def sentence_clause(statement: _Statement) -> str:
    return statement.sentence.text[statement.segment_start : statement.segment_end]


def _resolve_date(statement: _Statement, resolver: _Resolver, previous: _Statement | None) -> ResolvedDate | None:
    phrase = statement.phrase
    if phrase.is_relative:
        if previous is None or previous.date is None or previous.date.precision != "day":
            return None
        base = previous.date
        start = base.start if phrase.offset == 0 else base.end + dt.timedelta(days=phrase.offset)
        end = base.end if phrase.offset == 0 else start
        return ResolvedDate(start, end, "day", "relative")
    if phrase.year is not None:
        return ResolvedDate(*resolve_range(phrase, phrase.year), phrase.precision, "explicit")
    heading_years = [int(title) for title in statement.sentence.section if _YEAR_HEADING.match(title)]
    if heading_years:
        return ResolvedDate(*resolve_range(phrase, heading_years[-1]), phrase.precision, "heading")
    anchor = resolver.context_anchor((statement.sentence_index, phrase.start), statement.sentence.section)
    if anchor is None:
        return None
    return ResolvedDate(*resolve_range(phrase, nearest_year(phrase, anchor)), phrase.precision, "context")


def _segments(text: str, phrases: list[DatePhrase]) -> list[tuple[int, int]]:
    """The clause of each dated statement: a sentence with several is cut at the strongest
    separator between two dates (``;``, ``, and``, ``,``, `` and ``), the last one before the later date."""
    if len(phrases) <= 1:
        return [(0, len(text))] * len(phrases)
    cuts = []
    for before, after in zip(phrases, phrases[1:]):
        between = text[before.end : after.start]
        cut = after.start
        for separator in _SEPARATORS:
            matches = list(separator.finditer(between))
            if matches:
                cut = before.end + matches[-1].end()
                break
        cuts.append(cut)
    bounds = [0, *cuts, len(text)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(phrases))]


def find_continuations(sentences: list[Sentence]) -> dict[int, list[Sentence]]:
    """Sentence index -> the sentences that continue it: the ones after it in the same paragraph
    (raw line) up to the next sentence with a date phrase that is a statement.

    "Between 24–25 March 2022, … set up an observation post." is continued by "According to the
    Russian defence ministry, four strikes … near the settlement of Parukh …".
    """
    dated = [any(not p.reference for p in find_date_phrases(s.text)) or bool(_COUNTED_DAY.search(s.text)) for s in sentences]
    continuations: dict[int, list[Sentence]] = {}
    for index, sentence in enumerate(sentences):
        if not dated[index]:
            continue
        following = []
        for later in range(index + 1, len(sentences)):
            if sentences[later].line != sentence.line or dated[later]:
                break
            following.append(sentences[later])
        continuations[index] = following
    return continuations


def describe_statement(statement: _Statement, document: RawDocument, contracts: Contracts, citations: list[str],
                       continuation: Sequence[Sentence] = ()) -> dict:
    """The row of one statement (all fields but ``event_id`` and ``violation_id``).

    Only the last statement of a sentence is continued by the sentences after it.
    """
    sentence = statement.sentence
    clause = sentence.text[statement.segment_start : statement.segment_end]
    masked = _mask_dates(clause)
    casualties = parse_casualties(masked)
    date = statement.date
    vocabularies = contracts.vocabularies
    if statement.segment_end < len(sentence.text):
        continuation = []
    event_type, cue_start = find_event_type(masked, vocabularies["event_types"])
    actor_mentions = find_actor_mentions(masked, vocabularies["actors"])
    attribution = attribute(masked, _mask_dates(sentence.text[: statement.segment_start]),
                            lambda text: find_actor_mentions(text, vocabularies["actors"]),
                            vocabularies["reporters"], cue_start,
                            confirmed_later=any(_RUSSIAN_CONFIRMS.search(later.text) for later in continuation))  # fmt: skip
    perpetrator, target = find_roles(masked, event_type, actor_mentions)
    acled_event_type, acled_sub_event_type = acled_types(event_type, masked, vocabularies["acled_event_types"])
    incident = " ".join([clause, *(later.text for later in continuation)])
    places = contracts.gazetteer.resolve(clause)
    return {
        "event_id": None,
        "date_start": date.start,
        "date_end": date.end,
        "date_text": statement.phrase.text,
        "date_precision": date.precision,
        "date_basis": date.basis,
        "section": SECTION_SEPARATOR.join(sentence.section) or "(no heading)",
        "sentence": sentence.text,
        "source_file": document.name,
        "source_line": sentence.line,
        "event_type": event_type,
        "actors": find_actors(masked, contracts.vocabularies["actors"]),
        "places": places,
        "killed": casualties.killed,
        "wounded": casualties.wounded,
        "citations": list(citations),
        "violation_id": None,
        "reported_by": attribution.reported_by,
        "claim_status": attribution.claim_status,
        "perpetrator": perpetrator,
        "target": target,
        "acled_event_type": acled_event_type,
        "acled_sub_event_type": acled_sub_event_type,
        "incident_sentences": 1 + len(continuation),
        "incident_places": contracts.gazetteer.resolve(incident),
        "location_precision": location_precision(
            _mask_countries_as_actors(masked if _linkable(places, contracts.gazetteer) else _mask_dates(incident),
                                      contracts),
            contracts.gazetteer, vocabularies["location_precisions"]),
        "_id_text": clause.replace(statement.phrase.text, " ", 1),
    }


def _mask_countries_as_actors(text: str, contracts: Contracts) -> str:
    """The text with every country name that is (part of) an actor blanked: "Azerbaijan launched",
    "the Ministry of Defense of Azerbaijan" name no place; "sent … to Azerbaijan" still does."""
    actors = find_actor_mentions(text, contracts.vocabularies["actors"])
    gazetteer = contracts.gazetteer
    for start, end, name in reversed(gazetteer.mentions(text)):
        if gazetteer.kind(name) == "country" and any(a.start <= start and end <= a.end for a in actors):
            text = text[:start] + " " * (end - start) + text[end:]
    return text


def _mask_dates(text: str) -> str:
    """The text with its date phrases replaced, so day numbers are never counted as people."""
    for phrase in reversed(find_date_phrases(text)):
        text = text[: phrase.start] + "then" + text[phrase.end :]
    return text


# Compiled rules per vocabulary object (its terms are dicts, so it cannot be an lru_cache key).
_COMPILED: dict[tuple[str, int], tuple[Vocabulary, list[tuple[str, re.Pattern]]]] = {}


def _compiled(kind: str, vocabulary: Vocabulary, build) -> list[tuple[str, re.Pattern]]:
    key = (kind, id(vocabulary))
    if key not in _COMPILED or _COMPILED[key][0] is not vocabulary:
        _COMPILED[key] = (vocabulary, build(vocabulary))
    return _COMPILED[key][1]


def _type_rules(vocabulary: Vocabulary) -> list[tuple[str, re.Pattern]]:
    rules = []
    for term in vocabulary.terms:
        cues = term.get("cues", [])
        if cues:
            rules.append((term["name"], re.compile(r"\b(?:" + "|".join(cues) + r")\b", re.IGNORECASE)))
    return rules


def classify_event(text: str, event_types: Vocabulary) -> str:
    """The first event type (in vocabulary order) with a cue in ``text``, else ``other``.

    Example:
        >>> from ceasefire.contracts.vocabularies import load_contracts
        >>> classify_event("the RTJMC was opened", load_contracts().vocabularies["event_types"])
        'facility'
    """
    return find_event_type(text, event_types)[0]


def find_event_type(text: str, event_types: Vocabulary) -> tuple[str, int | None]:
    """:func:`classify_event` plus where its deciding cue starts (None for ``other``)."""
    for name, pattern in _compiled("types", event_types, _type_rules):
        match = pattern.search(text)
        if match:
            return name, match.start()
    return FALLBACK_EVENT_TYPE, None


def _actor_patterns(vocabulary: Vocabulary) -> list[tuple[str, re.Pattern]]:
    patterns = []
    for term in vocabulary.terms:
        options = [re.escape(alias) for alias in sorted(term.get("aliases", []), key=len, reverse=True)]
        if term.get("adjective") and term.get("institutions"):
            institutions = "|".join(re.escape(i) for i in sorted(term["institutions"], key=len, reverse=True))
            options.insert(0, rf"{re.escape(term['adjective'])}(?: and \w+)? (?:{institutions})")
        if options:
            patterns.append((term["name"], re.compile(r"(?<![\w-])(?:" + "|".join(options) + r")(?![\w])", re.IGNORECASE)))
    return patterns


def find_actors(text: str, actors: Vocabulary) -> list[str]:
    """Canonical actors that ``text`` names, in order of first mention.

    A bare one-word name after a locative preposition (``to Azerbaijan``, ``in Aghdam, Azerbaijan``) is a
    place, not an actor.

    Example:
        >>> from ceasefire.contracts.vocabularies import load_contracts
        >>> find_actors("Turkey sent 35 officers to Azerbaijan", load_contracts().vocabularies["actors"])
        ['Turkey']
    """
    found: dict[str, int] = {}
    for mention in find_actor_mentions(text, actors):
        found.setdefault(mention.name, mention.start)
    return sorted(found, key=lambda name: (found[name], name))


def find_actor_mentions(text: str, actors: Vocabulary) -> list[Mention]:
    """Every actor mention in ``text`` (start, end, canonical name), in reading order, places skipped
    as in :func:`find_actors`."""
    locatives = "|".join(map(re.escape, actors.extra.get("locative_prepositions", ()))) or "in"
    place_before = re.compile(
        rf"\b(?:{locatives})\s+(?:the\s+)?(?:[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*,\s*)?$", re.IGNORECASE
    )

    def is_place(source: str, match: re.Match) -> bool:
        return " " not in match.group(0) and "-" not in match.group(0) and bool(place_before.search(source[: match.start()]))

    return find_mentions(text, _compiled("actors", actors, _actor_patterns), skip=is_place)


def _ancestors(place: str, gazetteer: Gazetteer) -> set[str]:
    by_name = {p["name"]: p for p in gazetteer.places}
    seen: set[str] = set()
    queue = list(by_name.get(place, {}).get("within", []))
    while queue:
        parent = queue.pop()
        if parent not in seen:
            seen.add(parent)
            queue.extend(by_name.get(parent, {}).get("within", []))
    return seen


def share_place(places: list[str], other: list[str], gazetteer: Gazetteer) -> bool:
    """True when a place of one list is, or lies within, a place of the other (countries aside).

    Example:
        >>> from ceasefire.contracts.vocabularies import load_contracts
        >>> share_place(["Hin Tagher"], ["Hadrut Province"], load_contracts().gazetteer)
        True
    """
    kinds = {p["name"]: p.get("kind") for p in gazetteer.places}
    mine = [p for p in places if kinds.get(p) not in _UNLINKABLE_KINDS]
    theirs = [p for p in other if kinds.get(p) not in _UNLINKABLE_KINDS]
    for a in mine:
        for b in theirs:
            if a == b or b in _ancestors(a, gazetteer) or a in _ancestors(b, gazetteer):
                return True
    return False


class ViolationIndex:
    """The violations table indexed on dates, so matching an event costs a binary search, not a scan.

    Rows are sorted by ``date_start``; a query takes the rows that start on or before the event's
    last day (a prefix found by ``searchsorted``) and keeps those that end on or after its first day.
    Place checks run only on those candidates, once per distinct place list.
    """

    def __init__(self, violations: pd.DataFrame | None):
        if violations is None or violations.empty:
            violations = pd.DataFrame({name: pd.Series([], dtype=object) for name in ("violation_id", "date_start", "date_end", "places")})
        frame = violations
        dated = (frame["date_start"].notna() & frame["date_end"].notna()).to_numpy(dtype=bool)
        positions = None if dated.all() else np.flatnonzero(dated)  # None: every row, and its position is its own
        # Days since 1970 and row positions as 32-bit integers: the index lives as long as the
        # reconciliation, 12 bytes a row (24 with 64-bit ones: 240 MB at ten million rows). It is
        # built one column at a time, and the end days are put in order by Arrow, which takes 32-bit
        # positions as they are (numpy makes 64-bit ones first): at ten million rows its peak is
        # ~160 MB, not the ~280 MB of every array side by side.
        def days(name: str) -> np.ndarray:
            return epoch_days(frame[name] if positions is None else frame[name].iloc[positions])

        starts = days("date_start")
        order = np.argsort(starts, kind="stable")
        self._starts = starts[order]
        del starts
        order = order.astype(positions_dtype(len(order)))
        self._ends = pa.array(days("date_end")).take(pa.array(order)).to_numpy()
        self._positions = (order if positions is None else positions[order]).astype(positions_dtype(len(frame)), copy=False)
        self._ids = frame["violation_id"].array  # read only for the few rows an event matches
        self._places = frame["places"].to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self._positions)

    def span(self) -> tuple[dt.date, dt.date] | None:
        """The first start and the last end of the rows that have both dates; None if no row has."""
        if not len(self):
            return None
        epoch = dt.date(1970, 1, 1)
        return epoch + dt.timedelta(days=int(self._starts[0])), epoch + dt.timedelta(days=int(self._ends.max()))

    def overlapping_windows(self, date_start: dt.date, date_end: dt.date) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Frame positions and start days (ordinal since 1970) of rows whose range overlaps the query,
        a window of :data:`_MATCH_ROWS` index rows at a time: an event that spans months overlaps
        millions of rows of a large table (~80 MB of positions and days at ten million rows), and
        the callers look at a few of them at a time."""
        first, last = _epoch_day(date_start), _epoch_day(date_end)
        # The day as the index's own type: numpy would cast the whole index to a Python int's 64 bits first.
        prefix = int(np.searchsorted(self._starts, self._starts.dtype.type(last), side="right"))
        for begin in range(0, prefix, _MATCH_ROWS):
            end = min(prefix, begin + _MATCH_ROWS)
            keep = self._ends[begin:end] >= first
            if keep.any():
                yield self._positions[begin:end][keep], self._starts[begin:end][keep]

    def overlaps_one(self, date_start: dt.date, date_end: dt.date) -> np.ndarray | None:
        """The position of the one row whose range overlaps the query; None if none or several do."""
        found = None
        for positions, _ in self.overlapping_windows(date_start, date_end):
            if found is not None or len(positions) > 1:
                return None
            found = positions
        return found

    def ids(self, positions: np.ndarray) -> list[str]:
        return [str(self._ids[position]) for position in positions.tolist()]

    def match(self, date_start: dt.date, date_end: dt.date, places: list[str], gazetteer: Gazetteer) -> list[str]:
        if not len(self) or not places:
            return []
        shared: dict[tuple[str, ...], bool] = {}
        matches = []
        first = _epoch_day(date_start)
        for positions, starts in self.overlapping_windows(date_start, date_end):
            for position, start in zip(positions.tolist(), starts.tolist()):
                other = tuple(self._places[position] or ())
                if other not in shared:
                    shared[other] = share_place(places, list(other), gazetteer)
                if shared[other]:
                    matches.append((abs(start - first), position, str(self._ids[position])))
        return [violation_id for *_, violation_id in sorted(matches)]


_MATCH_ROWS = 65_536


def _epoch_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


def epoch_days(dates: pd.Series) -> np.ndarray:
    """:func:`_epoch_day` of each date of a column without missing values, as 32-bit integers.

    A column of ``datetime.date`` becomes Arrow's date32, which is that number (4 bytes a row, no
    64-bit copy on the way); any other column of dates is read by pandas.
    """
    try:
        return pa.array(dates.to_numpy(dtype=object), pa.date32()).view(pa.int32()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.to_datetime(dates).to_numpy(dtype="datetime64[D]").astype(np.int32)


def index_violations(violations: pd.DataFrame | None) -> ViolationIndex:
    """Build the date index of a violations frame once, for many event lookups."""
    return ViolationIndex(violations)


def find_matching_violations(date_start: dt.date, date_end: dt.date, places: list[str],
                             violations: pd.DataFrame | ViolationIndex | None, gazetteer: Gazetteer) -> list[str]:
    """Ids of table rows with an overlapping date range and a shared place, nearest start first.

    Pass a :class:`ViolationIndex` when matching many events against the same table.
    """
    if violations is None or not places:
        return []
    index = violations if isinstance(violations, ViolationIndex) else ViolationIndex(violations)
    return index.match(date_start, date_end, places, gazetteer)


def match_incident(record: dict, violations: pd.DataFrame | ViolationIndex | None, gazetteer: Gazetteer) -> list[str]:
    """Table rows that report the same incident as an event, nearest start first.

    A shared place (:func:`find_matching_violations` on ``incident_places``) links. An incident of a
    violation-like type that names no linkable place (none, or only countries and the region)
    links by date alone, but only when exactly one table row overlaps its dates.
    """
    if violations is None:
        return []
    index = violations if isinstance(violations, ViolationIndex) else ViolationIndex(violations)
    places = list(record.get("incident_places") or record.get("places") or [])
    matches = index.match(record["date_start"], record["date_end"], places, gazetteer)
    if matches or record.get("event_type") not in VIOLATION_LIKE_TYPES or _linkable(places, gazetteer):
        return matches
    only = index.overlaps_one(record["date_start"], record["date_end"])
    return [] if only is None else index.ids(only)


_REGION_KINDS = {"country", "region", "zone"}


def _linkable(places: list[str], gazetteer: Gazetteer) -> bool:
    return any(gazetteer.kind(place) not in _REGION_KINDS for place in places)


def link_violation(record: dict, violations: pd.DataFrame | ViolationIndex | None, gazetteer: Gazetteer) -> str | None:
    matches = match_incident(record, violations, gazetteer)
    return matches[0] if matches else None


def relink_events(events: Extraction, violations: pd.DataFrame, gazetteer: Gazetteer) -> Extraction:
    """``events`` with ``violation_id`` recomputed against ``violations``.

    A reviewed correction can change a table row's dates or location, and with them its id; the
    links made at extraction would then dangle.
    """
    index = index_violations(violations)
    frame = events.frame.copy()
    columns = ["date_start", "date_end", "places", "incident_places", "event_type"]
    links = [link_violation(dict(zip(columns, values)), index, gazetteer) for values in zip(*(frame[c] for c in columns))]
    frame["violation_id"] = text_column(links)  # the form of a text column (categorical if the links repeat)
    return dataclasses.replace(events, frame=frame)


def states_russian_confirmation(sentence: str) -> bool:
    """True when the sentence gives the Russian side as the source of what it reports.

    Example:
        >>> states_russian_confirmation("The breach was confirmed by the Russian peacekeeping forces.")
        True
    """
    return bool(_RUSSIAN_CONFIRMATION.search(sentence))


def assign_event_ids(records: list[dict]) -> None:
    """``{date_start}-{first words of the clause}``: stable under insertion and reordering.

    Two events with the same id (a sentence repeated in the lead and the body) get the slug of
    their section appended; a remaining clash gets ``-2``, ``-3`` in reading order.
    """
    for record in records:
        words = unicodedata.normalize("NFKD", record.pop("_id_text")).encode("ascii", "ignore").decode("ascii")
        record["event_id"] = f"{record['date_start'].isoformat()}-{slugify(words, 48)}"
    _disambiguate(records, lambda r: slugify(r["section"].split(SECTION_SEPARATOR)[-1], 24))
    _disambiguate(records, None)


def _disambiguate(records: list[dict], suffix) -> None:
    groups: dict[str, list[dict]] = {}
    for record in records:
        groups.setdefault(record["event_id"], []).append(record)
    for group in groups.values():
        if len(group) < 2:
            continue
        for number, record in enumerate(group, start=1):
            record["event_id"] += f"-{suffix(record)}" if suffix else ("" if number == 1 else f"-{number}")


def _count_bound_findings(record: dict, statement: _Statement) -> list[Finding]:
    """An error for a casualty count beyond :data:`COUNT_LIMIT`, whose value is left empty."""
    findings = []
    for kind in ("killed", "wounded"):
        if record[kind] is not None and record[kind] > COUNT_LIMIT:
            record[kind] = None
            findings.append(Finding(
                severity="error", rule="count-bound", engine="extraction", resource=RESOURCE,
                message=f"{kind} count is beyond {COUNT_LIMIT:,}: a typo, not a report", column=kind,
                value=statement.sentence.text[:200], expected=f"at most {COUNT_LIMIT:,}",
                source_file=record["source_file"], source_line=record["source_line"], source_column=statement.sentence.column,
            ))  # fmt: skip
    return findings


def _date_warning(document: RawDocument, statement: _Statement, rule: str, message: str) -> Finding:
    return Finding(
        severity="warning", rule=rule, engine="extraction", resource=RESOURCE, message=message,
        column="date_start", value=statement.phrase.text, source_file=document.name, source_line=statement.sentence.line,
        source_column=statement.sentence.column + statement.phrase.start,
    )  # fmt: skip

