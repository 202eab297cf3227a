"""Counts with their nouns, singular or plural as the number needs ("1 error", "2 errors")."""

from __future__ import annotations

IRREGULAR = {"entry": "entries", "was": "were", "has": "have"}


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """``count`` and ``noun``, in the plural unless the count is exactly one.

    Example:
        >>> plural(1, "error"), plural(2, "error"), plural(0, "row"), plural(3, "entry")
        ('1 error', '2 errors', '0 rows', '3 entries')
        >>> plural(1, "validation error"), plural(2, "validation error")
        ('1 validation error', '2 validation errors')
    """
    if count == 1:
        return f"{count} {noun}"
    if plural_noun is None:
        head, _, last = noun.rpartition(" ")
        plural_noun = (head + " " if head else "") + IRREGULAR.get(last, last + "s")
    return f"{count} {plural_noun}"
