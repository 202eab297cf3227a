"""The ``README.md`` of a version folder: everything a downloader needs, built from the descriptor.

The data dictionary comes from each resource's Table Schema, so it cannot drift from the data.
"""

from __future__ import annotations

from ceasefire.plurals import plural
from ceasefire.publish.markdown import markdown_code, markdown_text
from ceasefire.contracts.package import PackageMetadata
from ceasefire.contracts.schema import normalise_key
from ceasefire.validate.formulas import RULE as FORMULA_RULE


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _constraints(spec: dict) -> str:
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


def _type(spec: dict) -> str:
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


def render_version_readme(descriptor: dict, report: dict, changes: dict, package: PackageMetadata) -> str:
    """Markdown for ``<version>/README.md``."""
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
        rows = report.get("rows", {}).get(resource["name"].removesuffix("-json"), "")
        lines.append(
            f"| `{resource['path']}` | {resource['name']} | {resource['format']} | {rows} | {resource['bytes']} | "
            f"`{resource['hash'].removeprefix('sha256:')}` |"
        )
    lines += [
        "| `datapackage.json` | | JSON | | | |",
        "| `report.json` | validation findings | JSON | | | |",
        "| `changes.json` | changes since the previous version | JSON | | | |",
        "",
        "The CSV and JSON Lines forms of a resource hold the same records. `datapackage.json` is a "
        "Frictionless Data Package (v2) describing both; `frictionless validate datapackage.json` checks them.",
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
            lines += [f"Primary key: {', '.join(f'`{name}`' for name in key)}.", ""]
        for foreign in schema.get("foreignKeys", []):
            lines += [f"Foreign key: `{foreign['fields']}` → `{foreign['reference']}`.", ""]
        lines += ["| field | type | title | description | constraints |", "|---|---|---|---|---|"]
        for spec in schema["fields"]:
            lines.append(
                f"| `{spec['name']}` | {_cell(_type(spec))} | {_cell(spec.get('title', ''))} | "
                f"{_cell(spec.get('description', ''))} | {_cell(_constraints(spec))} |"
            )
        lines += ["", "An empty CSV cell (`null` in JSON) is a missing value."]
    warnings = [f for f in report.get("findings", []) if f["severity"] == "warning"]
    lines += ["", "## Known warnings", ""]
    if warnings:
        lines.append("Published with these validation warnings (see `report.json`):")
        lines.append("")
        for finding in warnings:
            where = finding["source_file"] + (f":{finding['source_line']}" if finding.get("source_line") else "")
            lines.append(f"- {markdown_code(where)} [{markdown_text(finding['rule'])}] {markdown_text(finding['message'])} "
                         f"(row {markdown_code(finding.get('row_id'))})")
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
        "A published version never changes. Cite the version you used; `changes.json` and the package's "
        "`CHANGELOG.md` list what changed between versions.",
    ]
    return "\n".join(lines) + "\n"
