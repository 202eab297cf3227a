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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ceasefire.extract.casualties import parse_casualties
from ceasefire.extract.citations import attach_citations
from ceasefire.findings import Finding
from ceasefire.extract.prose_dates import DatePhrase, DateRangeError, find_date_phrases, nearest_year, resolve_range
from ceasefire.extract.raw import RawCorpus, RawDocument
from ceasefire.extract.sentences import Sentence, article_sentences
from ceasefire.extract.violations import Extraction, slugify
from ceasefire.contracts.vocabularies import Contracts, Gazetteer, Vocabulary

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
    rf"(?:confirmed by|according to|reported by) the {_RUSSIAN_SIDE}|the {_RUSSIAN_SIDE} (?:also )?(?:confirmed|reported|said|announced|stated)"
)
CONFIRMABLE_TYPES = ("ceasefire_violation", "armed_clash")


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
    for statement in statements:
        record = describe_statement(statement, article, contracts, citations.get(statement.sentence_index, []))
        record["violation_id"] = link_violation(record, index, contracts.gazetteer)
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
    return resolved, findings


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


def describe_statement(statement: _Statement, document: RawDocument, contracts: Contracts, citations: list[str]) -> dict:
    """The row of one statement (all fields but ``event_id`` and ``violation_id``)."""
    sentence = statement.sentence
    clause = sentence.text[statement.segment_start : statement.segment_end]
    masked = _mask_dates(clause)
    casualties = parse_casualties(masked)
    date = statement.date
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
        "event_type": classify_event(masked, contracts.vocabularies["event_types"]),
        "actors": find_actors(masked, contracts.vocabularies["actors"]),
        "places": contracts.gazetteer.resolve(clause),
        "killed": casualties.killed,
        "wounded": casualties.wounded,
        "citations": list(citations),
        "violation_id": None,
        "_id_text": clause.replace(statement.phrase.text, " ", 1),
    }


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
    for name, pattern in _compiled("types", event_types, _type_rules):
        if pattern.search(text):
            return name
    return FALLBACK_EVENT_TYPE


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
    locatives = "|".join(map(re.escape, actors.extra.get("locative_prepositions", ()))) or "in"
    place_before = re.compile(
        rf"\b(?:{locatives})\s+(?:the\s+)?(?:[A-Z][\w-]*(?:\s+[A-Z][\w-]*)*,\s*)?$", re.IGNORECASE
    )
    found: list[tuple[int, str]] = []
    for name, pattern in _compiled("actors", actors, _actor_patterns):
        for match in pattern.finditer(text):
            if " " not in match.group(0) and "-" not in match.group(0) and place_before.search(text[: match.start()]):
                continue
            found.append((match.start(), name))
            break
    return [name for _, name in sorted(found)]


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
        dated = frame["date_start"].notna() & frame["date_end"].notna()
        positions = np.flatnonzero(dated.to_numpy(dtype=bool))
        starts = pd.to_datetime(frame["date_start"].iloc[positions]).to_numpy(dtype="datetime64[D]").astype(np.int64)
        ends = pd.to_datetime(frame["date_end"].iloc[positions]).to_numpy(dtype="datetime64[D]").astype(np.int64)
        order = np.argsort(starts, kind="stable")
        self._starts, self._ends, self._positions = starts[order], ends[order], positions[order]
        self._ids = frame["violation_id"].to_numpy(dtype=object)
        self._places = frame["places"].to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self._positions)

    def overlapping(self, date_start: dt.date, date_end: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Frame positions and start days (ordinal since 1970) of rows whose range overlaps the query."""
        first, last = _epoch_day(date_start), _epoch_day(date_end)
        prefix = int(np.searchsorted(self._starts, last, side="right"))
        keep = self._ends[:prefix] >= first
        return self._positions[:prefix][keep], self._starts[:prefix][keep]

    def match(self, date_start: dt.date, date_end: dt.date, places: list[str], gazetteer: Gazetteer) -> list[str]:
        if not len(self) or not places:
            return []
        positions, starts = self.overlapping(date_start, date_end)
        shared: dict[tuple[str, ...], bool] = {}
        matches = []
        first = _epoch_day(date_start)
        for position, start in zip(positions.tolist(), starts.tolist()):
            other = tuple(self._places[position] or ())
            if other not in shared:
                shared[other] = share_place(places, list(other), gazetteer)
            if shared[other]:
                matches.append((abs(start - first), position, str(self._ids[position])))
        return [violation_id for *_, violation_id in sorted(matches)]


def _epoch_day(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days


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


def link_violation(record: dict, violations: pd.DataFrame | ViolationIndex | None, gazetteer: Gazetteer) -> str | None:
    matches = find_matching_violations(record["date_start"], record["date_end"], record["places"], violations, gazetteer)
    return matches[0] if matches else None


def relink_events(events: Extraction, violations: pd.DataFrame, gazetteer: Gazetteer) -> Extraction:
    """``events`` with ``violation_id`` recomputed against ``violations``.

    A reviewed correction can change a table row's dates or location, and with them its id; the
    links made at extraction would then dangle.
    """
    index = index_violations(violations)
    frame = events.frame.copy()
    links = [
        link_violation({"date_start": start, "date_end": end, "places": places}, index, gazetteer)
        for start, end, places in zip(frame["date_start"], frame["date_end"], frame["places"])
    ]
    frame["violation_id"] = pd.array(links, dtype=frame["violation_id"].dtype)
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


def _date_warning(document: RawDocument, statement: _Statement, rule: str, message: str) -> Finding:
    return Finding(
        severity="warning", rule=rule, engine="extraction", resource=RESOURCE, message=message,
        column="date_start", value=statement.phrase.text, source_file=document.name, source_line=statement.sentence.line,
        source_column=statement.sentence.column + statement.phrase.start,
    )  # fmt: skip

