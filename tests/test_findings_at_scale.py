"""A rule that fires once per table row says it once for a large table (docs/REPORTS.md): the report
stays readable and bounded, and a rows file beside it names every row the summary stands for."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_corpus
from ceasefire import pipeline
from ceasefire.publish.serialize import MarkedTexts
from ceasefire.report.build import ROWS_FILE, fingerprint_findings, render_rows_file, rows_file_chunks
from ceasefire.validate import validation
from conftest import SEED_RAW

RULE = "table-rows-without-prose-event"
ROWS = validation.PER_ROW_WARNINGS_MAX + 200


@pytest.fixture(scope="module")
def large_raw(tmp_path_factory) -> Path:
    return generate_corpus(tmp_path_factory.mktemp("large"), articles=1, rows_per_article=ROWS)[0]


def _rule_findings(build: pipeline.Build) -> list:
    return [finding for finding in build.findings if finding.rule == RULE]


def test_above_the_limit_one_warning_stands_for_exactly_the_rows_the_per_row_rule_names(large_raw, monkeypatch):
    limit = validation.PER_ROW_WARNINGS_MAX
    summary, = _rule_findings(pipeline.build_dataset(large_raw))
    monkeypatch.setattr(validation, "PER_ROW_WARNINGS_MAX", 10 * ROWS)
    per_row = _rule_findings(pipeline.build_dataset(large_raw))

    assert len(per_row) > limit  # the prose links only a handful of rows
    assert list(summary.rows) == [finding.row_id for finding in per_row]
    assert summary.row_id is None and summary.severity == "warning"
    assert summary.value.startswith(f"{len(per_row)} rows, ids sha256 ")
    assert (summary.source_file, summary.source_line) == (per_row[0].source_file, per_row[0].source_line)


def _unmatched(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"violation_id": ids, "source_file": "article.txt", "source_line": range(10, 10 + len(ids))})


def test_the_summary_names_the_marked_rows_and_digests_their_ids_in_slices(monkeypatch):
    ids = [f"2021-02-{day:02d}-khramort" for day in range(1, 11)]
    marked = np.array([day % 3 != 0 for day in range(1, 11)])
    whole = validation.summarise_unmatched_rows(_unmatched(ids), marked, "violations")
    monkeypatch.setattr(validation, "_DIGEST_SLICE", 2)  # the digest is taken slice by slice
    sliced = validation.summarise_unmatched_rows(_unmatched(ids), marked, "violations")
    chosen = [row for row, keep in zip(ids, marked) if keep]
    expected = hashlib.sha256("\n".join(chosen).encode("utf-8")).hexdigest()[:12]
    # A table extracted in blocks holds its ids in Arrow chunks.
    blocks = pd.concat([_unmatched(ids[:4]), _unmatched(ids[4:])], ignore_index=True).astype({"violation_id": "string[pyarrow]"})
    chunked = validation.summarise_unmatched_rows(blocks, marked, "violations")
    assert list(whole.rows) == list(sliced.rows) == list(chunked.rows) == chosen
    assert whole.value == sliced.value == chunked.value == f"7 rows, ids sha256 {expected}"
    assert whole.source_line == 10  # the first marked row's line


def test_the_summary_fingerprint_follows_the_set_of_rows_not_their_count():
    ids = [f"2021-01-{day:02d}-khramort" for day in range(1, 29)]

    def fingerprint(rows: list[str]) -> str:
        summary = validation.summarise_unmatched_rows(_unmatched(rows), np.ones(len(rows), dtype=bool), "violations")
        return fingerprint_findings([summary], None)[0]

    assert fingerprint(ids) == fingerprint(list(ids))
    assert fingerprint(ids) != fingerprint(ids[:-1])  # a row linked since: the acknowledgement lapses
    assert fingerprint(ids) != fingerprint([*ids[:-1], "2021-01-29-khramort"])  # same count, other rows


@pytest.mark.prefect
def test_a_published_large_table_has_one_summary_warning_and_a_rows_file_naming_each_row(large_raw, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run([str(Path(sys.executable).parent / "ceasefire"), "publish", "--raw", str(large_raw),
                             "--dist", str(tmp_path / "dist"), "--reports", str(tmp_path / "reports")],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    version = tmp_path / "dist" / "nagorno-karabakh-ceasefire" / "1.0.0"
    report = json.loads((version / "report.json").read_text(encoding="utf-8"))
    entry, = [finding for finding in report["findings"] if finding["rule"] == RULE]
    rows = list(csv.DictReader(io.StringIO((version / ROWS_FILE).read_text(encoding="utf-8"))))

    assert entry["rows_file"] == ROWS_FILE and entry["row_count"] == len(rows) > validation.PER_ROW_WARNINGS_MAX
    assert {row["fingerprint"] for row in rows} == {entry["fingerprint"]}
    published = pd.read_csv(version / "data" / "violations.csv", dtype=str)["violation_id"]
    assert [row["row_id"] for row in rows] == [i for i in published if i in {row["row_id"] for row in rows}]
    assert (tmp_path / "reports" / "latest" / ROWS_FILE).read_bytes() == (version / ROWS_FILE).read_bytes()
    assert (result.stdout + result.stderr).count(f"[{RULE}]") <= 1
    html = (version / "report.html").read_text(encoding="utf-8")
    assert f'each named in <a href="{ROWS_FILE}">{ROWS_FILE}</a>' in html and html.count(f"[{RULE}]") <= 1


def _rows_file_by_csv_module(summaries) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["fingerprint", "row_id"])
    for fingerprint, rows in summaries:
        writer.writerows(zip(itertools.repeat(fingerprint), rows))
    return buffer.getvalue().encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(summaries=st.lists(st.tuples(st.sampled_from(["3f2a9c", "b71e0d"]),
                                    st.lists(st.text(st.sampled_from(list(',"\r\n ;a\u2028')) | st.characters(codec="utf-8"), max_size=8),
                                             max_size=6)), max_size=3))  # fmt: skip
def test_the_rows_file_is_the_csv_the_csv_module_writes(summaries):
    """report-rows.csv is rendered by Arrow (a summary stands for up to millions of rows) in the
    csv module's bytes, whatever the ids hold; ids kept as Arrow text give the same file."""
    expected = _rows_file_by_csv_module(summaries)
    assert render_rows_file(summaries) == expected
    as_arrow = [(fingerprint, pd.array(rows, dtype="string[pyarrow]")) for fingerprint, rows in summaries]
    assert render_rows_file(as_arrow) == expected
    # As the summary holds them: the marked rows of a table extracted in blocks (Arrow chunks).
    chunked = [(fingerprint, pd.concat([pd.Series(rows[:2], dtype="string[pyarrow]"), pd.Series(rows[2:], dtype="string[pyarrow]")],
                                       ignore_index=True).array) for fingerprint, rows in summaries]  # fmt: skip
    assert render_rows_file(chunked) == expected


