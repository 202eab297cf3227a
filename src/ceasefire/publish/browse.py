"""Browse a published version without code: its SQLite database served by Datasette.

The Datasette metadata (titles, descriptions, licence, source, column descriptions, facets) is
generated from the version's ``datapackage.json``, so the browser shows what the package says.
Facets: every field with a closed vocabulary (an ``enum``: violator, event type, date precision
...) on each table, and the year on each table's ``<table>_by_year`` view.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ceasefire.publish import formats


def _facet_fields(schema: dict) -> list[str]:
    return [spec["name"] for spec in schema["fields"] if "enum" in spec.get("constraints", {})]


def datasette_metadata(descriptor: dict) -> dict:
    """Datasette's ``metadata.json`` for the SQLite database of a version."""
    license_ = descriptor["licenses"][0]
    source = descriptor["sources"][0]
    tables = {}
    for resource in descriptor["resources"]:
        if resource.get("type") != "table" or resource.get("format") != "csv":
            continue
        schema = resource["schema"]
        columns = {spec["name"]: spec.get("description") or spec.get("title", "") for spec in schema["fields"]}
        facets = _facet_fields(schema)
        tables[resource["name"]] = {"title": resource.get("title", resource["name"]),
                                    "description": resource.get("description", ""), "columns": columns, "facets": facets}  # fmt: skip
        if formats.year_field(schema):
            tables[resource["name"] + formats.YEAR_VIEW_SUFFIX] = {
                "title": f"{resource.get('title', resource['name'])}, with the year of {formats.year_field(schema)}",
                "description": f"The {resource['name']} table with a year column, for counts by year.",
                "columns": {"year": f"The year of {formats.year_field(schema)}.", **columns},
                "facets": ["year", *facets],
            }  # fmt: skip
    tables[formats.FIELDS_TABLE] = {"description": "Every field of every table: type, title, description, constraints."}
    tables[formats.TABLES_TABLE] = {"description": "Every table with its title, description and row count."}
    return {
        "title": f"{descriptor['title']}, version {descriptor['version']}",
        "description": descriptor["description"],
        "license": license_["name"],
        "license_url": license_["path"],
        "source": source["title"],
        "source_url": source["path"],
        "databases": {Path(formats.SQLITE_PATH).stem: {"tables": tables}},
    }


def datasette_command(version_dir: Path, metadata_path: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """The command that serves ``version_dir``'s database read-only (``--immutable``: the file never changes)."""
    return [
        sys.executable, "-m", "datasette", "serve", "--immutable", str(version_dir / formats.SQLITE_PATH),
        "--metadata", str(metadata_path), "--host", host, "--port", str(port),
        "--setting", "default_facet_size", "50", "--setting", "suggest_facets", "off",
    ]  # fmt: skip


def write_datasette_metadata(version_dir: Path, target: Path) -> Path:
    descriptor = json.loads((version_dir / "datapackage.json").read_text(encoding="utf-8"))
    target.write_text(json.dumps(datasette_metadata(descriptor), ensure_ascii=False, indent=2), encoding="utf-8")
    return target
