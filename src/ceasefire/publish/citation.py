"""How to cite a version, in the forms citation managers read: CITATION.cff and BibTeX.

Both come from the version's ``datapackage.json``, so they name the same title, version, date,
licence and source article as the package itself.
"""

from __future__ import annotations

import json
import re

ARTICLE_TITLE = "Peacekeeping operations in Nagorno-Karabakh"
ARTICLE_AUTHOR = "Wikipedia contributors"


def publisher(descriptor: dict) -> str:
    """Who publishes the dataset: the contributor with the ``publisher`` role (``schemas/package.json``)."""
    return next(c["title"] for c in descriptor["contributors"] if "publisher" in c.get("roles", []))


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON string syntax is valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def render_citation_cff(descriptor: dict) -> str:
    """``CITATION.cff`` (Citation File Format 1.2.0) for one version, the source article as a reference."""
    license_ = descriptor["licenses"][0]["name"]
    article = descriptor["sources"][0]["path"]
    lines = [
        "cff-version: 1.2.0",
        'message: "If you use this dataset, please cite this version of it and the Wikipedia article it is derived from."',
        "type: dataset",
        f"title: {_quoted(descriptor['title'])}",
        f"abstract: {_quoted(descriptor['description'])}",
        f"version: {_quoted(descriptor['version'])}",
        f"date-released: {_quoted(descriptor['created'][:10])}",
        f"license: {license_}",
        "authors:",
        f"  - name: {_quoted(publisher(descriptor))}",
    ]
    if descriptor.get("homepage"):
        lines.append(f"url: {_quoted(descriptor['homepage'])}")
    if descriptor.get("id"):
        lines += ["identifiers:", "  - type: other", f"    value: {_quoted(descriptor['id'])}",
                  f"    description: {_quoted('Data Package id of ' + descriptor['name'])}"]  # fmt: skip
    lines += ["keywords:", *[f"  - {_quoted(word)}" for word in descriptor.get("keywords", [])]]
    lines += [
        "references:",
        "  - type: encyclopedia",
        f"    title: {_quoted(ARTICLE_TITLE)}",
        "    authors:",
        f"      - name: {_quoted(ARTICLE_AUTHOR)}",
        f"    collection-title: {_quoted('English Wikipedia')}",
        f"    url: {_quoted(article)}",
        f"    license: {license_}",
    ]
    return "\n".join(lines) + "\n"


def bibtex_key(descriptor: dict) -> str:
    return re.sub(r"[^a-z0-9]+", "_", f"{descriptor['name']} {descriptor['version']}".lower()).strip("_")


def _braced(text: str) -> str:
    """A BibTeX value: braces balanced by dropping stray ones, LaTeX specials escaped."""
    text = re.sub(r"([&%$#_])", r"\\\1", text.replace("\\", "").replace("{", "").replace("}", ""))
    return "{" + text + "}"


def render_bibtex(descriptor: dict) -> str:
    """A ``@misc`` BibTeX entry for one version."""
    fields = [
        ("author", "{" + publisher(descriptor) + "}"),
        ("title", _braced(descriptor["title"])),
        ("year", _braced(descriptor["created"][:4])),
        ("version", _braced(descriptor["version"])),
        ("publisher", _braced(publisher(descriptor))),
        ("url", "{" + re.sub(r"[{}\s]", "", descriptor.get("homepage") or descriptor["sources"][0]["path"]) + "}"),
        ("note", _braced(
            f"Data set, published {descriptor['created'][:10]}. Derived from {ARTICLE_AUTHOR}, "
            f"\"{ARTICLE_TITLE}\", English Wikipedia, {descriptor['sources'][0]['path']}, "
            f"{descriptor['licenses'][0]['name']}"
        )),
    ]  # fmt: skip
    body = ",\n".join(f"  {name} = {value}" for name, value in fields)
    return f"@misc{{{bibtex_key(descriptor)},\n{body}\n}}\n"
