"""The check of a large package's CSV forms, begun as soon as they and their twins are written, and
the thread it runs on (``ceasefire.threads.Beside``).

Publishing starts :func:`package_check.check_csv_forms` beside the typed files, the report and the
staging; the check of the whole package then takes its findings instead of reading the CSV forms
again, but only for the resources and files it read.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from ceasefire import PACKAGE_NAME, pipeline
from ceasefire.errors import OutputLocationError
from ceasefire.pipeline import build_dataset, publish
from ceasefire.publish import formats, package_check
from ceasefire.threads import Beside
from conftest import SEED_RAW, tree_snapshot
from test_package_check import copy_package, rewrite, set_cell


# --- the thread beside -----------------------------------------------------------------------------


def test_a_call_beside_gives_its_result_or_its_failure() -> None:
    with Beside("adding") as adding:
        adding.start(lambda number, cancel: number + 1, 1)
        assert adding.result() == 2
    with Beside("failing") as failing:
        failing.start(lambda cancel: 1 / 0)
        failing.wait()  # waits without raising
        with pytest.raises(ZeroDivisionError):
            failing.result()


def test_a_call_beside_starts_once_and_has_no_result_unstarted() -> None:
    with Beside("once") as once:
        with pytest.raises(RuntimeError, match="once was never started"):
            once.result()
        once.start(lambda cancel: None)
        with pytest.raises(RuntimeError, match="once was started already"):
            once.start(lambda cancel: None)


def test_leaving_the_block_cancels_the_call_and_waits_for_its_thread() -> None:
    stopped = []

    def until_cancelled(cancel: threading.Event) -> None:
        while not cancel.wait(0.01):
            pass
        stopped.append(True)

    with Beside("until-cancelled") as beside:
        beside.start(until_cancelled)
    assert stopped == [True]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("until-cancelled")]


def test_a_call_after_another_starts_once_the_other_has_ended_even_failed() -> None:
    order: list[str] = []
    release = threading.Event()

    def first_call(cancel: threading.Event) -> None:
        release.wait(5)
        order.append("first")
        raise ValueError("the first call failed")

    with Beside("first") as first, Beside("second") as second:
        first.start(first_call)
        second.start(lambda cancel: order.append("second"), after=first)
        time.sleep(0.2)
        assert order == []  # the second waits
        release.set()
        second.result()
        with pytest.raises(ValueError):
            first.result()
    assert order == ["first", "second"]


# --- the check of the CSV forms begun ahead --------------------------------------------------------


@pytest.fixture(scope="module")
def seed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outcome = publish(build_dataset(SEED_RAW), tmp_path_factory.mktemp("dist"))
    assert outcome.status == "published"
    return outcome.path


def _resources(package: Path) -> list[dict]:
    return json.loads((package / "datapackage.json").read_text(encoding="utf-8"))["resources"]


def count_csv_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The resources the check of the CSV forms reads, in order, as it reads them."""
    reads: list[str] = []
    check_csv = package_check._check_csv

    def counted(name, *args, **kwargs):
        reads.append(name)
        return check_csv(name, *args, **kwargs)

    monkeypatch.setattr(package_check, "_check_csv", counted)
    return reads


def test_the_check_begun_ahead_is_taken_and_the_csv_forms_are_not_read_again(seed_package: Path, monkeypatch) -> None:
    reads = count_csv_reads(monkeypatch)
    with Beside("package-check") as ahead:
        ahead.start(package_check.check_csv_forms, seed_package, _resources(seed_package))
        ahead.wait()
        assert reads == ["events", "violations"]
        assert package_check.find_package_errors(seed_package, ahead) == []
    assert reads == ["events", "violations"]


def test_a_csv_form_written_again_after_the_check_ahead_is_read_again(seed_package: Path, tmp_path: Path) -> None:
    package = copy_package(seed_package, tmp_path)
    with Beside("package-check") as ahead:
        ahead.start(package_check.check_csv_forms, package, _resources(package))
        assert ahead.result().errors == []  # the file as it was
        rewrite(package, "violations", set_cell(9, "violation_id", "Not An Id"))  # its twin is not
        assert package_check.find_package_errors(package, ahead) == [("violations", None, "violation_id", "constraint-error")]


