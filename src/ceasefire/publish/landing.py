"""``dist/index.html``: the landing page, rendered from the catalog and the latest version folder.

What the dataset is, the latest version with a download per format, the data dictionary, the
first rows of each table, the validation status with its report, the changelog, how to cite
(text and BibTeX), the licence, then every version. One Jinja2 template with autoescaping on:
every value from the data reaches the page escaped, and the changelog is Markdown rendered with
raw HTML disabled. No scripts, no remote assets, relative links: it works from disk and from any
static host.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

from ceasefire.contracts.package import PackageMetadata
from ceasefire.contracts.storage_types import arrow_type, sqlite_type
from ceasefire.publish.bundle import CITATION_FILE, RAW_FOLDER
from ceasefire.publish.citation import render_bibtex
from ceasefire.publish.version_readme import citation, describe_constraints, describe_type
from ceasefire.report.html import autoescaped_environment

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 160
_FORMAT_NAMES = {"csv": "CSV", "jsonl": "JSON Lines", "parquet": "Parquet", "sqlite": "SQLite"}


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / 1024 / 1024:.1f} MiB"
    return f"{count / 1024:.1f} KiB" if count >= 1024 else f"{count} B"


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _preview(path: Path) -> dict:
    """The header and first rows of a CSV file, long cells shortened."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        rows = []
        for row in reader:
            rows.append([cell if len(cell) <= PREVIEW_CELL_CHARS else cell[: PREVIEW_CELL_CHARS - 1] + "…" for cell in row])
            if len(rows) == PREVIEW_ROWS:
                break
    return {"header": header, "rows": rows}


def _table_of(resource: dict) -> str:
    name = resource["name"]
    for suffix in ("-json", "-parquet"):
        name = name.removesuffix(suffix)
    return name


def latest_version_view(package: dict, dist_dir: Path, metadata: PackageMetadata) -> dict:
    """What the page shows of the package's latest version, read from its folder."""
    base = f"{package['name']}/{package['latest']}"
    folder = dist_dir / base
    descriptor = _read_json(folder / "datapackage.json")
    entry = package["versions"][0]
    tables, files = [], []
    for resource in descriptor.get("resources", []):
        link = {"format": _FORMAT_NAMES.get(resource["format"], resource["format"]), "href": f"{base}/{resource['path']}",
                "size": _size(resource["bytes"]), "sha256": resource["hash"].removeprefix("sha256:")}  # fmt: skip
        if resource["type"] == "table" and resource["format"] == "csv":
            schema = resource["schema"]
            fields = [
                {"name": spec["name"], "type": describe_type(spec), "arrow": str(arrow_type(spec)), "sqlite": sqlite_type(spec),
                 "title": spec.get("title", ""), "description": spec.get("description", ""), "constraints": describe_constraints(spec)}
                for spec in schema["fields"]
            ]  # fmt: skip
            tables.append({"name": resource["name"], "title": resource.get("title", resource["name"]),
                           "description": resource.get("description", ""), "rows": entry["rows"].get(resource["name"]),
                           "primary_key": schema.get("primaryKey", []), "foreign_keys": schema.get("foreignKeys", []),
                           "fields": fields, "downloads": [link], "preview": _preview(folder / resource["path"])})  # fmt: skip
        else:
            files.append((_table_of(resource), link))
    by_name = {table["name"]: table for table in tables}
    whole = []
    for table_name, link in files:
        (by_name[table_name]["downloads"] if table_name in by_name else whole).append(link)
    whole += [
        {"format": "zip of the whole version", "href": entry["links"]["zip"], "size": _size(entry["zip"]["bytes"]),
         "sha256": entry["zip"]["sha256"]},
    ]  # fmt: skip
    return {
        "version": package["latest"],
        "created": (descriptor.get("created") or "")[:10],
        "descriptor": descriptor,
        "tables": tables,
        "whole": whole,
        "links": {
            "folder": f"{base}/", "datapackage": f"{base}/datapackage.json", "readme": f"{base}/README.md",
            "report_html": f"{base}/report.html", "report_json": f"{base}/report.json",
            "sha256": entry["links"]["sha256"],
        },  # fmt: skip
        # Versions published before these files existed never gain them: link only what is there.
        "citation_file": f"{base}/{CITATION_FILE}" if (folder / CITATION_FILE).is_file() else None,
        "self_contained": (folder / RAW_FOLDER).is_dir(),
        "has_database": any(resource["format"] == "sqlite" for resource in descriptor.get("resources", [])),
        "validation": entry["validation"],
        "citation": citation(descriptor, metadata) if descriptor else "",
        "bibtex": render_bibtex(descriptor) if descriptor else "",
    }


def render_changelog_html(markdown: str) -> Markup:
    """The changelog's Markdown as HTML; raw HTML in it is escaped, unsafe link schemes dropped."""
    body = markdown.split("\n", 1)[1] if markdown.startswith("# ") else markdown  # the page has its own heading
    return Markup(MarkdownIt("commonmark", {"html": False}).render(body))


def render_landing_page(catalog: dict, dist_dir: Path, metadata: PackageMetadata) -> str:
    """The landing page of ``dist_dir`` (``index.html``) for ``catalog`` (``catalog.json``); ``metadata``
    is ``schemas/package.json`` (publisher and source article for the citation)."""
    packages = []
    for package in catalog["packages"]:
        changelog = dist_dir / package["links"]["changelog"]
        packages.append({
            **package,
            "latest_view": latest_version_view(package, dist_dir, metadata),
            "changelog_html": render_changelog_html(changelog.read_text(encoding="utf-8")) if changelog.is_file() else None,
        })  # fmt: skip
    return autoescaped_environment("ceasefire.publish").get_template("index.html.j2").render(packages=packages, size=_size, collection=metadata.short_title)
