"""Reading the raw inputs listed in ``raw/provenance.json``.

Each raw file has a role (``article`` or ``cited_sentences``). A file that cannot be decoded, is
empty, is missing, or no longer matches its recorded checksum is unusable input: it raises
:class:`RawInputError`, which names the file and line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ceasefire.errors import RawInputError

PROVENANCE_FILE = "provenance.json"
ROLES = ("article", "cited_sentences")


@dataclass(frozen=True)
class RawDocument:
    """A decoded raw file. ``lines[0]`` is line 1."""

    name: str
    role: str
    lines: tuple[str, ...]
    sha256: str
    bytes: int
    data: bytes = field(default=b"", repr=False, compare=False)  # a document made in memory: its bytes
    path: Path | None = field(default=None, repr=False, compare=False)  # a file read from the raw folder

    def line(self, number: int) -> str:
        return self.lines[number - 1]

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes the run read, which downloads ship: read again from the file in blocks (a large
        article is not held twice in memory), and an error if they no longer have the sha256 read."""
        if self.path is None:
            yield self.data
            return
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as handle:
                while block := handle.read(size):
                    digest.update(block)
                    yield block
        except OSError as error:
            raise RawInputError(self.name, f"cannot be read again to ship it: {error.strerror or error}") from None
        if digest.hexdigest() != self.sha256:
            raise RawInputError(self.name, "changed on disk while the run was reading it; nothing is published: run again")


@dataclass(frozen=True)
class RawCorpus:
    documents: tuple[RawDocument, ...]
    provenance: dict

    def by_role(self, role: str) -> RawDocument:
        for document in self.documents:
            if document.role == role:
                return document
        raise RawInputError(PROVENANCE_FILE, f"no raw file has the role {role!r}")


def decode_raw_bytes(name: str, data: bytes) -> tuple[str, ...]:
    """Decode UTF-8 text into lines, naming the line and column of the first bad byte.

    Example:
        >>> decode_raw_bytes("a.txt", b"one\\ntwo\\n")
        ('one', 'two')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", errors="replace")) + 1
        bad = data[error.start : error.end].hex(" ")
        raise RawInputError(
            name, f"not valid UTF-8 (byte {bad}); save the file as UTF-8", line=line, column=column
        ) from None
    if not text.strip():
        raise RawInputError(name, "the file is empty", line=1)
    return split_raw_lines(text)


def split_raw_lines(text: str) -> tuple[str, ...]:
    """Lines split on ``\\n`` only, so line numbers are the ones ``sed -n`` and editors show.

    ``str.splitlines`` also splits at U+0085, U+2028, form feeds and lone carriage returns, which
    would shift every later line number; those characters stay in their line (and validation
    reports them). A CRLF line ending loses its CR.

    Example:
        >>> split_raw_lines("a\\r\\nb\\u2028c\\n")
        ('a', 'b\\u2028c')
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(line[:-1] if line.endswith("\r") else line for line in lines)


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def load_provenance(raw_dir: Path) -> dict:
    """Read ``provenance.json`` and check its shape and every path in it before any raw file is opened."""
    path = raw_dir / PROVENANCE_FILE
    if not raw_dir.is_dir():
        raise RawInputError(str(raw_dir), "raw directory does not exist")
    if not path.is_file():
        raise RawInputError(
            PROVENANCE_FILE, f"missing in {raw_dir}: every raw folder lists its files, roles and sha256 there"
        )
    try:
        provenance = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise RawInputError(PROVENANCE_FILE, f"not valid JSON: {error}", line=line) from None
    except RecursionError:
        raise RawInputError(PROVENANCE_FILE, "nested too deeply to be a provenance file") from None
    except OSError as error:
        raise RawInputError(PROVENANCE_FILE, f"cannot be read: {error.strerror or error}") from None
    files = provenance.get("files") if isinstance(provenance, dict) else None
    if not isinstance(files, list) or not files:
        raise RawInputError(PROVENANCE_FILE, "needs an object with a non-empty 'files' list")
    for number, entry in enumerate(files, start=1):
        if not isinstance(entry, dict):
            raise RawInputError(PROVENANCE_FILE, f"entry {number} is not an object with path, role and sha256")
        missing = {"path", "role", "sha256"} - set(entry)
        if missing:
            raise RawInputError(PROVENANCE_FILE, f"entry {number} ({entry.get('path')!r}) lacks {sorted(missing)}")
        wrong = [key for key in ("path", "role", "sha256") if not isinstance(entry[key], str)]
        if wrong:
            raise RawInputError(PROVENANCE_FILE, f"entry {number} ({entry['path']!r}): {', '.join(wrong)} must be text")
        if entry["role"] not in ROLES:
            raise RawInputError(PROVENANCE_FILE, f"entry {number} ({entry['path']!r}) has unknown role {entry['role']!r}; use one of {ROLES}")
        confine_raw_path(raw_dir, entry["path"], number)
    return provenance


def confine_raw_path(raw_dir: Path, name: str, number: int | None = None) -> Path:
    """The file a provenance entry names, refused unless it stays inside the raw folder.

    Checked before anything is opened: no absolute path, no ``..``, and no symlink that resolves
    outside the raw folder, so a provenance file cannot make the pipeline read (or publish) any
    other file on the machine.
    """
    where = f"entry {number} ({name!r})" if number is not None else f"entry {name!r}"
    relative = Path(name)
    if not name or "\x00" in name or relative.is_absolute() or name.startswith(("/", "\\")):
        raise RawInputError(PROVENANCE_FILE, f"{where}: the path must be relative to the raw folder")
    if ".." in relative.parts or ".." in name.replace("\\", "/").split("/"):
        raise RawInputError(PROVENANCE_FILE, f"{where}: the path must not contain '..'")
    root = raw_dir.resolve()
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise RawInputError(PROVENANCE_FILE, f"{where}: resolves to a file outside the raw folder (a symlink?)")
    return resolved


def read_raw_document(raw_dir: Path, entry: dict) -> RawDocument:
    """Read, decode and checksum one raw file listed in the provenance file."""
    name = entry["path"]
    path = confine_raw_path(raw_dir, name)
    if not path.is_file():
        raise RawInputError(name, f"listed in {PROVENANCE_FILE} but not found in the raw folder")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RawInputError(name, f"cannot be read: {error.strerror or error}") from None
    lines = decode_raw_bytes(name, data)
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise RawInputError(
            name,
            f"sha256 is {digest} but {PROVENANCE_FILE} records {entry['sha256']}: raw files are never "
            "edited; add a new revision with its own provenance entry",
        )
    return RawDocument(name=name, role=entry["role"], lines=lines, sha256=digest, bytes=len(data), path=path)


def read_raw_dir(raw_dir: Path) -> RawCorpus:
    """Read and check every raw file that the provenance file lists."""
    provenance = load_provenance(raw_dir)
    documents = tuple(read_raw_document(raw_dir, entry) for entry in provenance["files"])
    return RawCorpus(documents=documents, provenance=provenance)
