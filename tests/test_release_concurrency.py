"""Safe publishing under real processes: a run killed mid-publish, two runs at once, a lock timeout.

Each run is a subprocess of plain Python calling ``ceasefire.pipeline.run`` (no Prefect). The
``CEASEFIRE_PAUSE_AT`` hook makes a run announce a point on stderr and sleep there, so the test
knows exactly where the run is when it kills it or starts the second one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import insert_line, seed_article, seed_cited, tree_snapshot, write_raw_dir

from ceasefire import PACKAGE_NAME
from ceasefire.pipeline import run
from ceasefire.publish.publishing import list_versions

SCRIPT = """
import sys
from pathlib import Path
from ceasefire.errors import PublishLockTimeout
from ceasefire.pipeline import run
try:
    outcome = run(Path(sys.argv[1]), Path(sys.argv[2]), lock_timeout=float(sys.argv[3]))
except PublishLockTimeout as error:
    print(f"locked: {error}", flush=True)
    sys.exit(3)
print(f"{outcome.status} {outcome.version}", flush=True)
sys.exit(outcome.exit_code)
"""
NEW_ROW = "| 30.03.2023 | 2 | near Shusha | Azerbaijan | no casualties |"


def _start(raw: Path, dist: Path, *, pause_at: str | None = None, pause_seconds: float = 120, lock_timeout: float = 120) -> subprocess.Popen:
    env = {**os.environ}
    env.pop("CEASEFIRE_PAUSE_AT", None)
    if pause_at:
        env.update(CEASEFIRE_PAUSE_AT=pause_at, CEASEFIRE_PAUSE_SECONDS=str(pause_seconds))
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(raw), str(dist), str(lock_timeout)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _wait_for_pause(process: subprocess.Popen, point: str, timeout: float = 120) -> None:
    """Block until the run says it paused at ``point`` (stderr), or fail with what it printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if line.strip() == f"paused at {point}":
            return
        if not line and process.poll() is not None:
            break
    process.kill()
    pytest.fail(f"run never paused at {point}: {process.communicate()}")


def _finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out.strip() + err


def _visible(dist: Path) -> dict[str, bytes]:
    """What a reader sees: every file except the lock and hidden leftovers."""
    return {
        name: content
        for name, content in tree_snapshot(dist).items()
        if not any(part.startswith(".") for part in Path(name).parts)
    }


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A published 1.0.0 from the seed, and a raw folder with one row more (the next run's MINOR)."""
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    dist = tmp_path / "dist"
    assert run(raw, dist).version == "1.0.0"
    write_raw_dir(raw, insert_line(seed_article(), 111, NEW_ROW), seed_cited())
    return raw, dist


def test_a_run_killed_after_staging_leaves_the_old_state_and_the_next_run_clears_it(project) -> None:
    raw, dist = project
    before = _visible(dist)
    process = _start(raw, dist, pause_at="staged")
    _wait_for_pause(process, "staged")
    package = dist / PACKAGE_NAME
    [leftover] = [p.name for p in package.iterdir() if p.name.startswith(".tmp-")]
    assert leftover.startswith(".tmp-1.1.0-")
    assert (package / leftover / "datapackage.json").is_file()  # staged in full, not yet visible

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert process.returncode == -signal.SIGKILL
    assert _visible(dist) == before
    assert [str(v) for v in list_versions(package)] == ["1.0.0"]
    outcome = run(raw, dist)
    assert (outcome.status, outcome.version) == ("published", "1.1.0")
    assert not [p for p in package.iterdir() if p.name.startswith(".tmp-")]
    assert json.loads((package / "latest.json").read_text())["version"] == "1.1.0"


def test_a_run_killed_after_the_rename_leaves_a_complete_version_that_the_next_run_finishes(project) -> None:
    raw, dist = project
    process = _start(raw, dist, pause_at="promoted")
    _wait_for_pause(process, "promoted")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    package = dist / PACKAGE_NAME
    # The version is complete: every file its descriptor lists is there with its hash.
    from frictionless import Package

    assert Package(str(package / "1.1.0" / "datapackage.json")).validate().valid
    assert sorted(p.name for p in (package / "1.1.0").iterdir()) == [
        "CITATION.cff", "README.md", "changes.json", "data", "datapackage.json", "docs", "raw", "report.html",
        "report.json", "schemas",
    ]  # fmt: skip
    assert not (package / "1.1.0.zip").exists()  # the downloads were not refreshed yet

    outcome = run(raw, dist)

    assert (outcome.status, outcome.version) == ("unchanged", "1.1.0")
    assert (package / "1.1.0.zip").is_file()
    assert json.loads((package / "latest.json").read_text())["version"] == "1.1.0"
    assert [v["version"] for v in json.loads((dist / "catalog.json").read_text())["packages"][0]["versions"]] == ["1.1.0", "1.0.0"]


def test_two_runs_at_once_publish_exactly_one_version(project) -> None:
    raw, dist = project
    first = _start(raw, dist, pause_at="staged", pause_seconds=3)
    _wait_for_pause(first, "staged")  # the first run holds the lock now
    second = _start(raw, dist)

    first_code, first_out = _finish(first)
    second_code, second_out = _finish(second)

    assert (first_code, first_out.splitlines()[0]) == (0, "published 1.1.0")
    assert (second_code, second_out.splitlines()[0]) == (0, "unchanged 1.1.0")
    assert [str(v) for v in list_versions(dist / PACKAGE_NAME)] == ["1.0.0", "1.1.0"]


def test_two_runs_started_together_never_share_a_version_number(project) -> None:
    raw, dist = project
    runs = [_start(raw, dist), _start(raw, dist)]
    results = sorted(_finish(process)[1].splitlines()[0] for process in runs)
    assert results == ["published 1.1.0", "unchanged 1.1.0"]
    assert [str(v) for v in list_versions(dist / PACKAGE_NAME)] == ["1.0.0", "1.1.0"]


def test_a_run_that_cannot_get_the_lock_in_time_exits_clearly_and_changes_nothing(project) -> None:
    raw, dist = project
    holder = _start(raw, dist, pause_at="locked", pause_seconds=30)
    _wait_for_pause(holder, "locked")
    before = _visible(dist)
    try:
        code, output = _finish(_start(raw, dist, lock_timeout=1))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert code == 3
    assert "another run has been publishing for over 1 s" in output
    assert _visible(dist) == before


def test_the_next_run_clears_leftovers_of_every_kind(project) -> None:
    raw, dist = project
    package = dist / PACKAGE_NAME
    (package / ".tmp-1.1.0-deadbeef" / "data").mkdir(parents=True)
    (package / ".tmp-1.1.0-deadbeef" / "data" / "violations.csv").write_text("half a fi")
    (package / ".tmp-1.1.0.zip-999").write_bytes(b"PK")
    (dist / ".tmp-catalog.json-cafe").write_text("{")

    outcome = run(raw, dist)

    assert (outcome.status, outcome.version) == ("published", "1.1.0")
    leftovers = [p for folder in (dist, package) for p in folder.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []
