"""The run report: status, findings pointing at raw lines, comparison, acknowledgements, writing."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import frictionless.errors
import pytest
from conftest import ARTICLE, REPO, insert_line, replace_line, seed_article, seed_cited, write_raw_dir

from ceasefire import pipeline
from ceasefire.findings import Finding
from ceasefire.contracts.pandera_adapter import BUILTIN_RULES, column_for_field
from ceasefire.report.build import (
    REPORT_FORMAT,
    RunInfo,
    fingerprint_findings,
    highlight_span,
    load_rule_catalogue,
    parse_acknowledgements,
    read_latest_report,
    start_run,
    write_run_report,
)
from ceasefire.validate.formulas import RULE as FORMULA_RULE
from ceasefire.validate.validation import RESOURCE_CHECKS
from ceasefire.contracts.vocabularies import load_contracts
from flows.cli import main

SEED_LINE_15_02 = 86  # | 15.02.2022 | 1 | near the village of Dzhanatag | Azerbaijan | gunfire on … |


def _seed_with(line: int, old: str, new: str) -> str:
    text = seed_article()
    original = text.split("\n")[line - 1]
    assert old in original
    return replace_line(text, line, original.replace(old, new, 1))


def _report(raw_dir: Path, run: RunInfo | None = None) -> dict:
    return pipeline.build_report(pipeline.build_dataset(raw_dir), None, run=run or start_run("test"))


def _flat(report: dict) -> list[tuple]:
    """Each finding as (severity, rule, file:line, column, value): reads like the report."""
    return [(f["severity"], f["rule"], f"{f['source_file']}:{f['source_line']}", f["column"], f["value"])
            for f in report["findings"]]  # fmt: skip


def test_seed_report_passes_with_warnings_pointing_at_line_83(seed_raw_dir):
    report = _report(seed_raw_dir)

    assert report["report_format"] == REPORT_FORMAT == "2.1"
    assert report["status"] == "passed with warnings"
    assert report["counts"]["by_severity"] == {"error": 0, "warning": 35}
    assert report["counts"]["by_rule"] == {"chronological-order": 1, "date-unresolved": 2, "prose-incident-without-table-row": 5,
                                         "table-rows-without-prose-event": 27}
    assert report["counts"]["by_resource"] == {"events": 7, "violations": 28}
    ordering = [f for f in _flat(report) if f[1] == "chronological-order"]
    assert ordering == [("warning", "chronological-order", f"{ARTICLE}:83", "date_start", "11.08.2021")]
    finding = next(f for f in report["findings"] if f["rule"] == "chronological-order")
    assert finding["location"] == f"{ARTICLE}:83:3"
    assert finding["raw_line"].startswith("| 11.08.2021 | 1 | 2 km northwest of Yeghtsaog |")
    start, end = finding["highlight"]
    assert finding["raw_line"][start:end] == "11.08.2021"
    assert report["rules"]["chronological-order"]["title"] == "Row out of chronological order"
    assert report["rows"] == {"violations": 33, "events": 64}


BAD_INPUTS = {
    "impossible-date": (
        _seed_with(SEED_LINE_15_02, "15.02.2022", "31.02.2022"),
        ("error", "date-format", f"{ARTICLE}:86", "date_text", "31.02.2022"),
        "31.02.2022",
    ),
    "zero-count": (
        _seed_with(SEED_LINE_15_02, "| 1 |", "| 0 |"),
        ("error", "minimum", f"{ARTICLE}:86", "violation_count", "0"),
        "0",
    ),
    "unknown-violator": (
        _seed_with(SEED_LINE_15_02, "| Azerbaijan |", "| Martians |"),
        ("error", "enum", f"{ARTICLE}:86", "violator", "Martians"),
        "Martians",
    ),
    "missing-cell": (
        _seed_with(SEED_LINE_15_02, " Azerbaijan |", ""),
        ("error", "cell-count", f"{ARTICLE}:86", None, "4"),
        None,
    ),
    "duplicated-row": (
        insert_line(seed_article(), SEED_LINE_15_02, seed_article().split("\n")[SEED_LINE_15_02 - 1]),
        ("error", "unique", f"{ARTICLE}:87", "violation_id", "2022-02-15-near-the-village-of-dzhanatag"),
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_a_failed_report_pointing_at_the_wrong_line(tmp_path, case):
    article, expected, highlighted = BAD_INPUTS[case]
    report = _report(write_raw_dir(tmp_path / "raw", article, seed_cited()))

    assert report["status"] == "failed"
    assert expected in _flat(report)
    finding = next(f for f in report["findings"] if _flat({"findings": [f]})[0] == expected)
    assert finding["raw_line"] == article.split("\n")[finding["source_line"] - 1]
    if highlighted is not None:
        start, end = finding["highlight"]
        assert finding["raw_line"][start:end] == highlighted
    assert report["groups"][0]["severity"] == "error"


def test_groups_keep_a_single_finding_visible_beside_many_of_another_rule(tmp_path):
    article = seed_article()
    line = article.split("\n")[SEED_LINE_15_02 - 1]
    for offset in range(8):  # eight rows naming an unknown place: eight place-unresolved warnings
        article = insert_line(article, SEED_LINE_15_02, line.replace("near the village of Dzhanatag", f"hill {offset}"))
    article = replace_line(article, SEED_LINE_15_02, line.replace("15.02.2022", "31.02.2022"))
    report = _report(write_raw_dir(tmp_path / "raw", article, seed_cited()))

    summary = [(g["rule"], g["severity"], g["count"], len(g["samples"])) for g in report["groups"]]
    assert summary == [
        ("date-format", "error", 1, 1),
        ("chronological-order", "warning", 1, 1),
        ("date-unresolved", "warning", 2, 2),
        ("place-unresolved", "warning", 8, 5),
        ("prose-incident-without-table-row", "warning", 5, 5),
        ("table-rows-without-prose-event", "warning", 35, 5),
    ]


def test_fingerprints_survive_inserted_lines_and_tell_duplicates_apart(tmp_path):
    article = _seed_with(SEED_LINE_15_02, "| 1 |", "| 0 |")
    before = _report(write_raw_dir(tmp_path / "a", article, seed_cited()))
    shifted = insert_line(article, 10, "A new paragraph above the table.")
    after = _report(write_raw_dir(tmp_path / "b", shifted, seed_cited()))

    assert [f["source_line"] for f in before["findings"]][:8] == [86, 52, 55, 59, 61, 63, 73, 80]
    assert [f["source_line"] for f in after["findings"]] == [line + 1 for line in (f["source_line"] for f in before["findings"])]
    assert [f["fingerprint"] for f in before["findings"]] == [f["fingerprint"] for f in after["findings"]]

    duplicate = Finding("error", "unique", "pandera", "violations", "dup", row_id="x", column="violation_id", value="x")
    assert fingerprint_findings([duplicate, duplicate], None) == [
        fingerprint_findings([duplicate], None)[0],
        fingerprint_findings([duplicate], None)[0] + "-2",
    ]


def test_comparison_with_the_previous_report_lists_new_and_resolved(tmp_path):
    reports = tmp_path / "reports"
    first_raw = write_raw_dir(tmp_path / "a", _seed_with(SEED_LINE_15_02, "| 1 |", "| 0 |"), seed_cited())
    first = _report(first_raw, start_run("validate", reports))
    write_run_report(reports, first["run"]["id"], {"report.json": json.dumps(first).encode()})
    second_raw = write_raw_dir(tmp_path / "b", _seed_with(SEED_LINE_15_02, "| Azerbaijan |", "| Martians |"), seed_cited())
    second = _report(second_raw, start_run("validate", reports))

    assert first["comparison"]["previous_run"] is None
    assert first["counts"]["new"] == len(first["findings"])  # nothing to compare with: everything is new
    assert second["comparison"]["previous_run"] == first["run"]["id"]
    assert [(f["rule"], f["new"]) for f in second["findings"] if f["new"]] == [("enum", True)]
    assert [(r["rule"], r["location"], r["value"]) for r in second["comparison"]["resolved"]] == [
        ("minimum", f"{ARTICLE}:86:16", "0")
    ]
    assert (second["counts"]["new"], second["counts"]["resolved"]) == (1, 1)


def test_acknowledged_finding_stays_marked_and_is_not_new(seed_raw_dir, tmp_path):
    acks = tmp_path / "acknowledgements.json"
    acks.write_text(json.dumps({"acknowledgements": [
        {"rule": "chronological-order", "file": ARTICLE, "line": 83, "reason": "the source dates it 11 August",
         "who": "maintainer", "date": "2024-05-01"},
        {"fingerprint": "enum-000000000000", "reason": "old", "who": "maintainer", "date": "2024-05-01"},
        {"rule": "enum", "reason": "no target", "who": "maintainer", "date": "2024-05-01"},
    ]}), encoding="utf-8")  # fmt: skip
    report = _report(seed_raw_dir, start_run("validate", tmp_path / "reports", acks))

    finding = next(f for f in report["findings"] if f["rule"] == "chronological-order")
    assert finding["acknowledged"] == {"rule": "chronological-order", "file": ARTICLE, "line": 83,
                                       "reason": "the source dates it 11 August", "who": "maintainer",
                                       "date": "2024-05-01"}  # fmt: skip
    assert finding["new"] is False
    assert report["status"] == "passed with warnings"  # acknowledging does not hide a finding
    assert (report["counts"]["acknowledged"], report["counts"]["new"]) == (1, 34)  # the other warnings are new
    assert report["acknowledgements"]["matched"] == 1
    assert [a.get("fingerprint") for a in report["acknowledgements"]["unused"]] == ["enum-000000000000"]
    assert report["acknowledgements"]["problems"] == ["entry 3: needs a fingerprint, or rule + file + line, or rule + row_id"]


def test_acknowledgement_by_fingerprint_and_by_row(seed_raw_dir):
    base = _report(seed_raw_dir)
    fingerprint = next(f["fingerprint"] for f in base["findings"] if f["rule"] == "chronological-order")
    entries = [{"fingerprint": fingerprint, "reason": "r", "who": "w", "date": "2024-05-01"}]
    for entry in (entries[0], {"rule": "chronological-order", "row_id": "2021-08-11-2-km-northwest-of-yeghtsaog",
                               "reason": "r", "who": "w", "date": "2024-05-01"}):  # fmt: skip
        acknowledgements, problems = parse_acknowledgements({"acknowledgements": [entry]})
        run = RunInfo("20240501T000000Z-abcdef", "2024-05-01T00:00:00Z", "test", acknowledgements=tuple(acknowledgements))
        assert problems == []
        findings = _report(seed_raw_dir, run)["findings"]
        assert [f["rule"] for f in findings if f["acknowledged"]] == ["chronological-order"]
        assert next(f for f in findings if f["acknowledged"])["acknowledged"]["reason"] == "r"


def test_acknowledgement_file_problems_are_reported_not_raised():
    assert parse_acknowledgements([]) == ([], ["the file needs an 'acknowledgements' list"])
    _, problems = parse_acknowledgements({"acknowledgements": [
        {"fingerprint": "x", "reason": "r", "who": "w", "date": "1 May"}, "text"]})  # fmt: skip
    assert problems == ["entry 1: needs reason, who and date (YYYY-MM-DD)", "entry 2: not an object"]


@pytest.mark.parametrize(
    ("line", "value", "column", "marked"),
    [
        ("| 31.02.2022 | 1 | x |", "31.02.2022", 3, "31.02.2022"),
        ("| 15.02.2022 | 0 | x |", "0", 16, "0"),
        ("| a | long cell text | b |", "other", 7, "long cell text"),  # value not in the raw text: the cell
        ("| a | b | c |", "4", 1, "| a | b | c |"),  # a row-level finding: the whole row
        ("no columns here", "columns", None, "columns"),
    ],
)
def test_highlight_marks_the_offending_text(line, value, column, marked):
    start, end = highlight_span(line, value, column)
    assert line[start:end] == marked


def test_rule_catalogue_explains_every_rule_the_pipeline_can_emit():
    catalogue = load_rule_catalogue(REPO / "schemas")
    contracts = load_contracts()
    emitted = {"cell-count", "date-format", "count-format", "unusable-input", "type"}
    emitted |= {rule for rule, _ in BUILTIN_RULES.values()}
    for spec in contracts.table_schema("violations")["fields"]:
        emitted |= {rule.rule for rule in column_for_field(spec)[1]}
    for resource, checks in RESOURCE_CHECKS.items():
        emitted |= {rule.rule for _, rule in checks(contracts)}
        for spec in contracts.table_schema(resource)["fields"]:
            emitted |= {rule.rule for rule in column_for_field(spec)[1]}
    # Findings built directly in code name their rule as a literal.
    for module in (REPO / "src" / "ceasefire").rglob("*.py"):
        source = module.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'rule="([a-z-]+)"', source))
        emitted |= set(re.findall(r'_date_warning\([^,]+, [^,]+, "([a-z-]+)"', source))
    emitted.add(FORMULA_RULE["name"])
    data_errors = {
        cls.type for _, cls in inspect.getmembers(frictionless.errors, inspect.isclass)
        if issubclass(cls, frictionless.errors.DataError)
    }  # fmt: skip
    emitted |= data_errors | {"package-error", "resource-error", "schema-error", "field-error", "encoding-error",
                              "format-error", "source-error", "scheme-error"}  # fmt: skip

    assert {"minimum", "enum", "pattern", "required", "unique", "date-order", "time-span", "gazetteer",
            "chronological-order", "place-unresolved", "type-error", "hash-count", "date-unresolved",
            "table-rows-without-prose-event", "sentence-verbatim", "correction", "csv-formula-injection"} <= emitted  # fmt: skip
    assert sorted(emitted - set(catalogue)) == []
    assert all(entry["title"] and entry["explanation"] for entry in catalogue.values())


def test_every_fix_names_the_command_that_applies_and_never_an_edit_of_raw():
    catalogue = load_rule_catalogue(REPO / "schemas")

    for rule, entry in catalogue.items():
        assert "`ceasefire " in entry["fix"], rule
        assert not re.search(r"raw/|\b(in|of) the raw (line|value|cell)|\b(correct|fill|remove|edit)\w* the raw", entry["fix"], re.I), rule


def test_each_finding_carries_its_fix_with_its_own_fingerprint_and_row(seed_raw_dir):
    report = _report(seed_raw_dir)
    unmatched = [f for f in report["findings"] if f["rule"] == "table-rows-without-prose-event"]

    for finding in unmatched:
        assert f"`ceasefire ack {finding['fingerprint']} --reason" in finding["fix"]
    assert len({f["fingerprint"] for f in unmatched}) == len(unmatched) == 27
    chronological = next(f for f in report["findings"] if f["rule"] == "chronological-order")
    assert "`ceasefire correct 2021-08-11-2-km-northwest-of-yeghtsaog date_start VALUE" in chronological["fix"]


def test_run_folder_and_latest_hold_complete_reports_of_the_newest_run(tmp_path):
    reports = tmp_path / "reports"
    def files(run_id: str, started: str, html: bytes) -> dict[str, bytes]:
        return {"report.json": json.dumps({"run": {"id": run_id, "started": started}}).encode(), "report.html": html}

    newer = write_run_report(reports, "20240501T000000Z-bbbbbb", files("20240501T000000Z-bbbbbb", "2024-05-01T00:00:00.500000Z", b"<p>new</p>"), "2024-05-01T00:00:00.500000Z")  # fmt: skip
    older = write_run_report(reports, "20240501T000000Z-cccccc", files("20240501T000000Z-cccccc", "2024-05-01T00:00:00.100000Z", b"<p>old</p>"), "2024-05-01T00:00:00.100000Z")  # fmt: skip

    assert sorted(p.name for p in (reports / "runs").iterdir()) == [newer.name, older.name]
    assert (older / "report.html").read_bytes() == b"<p>old</p>"
    # A run that started earlier but finished later does not replace the newest run's report.
    assert read_latest_report(reports)["run"]["id"] == "20240501T000000Z-bbbbbb"
    assert (reports / "latest" / "report.html").read_bytes() == b"<p>new</p>"
    assert not (reports / "latest").is_symlink()
    assert sorted(p.name for p in (reports / "latest").iterdir()) == ["report.html", "report.json"]
    with pytest.raises(FileExistsError):
        write_run_report(reports, newer.name, {"report.json": b"{}"})


def test_published_version_carries_the_report_of_the_run_that_built_it(seed_raw_dir, dist_dir, tmp_path):
    reports = tmp_path / "reports"
    outcome = pipeline.run(seed_raw_dir, dist_dir, reports_dir=reports)

    version_dir = dist_dir / "nagorno-karabakh-ceasefire" / "1.0.0"
    assert outcome.status == "published"
    run_dir = next((reports / "runs").iterdir())
    for name in ("report.json", "report.html"):
        assert (version_dir / name).read_bytes() == (run_dir / name).read_bytes() == (reports / "latest" / name).read_bytes()
    report = json.loads((version_dir / "report.json").read_text(encoding="utf-8"))
    assert (report["run"]["outcome"], report["run"]["version"], report["status"]) == ("published", "1.0.0", "passed with warnings")
    assert report["run"]["id"] == run_dir.name

    unchanged = pipeline.run(seed_raw_dir, dist_dir, reports_dir=reports)
    latest = read_latest_report(reports)
    assert unchanged.status == "unchanged"
    assert (latest["run"]["outcome"], latest["run"]["version"]) == ("unchanged", "1.0.0")
    assert latest["comparison"]["previous_run"] == run_dir.name
    assert len(list((reports / "runs").iterdir())) == 2


def test_cli_validate_writes_the_report_and_publishes_nothing(tmp_path, capsys):
    raw = write_raw_dir(tmp_path / "raw", _seed_with(SEED_LINE_15_02, "| 1 |", "| 0 |"), seed_cited())
    reports = tmp_path / "reports"

    code = main(["validate", "--raw", str(raw), "--reports", str(reports), "--acknowledgements", str(tmp_path / "none.json")])

    assert code == 1
    report = read_latest_report(reports)
    assert (report["status"], report["run"]["command"], report["run"]["outcome"]) == ("failed", "validate", "failed")
    assert ("error", "minimum", f"{ARTICLE}:86", "violation_count", "0") in _flat(report)
    assert (reports / "latest" / "report.html").is_file()
    assert "report: file://" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw", "reports"]  # no dist, nothing published


def test_cli_validate_on_unusable_input_exits_2_with_a_failed_report(tmp_path):
    raw = write_raw_dir(tmp_path / "raw", "no table in this article\n", seed_cited())
    reports = tmp_path / "reports"

    assert main(["validate", "--raw", str(raw), "--reports", str(reports)]) == 2
    report = read_latest_report(reports)
    assert report["status"] == "failed"
    assert [(f["rule"], f["source_file"]) for f in report["findings"]] == [("unusable-input", ARTICLE)]
