"""A release's ``changes.json`` read back without its long lists of row keys held as Python strings.

A first release lists every row's key (ten million ids: ~450 MB of text, and ~1.3 GB more as
Python strings under ``json.loads``), and every refresh of the downloads reads every release's
record: the catalog needs two of its fields, the changelog the length of that list. That read was
the run's peak at ten million rows (docs/BENCHMARKS.md, round 12).

:func:`read_changes` gives what ``json.loads`` gives, except that a list of more than
:data:`LAZY_ITEMS` texts is a :class:`ListedTexts`: its length is counted from the file, a window
of bytes at a time, and its texts are read from the file again only if they are iterated.

The file's layout is the one every release is written in (``json.dumps(indent=2)``, and
``ceasefire.publish.descriptor.json_chunks``, which writes long lists the same way): a list of
texts opens with its key on a line ending in ``[``, holds one JSON text per line, each line
indented two spaces more than the key, and closes with ``]`` at the key's indent. A JSON text
holds no raw line break, so a line that starts so is one item. A list laid out otherwise is left
to ``json.loads``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

# A release's changes.json read: read_changes, or a memo of it (ceasefire.publish.catalog.refresh_downloads).
ReadChanges = Callable[[Path], dict]
# Lists up to this long are parsed with the rest of the record.
LAZY_ITEMS = 1_000
# Bytes of a list read at a time to find its end and count its items.
WINDOW_BYTES = 4 * 2**20


class ListedTexts(Sequence):
    """A list of texts in a ``changes.json``, ``count`` lines from byte ``start``: its length without
    reading it, its texts read from the file when iterated."""

    def __init__(self, path: Path, start: int, count: int):
        self.path, self.start, self.count = path, start, count

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[str]:
        with self.path.open("rb") as file:
            file.seek(self.start)
            for _ in range(self.count):
                yield json.loads(file.readline().strip().removesuffix(b","))

    def __getitem__(self, index):  # type: ignore[override]
        return list(self)[index]  # every text read: nothing asks for one by position but tests

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and not isinstance(other, str) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ListedTexts({self.count} texts in {self.path.name})"


class _Span(NamedTuple):
    end: int  # where the list's closing line starts
    count: int  # its items


def _texts_span(file: BinaryIO, indent: bytes) -> _Span | None:
    """From the first item line of a list whose key is indented by ``indent``: where the list closes
    and how many items it holds, when every item is a text on a line of its own; else None."""
    start = file.tell()
    closing, item = b"\n" + indent + b"]", b"\n" + indent + b'  "'
    count, offset = 0, start
    while True:
        window = file.read(WINDOW_BYTES)
        if not window:
            return None  # the list never closes: not a layout this reader knows
        window += file.readline()  # whole lines, so that no pattern is cut between two windows
        lines = b"\n" + window
        at = lines.find(closing)
        body = lines if at < 0 else lines[: at + 1]
        in_window = body.count(b"\n") - 1  # item lines (each starts after one of the newlines but the last)
        if body.count(item) != in_window:
            return None  # an item that is not a text on a line of its own
        count += in_window
        if at >= 0:
            return _Span(offset + at, count)
        offset += len(window)


def read_changes(path: Path) -> dict:
    """``json.loads`` of the ``changes.json`` at ``path``, each list of more than :data:`LAZY_ITEMS`
    texts a :class:`ListedTexts`."""
    kept: list[bytes] = []
    listed: dict[str, ListedTexts] = {}
    token = f"\ue000listed-{uuid.uuid4().hex}-"
    with path.open("rb") as file:
        for line in iter(file.readline, b""):
            content = line.rstrip(b"\r\n")
            if content.endswith(b": [") and content.lstrip(b" ").startswith(b'"'):
                indent = content[: len(content) - len(content.lstrip(b" "))]
                start = file.tell()
                span = _texts_span(file, indent)
                if span is not None and span.count > LAZY_ITEMS:
                    file.seek(span.end)
                    closing = file.readline().rstrip(b"\r\n")  # "]" or "]," at the key's indent
                    key = f"{token}{len(listed)}"
                    listed[key] = ListedTexts(path, start, span.count)
                    kept.append(content[:-1] + json.dumps(key).encode() + closing.strip()[1:] + b"\n")
                    continue
                file.seek(start)
            kept.append(line)

    def restore(pairs: list[tuple[str, object]]) -> dict:
        return {name: listed.get(value, value) if isinstance(value, str) else value for name, value in pairs}

    return json.loads(b"".join(kept).decode("utf-8"), object_pairs_hook=restore if listed else None)
