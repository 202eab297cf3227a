"""Hostile input, one case each (docs/RELIABILITY.md): no row is lost silently, no file outside
raw/ is read, no parser crashes, and each failure has its own exit code and one line naming the path."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from ceasefire import PACKAGE_NAME, pipeline
from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.errors import OutputLocationError, RawInputError
from ceasefire.extract.raw import decode_raw_bytes
from ceasefire.pipeline import build_dataset, run
from ceasefire.publish.releases import render_changes_markdown
from ceasefire.publish.version_readme import render_version_readme
from conftest import ARTICLE, insert_line, replace_line, seed_article, seed_cited, tree_snapshot, write_raw_dir
from flows.cli import main

CEASEFIRE = Path(sys.executable).parent / "ceasefire"
ROW_LINE = 82  # | 08.11.2021 | 1 | near Shusha | Azerbaijan | ... 1 worker killed and 3 injured |
ROW = seed_article().split("\n")[ROW_LINE - 1]
LAST_TABLE_LINE = 111
TABLE_ROWS = 33


@pytest.fixture
def published_dist(seed_raw_dir: Path, dist_dir: Path) -> Path:
    assert run(seed_raw_dir, dist_dir).status == "published"
    return dist_dir


def _errors(outcome_or_build) -> list[tuple[str, int | None, str | None]]:
    return sorted((f.rule, f.source_line, f.column) for f in outcome_or_build.findings if f.severity == "error")


def _raw(tmp_path: Path, article: str, name: str = "case") -> Path:
    return write_raw_dir(tmp_path / name / "raw", article, seed_cited())


# --- every table line is a row or a finding ---------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "article", "line", "message"),
    [
        ("blank-line-inside-the-table", insert_line(seed_article(), 85, ""), 86, "blank line inside the table"),
        ("row-without-leading-pipe", replace_line(seed_article(), ROW_LINE, ROW.lstrip("| ")), ROW_LINE, "does not start with '|'"),
        ("tabs-for-pipes", replace_line(seed_article(), ROW_LINE, ROW.strip("| ").replace(" | ", "\t")), ROW_LINE, "separated by tabs"),
        ("prose-inside-the-table", insert_line(seed_article(), 90, "A note about the rows above."), 91, "not a table row"),
    ],
)  # fmt: skip
def test_damaged_table_line_blocks_publishing_and_names_its_line(published_dist, tmp_path, case, article, line, message):
    before = tree_snapshot(published_dist)
    outcome = run(_raw(tmp_path, article, case), published_dist)
    assert outcome.exit_code == 1
    [finding] = [f for f in outcome.findings if f.rule == "table-line"]
    assert (finding.source_file, finding.source_line, finding.severity) == (ARTICLE, line, "error")
    assert message in finding.message
    assert article.split("\n")[line - 1] == (finding.value or "")
    assert tree_snapshot(published_dist) == before


def test_blank_line_inside_the_table_keeps_every_row_below_it(tmp_path):
    build = build_dataset(_raw(tmp_path, insert_line(seed_article(), 85, "")))
    assert len(build.extractions["violations"].frame) == TABLE_ROWS


@pytest.mark.parametrize("separator", ["\u0085", "\u2028", "\u2029", "\x0c", "\r"])
def test_unicode_line_separator_in_a_row_keeps_every_line_number(tmp_path, separator):
    article = replace_line(seed_article(), ROW_LINE, ROW.replace("near Shusha", f"near{separator}Shusha"))
    build = build_dataset(_raw(tmp_path, article))
    frame = build.extractions["violations"].frame
    assert len(frame) == TABLE_ROWS
    lines = article.split("\n")
    for source_line, date_text in zip(frame["source_line"].tolist(), frame["date_text"].tolist()):
        assert f"| {date_text} |" in lines[source_line - 1]  # what `sed -n <line>p` shows
    assert ("control-character", ROW_LINE, "location") in _errors(build)


def test_raw_lines_are_split_on_line_feeds_only():
    assert decode_raw_bytes("a.txt", "one\u2028two\r\nthree\u0085four\n".encode()) == ("one\u2028two", "three\u0085four")


def test_second_violations_table_is_an_error(tmp_path):
    header = seed_article().split("\n")[77]
    article = seed_article().rstrip("\n") + f"\n= Appendix =\n{header}\n{ROW}\n"
    build = build_dataset(_raw(tmp_path, article))
    assert ("table-second-block", 160, None) in _errors(build)


def test_table_of_another_kind_is_a_warning_not_a_silent_skip(tmp_path):
    article = seed_article().rstrip("\n") + "\n= Appendix =\n| year | budget |\n| 2021 | 10 |\n"
    build = build_dataset(_raw(tmp_path, article))
    [finding] = [f for f in build.findings if f.rule == "table-second-block"]
    assert (finding.severity, finding.source_line) == ("warning", 160)
    assert "lines 160-161" in finding.message


# --- shrinking data is gated --------------------------------------------------------------------


def test_removed_row_blocks_publishing_until_a_reviewed_removal_approves_it(published_dist, tmp_path):
    raw = _raw(tmp_path, replace_line(seed_article(), LAST_TABLE_LINE, None))
    before = tree_snapshot(published_dist)
    outcome = run(raw, published_dist)
    removed_id = "2023-03-25-in-the-martuni-province-in-the-vicinity-of-shushi"
    assert outcome.exit_code == 1
    assert [(f.rule, f.row_id, f.source_file, f.source_line) for f in outcome.findings if f.severity == "error"] == [
        ("row-removed", removed_id, ARTICLE, LAST_TABLE_LINE)
    ]
    assert tree_snapshot(published_dist) == before
    removals = raw.parent / "reviews" / "removals.json"
    removals.parent.mkdir()
    removals.write_text(json.dumps({"removals": [
        {"resource": "violations", "id": removed_id, "reason": "not in the cited source", "reviewer": "A. Reviewer", "date": "2024-05-02"}
    ]}), encoding="utf-8")  # fmt: skip
    outcome = run(raw, published_dist)
    assert (outcome.status, outcome.version, outcome.bump) == ("published", "2.0.0", "major")
    changes = json.loads((published_dist / PACKAGE_NAME / "2.0.0" / "changes.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in changes["removals_approved"]] == [removed_id]


def test_removals_file_of_the_wrong_shape_is_unusable(published_dist, tmp_path):
    raw = _raw(tmp_path, seed_article())
    (raw.parent / "reviews").mkdir()
    (raw.parent / "reviews" / "removals.json").write_text(json.dumps({"removals": [{"id": "x"}]}), encoding="utf-8")
    with pytest.raises(RawInputError, match=r"reviews/removals.json: removal 1 needs"):
        run(raw, published_dist)


# --- every parser is total ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "bad_row", "column"),
    [
        ("count-above-int64", ROW.replace("| 1 | near", "| 99999999999999999999 | near"), "violation_count"),
        ("count-of-superscript-digits", ROW.replace("| 1 | near", "| ² | near"), "violation_count"),
        ("casualties-above-int64-in-a-cell", ROW.replace("1 worker killed", "99999999999999999999 workers killed"), "killed"),
        ("casualties-of-5000-digits-in-a-cell", ROW.replace("3 injured", "9" * 5000 + " injured"), "wounded"),
    ],
)  # fmt: skip
def test_huge_number_in_a_cell_is_a_finding_not_a_crash(tmp_path, case, bad_row, column):
    build = build_dataset(_raw(tmp_path, replace_line(seed_article(), ROW_LINE, bad_row), case))
    rule = "count-format" if "superscript" in case else "count-bound"
    assert (rule, ROW_LINE, column) in _errors(build)


def test_huge_casualty_number_in_prose_is_a_finding_not_a_crash(tmp_path):
    line = 44  # prose of the 2020 section
    prose = seed_article().split("\n")[line - 1].replace("three Azerbaijani servicemen were killed", "99999999999999999999 servicemen were killed")
    build = build_dataset(_raw(tmp_path, replace_line(seed_article(), line, prose)))
    assert ("count-bound", line, "killed") in _errors(build)


def test_correction_whose_new_value_overflows_is_a_finding(tmp_path):
    raw = _raw(tmp_path, seed_article())
    corrections = raw.parent / "reviews" / "corrections.json"
    corrections.parent.mkdir()
    corrections.write_text(json.dumps({"corrections": [
        {"resource": "violations", "id": "2021-11-08-near-shusha", "field": "violation_count", "old_value": "1",
         "new_value": "99999999999999999999", "reason": "r", "reviewer": "A. Reviewer", "date": "2024-05-02"},
        {"resource": "violations", "id": "2021-09-18-near-shusha", "field": "consequences",
         "old_value": "two Armenian servicemen of the Nagorno-Karabakh Defense Army were wounded",
         "new_value": "99999999999999999999 wounded", "reason": "r", "reviewer": "A. Reviewer", "date": "2024-05-02"},
    ]}), encoding="utf-8")  # fmt: skip
    build = build_dataset(raw)
    assert [(f.rule, f.column) for f in build.findings if f.severity == "error"] == [
        ("correction", "consequences"), ("correction", "violation_count")
    ]


def test_cell_of_131073_characters_is_published_and_compared(published_dist, tmp_path):
    long_row = ROW.replace("3 injured", "3 injured " + "x" * 131_073)
    outcome = run(_raw(tmp_path, replace_line(seed_article(), ROW_LINE, long_row)), published_dist)
    assert (outcome.status, outcome.version) == ("published", "1.0.1")
    # A fresh process: frictionless raises the csv module's field limit when imported, which hid
    # the crash of the release diff in tests that had validated a package before.
    result = subprocess.run([str(CEASEFIRE), "diff", "1.0.0", "1.0.1", "--dist", str(published_dist), "--json"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["resources"]["violations"]["rows_changed"][0]["id"] == "2021-11-08-near-shusha"


@pytest.mark.parametrize(
    ("case", "text", "code"),
    [("nul", "near\x00Shusha", "U+0000"), ("bidi-override", "near \u202eShusha", "U+202E"),
     ("escape", "near \x1b[31mShusha", "U+001B"), ("next-line", "near\u0085Shusha", "U+0085")],
)  # fmt: skip
def test_control_character_in_a_cell_is_a_finding(tmp_path, case, text, code):
    build = build_dataset(_raw(tmp_path, replace_line(seed_article(), ROW_LINE, ROW.replace("near Shusha", text)), case))
    [finding] = [f for f in build.findings if f.rule == "control-character"]
    assert (finding.source_line, finding.column, finding.severity) == (ROW_LINE, "location", "error")
    assert code in finding.message


# --- paths are confined to raw/ -------------------------------------------------------------------


def _provenance(raw: Path, files) -> None:
    (raw / "provenance.json").write_text(json.dumps({"files": files}), encoding="utf-8")


@pytest.mark.parametrize("case", ["dot-dot-path", "absolute-path", "symlink-out-of-raw"])
def test_raw_path_outside_the_raw_folder_is_refused_before_it_is_opened(seed_raw_dir, tmp_path, monkeypatch, case):
    outside = tmp_path / "outside.txt"
    outside.write_text(seed_article(), encoding="utf-8")
    path = {"dot-dot-path": "../outside.txt", "absolute-path": str(outside), "symlink-out-of-raw": "link.txt"}[case]
    if case == "symlink-out-of-raw":
        (seed_raw_dir / "link.txt").symlink_to(outside)
    _provenance(seed_raw_dir, [{"path": path, "role": "article", "sha256": "0" * 64}])
    opened = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self) or real_read_bytes(self))
    with pytest.raises(RawInputError) as caught:
        run(seed_raw_dir, tmp_path / "dist")
    assert str(caught.value).startswith(f"provenance.json: entry 1 ({path!r}): ")
    assert opened == []


@pytest.mark.parametrize(
    ("case", "content", "message"),
    [
        ("a-list", "[]", "needs an object with a non-empty 'files' list"),
        ("null", "null", "needs an object with a non-empty 'files' list"),
        ("names-not-objects", '{"files": ["a.txt"]}', "entry 1 is not an object"),
        ("path-is-a-number", '{"files": [{"path": 5, "role": "article", "sha256": "x"}]}', "entry 1 (5): path must be text"),
        ("deep-nesting", "[" * 100_000 + "]" * 100_000, ""),
    ],
)  # fmt: skip
def test_provenance_of_the_wrong_shape_is_unusable(seed_raw_dir, tmp_path, case, content, message):
    (seed_raw_dir / "provenance.json").write_text(content, encoding="utf-8")
    with pytest.raises(RawInputError) as caught:
        run(seed_raw_dir, tmp_path / "dist")
    assert str(caught.value).startswith("provenance.json")
    assert message in str(caught.value)


# --- review files and output folders: exit 2, one line -------------------------------------------


def test_corrections_file_that_is_a_folder_is_unusable_not_empty(seed_raw_dir, tmp_path, capsys):
    (tmp_path / "reviews" / "corrections.json").mkdir(parents=True)
    code = main(["validate", "--raw", str(seed_raw_dir), "--reports", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 2
    assert "reviews/corrections.json: is not a readable file" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("content", ["[]", '{"acknowledgements": 5}', "{not json"])
def test_acknowledgements_of_the_wrong_shape_are_unusable(seed_raw_dir, tmp_path, capsys, content):
    acknowledgements = tmp_path / "acks.json"
    acknowledgements.write_text(content, encoding="utf-8")
    code = main(["validate", "--raw", str(seed_raw_dir), "--reports", str(tmp_path / "reports"),
                 "--acknowledgements", str(acknowledgements)])  # fmt: skip
    assert code == 2
    assert str(acknowledgements) in capsys.readouterr().err


def test_acknowledgement_that_matches_nothing_is_listed_in_the_report(seed_raw_dir, tmp_path, capsys):
    acknowledgements = tmp_path / "acks.json"
    acknowledgements.write_text(json.dumps({"acknowledgements": [
        {"rule": "enum", "row_id": "no-such-row", "reason": "checked", "who": "A. Reviewer", "date": "2024-05-02"}
    ]}), encoding="utf-8")  # fmt: skip
    code = main(["validate", "--raw", str(seed_raw_dir), "--reports", str(tmp_path / "reports"),
                 "--acknowledgements", str(acknowledgements)])  # fmt: skip
    assert code == 0
    html = (tmp_path / "reports" / "latest" / "report.html").read_text(encoding="utf-8")
    assert "1 acknowledgement matching nothing" in html and "no-such-row" in html


@pytest.mark.parametrize("option", ["--reports"])
def test_report_folder_that_is_a_file_is_exit_2_naming_it(seed_raw_dir, tmp_path, capsys, option):
    target = tmp_path / "taken"
    target.write_text("a file", encoding="utf-8")
    code = main(["validate", "--raw", str(seed_raw_dir), option, str(target)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: output location: {target}: exists and is not a folder"


def test_dist_that_is_a_file_is_refused(seed_raw_dir, tmp_path):
    dist = tmp_path / "dist"
    dist.write_text("a file", encoding="utf-8")
    with pytest.raises(OutputLocationError, match="exists and is not a folder"):
        run(seed_raw_dir, dist)


def test_full_disk_while_staging_publishes_nothing(published_dist, tmp_path, monkeypatch):
    def disk_full(package_dir, version, files, *_):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(package_dir / f".tmp-{version}"))

    monkeypatch.setattr(pipeline, "stage_version", disk_full)
    _publishes_nothing_on_a_full_disk(published_dist, tmp_path)


def _publishes_nothing_on_a_full_disk(published_dist, tmp_path) -> None:
    """A run with a new row fails with the disk's message and leaves what was published as it was."""
    before = tree_snapshot(published_dist)
    with pytest.raises(OutputLocationError, match="No space left on device; nothing published"):
        run(_raw(tmp_path, insert_line(seed_article(), LAST_TABLE_LINE, "| 30.03.2023 | 2 | near Shusha | Azerbaijan | no casualties |")),
            published_dist)  # fmt: skip
    assert tree_snapshot(published_dist) == before


