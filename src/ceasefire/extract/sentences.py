"""Sentences of the article's prose, each with its raw line, column, paragraph and heading path.

A paragraph is one raw line. A sentence ends at ``.``, ``!`` or ``?`` (and any closing quote) when
the next sentence starts after a space with a capital, a digit, a quote or a bracket, or straight
after the full stop with a capital (``Artsakh.Since 12 December``: a missing space in the raw text).
A lower-case word after the stop (``On June 21, 2023. the Spokeswoman``) continues the sentence, and
initials such as ``U.S.`` never end one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ceasefire.extract.article import parse_heading, walk_sections
from ceasefire.extract.raw import RawDocument
from ceasefire.extract.table_cells import flags, strip

_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"”’]?(?=\s+[\"“‘(\[]?[A-Z0-9])"  # stop, optional closing quote, space, next sentence
    r"|(?<=[a-z]{2}\.)(?=[A-Z][a-z])"  # a missing space: "Artsakh.Since"
)
# "U.S. Helsinki", "Lt. General": a stop after an initial or a short title is not a boundary.
_ABBREVIATION = re.compile(r"(?:^|[\s.(])(?:[A-Z]|Mr|Mrs|Ms|Dr|Lt|Gen|Col|St|No|Mt|vs)\.[\"”’]?$")


@dataclass(frozen=True)
class Sentence:
    """One sentence of the prose, verbatim: ``line[column - 1 : column - 1 + len(text)] == text``."""

    text: str
    line: int
    column: int  # 1-based
    section: tuple[str, ...]


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split a paragraph into ``(offset, sentence)`` pairs, offsets 0-based, text verbatim.

    Example:
        >>> [s for _, s in split_sentences('He left. The U.S. Senate met.It ended.')]
        ['He left.', 'The U.S. Senate met.', 'It ended.']
        >>> [s for _, s in split_sentences('On June 21, 2023. the spokeswoman spoke.')]
        ['On June 21, 2023. the spokeswoman spoke.']
    """
    pieces: list[tuple[int, str]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if _ABBREVIATION.search(text[start:end]):
            continue
        _append_piece(pieces, text, start, end)
        start = end
    _append_piece(pieces, text, start, len(text))
    return pieces


def _append_piece(pieces: list[tuple[int, str]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        pieces.append((start + len(piece) - len(piece.lstrip()), stripped))


def is_prose_line(line: str) -> bool:
    """A paragraph of prose: not blank, not a heading, a pipe-table row or a list item."""
    stripped = line.strip()
    # The cheap test first: most lines of a large article are table rows.
    return bool(stripped) and not stripped.startswith(("|", "- ", "* ")) and parse_heading(stripped) is None


def _may_be_prose(texts: pa.Array) -> np.ndarray:
    """The lines :func:`is_prose_line` may accept (not blank, no table row or list item), by Arrow kernels."""
    stripped = strip(texts)
    excluded = pc.or_(pc.equal(pc.utf8_length(stripped), 0),
                      pc.or_(pc.starts_with(stripped, "|"), pc.or_(pc.starts_with(stripped, "- "), pc.starts_with(stripped, "* "))))  # fmt: skip
    return ~flags(excluded)


def article_sentences(document: RawDocument) -> list[Sentence]:
    """Every prose sentence of the article, in reading order, with its heading path."""
    sentences = []
    for number, line, path in walk_sections(document, keep=_may_be_prose):
        if not is_prose_line(line):
            continue
        section = tuple(title for title in path if title)
        for offset, text in split_sentences(line):
            sentences.append(Sentence(text=text, line=number, column=offset + 1, section=section))
    return sentences
