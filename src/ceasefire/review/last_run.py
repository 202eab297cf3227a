"""The last run's findings, as its report (``<reports>/latest/report.json``) recorded them."""

from __future__ import annotations

import difflib
from pathlib import Path

from ceasefire.report.build import read_latest_report
from ceasefire.review.files import ReviewError


def load_last_report(reports_dir: Path) -> dict:
    """The newest run's report; none yet is an error that says how to make one."""
    report = read_latest_report(reports_dir)
    if report is None or not isinstance(report.get("findings"), list):
        raise ReviewError(f"no report in {reports_dir / 'latest'}: run `ceasefire validate` (or `ceasefire publish`) first")
    return report


def finding_state(entry: dict) -> str:
    """``acknowledged``, ``new`` (not in the run before) or ``known``."""
    return "acknowledged" if entry.get("acknowledged") else "new" if entry.get("new") else "known"


def select_findings(report: dict, *, rule: str | None = None, severity: str | None = None, state: str | None = None) -> list[dict]:
    """The report's findings, filtered; an unknown rule is an error that lists the rules that fired."""
    if rule is not None and rule not in report["counts"]["by_rule"]:
        fired = ", ".join(report["counts"]["by_rule"]) or "none"
        raise ReviewError(f"no finding of the rule {rule!r} in the last run; rules that fired: {fired}")
    return [
        entry for entry in report["findings"]
        if (rule is None or entry["rule"] == rule) and (severity is None or entry["severity"] == severity)
        and (state is None or finding_state(entry) == state)
    ]  # fmt: skip


def find_finding(report: dict, fingerprint: str) -> dict:
    """The finding with ``fingerprint`` (or the only one it is a prefix of) in the last run."""
    entries = report["findings"]
    for entry in entries:
        if entry["fingerprint"] == fingerprint:
            return entry
    prefixed = [entry for entry in entries if entry["fingerprint"].startswith(fingerprint)]
    if len(prefixed) == 1:
        return prefixed[0]
    run = report.get("run", {}).get("id", "?")
    if len(prefixed) > 1:
        raise ReviewError(f"{fingerprint!r} starts {len(prefixed)} fingerprints of run {run}; give more of it")
    close = difflib.get_close_matches(fingerprint, [entry["fingerprint"] for entry in entries], n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; `ceasefire findings` lists them"
    raise ReviewError(f"no finding of the last run ({run}) has the fingerprint {fingerprint!r}{hint}")
