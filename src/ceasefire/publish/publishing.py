"""Publishing a validated build as a versioned Frictionless data package in ``dist/``.

A version is built in a hidden temporary folder inside the package folder, fsynced, validated by
frictionless, and renamed into place. A rename onto an existing folder fails, so a released version
is never overwritten; a run killed at any moment leaves the old state plus a hidden leftover that
the next run clears. A file lock serialises concurrent runs.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ceasefire.extract.raw import sha256_file
from ceasefire.errors import OutputLocationError, PublishLockTimeout

LOCK_FILE = ".publish.lock"
TEMP_PREFIX = ".tmp-"
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> "Version":
        match = _SEMVER.match(text)
        if not match:
            raise ValueError(f"not a MAJOR.MINOR.PATCH version: {text!r}")
        return cls(*map(int, match.groups()))

    def bump(self, kind: str) -> "Version":
        if kind == "major":
            return Version(self.major + 1, 0, 0)
        if kind == "minor":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


FIRST_VERSION = Version(1, 0, 0)


@dataclass(frozen=True)
class DataFile:
    """One file of a resource: what ``datapackage.json`` says about it.

    A planned file has no ``size`` and ``sha256`` yet; the writer that puts it on disk returns it
    :meth:`written`, with the byte count and hash of what it wrote. The content itself is never
    held: a million-row table is written in slices straight into the staging folder.
    """

    resource: str
    path: str  # relative to the version folder, e.g. data/violations.csv
    format: str
    mediatype: str
    schema: dict | None  # None: a binary download (Parquet, SQLite) that frictionless checks by size and hash only
    title: str = ""
    description: str = ""
    size: int | None = None  # bytes on disk, once written
    sha256: str | None = None

    def written(self, size: int, sha256: str) -> "DataFile":
        return dataclasses.replace(self, size=size, sha256=sha256)

    def descriptor(self) -> dict:
        if self.size is None or self.sha256 is None:
            raise ValueError(f"{self.path} is not written yet: its size and hash are unknown")
        descriptor = {
            "name": self.resource,
            "type": "table" if self.schema is not None else "file",
            "path": self.path,
            "format": self.format,
            "mediatype": self.mediatype,
        }
        if self.schema is not None:
            descriptor["encoding"] = "utf-8"
        descriptor["bytes"] = self.size
        descriptor["hash"] = f"sha256:{self.sha256}"
        if self.schema is not None:
            descriptor["schema"] = self.schema
        if self.title:
            descriptor["title"] = self.title
        if self.description:
            descriptor["description"] = self.description
        return descriptor


def check_output_location(path: Path) -> None:
    """Refuse an output folder that cannot be written before any work is done.

    Raises :class:`OutputLocationError` when ``path`` exists but is not a folder, or when the
    nearest existing folder on its path cannot be written.
    """
    if path.exists() and not path.is_dir():
        raise OutputLocationError(str(path), "exists and is not a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputLocationError(str(path), f"cannot be created: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputLocationError(str(path), f"cannot be written: no write permission on {existing}")


def list_versions(package_dir: Path) -> list[Version]:
    """Published versions: complete folders named MAJOR.MINOR.PATCH with a datapackage.json."""
    if not package_dir.is_dir():
        return []
    versions = []
    for child in package_dir.iterdir():
        if child.is_dir() and _SEMVER.match(child.name) and (child / "datapackage.json").is_file():
            versions.append(Version.parse(child.name))
    return sorted(versions)


def read_descriptor(package_dir: Path, version: Version) -> dict:
    return json.loads((package_dir / str(version) / "datapackage.json").read_text(encoding="utf-8"))


def pause_point(name: str) -> None:
    """A test hook: when ``CEASEFIRE_PAUSE_AT`` names this point, say so on stderr and sleep.

    Tests kill a publishing run while it sleeps here, to prove that no moment of a run can leave a
    partial version. ``CEASEFIRE_PAUSE_SECONDS`` sets the sleep (default 60).
    """
    if os.environ.get("CEASEFIRE_PAUSE_AT") == name:
        # Written, not print()ed: inside a Prefect flow with log_prints, print() becomes a log record.
        sys.stderr.write(f"paused at {name}\n")
        sys.stderr.flush()
        time.sleep(float(os.environ.get("CEASEFIRE_PAUSE_SECONDS", "60")))


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Rendered:
    """A file's content rendered block by block each time it is written (iterated): a big file's
    bytes are never held whole, and it can be written more than once."""

    def __init__(self, render: Callable[[], Iterable[bytes]]) -> None:
        self._render = render

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._render())


def file_blocks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of the file at ``path``, ``size`` at a time."""
    with path.open("rb") as handle:
        while block := handle.read(size):
            yield block


def write_durably(path: Path, content: bytes | Iterable[bytes]) -> None:
    """Write ``content`` (bytes, or blocks of them) into ``path`` and fsync it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for block in [content] if isinstance(content, bytes) else content:
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())


def write_chunks(path: Path, chunks: Iterable[bytes]) -> tuple[int, str]:
    """Write ``chunks`` into a new file at ``path``, counting and hashing as they go: (bytes, sha256).

    Not fsynced: a staged file is fsynced by :func:`stage_version` once the run knows it publishes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with path.open("xb") as handle:
        for chunk in chunks:
            handle.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@dataclass(frozen=True)
