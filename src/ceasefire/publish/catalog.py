"""Downloads and the catalog: a zip and its sha256 per version, ``latest.json``, the package's
``CHANGELOG.md``, ``dist/catalog.json`` and the landing page ``dist/index.html`` (``landing``).

All of these are derived from the published version folders, which are the only record. Every
run refreshes them under the publish lock, so a run killed after a version folder was renamed into
place is completed by the next run. Each file is rewritten only when its bytes change, and all are
pure functions of the version folders: no timestamps of their own.

A version's zip is made while its stage is still being checked (:class:`ZipAhead`): its bytes
depend only on the files' relative paths and bytes, which the promotion does not change.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ceasefire.contracts.package import PackageMetadata
from ceasefire.publish.landing import render_landing_page
from ceasefire.extract.raw import sha256_file
from ceasefire.publish.publishing import TEMP_PREFIX, Version, list_versions, replace_durably
from ceasefire.publish.changes_file import ReadChanges, read_changes
from ceasefire.publish.releases import CHANGES_FILE, render_changelog
from ceasefire.publish.zipping import ZipCancelled, zip_files

CATALOG_FORMAT = "1.0"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed, so the same folder always gives the same zip


# zlib-ng's level 5 (ceasefire.publish.zipping). CPU seconds, one thread, for the files of a 1,000,000-row
# version: level 5 4.0 s for 104.8 MB, level 6 6.3 s for 102.3 MB, level 4 3.5 s for 111.1 MB; the system zlib's
# level 6, used before, 10.4 s for 97.0 MB. build_zip of a 200,000-row version: level 5 1.0 s of CPU for 22.6 MB,
# level 6 1.5 s for 22.0 MB (the system zlib's level 6: 2.4 s, 20.6 MB). The zip is deflated beside the read-back
# and the package check on two cores, so a third less CPU is worth 2.4 % more bytes; level 4 saves little more
# CPU for 6 % more. A zip, once written, is never rewritten, so the zips of earlier versions keep their bytes
# and checksums.
ZIP_LEVEL = 5


def zip_root(package_dir: Path, version: Version) -> str:
    """The folder the zip of a version unpacks into: ``{package}-{version}``."""
    return f"{package_dir.name}-{version}"


def zip_members(version_dir: Path, root: str) -> list[tuple[zipfile.ZipInfo, Path]]:
    """Every file of a version folder, sorted, with the zip entry it becomes under ``root``: fixed dates and modes."""
    members = []
    for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
        info = zipfile.ZipInfo(f"{root}/{path.relative_to(version_dir).as_posix()}", date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info.create_system = 3
        members.append((info, path))
    return members


def build_zip(version_dir: Path, root: str, out: BinaryIO, cancel: threading.Event | None = None) -> None:
    """Write every file of a version folder into ``out`` (:func:`zip_members`): byte-reproducible.

    Each file's deflate stream is made of blocks deflated in parallel by zlib-ng
    (:mod:`ceasefire.publish.zipping`); the container is what ``zipfile`` writes around them. Setting
    ``cancel`` stops it with ``ZipCancelled``.
    """
    zip_files(zip_members(version_dir, root), out, level=ZIP_LEVEL, cancel=cancel)


def _write_if_changed(path: Path, content: bytes) -> bool:
    if path.is_file() and path.read_bytes() == content:
        return False
    replace_durably(path, content)
    return True


def _write_new_zip(path: Path, version_dir: Path, root: str) -> None:
    """Create the zip at ``path`` from a fsynced temporary file; an existing download is never replaced."""
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}-{os.getpid()}")
    with temp.open("wb") as handle:
        build_zip(version_dir, root, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.link(temp, path)  # fails if path exists
    temp.unlink()


@dataclass(frozen=True)
class PrebuiltZip:
    """A version's zip built from its stage before the promotion: a fsynced temporary file and its sha256."""

    zip_path: Path  # where it belongs: <package>/<version>.zip
    path: Path
    sha256: str


class ZipAhead:
    """Builds a staged version's zip in a thread while the stage is read back and checked.

    Deflate is the slow part and zlib-ng releases the GIL, so with a core free the zip costs little
    time beside the checks (docs/BENCHMARKS.md). The zip goes into a temporary file in the package folder (a killed run's is cleared like
    any leftover); :func:`ensure_zip` links it into place once the version is promoted. Use it as a
    context manager around the publishing: leaving it cancels and joins the thread and removes the
    temporary file, so an unpublished version leaves no zip and no thread outlives the run.
    """

    def __init__(self, package_dir: Path) -> None:
        self._package_dir = package_dir
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._temp: Path | None = None
        self._result: PrebuiltZip | None = None
        self.error: Exception | None = None  # why the zip could not be built ahead, if it could not

    def start(self, stage: Path, version: Version) -> None:
        """Zip ``stage``, which holds every file of ``version`` and no longer changes, as the version folder."""
        zip_path = self._package_dir / f"{version}.zip"
        self._temp = zip_path.with_name(f"{TEMP_PREFIX}{zip_path.name}-{uuid.uuid4().hex}")
        self._thread = threading.Thread(target=self._build, args=(stage, zip_root(self._package_dir, version), zip_path),
                                        name=f"zip {version}")  # fmt: skip
        self._thread.start()

    def _build(self, stage: Path, root: str, zip_path: Path) -> None:
        try:
            with self._temp.open("xb") as handle:
                build_zip(stage, root, handle, self._cancel)
                handle.flush()
                os.fsync(handle.fileno())
            self._result = PrebuiltZip(zip_path, self._temp, sha256_file(self._temp))
        except ZipCancelled:
            pass
        except Exception as error:  # kept for the caller: the zip is then built the usual way
            self.error = error

    def wait(self) -> PrebuiltZip | None:
        """The finished zip; None when it failed (see ``error``) or was never started."""
        if self._thread is not None:
            self._thread.join()
        return self._result

    def stop(self) -> None:
        """Cancel the zip if it is still being built and wait for its thread to end."""
        self._cancel.set()
        self.wait()

    def __enter__(self) -> "ZipAhead":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)


