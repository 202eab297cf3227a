"""A raw file's lines stay on disk (``FileLines``): reading it in blocks must give exactly the lines
and errors of decoding it whole, and a file changed mid-run must stop the run."""

from __future__ import annotations

import io
import json
import os
import time
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ceasefire.errors import RawInputError
from ceasefire.extract import article
from ceasefire.extract.article import (
    PipeTable, TableRow, find_pipe_tables, is_pipe_like, parse_heading, section_paths, split_pipe_row, table_line_problem,
    walk_sections,
)  # fmt: skip
from ceasefire.extract.raw import FileLines, RawDocument, decode_raw_bytes, read_raw_dir, scan_raw_file, sha256_file
from ceasefire.extract.sentences import Sentence, article_sentences, is_prose_line, split_sentences

# Pieces that meet every branch of reading: newlines, CRLF, a lone CR, a byte-order mark, whitespace,
# U+2028 and U+0085 (which stay in their line), multi-byte characters and bytes that are not UTF-8.
_PIECES = [b"\n", b"\r\n", b"\r", b"\xef\xbb\xbf", b" ", b"\t", b"a", b"| x |", "é".encode(), "\u2028".encode(),
           "\u0085".encode(), "😀".encode(), b"\xc3", b"\xff", b"\xe2\x80"]  # fmt: skip


def _outcome(read):
    try:
        return "lines", tuple(read())
    except RawInputError as error:
        return "error", str(error), error.line, error.column


def _file_lines(tmp_path: Path, data: bytes, block_size: int) -> FileLines:
    path = tmp_path / "article.txt"
    path.write_bytes(data)
    with path.open("rb") as handle:
        starts, sha256, size = scan_raw_file("article.txt", handle, block_size)
    assert size == len(data) and sha256 == sha256_file(path)
    return FileLines("article.txt", path, starts, sha256, _identity(path))


def _identity(path: Path) -> tuple[int, ...]:
    stat = path.stat()
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=40), block_size=st.integers(1, 24), wide=st.booleans())
def test_lines_read_in_blocks_are_those_of_the_whole_file(tmp_path_factory, pieces, block_size, wide):
    """Every line, and every error with its line and column, is that of decoding the file at once,
    whatever the block size and the width of the line offsets (32-bit below 4 GiB, 64-bit beyond:
    here forced); single lines, slices and Arrow texts are the same lines."""
    from ceasefire.extract import raw

    saved = raw.OFFSETS_32_BIT_BELOW
    raw.OFFSETS_32_BIT_BELOW = 0 if wide else saved
    try:
        data = b"".join(pieces)
        folder = tmp_path_factory.mktemp("raw")
        expected = _outcome(lambda: decode_raw_bytes("article.txt", data))
        got = _outcome(lambda: _file_lines(folder, data, block_size))
        assert got == expected
        if expected[0] == "lines":
            lines = _file_lines(folder, data, block_size)
            assert lines._starts.dtype == (np.int64 if wide else np.uint32)
            whole = expected[1]
            assert len(lines) == len(whole)
            assert tuple(lines[i] for i in range(len(lines))) == whole
            assert lines[1:-1] == whole[1:-1] and lines[-1] == whole[-1]
            texts = lines.texts(1, len(lines)).to_pylist()
            assert [text[:-1].removesuffix("\r") for text in texts] == list(whole[1:])
    finally:
        raw.OFFSETS_32_BIT_BELOW = saved


def test_many_blocks_of_a_large_file(tmp_path, monkeypatch):
    """Iteration and the single-line cache cross block boundaries without losing or repeating a line."""
    monkeypatch.setattr(FileLines, "BLOCK_LINES", 7)
    whole = tuple(f"| {n} | line {n} |" + ("\r" if n % 5 == 0 else "") for n in range(1000))
    data = "\n".join(whole).encode()
    lines = _file_lines(tmp_path, data, block_size=64)
    expected = decode_raw_bytes("article.txt", data)
    assert tuple(lines) == expected
    assert [lines[i] for i in (999, 0, 6, 7, 500, 13, 14)] == [expected[i] for i in (999, 0, 6, 7, 500, 13, 14)]
    assert lines[3:998] == expected[3:998] and lines[::97] == expected[::97]
    with pytest.raises(IndexError):
        lines[1000]


