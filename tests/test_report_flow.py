"""The flow's report artifacts and Failed state message (one run under the Prefect engine)."""

from __future__ import annotations

import json

import pytest
from conftest import ARTICLE, replace_line, seed_article, seed_cited, tree_snapshot, write_raw_dir


@pytest.mark.prefect
def test_failed_flow_run_reports_its_errors_in_state_report_and_artifacts(tmp_path, dist_dir):
    from prefect.artifacts import Artifact

    from flows.publish import FINDINGS_ARTIFACT_KEY, REPORT_LINK_ARTIFACT_KEY, SUMMARY_ARTIFACT_KEY, publish_dataset

    lines = seed_article().split("\n")
    article = replace_line(seed_article(), 86, lines[85].replace("| 1 |", "| 0 |", 1))
    raw = write_raw_dir(tmp_path / "raw", article, seed_cited())
    reports = tmp_path / "reports"

    state = publish_dataset(raw_dir=str(raw), dist_dir=str(dist_dir), reports_dir=str(reports),
                            acknowledgements=str(tmp_path / "none.json"), return_state=True)  # fmt: skip

    assert state.is_failed()
    assert "1 validation error, 35 warnings; nothing published" in state.message
    assert tree_snapshot(dist_dir) == {}
    report = json.loads((reports / "latest" / "report.json").read_text(encoding="utf-8"))
    assert (report["status"], report["run"]["command"], report["run"]["outcome"]) == ("failed", "publish", "failed")
    run_dir = reports / "runs" / report["run"]["id"]
    assert (run_dir / "report.html").is_file()

    table = Artifact.get(FINDINGS_ARTIFACT_KEY)
    link = Artifact.get(REPORT_LINK_ARTIFACT_KEY)
    summary = Artifact.get(SUMMARY_ARTIFACT_KEY)
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    listed = [(row["severity"], row["rule"], row["where"]) for row in rows]
    assert [row for row in listed if row[1] != "table-rows-without-prose-event"] == [
        ("error", "minimum", f"{ARTICLE}:86:16"),
        *[("warning", "prose-incident-without-table-row", f"{ARTICLE}:{line}") for line in (52, 55, 59, 61, 63)],
        ("warning", "date-unresolved", f"{ARTICLE}:73:420"),
        ("warning", "chronological-order", f"{ARTICLE}:83:3"),
        ("warning", "date-unresolved", f"{ARTICLE}:140:298"),
    ]
    assert next(row for row in listed if row[1] == "table-rows-without-prose-event") == (
        "warning", "table-rows-without-prose-event", f"{ARTICLE}:80")
    assert [rows[0]["value"], next(r["value"] for r in rows if r["rule"] == "chronological-order")] == ["0", "11.08.2021"]
    assert (run_dir / "report.html").resolve().as_uri() in link.data
    assert "Ceasefire dataset run: failed" in summary.data and "36 new, 0 resolved, 0 acknowledged" in summary.data  # no earlier run: all new
