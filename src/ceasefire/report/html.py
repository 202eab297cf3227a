"""``report.html``: the report dict rendered for people with Jinja2, autoescaping on.

Raw text is untrusted: every value reaches the page through autoescaping, and no markup is built
in Python. The page has no scripts and no external resources, so it works offline from disk.
"""

from __future__ import annotations

from typing import Any

import jinja2

from ceasefire.report.charts import stacked_bars

SAMPLES_SHOWN = 5


def autoescaped_environment(package: str = "ceasefire.report") -> jinja2.Environment:
    """The Jinja2 environment of every HTML page we publish: ``package``'s templates, autoescaping on."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        autoescape=True,  # not select_autoescape: the template's .j2 suffix would turn it off
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report_html(report: dict[str, Any]) -> str:
    """The HTML page of a report built by :func:`ceasefire.report.build_report`."""
    by_fingerprint = {entry["fingerprint"]: entry for entry in report["findings"]}
    groups = []
    for group in report["groups"]:
        members = [entry for entry in report["findings"] if entry["rule"] == group["rule"]]
        groups.append({**group, **report["rules"][group["rule"]], "shown": members[:SAMPLES_SHOWN],
                       "more": members[SAMPLES_SHOWN:]})  # fmt: skip
    charts = {
        name: stacked_bars(data) if data else None for name, data in report["charts"].items()
    }
    new_since_release: dict[str, list[dict]] = {}
    for fingerprint in (report.get("since_release") or {}).get("new_findings", []):
        entry = by_fingerprint[fingerprint]
        new_since_release.setdefault(entry["rule"], []).append(entry)
    template = autoescaped_environment().get_template("report.html.j2")
    return template.render(report=report, groups=groups, charts=charts, by_fingerprint=by_fingerprint,
                           new_since_release=new_since_release)  # fmt: skip
