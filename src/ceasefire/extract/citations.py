"""Citation markers of the cited-sentences file, attached to the article sentences they belong to.

Each line of the cited-sentences file is one sentence of the article with its Wikipedia markers
(``[18]``, ``[32][33]``). The file was split after the final punctuation, so:

- markers at the start of a line (after a stray closing quote, with or without a space) belong to
  the article sentence *before* the one the line matches;
- markers inside the line belong to the sentence the line matches.

A line is matched to the article sentence with the same words once markers, quotes, case and
spacing are set aside; failing that, to the most similar sentence if the two agree on at least
85% of their characters (difflib), because the two files split a few sentences differently.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ceasefire.findings import Finding
from ceasefire.extract.raw import RawDocument
from ceasefire.extract.sentences import Sentence

SIMILARITY_THRESHOLD = 0.85
_LEADING = re.compile(r"^\s*[\"”’]?\s*((?:\[\d+\]\s*)+)")
_MARKER = re.compile(r"\[(\d+)\]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True)
class CitedLine:
    """One line of the cited-sentences file, split into its markers and its clean text."""

    line: int
    text: str
    leading: tuple[str, ...]
    inline: tuple[str, ...]


def parse_cited_line(number: int, raw: str) -> CitedLine:
    """Split a cited line into leading markers, inline markers and the text without markers.

    Example:
        >>> parse_cited_line(17, '[85]Since 12 May, they[86] left.')
        CitedLine(line=17, text='Since 12 May, they left.', leading=('85',), inline=('86',))
    """
    leading_match = _LEADING.match(raw)
    leading = tuple(_MARKER.findall(leading_match.group(1))) if leading_match else ()
    body = raw[leading_match.end() :] if leading_match else raw
    inline = tuple(_MARKER.findall(body))
    return CitedLine(line=number, text=" ".join(_MARKER.sub("", body).split()), leading=leading, inline=inline)


def normalize_sentence(text: str) -> str:
    """Words only: no quotes, one space, lower case, so quote and split quirks do not matter.

    Example:
        >>> normalize_sentence('"Armenia  will regret”.')
        'armenia will regret.'
    """
    return " ".join(text.translate(_QUOTES).replace('"', "").split()).casefold()


def match_sentence(text: str, sentences: list[Sentence], normalized: list[str] | None = None) -> int | None:
    """Index of the article sentence that ``text`` is, or None when none is similar enough."""
    target = normalize_sentence(text)
    if not target:
        return None
    normalized = normalized if normalized is not None else [normalize_sentence(s.text) for s in sentences]
    for index, candidate in enumerate(normalized):
        if candidate == target:
            return index
    best_index, best_ratio = None, SIMILARITY_THRESHOLD
    for index, candidate in enumerate(normalized):
        matcher = difflib.SequenceMatcher(None, target, candidate, autojunk=False)
        if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
            continue
        ratio = matcher.ratio()
        if ratio > best_ratio:
            best_index, best_ratio = index, ratio
    return best_index


def attach_citations(cited: RawDocument | None, sentences: list[Sentence], resource: str = "events") -> tuple[dict[int, list[str]], list[Finding]]:
    """Citation numbers per article sentence index, and warnings for markers that find no home."""
    citations: dict[int, list[str]] = {}
    findings: list[Finding] = []
    if cited is None:
        return citations, findings
    normalized = [normalize_sentence(s.text) for s in sentences]
    for number, raw in enumerate(cited.lines, start=1):
        if not raw.strip():
            continue
        line = parse_cited_line(number, raw)
        if not line.text:
            # A line of markers only: they close the article sentence before the next line's.
            if line.leading:
                findings.append(_warning(cited, number, "citation-unmatched", "a line with markers but no sentence", raw))
            continue
        index = match_sentence(line.text, sentences, normalized)
        if index is None:
            if line.leading or line.inline:
                findings.append(
                    _warning(cited, number, "citation-unmatched",
                             "no article sentence matches this cited sentence; its markers are dropped", line.text)
                )  # fmt: skip
            continue
        if line.inline:
            _add(citations, index, line.inline)
        if line.leading:
            if index == 0:
                findings.append(
                    _warning(cited, number, "citation-unmatched",
                             "the markers at the start belong to the sentence before, but the article has none", raw)
                )  # fmt: skip
            else:
                _add(citations, index - 1, line.leading)
    return citations, findings


def _add(citations: dict[int, list[str]], index: int, markers: tuple[str, ...]) -> None:
    bucket = citations.setdefault(index, [])
    bucket.extend(marker for marker in markers if marker not in bucket)


def _warning(document: RawDocument, line: int, rule: str, message: str, value: str) -> Finding:
    return Finding(
        severity="warning", rule=rule, engine="extraction", resource="events", message=message,
        value=value[:120], source_file=document.name, source_line=line, source_column=1,
    )  # fmt: skip