def test_the_rows_file_is_rendered_as_it_is_written_once_per_run(tmp_path):
    """A rows file is rendered chunk by chunk as it is written, never held whole; the run's report
    renders it once, and latest/ gets the run's own copy."""
    from ceasefire.publish.publishing import Rendered
    from ceasefire.report.build import write_run_report

    renders = []

    def chunks():
        renders.append("rendered")
        yield from (b"fingerprint,row_id\n", b"3f2a9c,a\n", b"3f2a9c,b\n")

    folder = write_run_report(tmp_path, "run-1", {"report.json": b"{}\n", ROWS_FILE: Rendered(chunks)}, "2026-12-05T00:00:00Z")
    assert renders == ["rendered"]
    assert (folder / ROWS_FILE).read_bytes() == (tmp_path / "latest" / ROWS_FILE).read_bytes() == b"fingerprint,row_id\n3f2a9c,a\n3f2a9c,b\n"
    summaries = [("3f2a9c", ["a", "b"])]
    assert b"".join(Rendered(lambda: rows_file_chunks(summaries))) == render_rows_file(summaries)


_IDS = st.one_of(st.none(), st.text(st.sampled_from(list(',"\n ;a\u2028')) | st.characters(codec="utf-8"), max_size=6))


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(_IDS, max_size=12), data=st.data(), window=st.integers(1, 5), cut=st.integers(0, 12))
def test_a_summary_reads_the_marked_ids_from_the_column_in_order_in_any_window(cells, data, window, cut):
    """A summary finding holds the table's id column and a mask, not a copy of the ids (~520 MB at ten
    million rows): read whole, window by window, pickled, digested or written as the rows file, it
    is the marked ids in order, a missing id as ``<NA>``."""
    marked = np.array(data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells))), dtype=bool)
    column = pd.concat([pd.Series(cells[:cut], dtype="string[pyarrow]"), pd.Series(cells[cut:], dtype="string[pyarrow]")],
                       ignore_index=True).array  # a table extracted in blocks: Arrow chunks  # fmt: skip
    expected = ["<NA>" if cell is None else cell for cell, keep in zip(cells, marked) if keep]
    rows = MarkedTexts(column, marked)

    assert len(rows) == len(expected) and list(rows) == expected and bool(rows) == bool(expected)
    windows = list(rows.arrays(window))
    assert [text for array in windows for text in array.to_pylist()] == expected
    assert all(0 < len(array) <= window for array in windows)
    again = pickle.loads(pickle.dumps(rows))
    assert isinstance(again, MarkedTexts) and list(again) == expected
    assert render_rows_file([("3f2a9c", rows)]) == _rows_file_by_csv_module([("3f2a9c", expected)])
    if len(expected):
        frame = pd.DataFrame({"violation_id": column, "source_file": "article.txt", "source_line": range(10, 10 + len(cells))})
        with patch.object(validation, "_DIGEST_SLICE", window):  # windows that mark no row are skipped
            summary = validation.summarise_unmatched_rows(frame, marked, "violations")
        digest = hashlib.sha256("\n".join(expected).encode("utf-8")).hexdigest()[:12]
        assert summary.value == f"{len(expected)} rows, ids sha256 {digest}" and list(summary.rows) == expected


