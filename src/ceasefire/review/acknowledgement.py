"""Recording a reviewed acknowledgement of one finding of the last run, by its fingerprint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ceasefire.report.build import parse_acknowledgements
from ceasefire.review.files import REVIEWER_NEEDED, ReviewError, read_reviewed_json, require_text, write_reviewed_json
from ceasefire.review.last_run import find_finding, load_last_report

DESCRIPTION = (
    "Reviewed findings that are known and accepted, recorded with `ceasefire ack FINGERPRINT --reason …`. An "
    "acknowledged finding stays in every report, marked acknowledged, and is never counted as new. See docs/REPORTS.md."
)


def record_acknowledgement(
    reports_dir: Path, acknowledgements_file: Path, fingerprint: str, reason: str, who: str, today: dt.date
) -> dict:
    """Append an acknowledgement of the last run's finding ``fingerprint``; return the entry written.

    The fingerprint must name a finding of the last run: a typo, or a finding that is already gone,
    is refused rather than recorded as an entry that matches nothing.
    """
    reason = require_text(reason, "--reason", "every acknowledgement says why the finding is accepted")
    who = require_text(who, "--reviewer", REVIEWER_NEEDED)
    finding = find_finding(load_last_report(reports_dir), fingerprint)
    data = read_reviewed_json(acknowledgements_file, "acknowledgements", DESCRIPTION)
    existing, problems = parse_acknowledgements(data)
    if problems:
        raise ReviewError(f"{acknowledgements_file}: {'; '.join(problems)}; fix the file before adding to it")
    for known in existing:
        if known.fingerprint == finding["fingerprint"]:
            raise ReviewError(f"{finding['fingerprint']} is already acknowledged ({known.who}, {known.date}: {known.reason})")
    entry = {"fingerprint": finding["fingerprint"], "rule": finding["rule"]}
    if finding.get("row_id"):
        entry["row_id"] = finding["row_id"]
    entry.update({"reason": reason, "who": who, "date": today.isoformat()})
    data["acknowledgements"].append(entry)
    write_reviewed_json(acknowledgements_file, data)
    return entry
