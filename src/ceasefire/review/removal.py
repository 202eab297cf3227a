"""Recording a reviewed approval to drop one published row from the next version.

A row of the latest version that a new build lacks blocks publishing (rule ``row-removed``,
``validate/removals.py``). The approval names a row that really is published, so a typo cannot
approve nothing, and it is refused twice.
"""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

from ceasefire.publish.publishing import list_versions
from ceasefire.publish.releases import snapshot_from_folder
from ceasefire.review.files import REVIEWER_NEEDED, ReviewError, read_reviewed_json, require_text, write_reviewed_json
from ceasefire.validate.removals import Removal, load_removals

DESCRIPTION = (
    "Reviewed approvals to drop a published row from the next version, recorded with `ceasefire approve-removal "
    "ROW_ID --resource RESOURCE --reason …`. Each approved removal makes the next release MAJOR. See docs/RELEASES.md."
)


def record_removal(
    package_dir: Path, removals_file: Path, resource: str, row_id: str, reason: str, reviewer: str, today: dt.date
) -> Removal:
    """Append the approval to drop ``resource`` row ``row_id`` of the latest version in ``package_dir``."""
    reason = require_text(reason, "--reason", "every removal says why the published row goes")
    reviewer = require_text(reviewer, "--reviewer", REVIEWER_NEEDED)
    versions = list_versions(package_dir) if package_dir.is_dir() else []
    if not versions:
        raise ReviewError(f"nothing is published in {package_dir}: there is no row to remove")
    latest = versions[-1]
    snapshot = snapshot_from_folder(package_dir / str(latest))
    if resource not in snapshot.resources:
        raise ReviewError(f"version {latest} has no resource {resource!r}; it has {', '.join(snapshot.resources)}")
    rows = snapshot.resources[resource].rows
    if row_id not in rows:
        close = difflib.get_close_matches(row_id, list(rows), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ReviewError(f"version {latest} has no {resource} row {row_id!r}{hint}")
    if any((r.resource, r.id) == (resource, row_id) for r in load_removals(removals_file)):
        raise ReviewError(f"the removal of {resource} {row_id} is already approved in {removals_file}")
    removal = Removal(resource=resource, id=row_id, reason=reason, reviewer=reviewer, date=today.isoformat())
    data = read_reviewed_json(removals_file, "removals", DESCRIPTION)
    data["removals"].append(removal.to_dict())
    write_reviewed_json(removals_file, data)
    return removal
