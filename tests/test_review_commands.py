"""The review loop through the real command line: raw add, correct, ack, approve-removal and findings.

Each command runs as a subprocess (``ceasefire …``) in a scratch copy of the project, the way a
maintainer runs it; a refused decision exits 2 and leaves every reviewed file byte for byte as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ARTICLE, REPO, SEED_RAW, replace_line, seed_article, seed_cited, tree_snapshot, write_raw_dir

from ceasefire import pipeline

CEASEFIRE = Path(sys.executable).parent / "ceasefire"
YEGHTSAOG_ID = "2021-08-11-2-km-northwest-of-yeghtsaog"  # the row out of date order, raw line 83


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project: the seed's raw folder and empty reviewed files."""
    root = tmp_path / "project"
    shutil.copytree(SEED_RAW, root / "raw")
    (root / "reviews").mkdir()
    for name in ("corrections.json", "acknowledgements.json"):
        shutil.copy(REPO / "reviews" / name, root / "reviews" / name)
    return root


def ceasefire(project: Path, *args: str) -> subprocess.CompletedProcess:
    # No COLUMNS and no terminal: output into a pipe is never cut.
    env = {**{k: v for k, v in os.environ.items() if k != "COLUMNS"}, "CEASEFIRE_REVIEWER": "Test Reviewer"}
    return subprocess.run([str(CEASEFIRE), *args], cwd=project, env=env, capture_output=True, text=True, timeout=300)


def latest_report(project: Path) -> dict:
    return json.loads((project / "reports" / "latest" / "report.json").read_text(encoding="utf-8"))


