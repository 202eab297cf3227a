"""Raw values inside the Markdown we generate (CHANGELOG.md, a version's README.md, artifacts).

A raw value is text from the article or a review file, so it may hold backticks, HTML, link syntax
or line breaks. Written as it is, it could close a code span and turn into live Markdown or HTML in
any viewer that renders the file. Every raw value goes through one of these two functions.
"""

from __future__ import annotations

import re

# Characters that start Markdown or HTML constructs in the middle of a line. A value never starts a
# line (it follows a list marker or other text), so block markers such as '-' or '1.' need nothing.
_ACTIVE = re.compile(r"([\\`*_\[\]<>&|~!#{}])")
# Line breaks and invisible characters: a line break would end the list item or table row.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _visible(text: str) -> str:
    return _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}" if match.group() != "\t" else " ", text)


def markdown_text(value: object) -> str:
    """``value`` as plain text in Markdown: every active character backslash-escaped.

    Example:
        >>> markdown_text("<b>x</b> `y` [z](u)")
        '\\\\<b\\\\>x\\\\</b\\\\> \\\\`y\\\\` \\\\[z\\\\](u)'
    """
    return _ACTIVE.sub(r"\\\1", _visible(str(value)))


def markdown_code(value: object) -> str:
    """``value`` as a code span whose fence is longer than any run of backticks inside it.

    Example:
        >>> markdown_code("a`b")
        '``a`b``'
        >>> markdown_code("`x")
        '`` `x ``'
    """
    text = _visible(str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