def test_a_summary_shares_the_columns_text_instead_of_copying_it():
    column = pd.Series([f"2021-02-{day:02d}-khramort" for day in range(1, 29)], dtype="string[pyarrow]").array
    marked = np.arange(28) % 2 == 0
    summary = validation.summarise_unmatched_rows(pd.DataFrame({"violation_id": column, "source_file": "a.txt", "source_line": 1}),
                                                  marked, "violations")  # fmt: skip
    held = summary.rows._texts.chunk(0).buffers()[2]
    assert held.address == pa.chunked_array(column._pa_array).chunk(0).buffers()[2].address
    assert summary.rows._marked.nbytes == 28  # one byte a row


def test_a_published_run_copies_its_report_from_the_version_folder_instead_of_rendering_it_again(large_raw, tmp_path, monkeypatch):
    """The run's report folder holds the version's own report files, byte for byte, and the rows
    file (a row per table row at scale) is rendered once, for the version folder."""
    from ceasefire.report import build as report_build

    rendered = []

    def counted(summaries):
        rendered.append(len(summaries))
        yield from rows_file_chunks(summaries)

    monkeypatch.setattr(report_build, "rows_file_chunks", counted)
    outcome = pipeline.run(large_raw, tmp_path / "dist", reports_dir=tmp_path / "reports")

    assert outcome.status == "published" and rendered == [1]
    [run] = (tmp_path / "reports" / "runs").iterdir()
    names = sorted(path.name for path in run.iterdir())
    assert ROWS_FILE in names and "report.html" in names
    for name in names:
        assert (run / name).read_bytes() == (outcome.path / name).read_bytes() == (tmp_path / "reports" / "latest" / name).read_bytes()


def test_the_report_file_names_are_those_of_the_files_the_report_makes(large_raw, tmp_path):
    """The names a published run copies (report_file_names) are those report_files renders, with
    and without a rows file, so the copy neither misses a file nor looks for one that is not there."""
    from ceasefire.report.build import report_file_names, report_files

    for raw in (large_raw, SEED_RAW):
        build = pipeline.build_dataset(raw)
        report = pipeline.build_report(build, None)
        assert report_file_names(report) == list(report_files(report, build.findings))
    assert ROWS_FILE in report_file_names(pipeline.build_report(pipeline.build_dataset(large_raw), None))