def test_resources_described_otherwise_than_checked_ahead_are_read_again(seed_package: Path) -> None:
    """The check ahead read the CSV forms with a stricter contract than the package declares: the
    package is checked by what it declares."""
    stricter = _resources(seed_package)
    violations = next(resource for resource in stricter if resource["name"] == "violations")
    field = next(field for field in violations["schema"]["fields"] if field["name"] == "location")
    field.setdefault("constraints", {})["maxLength"] = 3
    with Beside("package-check") as ahead:
        ahead.start(package_check.check_csv_forms, seed_package, stricter)
        assert ahead.result().errors == [("violations", None, "location", "constraint-error")]
        assert package_check.find_package_errors(seed_package, ahead) == []


# --- publishing ------------------------------------------------------------------------------------


def test_a_large_package_is_checked_from_when_its_csv_forms_are_written(monkeypatch, tmp_path: Path) -> None:
    """The CSV forms are checked on a thread of their own before the version is staged, the typed
    files read back once that check has ended, and no CSV form is read twice."""
    monkeypatch.setattr(package_check, "FULL_FRICTIONLESS_MAX_ROWS", 0)  # the seed counts as large
    reads = count_csv_reads(monkeypatch)
    events: list[tuple[str, str]] = []
    check, stage, read_back = pipeline.check_csv_forms, pipeline.stage_version, formats.find_written_mismatches

    def spied_check(*args):
        events.append(("check begins", threading.current_thread().name))
        try:
            time.sleep(0.3)  # long enough for the typed files to be written and read back, were it not waited for
            return check(*args)
        finally:
            events.append(("check ends", threading.current_thread().name))

    def spied_stage(*args, **kwargs):
        events.append(("staged", threading.current_thread().name))
        return stage(*args, **kwargs)

    def spied_read_back(*args):
        events.append(("read-back begins", threading.current_thread().name))
        return read_back(*args)

    monkeypatch.setattr(pipeline, "check_csv_forms", spied_check)
    monkeypatch.setattr(pipeline, "stage_version", spied_stage)
    monkeypatch.setattr(formats, "find_written_mismatches", spied_read_back)
    assert publish(build_dataset(SEED_RAW), tmp_path / "dist").status == "published"

    names = [name for name, _ in events]
    assert names.index("check begins") < names.index("staged")
    assert names.index("check ends") < names.index("read-back begins")
    assert dict(events)["check begins"].startswith("package-check")
    assert reads == ["events", "violations"]  # by the check ahead only


def test_a_small_package_is_not_checked_ahead(monkeypatch, tmp_path: Path) -> None:
    reads = count_csv_reads(monkeypatch)
    assert publish(build_dataset(SEED_RAW), tmp_path / "dist").status == "published"
    assert reads == []  # frictionless validates it in full


def test_a_failure_while_the_csv_forms_are_checked_ahead_cancels_the_check(monkeypatch, tmp_path: Path) -> None:
    """Staging fails (a full disk) while the check ahead runs: it stops before its next chunk, its
    thread and the read-back's have ended when publish raises, and nothing is published."""
    monkeypatch.setattr(package_check, "FULL_FRICTIONLESS_MAX_ROWS", 0)
    monkeypatch.setattr(package_check, "CHUNK_BYTES", 2048)  # a few rows a chunk: 20 chunks or more
    chunks: list[int] = []
    begun = threading.Event()
    cells = package_check._csv_cells

    class SlowCells:
        def __init__(self, path: Path, names: list[str]):
            self._reader = cells(path, names)
            self.schema = self._reader.schema

        def __iter__(self):
            for chunk in self._reader:
                chunks.append(chunk.num_rows)
                begun.set()
                time.sleep(0.05)
                yield chunk

    def full_disk(*args, **kwargs):
        begun.wait(timeout=10)
        raise OSError(28, "No space left on device", str(tmp_path / "dist"))

    monkeypatch.setattr(package_check, "_csv_cells", SlowCells)
    monkeypatch.setattr(pipeline, "build_report", full_disk)
    with pytest.raises(OutputLocationError, match="No space left on device; nothing published"):
        publish(build_dataset(SEED_RAW), tmp_path / "dist")
    assert 1 <= len(chunks) <= 4  # the chunks under way when the staging failed, no more
    assert not [thread for thread in threading.enumerate() if thread.name.startswith(("package-check", "read-back"))]
    assert tree_snapshot(tmp_path / "dist" / PACKAGE_NAME) == {}