def ensure_zip(package_dir: Path, version: Version, prebuilt: PrebuiltZip | None = None) -> tuple[Path, str]:
    """The version's zip and ``.sha256`` (``sha256sum -c`` format), made once, never rewritten.

    ``prebuilt``, when it is this version's zip, is linked into place instead of building the zip again.
    """
    zip_path = package_dir / f"{version}.zip"
    sum_path = package_dir / f"{version}.zip.sha256"
    digest = None
    if not zip_path.is_file():
        if prebuilt is not None and prebuilt.zip_path == zip_path:
            os.link(prebuilt.path, zip_path)  # fails if zip_path exists
            digest = prebuilt.sha256
        else:
            _write_new_zip(zip_path, package_dir / str(version), zip_root(package_dir, version))
    digest = digest or sha256_file(zip_path)
    _write_if_changed(sum_path, f"{digest}  {zip_path.name}\n".encode())
    return zip_path, digest


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def version_entry(package_dir: Path, version: Version, zip_path: Path, digest: str, read: ReadChanges = read_changes) -> dict:
    folder = package_dir / str(version)
    descriptor = _read_json(folder / "datapackage.json")
    report = _read_json(folder / "report.json")
    changes = read(folder / CHANGES_FILE) if (folder / CHANGES_FILE).is_file() else {}  # two fields of it
    counts = report.get("counts", {}).get("by_severity", {})
    base = f"{package_dir.name}/{version}"
    return {
        "version": str(version),
        "created": descriptor.get("created"),
        "bump": changes.get("bump", "unknown"),
        "previous_version": changes.get("previous_version"),
        "rows": report.get("rows", {}),
        "validation": {"status": report.get("status"), "errors": counts.get("error"), "warnings": counts.get("warning")},
        "zip": {"bytes": zip_path.stat().st_size, "sha256": digest},
        "links": {
            "folder": f"{base}/",
            "datapackage": f"{base}/datapackage.json",
            "readme": f"{base}/README.md",
            "changes": f"{base}/{CHANGES_FILE}",
            "report": f"{base}/report.json",
            "zip": f"{package_dir.name}/{zip_path.name}",
            "sha256": f"{package_dir.name}/{zip_path.name}.sha256",
        },
    }


def package_entry(package_dir: Path, prebuilt: PrebuiltZip | None = None, read: ReadChanges = read_changes) -> dict | None:
    versions = list_versions(package_dir)
    if not versions:
        return None
    entries = []
    for version in reversed(versions):
        zip_path, digest = ensure_zip(package_dir, version, prebuilt)
        entries.append(version_entry(package_dir, version, zip_path, digest, read))
    latest = _read_json(package_dir / str(versions[-1]) / "datapackage.json")
    return {
        "name": package_dir.name,
        "title": latest.get("title"),
        "license": (latest.get("licenses") or [{}])[0].get("name"),
        "latest": str(versions[-1]),
        "links": {"latest": f"{package_dir.name}/latest.json", "changelog": f"{package_dir.name}/CHANGELOG.md"},
        "versions": entries,
    }


def refresh_downloads(dist_dir: Path, metadata: PackageMetadata, prebuilt: PrebuiltZip | None = None) -> dict:
    """Bring every derived file in ``dist/`` up to date with the version folders (call under the lock).

    ``metadata`` (``schemas/package.json``) gives the landing page its citation; ``prebuilt`` is the
    zip of a version just promoted, built ahead (:class:`ZipAhead`).
    """
    packages = []
    read = functools.cache(read_changes)  # the catalog and the changelog read each release's record once between them
    for package_dir in sorted(p for p in dist_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        entry = package_entry(package_dir, prebuilt, read)
        if entry is None:
            continue
        latest = {"name": entry["name"], "version": entry["latest"], "path": f"{entry['latest']}/datapackage.json"}
        _write_if_changed(package_dir / "latest.json", _json_bytes(latest))
        _write_if_changed(package_dir / "CHANGELOG.md", render_changelog(package_dir, entry["title"] or entry["name"], read).encode())
        packages.append(entry)
    catalog = {"catalog_format": CATALOG_FORMAT, "packages": packages}
    _write_if_changed(dist_dir / "catalog.json", _json_bytes(catalog))
    _write_if_changed(dist_dir / "index.html", render_landing_page(catalog, dist_dir, metadata).encode("utf-8"))
    return catalog


def _json_bytes(data: dict) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
