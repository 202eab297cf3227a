"""Registering a new revision of a raw file: copy, checksum, provenance entry, retire the old one.

Raw files are never edited. A new copy of the article is a new file under a dated name, listed in
``raw/provenance.json`` with its sha256, retrieval date and note; the entry it replaces moves to
the ``retired`` list, so the history of inputs stays readable in one place.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from ceasefire.extract.raw import PROVENANCE_FILE, ROLES, load_provenance, read_raw_file
from ceasefire.extract.violations import find_violations_table
from ceasefire.review.files import ReviewError, require_text, write_reviewed_json
from ceasefire.publish.publishing import replace_durably

# Keys that describe the work rather than one copy of it: a revision inherits them.
INHERITED_KEYS = ("title", "source", "license", "attribution")
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}(-\d+)?$")


@dataclass(frozen=True)
class RawRevision:
    """What ``add_raw_revision`` registered."""

    path: str
    role: str
    sha256: str
    lines: int
    replaces: str | None


def dated_name(base: str, retrieved: dt.date, taken: set[str]) -> str:
    """``<stem>-<YYYY-MM-DD><suffix>``, with ``-2``, ``-3``… when that name is taken.

    Example:
        >>> dated_name("article-2024-01-02.txt", dt.date(2025, 3, 4), {"article-2025-03-04.txt"})
        'article-2025-03-04-2.txt'
    """
    path = Path(base)
    stem = _DATED.sub("", path.stem)
    name, number = f"{stem}-{retrieved.isoformat()}{path.suffix or '.txt'}", 1
    while name in taken:
        number += 1
        name = f"{stem}-{retrieved.isoformat()}-{number}{path.suffix or '.txt'}"
    return name


def add_raw_revision(
    raw_dir: Path, source: Path, role: str, note: str, retrieved: dt.date, *, replaces: str | None = None,
    today: dt.date | None = None,
) -> RawRevision:
    """Copy ``source`` into ``raw_dir`` as the current file of ``role`` and record its provenance.

    Refuses (``ReviewError``) a file that is missing, not UTF-8, empty, already registered, or an
    article without the violations table; nothing is written then. The raw copy is written before
    ``provenance.json``, so the provenance never lists a file that is not there.
    """
    note = require_text(note, "--note", "say where the copy comes from (revision, URL, how it was saved)")
    if role not in ROLES:
        raise ReviewError(f"--role {role!r} is not a raw role; use one of {', '.join(ROLES)}")
    if not source.is_file():
        raise ReviewError(f"{source}: no such file")
    # Checked in blocks and copied from disk, as a run reads raw files: a revision of millions of
    # lines is never held whole. RawInputError names the line of a bad byte.
    document = read_raw_file(source, source.name, role)
    if role == "article":
        find_violations_table(document)  # no table: RawInputError
    provenance = load_provenance(raw_dir)
    digest = document.sha256
    for entry in provenance["files"]:
        if entry["sha256"] == digest:
            raise ReviewError(f"{source} is already registered as {entry['path']} (same sha256 {digest[:12]}…)")
    old = _replaced_entry(provenance["files"], role, replaces)
    taken = {p.name for p in raw_dir.iterdir()}
    name = dated_name(old["path"] if old else source.name, retrieved, taken)
    entry = {"path": name, "role": role, **{key: old[key] for key in INHERITED_KEYS if old and key in old},
             "sha256": digest, "retrieved": retrieved.isoformat(), "retrieval": note}  # fmt: skip
    if old:
        entry["replaces"] = old["path"]
        provenance["files"] = [entry if e is old else e for e in provenance["files"]]
        retired = {**old, "retired": (today or dt.date.today()).isoformat(), "replaced_by": name}
        provenance["retired"] = [*provenance.get("retired", []), retired]
    else:
        provenance["files"].append(entry)
    replace_durably(raw_dir / name, document.chunks())  # the bytes checked, or RawInputError and no copy
    write_reviewed_json(raw_dir / PROVENANCE_FILE, provenance)
    return RawRevision(path=name, role=role, sha256=digest, lines=len(document.lines), replaces=old["path"] if old else None)


def _replaced_entry(files: list[dict], role: str, replaces: str | None) -> dict | None:
    if replaces is not None:
        for entry in files:
            if entry["path"] == replaces:
                if entry["role"] != role:
                    raise ReviewError(f"--replaces {replaces} has the role {entry['role']!r}, not {role!r}")
                return entry
        raise ReviewError(f"--replaces {replaces}: {PROVENANCE_FILE} lists no such file; it lists "
                          + ", ".join(e["path"] for e in files))  # fmt: skip
    same_role = [entry for entry in files if entry["role"] == role]
    if len(same_role) > 1:
        raise ReviewError(f"{PROVENANCE_FILE} lists {len(same_role)} files with the role {role!r}; "
                          "name the one this revision replaces with --replaces")  # fmt: skip
    return same_role[0] if same_role else None