def _raw_folder(tmp_path: Path, text: str) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "article.txt").write_text(text, encoding="utf-8")
    entry = {"path": "article.txt", "role": "article", "sha256": sha256_file(raw / "article.txt")}
    (raw / "provenance.json").write_text(json.dumps({"files": [entry]}), encoding="utf-8")
    return raw


def test_a_read_document_holds_line_offsets_not_its_text(tmp_path):
    text = "".join(f"| 0{n % 9 + 1}.11.2021 | {n} | near a village called number {n} | Azerbaijan | none |\n" for n in range(20_000))
    document = read_raw_dir(_raw_folder(tmp_path, text)).by_role("article")
    assert isinstance(document.lines, FileLines) and len(document.lines) == 20_000
    assert document.lines[12_345] == text.split("\n")[12_345]
    # What a document keeps (and a stored build pickles) is a fraction of its bytes: 4 bytes a line.
    assert document.lines._starts.dtype == np.uint32
    assert len(pickle.dumps(document)) < 20_001 * 4 + 2_000 < document.bytes / 10


def test_an_edited_file_stops_the_reading_run(tmp_path):
    raw = _raw_folder(tmp_path, "== Title ==\n| a | b |\n| 1 | 2 |\n")
    document = read_raw_dir(raw).by_role("article")
    assert document.lines[2] == "| 1 | 2 |"
    # Written again with the same bytes (a checkout, a copy): still the file the run read.
    (raw / "article.txt").write_bytes((raw / "article.txt").read_bytes())
    os.utime(raw / "article.txt", ns=(1, 1))
    assert tuple(document.lines) == ("== Title ==", "| a | b |", "| 1 | 2 |")
    (raw / "article.txt").write_text("== Title ==\n| a | b |\n| 1 | 3 |\n", encoding="utf-8")
    with pytest.raises(RawInputError, match="article.txt: changed on disk while the run was reading it"):
        tuple(document.lines)
    with pytest.raises(RawInputError, match="article.txt: changed on disk while the run was reading it"):
        find_pipe_tables(document, split_rows=False)  # its lines read as Arrow texts


def test_equal_documents_are_those_with_equal_bytes(tmp_path):
    raw = _raw_folder(tmp_path, "one\ntwo\n")
    read = read_raw_dir(raw).by_role("article")
    made = RawDocument("article.txt", "article", ("one", "two"), read.sha256, read.bytes)
    assert read == made and hash(read) == hash(made)


# --- find_pipe_tables walks the lines once, in order; the former index-based walk is its oracle ---


def _tables_by_index(lines: tuple[str, ...], split_rows: bool) -> list[PipeTable]:
    paths = section_paths(RawDocument("a.txt", "article", lines, "", 0))
    tables, number, total = [], 0, len(lines)
    while number < total:
        if not lines[number].lstrip().startswith("|"):
            number += 1
            continue
        first = last = number
        number += 1
        while number < total and not (lines[number].startswith("=") and parse_heading(lines[number])):
            if is_pipe_like(lines[number]):
                last = number
            number += 1
        number = last + 1
        header = TableRow(line=first + 1, cells=split_pipe_row(lines[first]))
        rows = (tuple(TableRow(line=n + 1, cells=split_pipe_row(lines[n])) for n in range(first + 1, number)
                      if table_line_problem(lines[n]) is None) if split_rows else ())  # fmt: skip
        tables.append(PipeTable(section=paths[first], header=header, rows=rows, last_line=number))
    return tables


_LINES = ["| a | b |", " | c |", "x | y", "\tcell\tcell", "", "prose", "== H ==", "=== Sub ===", "=not=", "| 1 |",
          "\u00a0| nbsp |", "\u3000\u2028", "x\ty", "|", "== A|B ==", "=|=", "- item | x", "* item", "\x85| d"]  # fmt: skip