def assert_refused(project: Path, result: subprocess.CompletedProcess, before: dict[str, bytes], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "nothing was written" in result.stderr and "Traceback" not in result.stderr
    assert tree_snapshot(project / "raw") | tree_snapshot(project / "reviews") == before


def reviewed_files(project: Path) -> dict[str, bytes]:
    return tree_snapshot(project / "raw") | tree_snapshot(project / "reviews")


# --- raw add ---------------------------------------------------------------------------------------


def test_raw_add_registers_a_dated_copy_and_retires_the_entry_it_replaces(project, tmp_path):
    revision = tmp_path / "saved-article.txt"
    revision.write_text(replace_line(seed_article(), 83, seed_article().split("\n")[82].replace("11.08.2021", "08.11.2021")),
                        encoding="utf-8")  # fmt: skip

    result = ceasefire(project, "raw", "add", str(revision), "--role", "article", "--retrieved", "2025-01-02",
                       "--note", "revision 1234567 saved as plain text")  # fmt: skip

    assert result.returncode == 0, result.stderr
    name = "wikipedia-peacekeeping-nagorno-karabakh-2025-01-02.txt"
    assert (project / "raw" / name).read_bytes() == revision.read_bytes()
    assert (project / "raw" / ARTICLE).read_bytes() == (SEED_RAW / ARTICLE).read_bytes()  # the old copy is never touched
    provenance = json.loads((project / "raw" / "provenance.json").read_text(encoding="utf-8"))
    [entry] = [e for e in provenance["files"] if e["role"] == "article"]
    assert entry["path"] == name and entry["replaces"] == ARTICLE
    assert entry["sha256"] == hashlib.sha256(revision.read_bytes()).hexdigest()
    assert (entry["retrieved"], entry["retrieval"]) == ("2025-01-02", "revision 1234567 saved as plain text")
    assert entry["source"] == "https://en.wikipedia.org/wiki/Peacekeeping_operations_in_Nagorno-Karabakh"
    [retired] = provenance["retired"]
    assert (retired["path"], retired["replaced_by"]) == (ARTICLE, name)
    assert not [p for p in (project / "raw").iterdir() if p.name.startswith(".tmp-")]
    # The pipeline reads the new revision: its corrected date ends the ordering warning.
    assert ceasefire(project, "validate").returncode == 0
    report = latest_report(project)
    assert report["raw_files"][0]["file"] == name
    assert "chronological-order" not in report["counts"]["by_rule"]


@pytest.mark.parametrize(
    ("content", "role", "message"),
    [
        (b"no table here\n", "article", "no table with the columns date | number of violations"),
        (b"caf\xe9 ok\n", "article", "saved-article.txt:1:4: not valid UTF-8"),
        (b"", "cited_sentences", "the file is empty"),
        (None, "article", "is already registered as wikipedia-peacekeeping-nagorno-karabakh.txt"),
        (b"x\n", "appendix", "--role 'appendix' is not a raw role"),
    ],
    ids=["no-table", "not-utf8", "empty", "same-sha256", "unknown-role"],
)
def test_raw_add_refuses_unusable_files_and_writes_nothing(project, tmp_path, content, role, message):
    revision = tmp_path / "saved-article.txt"
    revision.write_bytes((SEED_RAW / ARTICLE).read_bytes() if content is None else content)
    before = reviewed_files(project)

    result = ceasefire(project, "raw", "add", str(revision), "--role", role, "--note", "a note")

    assert_refused(project, result, before, message)


def test_raw_add_refuses_a_revision_edited_while_it_is_copied(project, tmp_path, monkeypatch):
    """The revision is checked in blocks and copied from disk, never held whole: bytes that are no
    longer the ones checked stop the copy, and nothing is left in the raw folder."""
    from ceasefire.errors import RawInputError
    from ceasefire.review import raw_revision

    revision = tmp_path / "saved-article.txt"
    revision.write_bytes((SEED_RAW / ARTICLE).read_bytes().replace(b"Shusha", b"Shushi", 1))
    check = raw_revision.find_violations_table

    def edited_after_the_check(document):
        found = check(document)
        revision.write_bytes(revision.read_bytes().replace(b"Shushi", b"Shushy", 1))
        return found

    monkeypatch.setattr(raw_revision, "find_violations_table", edited_after_the_check)
    before = reviewed_files(project)
    with pytest.raises(RawInputError, match="saved-article.txt: changed on disk while the run was reading it"):
        raw_revision.add_raw_revision(project / "raw", revision, "article", "a note", dt.date(2026, 12, 5))
    assert reviewed_files(project) == before


# --- correct ---------------------------------------------------------------------------------------


def test_correct_records_the_current_value_and_the_next_run_applies_it(project):
    assert ceasefire(project, "validate").returncode == 0
    result = ceasefire(project, "correct", YEGHTSAOG_ID, "date_text", "08.11.2021",
                       "--reason", "the cited report is dated 8 November 2021")  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "the row's id becomes 2021-11-08-2-km-northwest-of-yeghtsaog" in result.stdout
    [entry] = json.loads((project / "reviews" / "corrections.json").read_text(encoding="utf-8"))["corrections"]
    assert entry == {"resource": "violations", "id": YEGHTSAOG_ID, "field": "date_text", "old_value": "11.08.2021",
                     "new_value": "08.11.2021", "reason": "the cited report is dated 8 November 2021",
                     "reviewer": "Test Reviewer", "date": entry["date"]}  # fmt: skip
    assert ceasefire(project, "validate").returncode == 0
    report = latest_report(project)
    assert [c["new_id"] for c in report["corrections_applied"]] == ["2021-11-08-2-km-northwest-of-yeghtsaog"]
    assert "chronological-order" not in report["counts"]["by_rule"]
    # Only the findings of the corrected row and its new day move: its ordering warning and its
    # unmatched-row warning resolve, the same row under its new id is new; 8 November now has two
    # table rows, so the prose's worker killed that day no longer links by date alone (its row and
    # the incident become unmatched). The other 26 unmatched rows keep their fingerprints.
    resolved = [(f["rule"], f["row_id"]) for f in report["comparison"]["resolved"]]
    assert sorted(resolved) == [("chronological-order", YEGHTSAOG_ID), ("table-rows-without-prose-event", YEGHTSAOG_ID)]
    new = [(f["rule"], f["row_id"]) for f in report["findings"] if f["new"]]
    assert sorted(new) == [("prose-incident-without-table-row", "2021-11-08-the-armenian-media-reported-that-the-attacker"),
                           ("table-rows-without-prose-event", "2021-11-08-2-km-northwest-of-yeghtsaog"),
                           ("table-rows-without-prose-event", "2021-11-08-near-shusha")]  # fmt: skip


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([YEGHTSAOG_ID, "bogus", "1"], "violations has no field 'bogus'; its fields are violation_id, date_start"),
        ([YEGHTSAOG_ID, "violation_count", "two"], "violation_count: 'two' is not an integer"),
        ([YEGHTSAOG_ID, "violation_count", "0"], "violation_count: 0 is below the minimum 1"),
        ([YEGHTSAOG_ID, "date_start", "2021-11-31"], "date_start: '2021-11-31' is not a date"),
        ([YEGHTSAOG_ID, "violator", "Martians"], "violator: 'Martians' is not one of: Azerbaijan, Armenia"),
        ([YEGHTSAOG_ID, "violation_id", "x"], "violation_id identifies the record and cannot be corrected"),
        ([YEGHTSAOG_ID, "violation_count", "1"], "violation_count is already '1': nothing to correct"),
        ([YEGHTSAOG_ID[:-1], "violation_count", "2"], f"no record has the id '{YEGHTSAOG_ID[:-1]}'; did you mean {YEGHTSAOG_ID}"),
    ],
    ids=["unknown-field", "not-an-integer", "below-minimum", "impossible-date", "not-in-vocabulary", "id-field",
         "same-value", "unknown-row"],
)  # fmt: skip
def test_correct_refuses_what_the_table_schema_cannot_read_and_writes_nothing(project, arguments, message):
    before = reviewed_files(project)

    result = ceasefire(project, "correct", *arguments, "--reason", "checked against the source")

    assert_refused(project, result, before, message)


