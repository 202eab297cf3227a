"""Downloads and the catalog: reproducible zips with their sha256, catalog.json, and index.html as
a user sees it in headless Chromium."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from chromium import render_page
from conftest import insert_line, seed_article, seed_cited, write_raw_dir

from ceasefire import PACKAGE_NAME
from ceasefire.publish.catalog import build_zip
from ceasefire.pipeline import build_dataset, publish

NEW_ROW = "| 30.03.2023 | 2 | near Shusha | Azerbaijan | no casualties |"


def _at(day: int) -> dt.datetime:
    return dt.datetime(2024, 5, day, 9, 30, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory) -> Path:
    """dist/ with 1.0.0 (the seed) and 1.1.0 (one row added)."""
    root = tmp_path_factory.mktemp("catalog")
    raw = write_raw_dir(root / "raw", seed_article(), seed_cited())
    dist = root / "dist"
    assert publish(build_dataset(raw), dist, now=_at(1)).version == "1.0.0"
    write_raw_dir(raw, insert_line(seed_article(), 111, NEW_ROW), seed_cited())
    assert publish(build_dataset(raw), dist, now=_at(2)).version == "1.1.0"
    return dist


def test_each_version_has_a_zip_of_its_folder_and_a_matching_sha256(two_releases: Path) -> None:
    package = two_releases / PACKAGE_NAME
    for version in ("1.0.0", "1.1.0"):
        data = (package / f"{version}.zip").read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert (package / f"{version}.zip.sha256").read_text() == f"{digest}  {version}.zip\n"
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = sorted(archive.namelist())
            root = f"{PACKAGE_NAME}-{version}"
            assert names == sorted(
                f"{root}/{p.relative_to(package / version).as_posix()}" for p in (package / version).rglob("*") if p.is_file()
            )
            assert archive.read(f"{root}/data/violations.csv") == (package / version / "data" / "violations.csv").read_bytes()


def test_zips_are_byte_reproducible(two_releases: Path) -> None:
    folder = two_releases / PACKAGE_NAME / "1.1.0"
    assert build_zip(folder, f"{PACKAGE_NAME}-1.1.0") == (two_releases / PACKAGE_NAME / "1.1.0.zip").read_bytes()


def _zipfile_bytes(folder: Path, root: str) -> bytes:
    """What zipfile writes for the folder, one file after the other (the reference the parallel zip must match)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{root}/{path.relative_to(folder).as_posix()}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def test_the_parallel_zip_has_the_bytes_zipfile_writes(two_releases: Path, tmp_path: Path, monkeypatch) -> None:
    import random

    from ceasefire.publish import zipping

    monkeypatch.setattr(zipping, "_READ_BLOCK", 1000)  # files are read in many blocks
    folder = tmp_path / "version"
    (folder / "data").mkdir(parents=True)
    (folder / "empty.txt").write_bytes(b"")
    noise = random.Random(7).randbytes(30_000)
    (folder / "data" / "naïve ü.csv").write_bytes(noise + b"a,b\n" * 20_000 + noise)
    (folder / "data" / "small.json").write_text('{"a": 1}\n', encoding="utf-8")
    for source, root in ((folder, "root"), (two_releases / PACKAGE_NAME / "1.0.0", f"{PACKAGE_NAME}-1.0.0")):
        assert build_zip(source, root) == _zipfile_bytes(source, root)
    assert (two_releases / PACKAGE_NAME / "1.0.0.zip").read_bytes() == _zipfile_bytes(two_releases / PACKAGE_NAME / "1.0.0", f"{PACKAGE_NAME}-1.0.0")


def test_catalog_lists_every_version_with_what_a_downloader_needs(two_releases: Path) -> None:
    catalog = json.loads((two_releases / "catalog.json").read_text(encoding="utf-8"))
    [package] = catalog["packages"]
    assert (package["name"], package["latest"], package["license"]) == (PACKAGE_NAME, "1.1.0", "CC-BY-SA-4.0")
    newest, oldest = package["versions"]
    assert (newest["version"], newest["bump"], newest["created"], newest["rows"]) == (
        "1.1.0", "minor", "2024-05-02T09:30:00Z", {"violations": 34, "events": 64}
    )  # fmt: skip
    assert (oldest["version"], oldest["bump"], oldest["rows"]) == ("1.0.0", "initial", {"violations": 33, "events": 64})
    assert oldest["validation"] == {"status": "passed with warnings", "errors": 0, "warnings": 3}
    zip_path = two_releases / newest["links"]["zip"]
    assert newest["zip"] == {"bytes": zip_path.stat().st_size, "sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest()}
    for link in [*newest["links"].values(), *package["links"].values()]:
        assert (two_releases / link).exists(), link
    latest = json.loads((two_releases / PACKAGE_NAME / "latest.json").read_text())
    assert latest == {"name": PACKAGE_NAME, "version": "1.1.0", "path": "1.1.0/datapackage.json"}
    assert not (two_releases / PACKAGE_NAME / "latest.json").is_symlink()


def test_the_catalog_page_shows_every_version_in_chromium(two_releases: Path, tmp_path: Path) -> None:
    page = render_page(two_releases / "index.html", tmp_path / "index.png")

    text = page.text
    assert "Nagorno-Karabakh ceasefire dataset: releases" in text
    assert "Latest version: 1.1.0" in text
    catalog = json.loads((two_releases / "catalog.json").read_text())
    for entry in catalog["packages"][0]["versions"]:
        row = re.search(rf'<tr data-version="{re.escape(entry["version"])}">(.*?)</tr>', page.dom, re.S)
        assert row, entry["version"]
        cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
        assert cells[:5] == [
            entry["version"], entry["created"][:10], entry["bump"],
            f"violations: {entry['rows']['violations']}, events: {entry['rows']['events']}", "passed with warnings, 3 warnings",
        ]  # fmt: skip
        assert cells[6] == entry["zip"]["sha256"]
        assert cells[7] == "zip · sha256 · datapackage.json · README · changes"
    assert text.index("1.1.0 2024-05-02 minor") < text.index("1.0.0 2024-05-01 initial")
    # Every link on the page opens a file that exists next to it on disk.
    hrefs = re.findall(r'href="([^"]+)"', page.dom)
    assert len(hrefs) == 2 + 5 * 2
    assert all((two_releases / href).exists() for href in hrefs), hrefs
    png = page.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