def _sentences_line_by_line(document: RawDocument) -> list[Sentence]:
    """The oracle of :func:`article_sentences`: every line tested by :func:`is_prose_line` in Python."""
    sentences = []
    for number, line, path in walk_sections(document):
        if is_prose_line(line):
            section = tuple(title for title in path if title)
            sentences += [Sentence(text, number, offset + 1, section) for offset, text in split_sentences(line)]
    return sentences


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.sampled_from(_LINES + ["Prose here. More prose!", "  - list", "== Prose? No =="]), max_size=30),
       split_rows=st.booleans(), walk_lines=st.sampled_from([1, 2, 3, 5, 1 << 16]), on_disk=st.booleans(),
       line_end=st.sampled_from(["\n", "\r\n"]))  # fmt: skip
def test_tables_and_sentences_found_by_arrow_are_those_of_the_index_walk(tmp_path_factory, lines, split_rows, walk_lines, on_disk, line_end):
    """Lines classified by Arrow a block at a time (``walk_sections`` with ``keep``, the lines of a file read
    as Arrow texts) give the tables and sentences of the line-by-line walks, whatever the block size."""
    if on_disk and line_end.join(lines).strip():  # a blank file is an input error before any walk
        data = line_end.join(lines).encode("utf-8")
        lines = list(decode_raw_bytes("a.txt", data))
        read = _file_lines(tmp_path_factory.mktemp("raw"), data, block_size=16)
    else:
        read = tuple(lines)
    document = RawDocument("a.txt", "article", read, "", 0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(article, "WALK_LINES", walk_lines)
        assert find_pipe_tables(document, split_rows=split_rows) == _tables_by_index(tuple(lines), split_rows)
        # Every line kept comes with the text, number and heading path of the line-by-line walk.
        every = list(walk_sections(document, keep=lambda texts: np.ones(len(texts), dtype=bool)))
        assert every == list(walk_sections(RawDocument("a.txt", "article", tuple(lines), "", 0)))
        assert article_sentences(document) == _sentences_line_by_line(RawDocument("a.txt", "article", tuple(lines), "", 0))


def test_scan_reads_a_file_in_blocks():
    """The scan's memory is a block, not the file: it asks for blocks of the size it is given."""
    sizes = []

    class Recording(io.BytesIO):
        def read(self, size=-1):
            sizes.append(size)
            return super().read(size)

    scan_raw_file("a.txt", Recording(b"line\n" * 1000), block_size=256)
    assert sizes and set(sizes) == {256}


def test_a_files_sha256_is_remembered_until_its_bytes_or_times_change(tmp_path, monkeypatch):
    """A file hashed again, unchanged, is not read again; rewritten with other bytes of the same size,
    or touched, it is hashed again. A file changed within the last SETTLED_NS is never remembered:
    two writes within one tick of the file system's clock could leave the same times."""
    import hashlib

    from ceasefire.extract import raw

    reads = []
    real = hashlib.file_digest
    monkeypatch.setattr(hashlib, "file_digest", lambda handle, name: reads.append(name) or real(handle, name))
    monkeypatch.setattr(raw, "_DIGESTS", {})
    path = tmp_path / "article.txt"
    path.write_bytes(b"first\n")
    assert sha256_file(path) == sha256_file(path) == hashlib.sha256(b"first\n").hexdigest()
    assert len(reads) == 2  # just written: not remembered
    path.write_bytes(b"other\n")  # same size, perhaps the same times
    assert sha256_file(path) == hashlib.sha256(b"other\n").hexdigest()
    monkeypatch.setattr(raw, "SETTLED_NS", -10**18)  # as if written long ago
    reads.clear()
    assert sha256_file(path) == sha256_file(path) == hashlib.sha256(b"other\n").hexdigest()
    assert len(reads) == 1
    remembered = path.stat().st_mtime_ns
    time.sleep(0.02)
    path.write_bytes(b"third\n")
    os.utime(path, ns=(path.stat().st_atime_ns, remembered))  # the same size and modification time: only the change time differs
    assert sha256_file(path) == hashlib.sha256(b"third\n").hexdigest()
