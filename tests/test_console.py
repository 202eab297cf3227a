"""What ``ceasefire`` prints for people, through the real command line.

``validate`` is compared with golden text (times, run ids and paths normalised; regenerate with
``UPDATE_GOLDEN=1`` after a deliberate change and read the diff). ``publish`` runs the Prefect flow:
its step lines, each finding once and no Prefect chatter unless ``--verbose``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ARTICLE, REPO, SEED_RAW, replace_line, seed_article, write_raw_dir

CEASEFIRE = Path(sys.executable).parent / "ceasefire"
GOLDEN = Path(__file__).parent / "golden" / "console"
WIDTH = 120
DURATION = r"(\d+\.\d s|\d+ min \d\d s)"


def ceasefire(cwd: Path, *args: str, columns: int | None = WIDTH) -> subprocess.CompletedProcess:
    """Run the command; stdout and stderr in one stream, in the order a terminal shows them."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = str(columns)
    return subprocess.run([str(CEASEFIRE), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)  # fmt: skip


def normalise(text: str) -> str:
    """Times, run ids and absolute paths vary from run to run; the rest must not."""
    text = re.sub(r"\d+ min \d\d s|\d+\.\d s", "#.# s", text)
    text = re.sub(r"\d{8}T\d{6}Z-[0-9a-f]{6}", "RUN-ID", text)
    return re.sub(r"file://\S*/reports/", "file://…/reports/", text)


def assert_matches_golden(name: str, output: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(output, encoding="utf-8")
    assert output.splitlines() == golden.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(SEED_RAW, root / "raw")
    shutil.copytree(REPO / "reviews", root / "reviews")
    return root


def test_validate_prints_steps_findings_once_and_a_summary(project):
    result = ceasefire(project, "validate")

    assert result.returncode == 0
    output = normalise(result.stdout)
    assert_matches_golden("validate-seed.txt", output)
    assert all(len(line) <= WIDTH for line in output.splitlines()[:-1])  # the report URL is never cut
    assert output.count(f"{ARTICLE}:83:3: warning chronological-order: the row is dated earlier") == 1


def test_validate_of_a_bad_row_names_file_line_column_and_rule(project):
    line = seed_article().split("\n")[85]
    write_raw_dir(project / "raw", replace_line(seed_article(), 86, line.replace("15.02.2022", "31.02.2022")),
                  (SEED_RAW / "wikipedia-cited-sentences.txt").read_text(encoding="utf-8"))  # fmt: skip

    result = ceasefire(project, "validate")

    assert result.returncode == 1
    assert_matches_golden("validate-bad-date.txt", normalise(result.stdout))


def test_lines_are_not_cut_into_a_pipe():
    result = ceasefire(REPO, "validate", "--reports", str(Path.cwd() / "reports"), columns=None)
    line = next(line for line in result.stdout.splitlines() if "chronological-order" in line)
    assert line.endswith("(row 2021-08-11-2-km-northwest-of-yeghtsaog, column date_start, value '11.08.2021', "
                         "expected rows in chronological order: no date earlier than a row above it)")  # fmt: skip


def test_version_help_and_a_missing_version():
    from importlib import metadata

    assert ceasefire(REPO, "--version").stdout == f"ceasefire {metadata.version('nagorno-karabakh-ceasefire')}\n"
    help_text = ceasefire(REPO, "--help").stdout
    assert "`" not in help_text
    assert "ceasefire: extract, validate and publish the Nagorno-Karabakh ceasefire dataset" in " ".join(help_text.split())
    missing = ceasefire(REPO, "diff", "1.0.0", "9.9.9")
    assert missing.returncode == 2
    published = sorted((p.name for p in (REPO / "dist" / "nagorno-karabakh-ceasefire").iterdir() if p.is_dir()),
                       key=lambda name: tuple(map(int, name.split("."))))  # fmt: skip
    assert published[:2] == ["1.0.0", "1.1.0"]
    assert missing.stdout == ("error: dist/nagorno-karabakh-ceasefire/9.9.9 is not a published version; "
                              f"published versions: {', '.join(published)}\n")  # fmt: skip


def test_counts_take_the_singular_for_one():
    from ceasefire.plurals import plural
    from ceasefire.publish.releases import Changes, ResourceChanges

    changes = Changes([], [], {"violations": ResourceChanges("violations", 33, 33, added=["a"], changed=[{"id": "b"}])}, [])
    assert [why for _, why in changes.reasons] == ["violations: 1 row added", "violations: 1 row changed"]
    assert (plural(1, "validation error"), plural(2, "warning"), plural(2, "entry")) == ("1 validation error", "2 warnings", "2 entries")


@pytest.mark.prefect
def test_publish_shows_its_steps_and_each_finding_once_without_prefect_chatter(project):
    first = ceasefire(project, "publish")

    assert first.returncode == 0, first.stdout
    lines = first.stdout.splitlines()
    steps = [line.split()[1] for line in lines if line.startswith("✓ ")]
    assert [step for step in steps if step != "server"] == ["read", "extract", "validate", "publish", "report"]
    assert re.search(rf"^✓ publish +published 1\.0\.0 \(initial\) +{DURATION}$", first.stdout, re.M)
    assert " | INFO " not in first.stdout and "Finished in state" not in first.stdout
    assert sum(f"{ARTICLE}:83:3: warning chronological-order:" in line for line in lines) == 1
    assert "… and 22 more warnings: ceasefire findings --rule table-rows-without-prose-event" in lines
    assert re.search(rf"^published 1\.0\.0 \(initial\): 0 errors, 35 warnings \(35 new\) · {DURATION}$", first.stdout, re.M)

    verbose = ceasefire(project, "publish", "--verbose")
    assert verbose.returncode == 0
    assert "Finished in state" in verbose.stdout  # Prefect's own lines are back
    assert "content unchanged since 1.0.0; nothing published: 0 errors, 35 warnings (0 new)" in verbose.stdout


@pytest.mark.prefect
def test_failed_publish_prints_each_finding_once_and_a_failed_summary(project):
    line = seed_article().split("\n")[85]
    write_raw_dir(project / "raw", replace_line(seed_article(), 86, line.replace("| 1 |", "| 0 |", 1)),
                  (SEED_RAW / "wikipedia-cited-sentences.txt").read_text(encoding="utf-8"))  # fmt: skip

    result = ceasefire(project, "publish")

    assert result.returncode == 1
    assert result.stdout.count(f"{ARTICLE}:86:16: error minimum:") == 1
    assert re.search(rf"^FAILED: 1 error, 35 warnings \(36 new\) · nothing published; dist is unchanged · {DURATION}$",
                     result.stdout, re.M)  # fmt: skip
    assert "Traceback" not in result.stdout and " | ERROR " not in result.stdout


def test_a_running_step_shows_a_live_timer_on_a_terminal():
    import io
    import time

    from flows.console import Console

    screen = io.StringIO()
    console = Console(screen, width=80, live=True)
    with console.step("extract") as note:
        time.sleep(0.8)  # long enough for the timer to redraw a few times
        note.append("33 violations")

    written = screen.getvalue()
    assert re.search(r"\r… extract +0\.\d s\x1b\[K", written)  # redrawn in place, then cleared
    assert re.search(r"\r\x1b\[K✓ extract   33 violations +0\.\d s\n$", written)
    assert console._ticker is None  # the timer stops with the step
