"""Downloads and the catalog: reproducible zips with their sha256, catalog.json, and index.html as
a user sees it in headless Chromium."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
import zlib
from pathlib import Path

import pytest
from chromium import render_page
from conftest import insert_line, seed_article, seed_cited, write_raw_dir
from zlib_ng import zlib_ng

from ceasefire import PACKAGE_NAME
from ceasefire.contracts.vocabularies import load_contracts
from ceasefire.publish.catalog import ZIP_LEVEL, build_zip, zip_members
from ceasefire.publish.zipping import BlockDeflater, deflate_file, zip_files
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


def _zip_bytes(folder: Path, root: str) -> bytes:
    out = io.BytesIO()
    build_zip(folder, root, out)
    return out.getvalue()


def test_zips_are_byte_reproducible(two_releases: Path) -> None:
    folder = two_releases / PACKAGE_NAME / "1.1.0"
    assert _zip_bytes(folder, f"{PACKAGE_NAME}-1.1.0") == (two_releases / PACKAGE_NAME / "1.1.0.zip").read_bytes()


class _BlocksOneAfterTheOther:
    """The reference stream, built apart from the code under test: the whole file cut every ``block``
    bytes, each piece deflated by a zlib-ng compressor of its own, primed with the 32 KiB before it,
    ended by a sync flush, the last piece by the stream's end (what pigz does), one after the other."""

    def __init__(self, block: int):
        self.block, self.data = block, bytearray()

    def compress(self, data: bytes) -> bytes:
        self.data += data
        return b""

    def flush(self) -> bytes:
        data = bytes(self.data)
        starts = range(0, len(data), self.block) or [0]
        stream = []
        for start in starts:
            primer = data[max(0, start - 32768) : start]
            compressor = zlib_ng.compressobj(ZIP_LEVEL, zlib_ng.DEFLATED, -15, **({"zdict": primer} if primer else {}))
            end = zlib_ng.Z_FINISH if start == starts[-1] else zlib_ng.Z_SYNC_FLUSH
            stream.append(compressor.compress(data[start : start + self.block]) + compressor.flush(end))
        return b"".join(stream)