def test_correct_needs_a_reason_and_a_reviewer(project):
    before = reviewed_files(project)
    assert_refused(project, ceasefire(project, "correct", YEGHTSAOG_ID, "violation_count", "2", "--reason", " "), before,
                   "--reason is empty")  # fmt: skip
    result = ceasefire(project, "correct", YEGHTSAOG_ID, "violation_count", "2", "--reason", "r", "--reviewer", "")
    assert_refused(project, result, before, "--reviewer is empty: every decision names who reviewed it")


# --- ack and findings ------------------------------------------------------------------------------


def test_ack_of_one_unmatched_row_acknowledges_that_row_only(project):
    assert ceasefire(project, "validate").returncode == 0
    unmatched = [f for f in latest_report(project)["findings"] if f["rule"] == "table-rows-without-prose-event"]
    first, second = unmatched[:2]

    result = ceasefire(project, "ack", first["fingerprint"], "--reason", "the article narrates few incidents")

    assert result.returncode == 0, result.stderr
    [entry] = json.loads((project / "reviews" / "acknowledgements.json").read_text(encoding="utf-8"))["acknowledgements"]
    assert (entry["fingerprint"], entry["row_id"], entry["who"]) == (first["fingerprint"], first["row_id"], "Test Reviewer")
    assert ceasefire(project, "validate").returncode == 0
    after = {f["fingerprint"]: f for f in latest_report(project)["findings"]}
    assert after[first["fingerprint"]]["acknowledged"]["reason"] == "the article narrates few incidents"
    assert after[second["fingerprint"]]["acknowledged"] is None
    assert latest_report(project)["counts"]["acknowledged"] == 1
    assert latest_report(project)["counts"]["resolved"] == 0  # no other fingerprint moved


def test_ack_refuses_a_fingerprint_the_last_run_does_not_have(project):
    before = reviewed_files(project)
    assert_refused(project, ceasefire(project, "ack", "enum-000000000000", "--reason", "r"), before,
                   "no report in reports/latest: run `ceasefire validate`")  # fmt: skip
    assert ceasefire(project, "validate").returncode == 0
    result = ceasefire(project, "ack", "chronological-order-000000000000", "--reason", "r")
    assert_refused(project, result, before, "no finding of the last run")
    fingerprint = next(f["fingerprint"] for f in latest_report(project)["findings"] if f["rule"] == "chronological-order")
    assert ceasefire(project, "ack", fingerprint, "--reason", "r").returncode == 0
    again = reviewed_files(project)
    assert_refused(project, ceasefire(project, "ack", fingerprint, "--reason", "r"), again, "is already acknowledged")


