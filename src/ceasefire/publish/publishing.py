"""Publishing a validated build as a versioned Frictionless data package in ``dist/``.

A version is built in a hidden temporary folder inside the package folder, fsynced, validated by
frictionless, and renamed into place. A rename onto an existing folder fails, so a released version
is never overwritten; a run killed at any moment leaves the old state plus a hidden leftover that
the next run clears. A file lock serialises concurrent runs.
"""

from __future__ import annotations

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
from typing import Iterator

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
    """One file of a resource, ready to write."""

    resource: str
    path: str  # relative to the version folder, e.g. data/violations.csv
    format: str
    mediatype: str
    content: bytes
    schema: dict | None  # None: a binary download (Parquet, SQLite) that frictionless checks by size and hash only
    title: str = ""
    description: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def descriptor(self) -> dict:
        descriptor = {
            "name": self.resource,
            "type": "table" if self.schema is not None else "file",
            "path": self.path,
            "format": self.format,
            "mediatype": self.mediatype,
        }
        if self.schema is not None:
            descriptor["encoding"] = "utf-8"
        descriptor["bytes"] = len(self.content)
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
        print(f"paused at {name}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("CEASEFIRE_PAUSE_SECONDS", "60")))


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def replace_durably(path: Path, content: bytes) -> None:
    """Write ``path`` so that readers see either the old or the new file, never a mix."""
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}-{uuid.uuid4().hex}")
    write_durably(temp, content)
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


def stage_version(package_dir: Path, version: Version, files: dict[str, bytes]) -> Path:
    """Write every file of a version into a fresh hidden folder and fsync it all."""
    stage = package_dir / f"{TEMP_PREFIX}{version}-{uuid.uuid4().hex}"
    stage.mkdir(parents=True)
    for relative, content in sorted(files.items()):
        write_durably(stage / relative, content)
    for folder in sorted({(stage / relative).parent for relative in files}, reverse=True):
        _fsync_path(folder)
    return stage


def promote(stage: Path, target: Path) -> None:
    """Rename a staged folder into place; refuses to replace an existing version."""
    if target.exists():
        raise FileExistsError(f"{target} already exists: a published version is never overwritten")
    os.rename(stage, target)
    _fsync_path(target.parent)