def _reference_zip_bytes(folder: Path, root: str, monkeypatch, block: int, force_zip64: bool = False) -> bytes:
    """What zipfile writes for the folder, one file after the other, with the stream of
    :class:`_BlocksOneAfterTheOther` as its deflate: the reference the zip must match."""
    buffer = io.BytesIO()
    with monkeypatch.context() as patch:
        patch.setattr(zipfile, "_get_compressor", lambda compress_type, compresslevel=None: _BlocksOneAfterTheOther(block))
        with zipfile.ZipFile(buffer, "w") as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(f"{root}/{path.relative_to(folder).as_posix()}", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                info.create_system = 3
                with archive.open(info, "w", force_zip64=force_zip64) as target:
                    target.write(path.read_bytes())
    return buffer.getvalue()


def _assert_every_file_reads_back(data: bytes, folder: Path, root: str) -> None:
    """Python's own zipfile finds every file of the folder in the zip, in order, with its bytes."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [f"{root}/{p.relative_to(folder).as_posix()}" for p in files]
        for path in files:
            assert archive.read(f"{root}/{path.relative_to(folder).as_posix()}") == path.read_bytes()


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    """An empty file, a non-ASCII name, and a file that neither compresses well nor badly throughout."""
    import random

    folder = tmp_path / "version"
    (folder / "data").mkdir(parents=True)
    (folder / "empty.txt").write_bytes(b"")
    noise = random.Random(7).randbytes(30_000)
    (folder / "data" / "naïve ü.csv").write_bytes(noise + b"a,b\n" * 20_000 + noise)
    (folder / "data" / "small.json").write_text('{"a": 1}\n', encoding="utf-8")
    return folder


def test_the_parallel_zip_has_the_bytes_zipfile_writes_with_zlib_ng(two_releases: Path, odd_folder: Path, monkeypatch) -> None:
    from ceasefire.publish import zipping

    monkeypatch.setattr(zipping, "_BLOCK", 1000)  # files are deflated in many blocks
    seed = two_releases / PACKAGE_NAME / "1.0.0"
    for source, root in ((odd_folder, "root"), (seed, f"{PACKAGE_NAME}-1.0.0")):
        data = _zip_bytes(source, root)
        assert data == _reference_zip_bytes(source, root, monkeypatch, block=1000)
        _assert_every_file_reads_back(data, source, root)
        for workers in (1, 3):  # the bytes do not depend on how many threads deflate the blocks
            out = io.BytesIO()
            zip_files(zip_members(source, root), out, ZIP_LEVEL, workers=workers)
            assert out.getvalue() == data
    published = (two_releases / PACKAGE_NAME / "1.0.0.zip").read_bytes()
    assert published == _reference_zip_bytes(seed, f"{PACKAGE_NAME}-1.0.0", monkeypatch, block=1 << 22)


def test_a_folder_too_big_for_the_parallel_zip_is_written_by_zipfile_with_zlib_ng_and_reads_back_whole(
    two_releases: Path, odd_folder: Path, monkeypatch
) -> None:
    from ceasefire.publish import zipping

    monkeypatch.setattr(zipping, "_needs_zip64", lambda files: True)  # what a member near 2 GiB triggers
    monkeypatch.setattr(zipping, "_BLOCK", 1000)
    for source in (odd_folder, two_releases / PACKAGE_NAME / "1.0.0"):
        data = _zip_bytes(source, "root")
        assert data == _reference_zip_bytes(source, "root", monkeypatch, block=1000, force_zip64=True)
        _assert_every_file_reads_back(data, source, "root")


def _fixed_rows(count: int) -> bytes:
    places = ["near Shusha", "Lachin corridor", "Khojavend", "Martakert", "Aghdam"]
    violators = ["Azerbaijan", "Armenia", "unknown"]
    return "".join(
        f"{i},2023-{i % 12 + 1:02d}-{i % 28 + 1:02d},{places[i * 7 % 5]},{violators[i * i % 3]},{i * 31 % 97}\n"
        for i in range(count)
    ).encode("ascii")


def test_the_deflate_stream_of_a_fixed_input_is_pinned(tmp_path: Path) -> None:
    """Every new zip's bytes, and so its published sha256, hang on zlib-ng's version, ZIP_LEVEL and the block
    size: changing any of them changes this stream (10 MB, three blocks), so it must be done on purpose.
    Earlier zips are never rewritten. Deflated on two threads or in the caller's, the stream is the same."""
    from concurrent.futures import ThreadPoolExecutor

    source = tmp_path / "rows.csv"
    source.write_bytes(_fixed_rows(250_000))
    streams = []
    with ThreadPoolExecutor(2) as pool:
        for deflater in (BlockDeflater(ZIP_LEVEL), BlockDeflater(ZIP_LEVEL, pool, ahead=1)):
            out = io.BytesIO()
            deflated = deflate_file(source, out, deflater)
            streams.append(out.getvalue())
    stream = streams[0]
    assert streams[1] == stream
    reference = _BlocksOneAfterTheOther(1 << 22)
    reference.compress(source.read_bytes())
    assert stream == reference.flush()
    data, fed = source.read_bytes(), BlockDeflater(ZIP_LEVEL)  # fed in pieces of another size: the same stream
    assert b"".join(fed.compress(data[start : start + 999_983]) for start in range(0, len(data), 999_983)) + fed.flush() == stream
    assert zlib_ng.decompress(stream, -15) == source.read_bytes()
    assert (deflated.size, deflated.compressed, deflated.crc) == (10_113_119, len(stream), zlib.crc32(source.read_bytes()))
    assert hashlib.sha256(stream).hexdigest() == "daf7fe8924cb7fa28cf9b7298cf6b473ae5c771b35031b7f025eccb5f264b2e6"


def test_catalog_lists_every_version_with_what_a_downloader_needs(two_releases: Path) -> None:
    catalog = json.loads((two_releases / "catalog.json").read_text(encoding="utf-8"))
    [package] = catalog["packages"]
    assert (package["name"], package["latest"], package["license"]) == (PACKAGE_NAME, "1.1.0", "CC-BY-SA-4.0")
    newest, oldest = package["versions"]
    assert (newest["version"], newest["bump"], newest["created"], newest["rows"]) == (
        "1.1.0", "minor", "2024-05-02T09:30:00Z", {"violations": 34, "events": 64}
    )  # fmt: skip
    assert (oldest["version"], oldest["bump"], oldest["rows"]) == ("1.0.0", "initial", {"violations": 33, "events": 64})
    assert oldest["validation"] == {"status": "passed with warnings", "errors": 0, "warnings": 35}
    zip_path = two_releases / newest["links"]["zip"]
    assert newest["zip"] == {"bytes": zip_path.stat().st_size, "sha256": hashlib.sha256(zip_path.read_bytes()).hexdigest()}
    for link in [*newest["links"].values(), *package["links"].values()]:
        assert (two_releases / link).exists(), link
    latest = json.loads((two_releases / PACKAGE_NAME / "latest.json").read_text())
    assert latest == {"name": PACKAGE_NAME, "version": "1.1.0", "path": "1.1.0/datapackage.json"}
    assert not (two_releases / PACKAGE_NAME / "latest.json").is_symlink()


@pytest.mark.browser
def test_the_landing_page_shows_the_latest_version_and_every_version_in_chromium(two_releases: Path, tmp_path: Path) -> None:
    page = render_page(two_releases / "index.html", tmp_path / "index.png", height=4000)

    text = page.text
    assert "Latest version: 1.1.0" in text
    for section in ("downloads", "dictionary", "preview", "validation", "changelog", "cite", "licence", "versions"):
        assert f'<section id="{section}"' in page.dom, section
    base = f"{PACKAGE_NAME}/1.1.0"
    downloads = re.findall(r'<a class="download" href="([^"]+)"', page.dom)
    assert downloads == [
        f"{base}/data/violations.csv", f"{base}/data/violations.jsonl", f"{base}/data/violations.parquet",
        f"{base}/data/events.csv", f"{base}/data/events.jsonl", f"{base}/data/events.parquet",
        f"{base}/data/{PACKAGE_NAME}.sqlite", f"{PACKAGE_NAME}/1.1.0.zip",
    ]  # fmt: skip
    # The data dictionary lists every field of every table, from its Table Schema.
    descriptor = json.loads((two_releases / base / "datapackage.json").read_text())
    for resource in descriptor["resources"]:
        if resource["format"] == "csv":
            table = re.search(rf'<table class="fields" data-table="{resource["name"]}">(.*?)</table>', page.dom, re.S).group(1)
            assert re.findall(r"<tr><td><code>([^<]+)</code>", table) == [spec["name"] for spec in resource["schema"]["fields"]]
    preview = re.search(r'<table class="preview" data-table="violations">(.*?)</table>', page.dom, re.S).group(1)
    assert len(re.findall(r"<tr>", preview)) == 1 + 5 and "2020-12-11-territory-of-the-former-hadrut-province" in preview
    assert "Version 1.1.0: passed with warnings , 0 errors, 36 warnings" in text and "Read the validation report" in text
    assert "<p>Compared with 1.0.0.</p>" in page.dom and "<li><strong>MINOR</strong>: violations: 1 row added</li>" in page.dom
    assert "@misc{nagorno_karabakh_ceasefire_1_1_0," in text and "version = {1.1.0}" in text
    assert "Creative Commons Attribution Share-Alike 4.0" in text
    catalog = json.loads((two_releases / "catalog.json").read_text())
    for entry in catalog["packages"][0]["versions"]:
        row = re.search(rf'<tr data-version="{re.escape(entry["version"])}">(.*?)</tr>', page.dom, re.S)
        assert row, entry["version"]
        cells = [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
        assert cells[:5] == [
            entry["version"], entry["created"][:10], entry["bump"],
            f"violations: {entry['rows']['violations']}, events: {entry['rows']['events']}",
            f"passed with warnings, {entry['validation']['warnings']} warnings",
        ]  # fmt: skip
        assert cells[6] == entry["zip"]["sha256"]
    assert text.index("1.1.0 2024-05-02 minor") < text.index("1.0.0 2024-05-01 initial")
    # Every link opens a file next to the page on disk (or a section of it); only the licence and the
    # source article are on the web.
    hrefs = re.findall(r'href="([^"]+)"', page.dom)
    remote = sorted({href for href in hrefs if href.startswith("https://")})
    assert remote == ["https://creativecommons.org/licenses/by-sa/4.0/", "https://en.wikipedia.org/wiki/Peacekeeping_operations_in_Nagorno-Karabakh"]
    local = [href for href in hrefs if not href.startswith(("https://", "#"))]
    assert len(local) > 20 and all((two_releases / href).exists() for href in local), local
    assert all(f'id="{href[1:]}"' in page.dom for href in hrefs if href.startswith("#"))
    png = page.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_the_changelog_renders_markdown_but_never_raw_html() -> None:
    from ceasefire.publish.landing import render_changelog_html

    html = render_changelog_html("# Changelog\n\n## 1.0.0\n\n- `<b>` <script>alert(1)</script> [x](javascript:alert(1))\n")
    assert "<h2>1.0.0</h2>" in html and "<code>&lt;b&gt;</code>" in html
    assert "&lt;script&gt;" in html and "<script" not in html and "href=" not in html


def test_the_landing_page_is_rendered_again_byte_for_byte_and_matches_its_golden_file(two_releases: Path) -> None:
    """The page is a pure function of the version folders; the golden file shows every change to it.

    Zip hashes and sizes are masked: each version's report carries its run's id.
    Regenerate with ``UPDATE_GOLDEN=1``.
    """
    import os

    from ceasefire.publish.landing import render_landing_page

    catalog = json.loads((two_releases / "catalog.json").read_text(encoding="utf-8"))
    page = (two_releases / "index.html").read_text(encoding="utf-8")
    assert render_landing_page(catalog, two_releases, load_contracts().package) == page
    masked = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", page)
    masked = re.sub(r"\b\d+(\.\d)? (KiB|MiB|B)\b", "<size>", masked)
    golden = Path(__file__).parent / "golden" / "index.html"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(masked, encoding="utf-8")
    assert masked == golden.read_text(encoding="utf-8")


def test_a_refresh_reads_each_release_record_once_for_the_catalog_and_the_changelog(two_releases: Path, monkeypatch) -> None:
    """The catalog takes two fields of each changes.json and the changelog renders it: one read
    serves both (a first release's record lists every row's key: 56 MB at a million rows)."""
    from ceasefire.publish import catalog as catalog_module

    before = {name: (two_releases / name).read_bytes() for name in ("catalog.json", "CHANGELOG.md", "index.html") if (two_releases / name).is_file()}
    before.update({f"{PACKAGE_NAME}/CHANGELOG.md": (two_releases / PACKAGE_NAME / "CHANGELOG.md").read_bytes()})
    read = []
    real = catalog_module.read_changes
    monkeypatch.setattr(catalog_module, "read_changes", lambda path: read.append(path) or real(path))
    catalog_module.refresh_downloads(two_releases, load_contracts().package)

    versions = sorted(path.parent.name for path in read)
    assert versions == ["1.0.0", "1.1.0"]  # once each, not once for the catalog and once for the changelog
    assert {name: (two_releases / name).read_bytes() for name in before} == before

def test_the_landing_page_escapes_markup_from_the_source(tmp_path: Path) -> None:
    from conftest import replace_line
    from test_report_html import HOSTILE_LOCATION

    article = seed_article()
    line = article.split("\n")[78]
    assert "territory of the former Hadrut province" in line
    raw = write_raw_dir(tmp_path / "raw", replace_line(article, 79, line.replace("territory of the former Hadrut province", HOSTILE_LOCATION)), seed_cited())
    assert publish(build_dataset(raw), tmp_path / "dist", now=_at(1)).version == "1.0.0"
    page = (tmp_path / "dist" / "index.html").read_text(encoding="utf-8")
    assert "<img" not in page and "<b>Hill" not in page
    assert "&lt;img src=x onerror=&#34;document.body.setAttribute(&#39;data-pwned&#39;,&#39;2&#39;)&#34;&gt;&lt;b&gt;Hill&lt;/b&gt;" in page


def test_the_landing_page_before_any_release_names_the_collection_from_package_json(tmp_path: Path) -> None:
    from ceasefire.publish.landing import render_landing_page

    import dataclasses

    metadata = dataclasses.replace(load_contracts().package, short_title="A renamed collection")
    page = render_landing_page({"packages": []}, tmp_path, metadata)
    assert f"<title>{metadata.short_title}</title>" in page and f"<h1>{metadata.short_title}</h1>" in page
    assert '<p id="no-version">No version has been published yet.</p>' in page
