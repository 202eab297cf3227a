"""Hypothesis damages the seed article and runs the real ``ceasefire publish`` on it (docs/RELIABILITY.md).

Each example applies one to three mutations (lines deleted or duplicated, blank lines, pipes lost or
typed as tabs, Unicode line separators, huge numbers, long cells, control characters, HTML,
spreadsheet formulas) and publishes onto a dist/ that already holds the seed as 1.0.0. Invariants:

- the exit code is 0, 1 or 2, and no output holds "Traceback";
- on 1 or 2 dist/ is byte-identical to before;
- on a publish, every table line of the input (a line with a '|' or a tab) is a published row or a
  finding of the version's report, and every published row's ``source_line`` holds that row.

Most examples run the command line in-process (``flows.cli.main``: one temporary Prefect server for
all of them); a sample runs it as a subprocess, exactly as a user types it. Set
``CEASEFIRE_FUZZ_EXAMPLES`` (default 10) and ``CEASEFIRE_FUZZ_SUBPROCESS_EXAMPLES`` (default 1) for a
longer profile; ``CEASEFIRE_FUZZ_LOG=file.jsonl`` records every trial.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flows.publish  # noqa: F401  Prefect's console handler binds to pytest's session stream, not capfd's
from ceasefire import PACKAGE_NAME
from ceasefire.extract.article import split_pipe_row
from ceasefire.pipeline import run
from conftest import ARTICLE, SEED_RAW, prefect_log_lines, seed_article, seed_cited, tree_snapshot, write_raw_dir
from flows.cli import main

pytestmark = pytest.mark.prefect

EXAMPLES = int(os.environ.get("CEASEFIRE_FUZZ_EXAMPLES", "10"))
SUBPROCESS_EXAMPLES = int(os.environ.get("CEASEFIRE_FUZZ_SUBPROCESS_EXAMPLES", "1"))
# The default profile is derandomized so that `make test` tries the same inputs on every machine.
DERANDOMIZE = "CEASEFIRE_FUZZ_EXAMPLES" not in os.environ
CEASEFIRE = Path(sys.executable).parent / "ceasefire"
SEED_LINES = seed_article().split("\n")
HEADER_LINE, LAST_TABLE_LINE = 78, 111
SEPARATORS = ["\u0085", "\u2028", "\u2029", "\x0c", "\r", "\x0b"]
CONTROLS = ["\x00", "\u202e", "\u2066", "\x1b", "\x7f", "\x9b"]
HOSTILE_TEXT = ["<script>alert(1)</script>", "`<img src=x onerror=alert(1)>`", "[x](javascript:alert(1))", "=HYPERLINK(\"http://x\")",
                "+cmd", "@SUM(1)", "-2+3", "99999999999999999999", "1e308", "²", "  ", "|", "\t"]  # fmt: skip


def _mutate(lines: list[str], kind: str, number: int, extra: str, position: int) -> list[str]:
    """One damage at 1-based line ``number`` (wrapped into the text)."""
    lines = list(lines)
    index = (number - 1) % len(lines)
    line = lines[index]
    at = position % (len(line) + 1)
    if kind == "delete" and len(lines) > 1:
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, line)
    elif kind == "blank":
        lines.insert(index, "")
    elif kind == "tabs":
        lines[index] = line.strip("| ").replace(" | ", "\t")
    elif kind == "leading-pipe":
        lines[index] = line.lstrip("| ")
    elif kind == "insert":  # a separator, control character or hostile text inside the line
        lines[index] = line[:at] + extra + line[at:]
    elif kind == "cell":  # a whole cell replaced
        cells = line.split(" | ")
        if len(cells) > 2:
            cells[1 + position % (len(cells) - 2)] = extra
        lines[index] = " | ".join(cells)
    elif kind == "long-cell":
        lines[index] = line[:at] + "x" * 140_000 + line[at:]
    return lines


table_line = st.integers(HEADER_LINE, LAST_TABLE_LINE + 1)
any_line = st.integers(1, len(SEED_LINES))
mutation = st.tuples(
    st.sampled_from(["delete", "duplicate", "blank", "tabs", "leading-pipe", "insert", "insert", "cell", "cell", "long-cell"]),
    st.one_of(table_line, table_line, table_line, any_line),
    st.sampled_from(SEPARATORS + CONTROLS + HOSTILE_TEXT),
    st.integers(0, 400),
)
mutations = st.lists(mutation, min_size=1, max_size=3)


@pytest.fixture(scope="module")
def seed_dist(tmp_path_factory) -> Path:
    """dist/ with the seed published as 1.0.0, copied for each example."""
    dist = tmp_path_factory.mktemp("seed") / "dist"
    assert run(SEED_RAW, dist).status == "published"
    return dist


def _table_lines(lines: list[str]) -> list[int]:
    header = next((n for n, line in enumerate(lines, start=1) if "number of violations" in line and line.lstrip().startswith("|")), None)
    return [n for n, line in enumerate(lines, start=1) if ("|" in line or "\t" in line) and n != header]


def _read_csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def check_invariants(article: str, code: int, output: str, before: dict, dist: Path) -> dict:
    """Assert the invariants of one trial; return what it did, for the log."""
    assert code in (0, 1, 2), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    package = dist / PACKAGE_NAME
    versions = sorted(p.name for p in package.iterdir() if p.is_dir() and not p.name.startswith("."))
    if code != 0:
        assert tree_snapshot(dist) == before
        return {"exit": code, "published": False}
    if versions == ["1.0.0"]:
        return {"exit": 0, "published": False}
    newest = package / versions[-1]
    lines = article.split("\n")
    rows = _read_csv(newest / "data" / "violations.csv")
    findings = json.loads((newest / "report.json").read_text(encoding="utf-8"))["findings"]
    row_lines = {int(row["source_line"]) for row in rows}
    finding_lines = {f["source_line"] for f in findings if f["source_file"] == ARTICLE}
    unaccounted = [n for n in _table_lines(lines) if n not in row_lines | finding_lines]
    assert unaccounted == [], f"table lines neither published nor reported: {unaccounted}"
    for row in rows:
        cells = [cell.text for cell in split_pipe_row(lines[int(row["source_line"]) - 1])]
        assert (cells[0], cells[1], cells[2], cells[4]) == (row["date_text"], row["violation_count"], row["location"], row["consequences"])
    return {"exit": 0, "published": True, "version": versions[-1], "rows": len(rows)}


def _trial(ops, seed_dist: Path, runner) -> None:
    lines = list(SEED_LINES)
    for op in ops:
        lines = _mutate(lines, *op)
    article = "\n".join(lines)
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        raw = write_raw_dir(folder / "raw", article, seed_cited())
        dist = folder / "dist"
        shutil.copytree(seed_dist, dist)
        before = tree_snapshot(dist)
        code, output = runner(["publish", "--raw", str(raw), "--dist", str(dist), "--reports", str(folder / "reports")])
        result = check_invariants(article, code, output, before, dist)
        if os.environ.get("CEASEFIRE_FUZZ_LOG"):
            with open(os.environ["CEASEFIRE_FUZZ_LOG"], "a", encoding="utf-8") as log:
                log.write(json.dumps({"ops": [[k, n, repr(e)[:30], p] for k, n, e, p in ops], **result}) + "\n")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(ops=mutations)
def test_damaged_article_through_the_command_line_keeps_the_invariants(ops, seed_dist, capfd):
    def in_process(argv: list[str]) -> tuple[int, str]:
        capfd.readouterr()
        with prefect_log_lines() as logged:
            code = main(argv)
        printed = capfd.readouterr()
        return code, "\n".join([printed.out, printed.err, *logged])

    _trial(ops, seed_dist, in_process)


@settings(max_examples=SUBPROCESS_EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(ops=mutations)
def test_damaged_article_through_a_ceasefire_subprocess_keeps_the_invariants(ops, seed_dist):
    def as_subprocess(argv: list[str]) -> tuple[int, str]:
        result = subprocess.run([str(CEASEFIRE), *argv], capture_output=True, text=True, timeout=600)
        return result.returncode, result.stdout + result.stderr

    _trial(ops, seed_dist, as_subprocess)


def test_mutations_do_what_they_say():
    lines = ["= A =", "| a | b | c |", "| 1 | 2 | 3 |"]
    assert _mutate(lines, "blank", 3, "", 0) == ["= A =", "| a | b | c |", "", "| 1 | 2 | 3 |"]
    assert _mutate(lines, "tabs", 3, "", 0)[2] == "1\t2\t3"
    assert _mutate(lines, "leading-pipe", 3, "", 0)[2] == "1 | 2 | 3 |"
    assert _mutate(lines, "cell", 3, "99", 0)[2] == "| 1 | 99 | 3 |"
    assert _mutate(lines, "insert", 3, "\u2028", 1)[2] == "|\u2028 1 | 2 | 3 |"
    assert _table_lines(["| date | number of violations |", "| 1 | 2 |", "prose", "a\tb"]) == [2, 4]
