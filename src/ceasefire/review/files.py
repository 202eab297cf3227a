"""Reading and atomically replacing the reviewed JSON files (provenance, corrections, acknowledgements)."""

from __future__ import annotations

import json
from pathlib import Path

from ceasefire.publish.publishing import replace_durably


REVIEWER_NEEDED = "every decision names who reviewed it: pass --reviewer NAME, or set CEASEFIRE_REVIEWER or git config user.name"


class ReviewError(Exception):
    """A decision that cannot be recorded as given (exit code 2); nothing was written."""


def read_reviewed_json(path: Path, list_key: str, description: str) -> dict:
    """The file's object with its ``list_key`` list; a missing file starts empty with ``description``."""
    if not path.is_file():
        return {"description": description, list_key: []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReviewError(f"{path}: not valid JSON ({error}); fix the file before recording more decisions") from None
    if not isinstance(data, dict) or not isinstance(data.get(list_key), list):
        raise ReviewError(f"{path}: needs a {list_key!r} list")
    return data


def write_reviewed_json(path: Path, data: dict) -> None:
    """Replace ``path`` atomically: readers see the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_durably(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def require_text(value: str, option: str, why: str) -> str:
    """``value`` stripped; an empty one is refused, naming the option."""
    if not value or not value.strip():
        raise ReviewError(f"{option} is empty: {why}")
    return value.strip()
