"""Reading the raw inputs listed in ``raw/provenance.json``.

Each raw file has a role (``article`` or ``cited_sentences``). A file that cannot be decoded, is
empty, is missing, or no longer matches its recorded checksum is unusable input: it raises
:class:`RawInputError`, which names the file and line.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

import numpy as np

from ceasefire.errors import RawInputError

if TYPE_CHECKING:
    import pyarrow as pa

PROVENANCE_FILE = "provenance.json"
ROLES = ("article", "cited_sentences")


_CHANGED = "changed on disk while the run was reading it; nothing is published: run again"


class FileLines(Sequence):
    """The lines of a raw file that stays on disk: ``lines[0]`` is line 1.

    A raw file is read once, in blocks, to check it (UTF-8, not empty, its sha256) and to find where
    each line starts; only those offsets stay in memory (4 bytes a line; 8 in a file of 4 GiB or
    more). A slice of lines is read again from the file when asked for, so a million-line article is
    not held as a million Python strings through the whole run, and reading a large one never holds
    all its bytes and all its text at once. Iterating reads the file a block of lines at a time;
    single lines come from a small cache of the last block read, so walking the lines in order
    reads each block once.

    The file must not change while the run reads it: each read checks that it is still the file
    that was read (device, inode, size and modification time), or failing that that it still has
    the sha256 the run read, and raises :class:`RawInputError` otherwise.
    """

    BLOCK_LINES = 8192  # lines kept by the single-line cache and read per step of an iteration

    def __init__(self, name: str, path: Path, starts: np.ndarray, sha256: str, identity: tuple[int, ...]):
        self.name, self.path, self.sha256 = name, path, sha256
        self._starts = starts  # byte offset of each line's start; the last entry is one past the end of the last line + 1
        self._identity = identity
        self._cached: tuple[int, tuple[str, ...]] | None = None  # (block number, its lines)

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, index):  # type: ignore[override]
        total = len(self)
        if isinstance(index, slice):
            start, stop, step = index.indices(total)
            if step != 1:
                return tuple(self[i] for i in range(start, stop, step))
            return self.read(start, stop)
        position = index + total if index < 0 else index
        if not 0 <= position < total:
            raise IndexError(f"line {index + 1} of {self.name}, which has {total} lines")
        block = position // self.BLOCK_LINES
        cached = self._cached
        if cached is None or cached[0] != block:
            first = block * self.BLOCK_LINES
            cached = (block, self.read(first, min(total, first + self.BLOCK_LINES)))
            self._cached = cached  # one assignment: threads reading lines share it safely
        return cached[1][position - block * self.BLOCK_LINES]

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self), self.BLOCK_LINES * 8):
            yield from self.read(start, min(len(self), start + self.BLOCK_LINES * 8))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_cached": None}

    def read(self, start: int, stop: int) -> tuple[str, ...]:
        """Lines ``start + 1`` to ``stop`` (0-based ``start:stop``), read from the file."""
        if start >= stop:
            return ()
        first, end = int(self._starts[start]), int(self._starts[stop]) - 1
        data = self._read_bytes(first, end)
        try:
            lines = data.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            raise RawInputError(self.name, _CHANGED) from None
        if len(data) != end - first or len(lines) != stop - start:
            raise RawInputError(self.name, _CHANGED)
        if b"\r" not in data:
            return tuple(lines)
        return tuple(line[:-1] if line.endswith("\r") else line for line in lines)

    def texts(self, start: int, stop: int) -> "pa.Array":
        """Lines ``start + 1`` to ``stop`` as Arrow texts, each ending with ``\\n`` (after a ``\\r`` that
        :meth:`read` takes off): for kernels to classify, with no Python string per line."""
        import pyarrow as pa

        first = int(self._starts[start])
        data = self._read_bytes(first, int(self._starts[stop]) - 1) + b"\n" if start < stop else b""
        offsets = self._starts[start : stop + 1] - first
        try:
            texts = pa.LargeStringArray.from_buffers(stop - start, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data))
            texts.validate(full=True)  # UTF-8, as when the file was read
        except pa.ArrowInvalid:
            raise RawInputError(self.name, _CHANGED) from None
        return texts

    def _read_bytes(self, first: int, end: int) -> bytes:
        """Bytes ``first`` to ``end`` of the file, checked to be the file the run read."""
        try:
            with self.path.open("rb") as handle:
                self._check_same_file(handle)
                handle.seek(first)
                data = handle.read(end - first)
        except OSError as error:
            raise RawInputError(self.name, f"cannot be read again: {error.strerror or error}") from None
        if len(data) != end - first:
            raise RawInputError(self.name, _CHANGED)
        return data

    def _check_same_file(self, handle: BinaryIO) -> None:
        identity = _identity(os.fstat(handle.fileno()))
        if identity == self._identity:
            return
        # Touched or copied back, perhaps with the same bytes: only a different sha256 is a change.
        if hashlib.file_digest(handle, "sha256").hexdigest() != self.sha256:
            raise RawInputError(self.name, _CHANGED)
        self._identity = identity


def _identity(stat: os.stat_result) -> tuple[int, ...]:
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


@dataclass(frozen=True)
class RawDocument:
    """A decoded raw file. ``lines[0]`` is line 1: a tuple for a document made in memory, the
    :class:`FileLines` of a file read from the raw folder. Two documents are equal when their
    name, role and sha256 are (the lines follow from the bytes)."""

    name: str
    role: str
    lines: Sequence[str] = field(compare=False)
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
            raise RawInputError(self.name, _CHANGED)


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
    """Decode UTF-8 text into lines, naming the line and column of the first bad byte: bytes held
    in memory. Files are read by :func:`scan_raw_file` in blocks, with the same lines and errors
    (``tests/test_raw_lines.py`` compares the two).

    Example:
        >>> decode_raw_bytes("a.txt", b"one\\ntwo\\n")
        ('one', 'two')
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    text = _decoded(name, data, lines_before=0)
    if not text.strip():
        raise RawInputError(name, "the file is empty", line=1)
    return split_raw_lines(text)