def test_full_disk_while_writing_the_database_beside_the_rendering_publishes_nothing(published_dist, tmp_path, monkeypatch):
    """The SQLite database is written in a thread beside the CSV and JSON Lines: its failure is the run's."""
    from ceasefire.publish import formats

    def disk_full(file, tables, folder, cancel=None, batches=None):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / file.path))

    monkeypatch.setattr(formats, "write_sqlite", disk_full)
    _publishes_nothing_on_a_full_disk(published_dist, tmp_path)


def test_failure_after_the_version_is_promoted_is_not_a_failure_and_the_next_run_repairs_it(seed_raw_dir, dist_dir, monkeypatch):
    real_refresh = pipeline.refresh_downloads

    def read_only(dist, *_):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dist / "catalog.json"))

    monkeypatch.setattr(pipeline, "refresh_downloads", read_only)
    outcome = run(seed_raw_dir, dist_dir)
    assert (outcome.status, outcome.version, outcome.exit_code) == ("published", "1.0.0", 0)
    assert "could not be refreshed" in outcome.message and "the next run completes them" in outcome.message
    assert not (dist_dir / PACKAGE_NAME / "latest.json").exists()
    monkeypatch.setattr(pipeline, "refresh_downloads", real_refresh)
    outcome = run(seed_raw_dir, dist_dir)
    assert (outcome.status, outcome.exit_code) == ("unchanged", 0)
    assert json.loads((dist_dir / PACKAGE_NAME / "latest.json").read_text(encoding="utf-8"))["version"] == "1.0.0"
    assert (dist_dir / PACKAGE_NAME / "1.0.0.zip").is_file()


