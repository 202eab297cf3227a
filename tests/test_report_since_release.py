"""The report answers "what changed": the data diff since the last published version and the
findings that version did not have, in report.json and on the page in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chromium import render_page
from conftest import replace_line, seed_article, seed_cited, write_raw_dir

from ceasefire import pipeline

CEASEFIRE = Path(sys.executable).parent / "ceasefire"
COUNT_CHANGED = "2022-02-15-near-the-village-of-dzhanatag"  # raw line 86: its count goes from 1 to 2
REMOVED = "2022-03-04-near-the-village-of-marzili"  # raw line 88, removed
UNKNOWN_PLACE = "2022-03-08-near-the-hill-of-nowhere"  # raw line 92, now names a place no gazetteer knows


def _changed_article() -> str:
    lines = seed_article().split("\n")
    article = replace_line(seed_article(), 86, lines[85].replace("| 1 |", "| 2 |", 1))
    article = replace_line(article, 92, lines[91].replace("near the village of Khramort", "near the hill of Nowhere"))
    return replace_line(article, 88, None)


@pytest.fixture
def validated_after_a_release(tmp_path: Path) -> Path:
    """1.0.0 published from the seed, then ``ceasefire validate`` on a changed article."""
    dist = tmp_path / "dist"
    assert pipeline.run(write_raw_dir(tmp_path / "seed", seed_article(), seed_cited()), dist).status == "published"
    raw = write_raw_dir(tmp_path / "raw", _changed_article(), seed_cited())
    reports = tmp_path / "reports"
    result = subprocess.run([str(CEASEFIRE), "validate", "--raw", str(raw), "--dist", str(dist), "--reports", str(reports)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != "COLUMNS"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "nothing published; since 1.0.0 (major): violations 1 row removed, " in result.stdout
    return reports / "latest"


def test_report_json_holds_the_data_diff_and_the_findings_new_since_the_release(validated_after_a_release):
    report = json.loads((validated_after_a_release / "report.json").read_text(encoding="utf-8"))
    since = report["since_release"]

    assert since["version"] == "1.0.0"
    violations = since["changes"]["resources"]["violations"]
    assert (violations["rows_before"], violations["rows_after"]) == (33, 32)
    assert violations["rows_removed"] == [REMOVED]
    changed = {row["id"]: row for row in violations["rows_changed"]}
    assert changed[COUNT_CHANGED]["fields"]["violation_count"] == {"old": "1", "new": "2"}
    assert changed[UNKNOWN_PLACE]["previous_id"] == "2022-03-08-near-the-village-of-khramort"
    new = [f for f in report["findings"] if f["fingerprint"] in since["new_findings"]]
    assert ("place-unresolved", UNKNOWN_PLACE) in [(f["rule"], f["row_id"]) for f in new]
    assert "chronological-order" not in [f["rule"] for f in new]  # 1.0.0 already had it


@pytest.mark.browser
def test_report_page_shows_what_changed_beside_the_findings_in_chromium(validated_after_a_release, tmp_path):
    page = render_page(validated_after_a_release / "report.html", tmp_path / "report.png", width=1366, height=900)
    text = page.text

    report = json.loads((validated_after_a_release / "report.json").read_text(encoding="utf-8"))
    changed = len(report["since_release"]["changes"]["resources"]["violations"]["rows_changed"])
    assert "What changed since the last published version Compared with 1.0.0" in text
    # Rows before, after, added, removed, changed: the rows below the removed line moved up (source_line).
    assert f"violations 33 32 0 1 {changed}" in text and changed > 2
    assert f"− {REMOVED}" in text
    assert f"~ {COUNT_CHANGED}: violation_count 1 → 2" in text
    new_count = len(report["since_release"]["new_findings"])
    assert f"{new_count} findings that 1.0.0 did not have: rule new first of them" in text
    assert "place-unresolved 1 " in text  # new findings grouped by rule, with a count
    assert text.index("What changed since the last published version") < text.index("Findings by rule")
    assert 'href="#finding-' in page.dom and "<script" not in page.dom


def test_a_published_version_reports_what_changed_since_the_one_before(tmp_path: Path):
    dist = tmp_path / "dist"
    pipeline.run(write_raw_dir(tmp_path / "seed", seed_article(), seed_cited()), dist)
    # The changed article drops a row: publishing it needs a reviewed approval, and makes a MAJOR release.
    (tmp_path / "reviews").mkdir()
    (tmp_path / "reviews" / "removals.json").write_text(json.dumps({"removals": [
        {"resource": "violations", "id": REMOVED, "reason": "the row was a duplicate", "reviewer": "test", "date": "2024-05-01"}]}))
    outcome = pipeline.run(write_raw_dir(tmp_path / "raw", _changed_article(), seed_cited()), dist)

    report = json.loads((outcome.path / "report.json").read_text(encoding="utf-8"))
    assert (outcome.version, report["since_release"]["version"]) == ("2.0.0", "1.0.0")
    assert report["since_release"]["changes"]["resources"]["violations"]["rows_removed"] == [REMOVED]
    first = json.loads((dist / "nagorno-karabakh-ceasefire" / "1.0.0" / "report.json").read_text(encoding="utf-8"))
    assert first["since_release"] is None  # nothing was published before 1.0.0