def test_findings_lists_filters_and_shows_one_with_its_raw_line(project):
    assert ceasefire(project, "validate").returncode == 0
    fingerprint = next(f["fingerprint"] for f in latest_report(project)["findings"] if f["rule"] == "chronological-order")

    listed = ceasefire(project, "findings", "--rule", "chronological-order")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0] == (
        f"{fingerprint}  new          {ARTICLE}:83:3: warning chronological-order: the row is dated earlier than a row "
        f"above it (row {YEGHTSAOG_ID}, column date_start, value '11.08.2021', expected rows in chronological order: "
        "no date earlier than a row above it)"
    )
    assert "1 of 35 findings of run" in listed.stdout
    assert len(ceasefire(project, "findings", "--rule", "table-rows-without-prose-event").stdout.splitlines()) == 27 + 1
    assert "0 of 35 findings" in ceasefire(project, "findings", "--severity", "error").stdout

    shown = ceasefire(project, "findings", fingerprint).stdout.splitlines()
    raw_line = next(line for line in shown if line.startswith("     83 | "))
    marker = shown[shown.index(raw_line) + 1]
    assert raw_line[marker.index("^"):len(marker)] == "11.08.2021"
    assert f"  to do: Check the date against the cited source; if it is wrong, record the right date with " \
           f"`ceasefire correct {YEGHTSAOG_ID} date_start VALUE" in "\n".join(shown)  # fmt: skip

    unknown = ceasefire(project, "findings", "--rule", "date-format")
    assert unknown.returncode == 2 and "rules that fired: chronological-order, date-unresolved" in unknown.stderr


# --- the reviewed files are replaced atomically ----------------------------------------------------


def test_a_failed_write_leaves_the_reviewed_file_as_it_was(tmp_path, monkeypatch):
    from ceasefire.review.files import write_reviewed_json

    path = tmp_path / "corrections.json"
    path.write_text('{"corrections": []}\n', encoding="utf-8")

    def fail(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_reviewed_json(path, {"corrections": [{"id": "x"}]})
    assert path.read_text(encoding="utf-8") == '{"corrections": []}\n'
    monkeypatch.undo()
    write_reviewed_json(path, {"corrections": [{"id": "x"}]})
    assert json.loads(path.read_text(encoding="utf-8")) == {"corrections": [{"id": "x"}]}


def test_approve_removal_lets_a_published_row_go_and_refuses_what_it_cannot_approve(project):
    dist = project / "dist"
    first = pipeline.run(project / "raw", dist)
    published = pd.read_csv(first.path / "data" / "violations.csv")
    dropped = published.loc[published["source_line"] == 79, "violation_id"].item()
    write_raw_dir(project / "raw", replace_line(seed_article(), 79, None), seed_cited())
    assert pipeline.run(project / "raw", dist).status == "failed"  # the row-removed gate holds

    unknown = ceasefire(project, "approve-removal", "2099-01-01-nowhere", "--resource", "violations", "--reason", "typo")
    assert unknown.returncode == 2 and "version 1.0.0 has no violations row '2099-01-01-nowhere'" in unknown.stderr
    assert not (project / "reviews" / "removals.json").exists()  # nothing was written

    approved = ceasefire(project, "approve-removal", dropped, "--resource", "violations", "--reason", "a duplicate of the next row")
    assert approved.returncode == 0, approved.stderr
    [entry] = json.loads((project / "reviews" / "removals.json").read_text(encoding="utf-8"))["removals"]
    assert (entry["resource"], entry["id"], entry["reason"], entry["reviewer"]) == (
        "violations", dropped, "a duplicate of the next row", "Test Reviewer")
    again = ceasefire(project, "approve-removal", dropped, "--resource", "violations", "--reason", "twice")
    assert again.returncode == 2 and "already approved" in again.stderr and "Traceback" not in again.stderr

    outcome = pipeline.run(project / "raw", dist)
    assert (outcome.status, outcome.version, outcome.bump) == ("published", "2.0.0", "major")
    assert json.loads((outcome.path / "changes.json").read_text(encoding="utf-8"))["removals_approved"][0]["id"] == dropped
