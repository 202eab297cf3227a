"""Contracts kept as data in ``schemas/``: table schemas, vocabularies, gazetteer, time span."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ceasefire.contracts.package import PackageMetadata, load_package_metadata
from ceasefire.contracts.schema import Schema


def default_schemas_dir() -> Path:
    """The repository's ``schemas/`` folder (the package is installed from ``src/``)."""
    return Path(__file__).resolve().parents[3] / "schemas"


def _read_json(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@dataclass(frozen=True)
class Vocabulary:
    """A controlled list of terms, each with aliases that resolve to it."""

    name: str
    terms: tuple[dict, ...]
    # Top-level settings of the vocabulary file besides its terms (e.g. actors' locative prepositions).
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def names(self) -> list[str]:
        return [term["name"] for term in self.terms]

    @cached_property
    def _lookup(self) -> dict[str, str]:
        lookup = {}
        for term in self.terms:
            for alias in [term["name"], *term.get("aliases", [])]:
                lookup[alias.casefold()] = term["name"]
        return lookup

    def resolve(self, text: str) -> str | None:
        """The canonical term for ``text`` (case-insensitive), or None if unknown."""
        return self._lookup.get(" ".join(text.split()).casefold())


@dataclass(frozen=True)
class Gazetteer:
    """Canonical place names with their aliases and transliterations."""

    places: tuple[dict, ...]

    @property
    def names(self) -> list[str]:
        return [place["name"] for place in self.places]

    @cached_property
    def _pattern(self) -> re.Pattern:
        aliases = {alias for place in self.places for alias in [place["name"], *place["aliases"]]}
        ordered = sorted(aliases, key=lambda alias: (-len(alias), alias))
        return re.compile(r"\b(" + "|".join(re.escape(alias) for alias in ordered) + r")\b", re.IGNORECASE)

    @cached_property
    def _lookup(self) -> dict[str, str]:
        return {
            alias.casefold(): place["name"] for place in self.places for alias in [place["name"], *place["aliases"]]
        }

    @cached_property
    def _digits_free(self) -> bool:
        return not any(ch.isdigit() for place in self.places for alias in [place["name"], *place["aliases"]] for ch in alias)

    def resolve_many(self, texts: list[str]) -> list[list[str]]:
        """:meth:`resolve` for many texts, each distinct text resolved once.

        When no alias has a digit, every run of digits is read as ``0`` first: a digit run is a
        word character either way, so word boundaries and matches stay the same, and locations
        that differ only by a distance ("1.8 km east of ...") share one lookup.
        """
        digits = re.compile(r"[0-9]+")
        resolved: dict[str, list[str]] = {}
        results = []
        for text in texts:
            key = digits.sub("0", text) if self._digits_free else text
            if key not in resolved:
                resolved[key] = self.resolve(key)
            results.append(list(resolved[key]))
        return results

    def kind(self, name: str) -> str | None:
        """The gazetteer kind (village, district, country …) of a canonical place name."""
        return self._kinds.get(name)

    @cached_property
    def _kinds(self) -> dict[str, str | None]:
        return {place["name"]: place.get("kind") for place in self.places}

    def mentions(self, text: str) -> list[tuple[int, int, str]]:
        """Every place mention in ``text`` as (start, end, canonical name), in reading order."""
        return [(m.start(1), m.end(1), self._lookup[m.group(1).casefold()]) for m in self._pattern.finditer(text)]

    def resolve(self, text: str) -> list[str]:
        """Canonical names of the places ``text`` mentions, in order of first mention.

        Example:
            >>> Gazetteer(({"name": "Shusha", "aliases": ["Shushi"]},)).resolve("in the vicinity of Shushi")
            ['Shusha']
        """
        found: list[str] = []
        for match in self._pattern.finditer(text):
            name = self._lookup[match.group(1).casefold()]
            if name not in found:
                found.append(name)
        return found


@dataclass(frozen=True)
class TimeSpan:
    start: dt.date
    end: dt.date
    sources: tuple[dict, ...]


@dataclass(frozen=True)
class Contracts:
    """Everything in ``schemas/`` that the pipeline checks data against."""

    schemas_dir: Path
    gazetteer: Gazetteer
    vocabularies: dict[str, Vocabulary]
    time_span: TimeSpan

    @cached_property
    def package(self) -> PackageMetadata:
        """Package-level metadata (``schemas/package.json``)."""
        return load_package_metadata(self.schemas_dir)

    def schema(self, resource: str) -> Schema:
        """The typed contract of ``resource``, with vocabulary enums filled in."""
        terms = {name: vocabulary.names for name, vocabulary in self.vocabularies.items()}
        return Schema.from_file(self.schemas_dir / f"{resource}.schema.json", terms)

    def table_schema(self, resource: str) -> dict:
        """The Frictionless Table Schema of ``resource`` as written, with vocabulary enums filled in."""
        return self.schema(resource).to_descriptor(as_written=True)


VOCABULARIES = ("violators", "event_types", "actors", "reporters", "claim_statuses", "location_precisions", "acled_event_types")


def load_contracts(schemas_dir: Path | None = None) -> Contracts:
    schemas_dir = schemas_dir or default_schemas_dir()
    gazetteer = Gazetteer(places=tuple(_read_json(schemas_dir / "gazetteer.json")["places"]))
    vocabularies = {}
    for name in VOCABULARIES:
        data = _read_json(schemas_dir / f"{name}.json")
        extra = {key: value for key, value in data.items() if key not in ("terms", "description")}
        vocabularies[name] = Vocabulary(name=name, terms=tuple(data["terms"]), extra=extra)
    span = _read_json(schemas_dir / "time_span.json")
    time_span = TimeSpan(
        start=dt.date.fromisoformat(span["start"]),
        end=dt.date.fromisoformat(span["end"]),
        sources=tuple(span["sources"]),
    )
    return Contracts(schemas_dir=schemas_dir, gazetteer=gazetteer, vocabularies=vocabularies, time_span=time_span)