class TablePart:
    """The rendered rows of one row range of a table file, in a file of their own (bytes, sha256).

    A scale-out run renders a big table's CSV and JSON Lines forms in parts, on other processes or
    machines; publishing joins the parts in row order (:func:`read_parts`) instead of rendering.
    """

    path: Path
    size: int
    sha256: str


class PartChanged(Exception):
    """A rendered part no longer holds the bytes it was rendered with: nothing may be published from it."""


# Bytes read from a part at a time while it is joined into its table file.
_PART_BLOCK = 1 << 22


def read_parts(parts: Iterable[TablePart]) -> Iterator[bytes]:
    """The bytes of ``parts`` in order, in blocks; each part is checked against its size and sha256."""
    for part in parts:
        digest, size = hashlib.sha256(), 0
        for block in file_blocks(part.path, _PART_BLOCK):
            digest.update(block)
            size += len(block)
            yield block
        if (size, digest.hexdigest()) != (part.size, part.sha256):
            raise PartChanged(f"{part.path} changed since it was rendered: {size} bytes, sha256 {digest.hexdigest()}, "
                              f"not {part.size} bytes, sha256 {part.sha256}")  # fmt: skip


def hash_file(path: Path) -> tuple[int, str]:
    """(bytes, sha256) of a file, read in blocks."""
    return path.stat().st_size, sha256_file(path)


def replace_durably(path: Path, content: bytes | Iterable[bytes]) -> None:
    """Write ``path`` so that readers see either the old or the new file, never a mix. Blocks of
    ``content`` that fail to come (an error from their iterator) leave no file behind."""
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}-{uuid.uuid4().hex}")
    try:
        write_durably(temp, content)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    os.replace(temp, path)
    _fsync_path(path.parent)


@contextmanager
def publish_lock(dist_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the exclusive publish lock of ``dist_dir``; wait up to ``timeout`` seconds."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    handle = (dist_dir / LOCK_FILE).open("a")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise PublishLockTimeout(
                        f"{dist_dir / LOCK_FILE}: another run has been publishing for over {timeout:.0f} s; "
                        "try again when it ends"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        handle.close()  # closing releases the lock


def clear_leftovers(package_dir: Path) -> list[str]:
    """Remove temporary folders and files that a killed run left behind (call under the lock)."""
    removed = []
    if package_dir.is_dir():
        for child in package_dir.iterdir():
            if child.name.startswith(TEMP_PREFIX):
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
                removed.append(child.name)
    return removed


def open_stage(package_dir: Path) -> Path:
    """A fresh hidden folder for a candidate version, whose number is not known yet (call under the lock)."""
    stage = package_dir / f"{TEMP_PREFIX}candidate-{uuid.uuid4().hex}"
    stage.mkdir(parents=True)
    return stage


def name_stage(package_dir: Path, version: Version, stage: Path) -> Path:
    """The folder of :func:`open_stage`, renamed after the version it is to become; its new path."""
    target = package_dir / f"{TEMP_PREFIX}{version}-{_stage_token(stage)}"
    if stage != target:
        os.rename(stage, target)
    return target


def stage_version(package_dir: Path, version: Version, files: dict[str, bytes | Iterable[bytes]], stage: Path | None = None) -> Path:
    """Write every file of a version into a hidden folder and fsync it all.

    ``stage`` is a folder from :func:`open_stage` that already holds files (the data files,
    written as they were rendered); it is renamed after the version (:func:`name_stage`) unless it
    is already. Without it, a fresh folder.
    """
    if stage is None:
        target = package_dir / f"{TEMP_PREFIX}{version}-{uuid.uuid4().hex}"
        target.mkdir(parents=True)
    else:
        target = name_stage(package_dir, version, stage)
    for relative, content in sorted(files.items()):
        write_durably(target / relative, content)
    folders = []
    for folder, _, names in os.walk(target):
        folders.append(Path(folder))
        for name in sorted(names):
            _fsync_path(Path(folder) / name)
    for folder in sorted(folders, reverse=True):
        _fsync_path(folder)
    _fsync_path(package_dir)
    return target


def _stage_token(stage: Path) -> str:
    return stage.name.rsplit("-", 1)[1]


def staged_folders(package_dir: Path, stage: Path) -> list[Path]:
    """The folder of :func:`open_stage`, before or after :func:`stage_version` named it after its version."""
    return sorted(package_dir.glob(f"{TEMP_PREFIX}*-{_stage_token(stage)}"))


def promote(stage: Path, target: Path) -> None:
    """Rename a staged folder into place; refuses to replace an existing version."""
    if target.exists():
        raise FileExistsError(f"{target} already exists: a published version is never overwritten")
    os.rename(stage, target)
    _fsync_path(target.parent)
