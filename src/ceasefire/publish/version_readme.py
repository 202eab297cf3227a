"""The ``README.md`` of a version folder: everything a downloader needs, built from the descriptor.

The data dictionary comes from each resource's Table Schema, so it cannot drift from the data.
"""

from __future__ import annotations

from ceasefire.plurals import plural
from ceasefire.publish.markdown import markdown_code, markdown_text
from ceasefire.contracts.package import PackageMetadata
from ceasefire.contracts.schema import normalise_key
from ceasefire.contracts.storage_types import arrow_type, sqlite_type
from ceasefire.publish.citation import render_bibtex
from ceasefire.validate.formulas import RULE as FORMULA_RULE


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def describe_constraints(spec: dict) -> str:
    parts = []
    for key, value in spec.get("constraints", {}).items():
        if key == "required" and value:
            parts.append("required")
        elif key == "unique" and value:
            parts.append("unique")
        elif key == "enum":
            parts.append("one of " + ", ".join(f"`{item}`" for item in value))
        elif key == "pattern":
            parts.append(f"pattern `{value}`")
        elif value is not False and value is not None:
            parts.append(f"{key} {value}")
    return "; ".join(parts)


def describe_type(spec: dict) -> str:
    if spec.get("type") == "list":
        return f"list of {spec.get('itemType', 'string')} (`{spec.get('delimiter', ',')}` in CSV, array in JSON)"
    return spec.get("type", "any")


def citation(descriptor: dict, package: PackageMetadata) -> str:
    article = package.source_article
    return (
        f"{package.publisher} ({descriptor['created'][:4]}). {descriptor['title']}, "
        f"version {descriptor['version']} [data set], published {descriptor['created'][:10]}. Derived from "
        f"Wikipedia contributors, \"{article['title']}\", {article['site']} "
        f"({descriptor['sources'][0]['path']}), {article['license']}."
    )


def _names(fields: str | list[str]) -> str:
    return ", ".join(f"`{name}`" for name in ([fields] if isinstance(fields, str) else fields))


def _foreign_key(foreign: dict) -> str:
    reference = foreign["reference"]
    return f"{_names(foreign['fields'])} → table `{reference.get('resource') or 'itself'}`, {_names(reference['fields'])}"


def _table_of(resource: dict) -> str:
    """The table a resource holds: ``violations`` for violations, violations-json and violations-parquet."""
    name = resource["name"]
    for suffix in ("-json", "-parquet"):
        name = name.removesuffix(suffix)
    return name


_COMPANIONS = {
    "raw": "the raw inputs, byte for byte: every `source_file` is here, and `source_line` is its 1-based line",
    "schemas": "the rules that explain each finding (`rules.json`) and the vocabularies the descriptions name",
    "docs": "how dates, types, actors and citations are resolved",
    "CITATION.cff": "the citation of this version (Citation File Format)",
}


