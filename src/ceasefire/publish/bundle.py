"""What a version folder (and so its zip) holds beyond the data: a self-contained download.

- ``raw/<file>``: every raw input, byte for byte, so each ``source_file:source_line`` opens inside
  the download (their CC BY-SA licence allows redistribution);
- ``schemas/rules.json``: the explanation of every rule a finding in ``report.json`` can carry;
- every other project file the package's descriptions point to (``schemas/gazetteer.json``,
  ``docs/EVENTS.md`` ...), found in the text of ``datapackage.json``, at the same relative path;
- ``CITATION.cff``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

from ceasefire.extract.raw import RawCorpus
from ceasefire.publish.citation import render_citation_cff

RULES_FILE = "schemas/rules.json"
CITATION_FILE = "CITATION.cff"
RAW_FOLDER = "raw"
# A project file named in a description: "schemas/gazetteer.json", "docs/EVENTS.md".
_REFERENCE = re.compile(r"\b((?:schemas|docs)/[A-Za-z0-9_.-]+?\.(?:json|md))\b")


def referenced_files(descriptor: dict) -> list[str]:
    """Project files that the descriptor's texts name, in order of first mention.

    >>> referenced_files({"description": "See schemas/violators.json. Rules: docs/EVENTS.md"})
    ['docs/EVENTS.md', 'schemas/violators.json']
    """
    return sorted(set(_REFERENCE.findall(json.dumps(descriptor, ensure_ascii=False))))


def bundle_files(descriptor: dict, corpus: RawCorpus, schemas_dir: Path) -> dict[str, bytes | Iterable[bytes]]:
    """The companion files of a version, by path inside the version folder.

    ``schemas/`` names resolve in ``schemas_dir``, ``docs/`` beside it. A referenced file that is
    not there (a test's own schema folder) is left out. The raw files come as blocks read from disk
    when they are written (:meth:`RawDocument.chunks`).
    """
    files: dict[str, bytes | Iterable[bytes]] = {f"{RAW_FOLDER}/{document.name}": document.chunks() for document in corpus.documents}
    for relative in sorted({RULES_FILE, *referenced_files(descriptor)}):
        folder, name = relative.split("/", 1)
        path = schemas_dir / name if folder == "schemas" else schemas_dir.parent / relative
        if path.is_file():
            files[relative] = path.read_bytes()
    files[CITATION_FILE] = render_citation_cff(descriptor).encode("utf-8")
    return files