def test_full_disk_while_writing_the_report_is_exit_2_with_one_line(seed_raw_dir, tmp_path, capsys, monkeypatch):
    reports = tmp_path / "reports"

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(reports / "runs"))

    monkeypatch.setattr(pipeline, "write_report", disk_full)
    code = main(["validate", "--raw", str(seed_raw_dir), "--reports", str(reports)])
    assert code == 2
    err = capsys.readouterr().err
    # The step lines before it, then one line naming the folder; no traceback.
    assert err.splitlines()[-1] == f"error: output location: {reports / 'runs'}: No space left on device"
    assert "Traceback" not in err and sum(line.startswith("error:") for line in err.splitlines()) == 1


def test_unexpected_exception_is_exit_70_with_the_traceback_saved(seed_raw_dir, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pipeline, "extract", broken)
    code = main(["validate", "--raw", str(seed_raw_dir), "--reports", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert code == 70
    # The steps that ran, the one that failed, then one error line; no traceback.
    assert [line.split()[:2] for line in err.splitlines()[:2]] == [["✓", "read"], ["✗", "extract"]]
    assert sum(line.startswith("error:") for line in err.splitlines()) == 1 and "Traceback" not in err
    [saved] = (tmp_path / "reports" / "runs").glob("*/traceback.txt")
    assert str(saved) in err
    assert "ZeroDivisionError: a bug" in saved.read_text(encoding="utf-8")


# --- Markdown we generate escapes every raw value -------------------------------------------------

HOSTILE = "x` <img src=x onerror=alert(1)> [link](javascript:alert(1)) ``` <script>alert(2)</script>\n# heading"


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").render(markdown)


def test_changelog_keeps_hostile_values_inert():
    record = {
        "version": "1.0.1", "previous_version": "1.0.0", "bump": "patch", "created": "2024-05-02T00:00:00Z",
        "reasons": [{"bump": "patch", "change": HOSTILE}],
        "resources": {"violations": {"rows_before": 1, "rows_after": 1, "rows_added": [], "rows_removed": [HOSTILE],
                                     "rows_changed": [{"id": HOSTILE, "previous_id": HOSTILE,
                                                       "fields": {"location": {"old": HOSTILE, "new": "`"}}}],
                                     "schema_changes": []}},
        "corrections_applied": [{"resource": "violations", "id": HOSTILE, "field": "location", "old_value": HOSTILE,
                                 "new_value": HOSTILE, "reason": HOSTILE, "reviewer": HOSTILE, "date": "2024-05-02"}],
    }  # fmt: skip
    html = _html(render_changes_markdown(record))
    assert "<img" not in html and "<script" not in html and "<a " not in html and "<h1" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6


def test_version_readme_keeps_hostile_values_inert(published_dist):
    version = published_dist / PACKAGE_NAME / "1.0.0"
    descriptor = json.loads((version / "datapackage.json").read_text(encoding="utf-8"))
    report = json.loads((version / "report.json").read_text(encoding="utf-8"))
    descriptor["corrections"] = [{"resource": "violations", "id": HOSTILE, "field": "location", "old_value": HOSTILE,
                                  "new_value": HOSTILE, "reason": HOSTILE, "reviewer": HOSTILE, "date": "2024-05-02"}]  # fmt: skip
    report["findings"].append({"severity": "warning", "rule": "enum", "message": HOSTILE, "source_file": HOSTILE,
                               "source_line": 1, "row_id": HOSTILE})  # fmt: skip
    package = load_contracts().package
    html = _html(render_version_readme(descriptor, report, {"bump": "patch", "previous_version": "1.0.0"}, package))
    assert "<img" not in html and "<script" not in html and "<a href=\"javascript" not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 6