def render_version_readme(
    descriptor: dict, report: dict, changes: dict, package: PackageMetadata, paths: list[str] | tuple[str, ...] = ()
) -> str:
    """Markdown for ``<version>/README.md``; ``paths`` lists every file of the version folder."""
    version = descriptor["version"]
    license_ = descriptor["licenses"][0]
    lines = [
        f"# {descriptor['title']}, version {version}",
        "",
        descriptor["description"],
        "",
        f"- **Package:** `{descriptor['name']}` {version}, created {descriptor['created']}",
        f"- **Release:** {changes['bump']}" + (f" after {changes['previous_version']}" if changes.get("previous_version") else ""),
        f"- **Validation:** {report['status']} ({plural(report['counts']['by_severity']['error'], 'error')}, {plural(report['counts']['by_severity']['warning'], 'warning')})",
        "",
        "## Files",
        "",
        "| file | resource | format | rows | bytes | sha256 |",
        "|---|---|---|---|---|---|",
    ]
    for resource in descriptor["resources"]:
        rows = report.get("rows", {}).get(_table_of(resource), "")
        lines.append(
            f"| `{resource['path']}` | {resource['name']} | {resource['format']} | {rows} | {resource['bytes']} | "
            f"`{resource['hash'].removeprefix('sha256:')}` |"
        )
    lines += [
        "| `datapackage.json` | | JSON | | | |",
        "| `report.json` | validation findings | JSON | | | |",
        "| `changes.json` | changes since the previous version | JSON | | | |",
        "",
        "The CSV, JSON Lines and Parquet forms of a table and its table in the SQLite database hold the same "
        "records: publishing read each of them back and compared it with the CSV form. `datapackage.json` is a "
        "Frictionless Data Package (v2); `frictionless validate datapackage.json` checks the tables and the size "
        "and sha256 of every file. A missing value, and a list with no items, is an empty CSV cell, `null` in JSON "
        "Lines and Parquet and `NULL` in SQLite.",
        "",
    ]
    companions = sorted({path.split("/")[0] for path in paths} & set(_COMPANIONS))
    if companions:
        lines += ["Also in this folder (and its zip):", ""]
        lines += [f"- `{name}{'/' if name != 'CITATION.cff' else ''}`: {_COMPANIONS[name]}" for name in companions]
        lines.append("")
    lines += [
        "Read it with pandas (`pd.read_parquet(\"data/violations.parquet\")` keeps every type), DuckDB "
        "(`SELECT * FROM 'data/violations.parquet'`) or sqlite3; `ceasefire browse` serves the SQLite database "
        "in the browser with Datasette.",
        "",
        "## Data dictionary",
    ]
    for resource in descriptor["resources"]:
        if resource["format"] != "csv":
            continue
        schema = resource["schema"]
        key = normalise_key(schema.get("primaryKey"))
        lines += ["", f"### {resource['name']}: {resource.get('title', '')}", ""]
        if resource.get("description"):
            lines += [resource["description"], ""]
        if key:
            lines += [f"Primary key: {_names(key)}.", ""]
        for foreign in schema.get("foreignKeys", []):
            lines += [f"Foreign key: {_foreign_key(foreign)}.", ""]
        lines += ["| field | type | Parquet | SQLite | title | description | constraints |", "|---|---|---|---|---|---|---|"]
        for spec in schema["fields"]:
            lines.append(
                f"| `{spec['name']}` | {_cell(describe_type(spec))} | {arrow_type(spec)} | {sqlite_type(spec)} | "
                f"{_cell(spec.get('title', ''))} | {_cell(spec.get('description', ''))} | {_cell(describe_constraints(spec))} |"
            )
    warnings = [f for f in report.get("findings", []) if f["severity"] == "warning"]
    lines += ["", "## Known warnings", ""]
    if warnings:
        lines.append("Published with these validation warnings (see `report.json`):")
        lines.append("")
        for finding in warnings:
            shipped = f"raw/{finding['source_file']}"  # the raw input inside this folder, when it is one
            where = (shipped if shipped in paths else finding["source_file"]) + (
                f":{finding['source_line']}" if finding.get("source_line") else ""
            )
            row = f" (row {markdown_code(finding['row_id'])})" if finding.get("row_id") else ""
            lines.append(f"- {markdown_code(where)} [{markdown_text(finding['rule'])}] {markdown_text(finding['message'])}{row}")
    else:
        lines.append("None.")
    corrections = descriptor.get("corrections", [])
    lines += ["", "## Corrections", ""]
    if corrections:
        lines.append("Reviewed corrections applied to values extracted from the source (also in `datapackage.json`):")
        lines.append("")
        for c in corrections:
            lines.append(
                f"- {markdown_text(c['resource'])} {markdown_code(c['id'])} {c['field']}: "
                f"{markdown_code(c['old_value'])} → {markdown_code(c['new_value'])}. {markdown_text(c['reason'])} "
                f"({markdown_text(c['reviewer'])}, {markdown_text(c['date'])})"
            )
    else:
        lines.append("None: every value is as extracted from the source.")
    lines += [
        "",
        "## Spreadsheet safety",
        "",
        FORMULA_RULE["description"],
        "",
        "## License and attribution",
        "",
        f"{license_['title']} ({license_['name']}, {license_['path']}). The data is derived from the {package.source_article['site']} "
        f"article \"{package.source_article['title']}\" ({descriptor['sources'][0]['path']}) "
        "by its contributors (see the article's history). Reuse must credit the Wikipedia contributors and this "
        "dataset, and share adaptations under the same license.",
        "",
        "## How to cite",
        "",
        citation(descriptor, package),
        "",
        "BibTeX (also `CITATION.cff` in this folder):",
        "",
        "```bibtex",
        render_bibtex(descriptor).rstrip("\n"),
        "```",
        "",
        "A published version never changes. Cite the version you used; `changes.json` and the package's "
        "`CHANGELOG.md` list what changed between versions.",
    ]
    return "\n".join(lines) + "\n"