_BOM = b"\xef\xbb\xbf"


def _decoded(name: str, data: bytes, lines_before: int) -> str:
    """``data`` (whole lines, starting after line ``lines_before``) as text; the first bad byte is an
    error naming its line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = lines_before + data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", errors="replace")) + 1
        bad = data[error.start : error.end].hex(" ")
        raise RawInputError(
            name, f"not valid UTF-8 (byte {bad}); save the file as UTF-8", line=line, column=column
        ) from None


# Bytes read per step when a raw file is checked and its lines are found.
READ_BLOCK = 1 << 23


def scan_raw_file(name: str, handle: BinaryIO, block_size: int = READ_BLOCK) -> tuple[np.ndarray, str, int]:
    """Check a raw file as :func:`decode_raw_bytes` does, a block at a time; return where each line
    starts (plus one entry, one past the end of the last line + 1: see :class:`FileLines`), its
    sha256 and its size in bytes.

    Blocks are cut after their last newline, so each decodes on its own and a bad byte is named by
    its line and column in the whole file. Only a block and the line offsets are held at a time.
    """
    digest, size = hashlib.sha256(), 0

    def blocks() -> Iterator[bytes]:
        nonlocal size
        while block := handle.read(block_size):
            digest.update(block)
            size += len(block)
            yield block

    carry, lines, nonblank = b"", 0, False
    offset = None  # where ``carry`` starts in the file, once the byte-order mark is known
    starts = []
    for block in blocks():
        data = carry + block
        if offset is None:
            if len(data) < len(_BOM) and _BOM.startswith(data):
                carry = data  # too short to tell yet
                continue
            offset = len(_BOM) if data.startswith(_BOM) else 0
            data = data[offset:]
            starts.append(np.array([offset], dtype=np.int64))
        cut = data.rfind(b"\n") + 1
        complete, carry = data[:cut], data[cut:]
        if not complete:
            continue
        nonblank = not _decoded(name, complete, lines).isspace() or nonblank
        ends = np.flatnonzero(np.frombuffer(complete, dtype=np.uint8) == 0x0A)
        starts.append(ends + (offset + 1))
        offset, lines = offset + cut, lines + len(ends)
    if offset is None:  # fewer bytes than a byte-order mark
        offset = 0
        starts.append(np.array([0], dtype=np.int64))
    if carry:  # the last line has no newline
        nonblank = not _decoded(name, carry, lines).isspace() or nonblank
        starts.append(np.array([offset + len(carry) + 1], dtype=np.int64))
    if not nonblank:
        raise RawInputError(name, "the file is empty", line=1)
    # 32-bit offsets for a file that fits them (4 bytes a line held through the run, not 8: 40 MB
    # less at ten million lines); 64-bit ones for a larger file.
    wide = int(starts[-1][-1]) >= OFFSETS_32_BIT_BELOW
    return np.concatenate(starts, dtype=np.int64 if wide else np.uint32, casting="unsafe"), digest.hexdigest(), size


# Files whose line offsets (and one past their end) stay below this are indexed with 32-bit offsets.
OFFSETS_32_BIT_BELOW = 1 << 32


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


# The sha256 of files this process has hashed, by what identifies their bytes: device, inode, size,
# modification and change times. A run hashes a raw file for its cache key, and again when a later
# task loads it (flows/references.py); the second is looked up (~0.5 s for a 170 MB article).
# Writing a file, or setting its times, changes its change time, which no one can set back.
_DIGESTS: dict[tuple[int, ...], str] = {}
_DIGESTS_KEPT = 64
_DIGESTS_LOCK = threading.Lock()
# A file changed this recently is not remembered: two writes within one tick of the file system's
# clock can leave the same times ("racy git"), so its sha256 is computed again next time.
SETTLED_NS = 2_000_000_000


def sha256_file(path: Path) -> str:
    """The sha256 of a file, read in blocks, or remembered from this process's last reading of the
    same bytes (the same file, size and times, changed more than :data:`SETTLED_NS` before)."""
    with path.open("rb") as handle:
        stat = os.fstat(handle.fileno())
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        known = _DIGESTS.get(key)
        if known is not None:
            return known
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > SETTLED_NS:
        with _DIGESTS_LOCK:
            while len(_DIGESTS) >= _DIGESTS_KEPT:
                del _DIGESTS[next(iter(_DIGESTS))]
            _DIGESTS[key] = digest
    return digest


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
    """Read, check and checksum one raw file listed in the provenance file; its lines stay on disk
    (:class:`FileLines`)."""
    name = entry["path"]
    path = confine_raw_path(raw_dir, name)
    if not path.is_file():
        raise RawInputError(name, f"listed in {PROVENANCE_FILE} but not found in the raw folder")
    document = read_raw_file(path, name, entry["role"])
    if document.sha256 != entry["sha256"]:
        raise RawInputError(
            name,
            f"sha256 is {document.sha256} but {PROVENANCE_FILE} records {entry['sha256']}: raw files are never "
            "edited; add a new revision with its own provenance entry",
        )
    return document


def read_raw_file(path: Path, name: str, role: str) -> RawDocument:
    """Check a file as a raw file (:func:`scan_raw_file`) and return it as a document named ``name``
    whose lines stay on disk."""
    try:
        with path.open("rb") as handle:
            identity = _identity(os.fstat(handle.fileno()))
            starts, digest, size = scan_raw_file(name, handle)
    except OSError as error:
        raise RawInputError(name, f"cannot be read: {error.strerror or error}") from None
    lines = FileLines(name, path, starts, digest, identity)
    return RawDocument(name=name, role=role, lines=lines, sha256=digest, bytes=size, path=path)


def read_raw_dir(raw_dir: Path) -> RawCorpus:
    """Read and check every raw file that the provenance file lists."""
    provenance = load_provenance(raw_dir)
    documents = tuple(read_raw_document(raw_dir, entry) for entry in provenance["files"])
    return RawCorpus(documents=documents, provenance=provenance)
