"""Reviewed removals: a published row may disappear from the next version only when approved.

Removing published data breaks every user who joins on the row's id, and a damaged raw table can
lose rows without any parse error. So a row of the latest version that is missing from a new build
blocks publishing (rule ``row-removed``) until ``reviews/removals.json`` approves it by resource
and id, with a reason, a reviewer and a date. An approved removal is a MAJOR release
(docs/RELEASES.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path

from ceasefire.errors import RawInputError
from ceasefire.findings import Finding
from ceasefire.publish.releases import Changes, Snapshot
from ceasefire.validate.corrections import read_review_file

REMOVALS_FILE = Path("reviews") / "removals.json"
REQUIRED_KEYS = ("resource", "id", "reason", "reviewer", "date")


@dataclass(frozen=True)
class Removal:
    """One reviewed approval to drop one published row."""

    resource: str
    id: str
    reason: str
    reviewer: str
    date: str

    def to_dict(self) -> dict:
        return asdict(self)


def default_removals_file(raw_dir: Path) -> Path:
    """``reviews/removals.json`` beside the raw folder."""
    return raw_dir.resolve().parent / REMOVALS_FILE


def load_removals(path: Path) -> list[Removal]:
    """Read a removals file; a missing file approves nothing. A malformed one is unusable input."""
    name = str(REMOVALS_FILE) if path.parts[-2:] == REMOVALS_FILE.parts else str(path)
    data = read_review_file(path, name)
    if data is None:
        return []
    entries = data.get("removals") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise RawInputError(name, "needs an object with a 'removals' list")
    removals = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) and entry[key].strip() for key in REQUIRED_KEYS):
            raise RawInputError(name, f"removal {number} needs {list(REQUIRED_KEYS)}, each a non-empty text")
        try:
            dt.date.fromisoformat(entry["date"])
        except ValueError:
            raise RawInputError(name, f"removal {number} has date {entry['date']!r}; expected YYYY-MM-DD") from None
        removals.append(Removal(**{key: entry[key] for key in REQUIRED_KEYS}))
    return removals


def check_removals(changes: Changes, previous: Snapshot, version: str, removals: list[Removal]) -> tuple[list[Finding], list[Removal]]:
    """An error per removed row that no removal approves, and the approvals that were used."""
    approved = {(removal.resource, removal.id): removal for removal in removals}
    findings, used = [], []
    for name, resource in changes.resources.items():
        for row_id in resource.removed:
            removal = approved.get((name, row_id))
            if removal is not None:
                used.append(removal)
                continue
            row = previous.resources[name].rows.get(row_id) or {}
            line = row.get("source_line")
            findings.append(
                Finding(
                    severity="error", rule="row-removed", engine="reconciliation", resource=name,
                    message=(
                        f"row {row_id} of version {version} is missing from this build; register a raw revision that "
                        f"holds it, or approve the removal with `ceasefire approve-removal {row_id} --resource {name} "
                        f"--reason …` ({REMOVALS_FILE})"
                    ),
                    row_id=row_id, source_file=row.get("source_file") or None,
                    source_line=int(line) if line and line.isdigit() else None,
                )
            )  # fmt: skip
    return findings, used
