"""Exit codes and console output of the real command line under hostile input (docs/RELIABILITY.md):
one line per failure, each finding once, no traceback, not even in Prefect's logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import flows.publish  # noqa: F401  Prefect's console handler binds to pytest's session stream, not capfd's
from ceasefire import pipeline
from conftest import insert_line, prefect_log_lines, seed_article, seed_cited, write_raw_dir
from flows.cli import main

pytestmark = pytest.mark.prefect

CEASEFIRE = Path(sys.executable).parent / "ceasefire"


def _ceasefire(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    # No COLUMNS: output into a pipe is never cut, so a finding can be matched whole.
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([str(CEASEFIRE), *argv], capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


def test_failing_publish_prints_each_finding_once_and_no_traceback(tmp_path):
    raw = write_raw_dir(tmp_path / "raw", insert_line(seed_article(), 85, ""), seed_cited())
    result = _ceasefire("publish", "--raw", str(raw), "--dist", str(tmp_path / "dist"), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback" not in output
    # Compiler style, once; Prefect's own lines are off unless --verbose.
    finding = "wikipedia-peacekeeping-nagorno-karabakh.txt:86:1: error table-line: blank line inside the table"
    assert output.count(finding) == 1
    assert "FAILED: 1 error, " in result.stderr and "Finished in state" not in output
    assert not (tmp_path / "dist" / "nagorno-karabakh-ceasefire").exists()


@pytest.mark.parametrize("option", ["--dist", "--reports"])
def test_output_folder_that_is_a_file_is_exit_2_with_one_line(seed_raw_dir, tmp_path, option):
    taken = tmp_path / "taken"
    taken.write_text("a file", encoding="utf-8")
    result = _ceasefire("publish", "--raw", str(seed_raw_dir), option, str(taken), cwd=tmp_path)
    assert result.returncode == 2
    assert (result.stdout, result.stderr) == ("", f"error: output location: {taken}: exists and is not a folder\n")


def test_unusable_input_ends_the_flow_failed_with_one_line_and_no_traceback(seed_raw_dir, tmp_path, capfd):
    (seed_raw_dir / "provenance.json").write_text('{"files": [{"path": "../../etc/passwd", "role": "article", "sha256": "x"}]}')
    with prefect_log_lines() as logged:
        code = main(["publish", "--raw", str(seed_raw_dir), "--dist", str(tmp_path / "dist"), "--reports", str(tmp_path / "reports")])
    printed = capfd.readouterr()
    assert code == 2
    assert not any("Traceback" in line for line in logged + printed.err.splitlines())
    line = "provenance.json: entry 1 ('../../etc/passwd'): the path must not contain '..'"
    # Step lines (✓/✗) come first; the failure itself is one line.
    assert [text for text in printed.err.splitlines() if text[:1] not in "✓✗"] == [f"error: unusable input: {line}"]
    [finished] = [text for text in logged if "Finished in state Failed" in text]
    assert finished.endswith(f"Failed(\"unusable input: {line}\")")


def test_bug_inside_the_flow_is_exit_70_with_the_traceback_in_the_run_folder(seed_raw_dir, tmp_path, capfd, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug in publishing")

    # publish is never cached, so the bug strikes even when earlier tests cached the extraction.
    monkeypatch.setattr(pipeline, "publish", broken)
    dist = tmp_path / "dist"
    code = main(["publish", "--raw", str(seed_raw_dir), "--dist", str(dist), "--reports", str(tmp_path / "reports")])
    printed = capfd.readouterr()
    assert code == 70
    [saved] = (tmp_path / "reports" / "runs").glob("*/traceback.txt")
    assert "KeyError: 'a bug in publishing'" in saved.read_text(encoding="utf-8")
    [line] = [line for line in printed.err.splitlines() if line.startswith("error:")]  # after the step lines
    assert "Traceback" not in printed.err + printed.out
    assert line.startswith("error: internal error (a bug, please report it): KeyError") and str(saved) in line
    assert not (dist / "nagorno-karabakh-ceasefire").exists()


def test_an_article_edited_while_the_run_publishes_stops_it_unpublished(seed_raw_dir, tmp_path):
    """The real command, paused under the publish lock after it has read and extracted the article
    (the lines stay on disk, read again when needed), while the article is edited: the run stops
    with one line naming the file, exit 2, no traceback, and nothing is published."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(CEASEFIRE_PAUSE_AT="locked", CEASEFIRE_PAUSE_SECONDS="15")
    dist = tmp_path / "dist"
    run = subprocess.Popen([str(CEASEFIRE), "publish", "--raw", str(seed_raw_dir), "--dist", str(dist)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)  # fmt: skip
    seen = []
    for line in run.stderr:  # the pause is announced on stderr
        seen.append(line)
        if line.startswith("paused at locked"):
            break
    article = seed_raw_dir / "wikipedia-peacekeeping-nagorno-karabakh.txt"
    article.write_bytes(article.read_bytes().replace(b"Shusha", b"Shushi", 1))
    stdout, rest = run.communicate(timeout=600)
    output = stdout + "".join(seen) + rest
    assert run.returncode == 2, output
    assert "Traceback" not in output
    assert ("error: unusable input: wikipedia-peacekeeping-nagorno-karabakh.txt: changed on disk while the run "
            "was reading it; nothing is published: run again") in rest  # fmt: skip
    assert [path.name for path in (dist / "nagorno-karabakh-ceasefire").iterdir()] == []  # no version, no stage
