"""The version's zip is built from the stage while the stage is read back and checked, then linked
into place after the promotion: the same bytes as the zip of the version folder, and nothing left
behind when the version is not published."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest
from conftest import insert_line, seed_article, seed_cited, write_raw_dir

from ceasefire import PACKAGE_NAME, pipeline
from ceasefire.findings import Finding
from ceasefire.pipeline import build_dataset, publish
from ceasefire.publish import catalog
from ceasefire.publish.zipping import ZipCancelled, zip_files

NEW_ROW = "| 30.03.2023 | 2 | near Shusha | Azerbaijan | no casualties |"


def _zip_bytes(folder: Path, root: str) -> bytes:
    out = io.BytesIO()
    catalog.build_zip(folder, root, out)
    return out.getvalue()


@pytest.fixture
def zipped_folders(monkeypatch) -> list[tuple[str, str]]:
    """Every (folder name, archive root) that ``build_zip`` zips during the test, in order."""
    calls = []
    real_build_zip = catalog.build_zip

    def recording_build_zip(version_dir: Path, root: str, out, cancel=None) -> None:
        calls.append((version_dir.name, root))
        real_build_zip(version_dir, root, out, cancel)

    monkeypatch.setattr(catalog, "build_zip", recording_build_zip)
    return calls


def _hidden(package: Path) -> list[str]:
    return sorted(p.name for p in package.iterdir() if p.name.startswith(".tmp-"))


def test_the_zip_is_built_from_the_stage_and_has_the_bytes_of_the_version_folders_zip(tmp_path, zipped_folders) -> None:
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    dist = tmp_path / "dist"
    threads = threading.active_count()
    assert publish(build_dataset(raw), dist).version == "1.0.0"
    write_raw_dir(raw, insert_line(seed_article(), 111, NEW_ROW), seed_cited())
    assert publish(build_dataset(raw), dist).version == "1.1.0"

    package = dist / PACKAGE_NAME
    [(first_stage, first_root), (second_stage, second_root)] = zipped_folders  # no zip built after a promotion
    assert first_stage.startswith(".tmp-1.0.0-") and first_root == f"{PACKAGE_NAME}-1.0.0"
    assert second_stage.startswith(".tmp-1.1.0-") and second_root == f"{PACKAGE_NAME}-1.1.0"
    for version in ("1.0.0", "1.1.0"):
        published = (package / f"{version}.zip").read_bytes()
        assert published == _zip_bytes(package / version, f"{PACKAGE_NAME}-{version}")
        digest = hashlib.sha256(published).hexdigest()
        assert (package / f"{version}.zip.sha256").read_text() == f"{digest}  {version}.zip\n"
    assert _hidden(package) == []
    assert threading.active_count() == threads


def test_a_failing_package_check_leaves_no_zip_and_no_temporary_file(seed_raw_dir, dist_dir, zipped_folders, monkeypatch) -> None:
    broken = Finding("error", "type-error", "frictionless", "violations", message="cell is not a date", row_id="1")
    monkeypatch.setattr(pipeline, "validate_written_package", lambda folder, frames, ahead: [broken])
    threads = threading.active_count()

    outcome = publish(build_dataset(seed_raw_dir), dist_dir)

    assert (outcome.status, outcome.version) == ("failed", None)
    [(stage, _)] = zipped_folders  # the zip was begun beside the check
    assert stage.startswith(".tmp-1.0.0-")
    package = dist_dir / PACKAGE_NAME
    assert sorted(p.name for p in package.iterdir()) == []
    assert not (dist_dir / "catalog.json").exists()
    assert threading.active_count() == threads


def test_an_interrupted_check_stops_the_zip_and_leaves_nothing(seed_raw_dir, dist_dir, zipped_folders, monkeypatch) -> None:
    def interrupted(folder, frames, ahead):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "validate_written_package", interrupted)
    threads = threading.active_count()

    with pytest.raises(KeyboardInterrupt):
        publish(build_dataset(seed_raw_dir), dist_dir)

    assert len(zipped_folders) == 1
    assert sorted(p.name for p in (dist_dir / PACKAGE_NAME).iterdir()) == []
    assert threading.active_count() == threads


def test_a_zip_that_fails_beside_the_check_is_built_after_the_promotion(seed_raw_dir, dist_dir, monkeypatch) -> None:
    calls = []
    real_build_zip = catalog.build_zip

    def failing_on_the_stage(version_dir: Path, root: str, out, cancel=None) -> None:
        calls.append(version_dir.name)
        if version_dir.name.startswith(".tmp-"):
            out.write(b"PK half a zip")
            raise OSError(28, "No space left on device")
        real_build_zip(version_dir, root, out, cancel)

    monkeypatch.setattr(catalog, "build_zip", failing_on_the_stage)

    outcome = publish(build_dataset(seed_raw_dir), dist_dir)

    # The maintainer is told, in the run's one-line outcome, that the zip had to be built again.
    assert (outcome.status, outcome.version, outcome.message) == ("published", "1.0.0", (
        "published 1.0.0 (initial); the zip built beside the checks failed (No space left on device), "
        "so it was built after the promotion"))  # fmt: skip
    assert [name.split("-")[0] for name in calls] == [".tmp", "1.0.0"]
    package = dist_dir / PACKAGE_NAME
    assert (package / "1.0.0.zip").read_bytes() == _zip_bytes(package / "1.0.0", f"{PACKAGE_NAME}-1.0.0")
    assert _hidden(package) == []


def test_a_cancelled_zip_stops_before_deflating_the_rest(tmp_path) -> None:
    source = tmp_path / "big.csv"
    source.write_bytes(b"a,b\n" * 10_000)
    cancel = threading.Event()
    cancel.set()
    info = catalog.zipfile.ZipInfo("root/big.csv")
    info.compress_type = catalog.zipfile.ZIP_DEFLATED
    with pytest.raises(ZipCancelled):
        zip_files([(info, source)], io.BytesIO(), level=6, cancel=cancel)


def test_an_existing_zip_is_never_replaced_by_the_one_built_ahead(seed_raw_dir, dist_dir) -> None:
    package = dist_dir / PACKAGE_NAME
    package.mkdir(parents=True)
    (package / "1.0.0.zip").write_bytes(b"PK an older download")

    assert publish(build_dataset(seed_raw_dir), dist_dir).version == "1.0.0"

    assert (package / "1.0.0.zip").read_bytes() == b"PK an older download"
    digest = hashlib.sha256(b"PK an older download").hexdigest()
    assert (package / "1.0.0.zip.sha256").read_text() == f"{digest}  1.0.0.zip\n"
    assert _hidden(package) == []
