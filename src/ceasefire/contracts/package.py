"""Package-level metadata as data: ``schemas/package.json``.

The descriptor (``datapackage.json``), each version's ``README.md`` and the release catalogue
read the package's name, id, title, description, homepage, licences, sources, contributors and
keywords from this one file. Keys starting with ``x-`` serve our own documents (the short title,
the source article for the citation) and are not published in the descriptor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.schema import ContractError

PACKAGE_FILE = "package.json"
REQUIRED_KEYS = ("name", "id", "title", "description", "homepage", "keywords", "licenses", "sources", "contributors",
                 "x-shortTitle", "x-sourceArticle")  # fmt: skip
KNOWN_KEYS = ("$comment", *REQUIRED_KEYS)


@dataclass(frozen=True)
class PackageMetadata:
    """What ``schemas/package.json`` says about the package as a whole."""

    name: str
    id: str
    title: str
    description: str
    homepage: str
    keywords: tuple[str, ...]
    licenses: tuple[dict, ...]
    sources: tuple[dict, ...]
    contributors: tuple[dict, ...]
    short_title: str
    source_article: dict

    @property
    def publisher(self) -> str:
        """The contributor with the ``publisher`` role: who a citation names as the author."""
        return next(c["title"] for c in self.contributors if "publisher" in c.get("roles", []))

    @property
    def license(self) -> dict:
        return self.licenses[0]


def load_package_metadata(schemas_dir: Path) -> PackageMetadata:
    """Read ``schemas/package.json``; a missing or unknown key fails closed, naming the file and key."""
    source = f"schemas/{PACKAGE_FILE}"
    try:
        data = json.loads((schemas_dir / PACKAGE_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ContractError(source, "(file)", f"not readable JSON: {error}") from None
    for key in data:
        if key not in KNOWN_KEYS:
            raise ContractError(source, key, f"unknown key; supported: {', '.join(KNOWN_KEYS)}")
    for key in REQUIRED_KEYS:
        if key not in data:
            raise ContractError(source, key, "missing")
    if data["name"] != PACKAGE_NAME:
        raise ContractError(source, "name", f"{data['name']!r} is not the package this code publishes ({PACKAGE_NAME!r})")
    if not any("publisher" in c.get("roles", []) for c in data["contributors"]):
        raise ContractError(source, "contributors", "no contributor has the publisher role")
    return PackageMetadata(
        name=data["name"], id=data["id"], title=data["title"], description=data["description"],
        homepage=data["homepage"], keywords=tuple(data["keywords"]), licenses=tuple(data["licenses"]),
        sources=tuple(data["sources"]), contributors=tuple(data["contributors"]),
        short_title=data["x-shortTitle"], source_article=dict(data["x-sourceArticle"]),
    )  # fmt: skip
