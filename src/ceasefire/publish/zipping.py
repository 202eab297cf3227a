"""A version folder as a reproducible zip, each file's deflate stream made of blocks deflated in parallel.

The zip is part of the published output, so its bytes must not depend on how or where it was made.
Deflate comes from the pinned ``zlib-ng`` wheel, not from Python's ``zlib`` module: that one links the
system zlib, whose output differs between distributions (some ship zlib-ng in its place). zlib-ng
promises no identical output across its versions or CPU architectures either: its version is pinned,
and a test pins the stream of a fixed input, so a change shows up as a failing test.

Deflate is the slow part (a 1,000,000-row version holds ~1.6 GB). As pigz does, each file is cut into
blocks of ``_BLOCK`` bytes; each block is deflated on its own, primed with the 32 KiB before it (all
that deflate's window can reach back to) and ended by a sync flush, the last one by the stream's end.
The streams of the blocks, joined, are one valid deflate stream, which depends only on the file's
bytes and the block size, not on how many threads made it. zlib-ng releases the GIL while it
compresses, so the blocks are deflated on a pool of threads, a few ahead of the one being written:
a big file no longer keeps one core busy alone while the other waits (docs/BENCHMARKS.md).

The container is what ``zipfile`` writes for the same ``ZipInfo`` entries around those streams
(``tests/test_release_catalog.py`` builds that reference with ``zipfile`` itself). Archives that
need ZIP64 records (a member near 2 GiB) are written by ``zipfile``, with its compressor swapped for
the same block deflater. A zip built alongside other work can be cancelled (``cancel``): it then
stops within one block.
"""

from __future__ import annotations

import os
import struct
import threading
import zipfile
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from zlib_ng import zlib_ng

# The bytes of input each block of a deflate stream holds: part of the zip's bytes, so changing it
# changes every new zip (never one already published). A file no bigger is one block: its stream is
# what a single zlib-ng compressor gives.
_BLOCK = 1 << 22
_WINDOW = 1 << 15  # how far back deflate's matches reach: each block is primed with as much of the one before
_UTF8_NAME_FLAG = 0x800


class ZipCancelled(Exception):
    """The zip was cancelled before it was complete: what was written of it is to be thrown away."""


def _stop_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ZipCancelled("the zip was cancelled")


def deflate_block(block: bytes, primer: bytes, last: bool, level: int, module=zlib_ng) -> bytes:
    """The raw deflate (``wbits=-15``, as zip stores it) of one block of a stream, primed with ``primer``
    (the stream's 32 KiB before it), ended by a sync flush so the next block's stream can follow it, or, if
    ``last``, by the stream's end. ``module`` is zlib-ng; the deflate benchmark passes zlib too."""
    compressor = module.compressobj(level, module.DEFLATED, -15, zdict=primer) if primer else module.compressobj(level, module.DEFLATED, -15)
    return compressor.compress(block) + compressor.flush(module.Z_FINISH if last else module.Z_SYNC_FLUSH)


class BlockDeflater:
    """A compressor with the ``compress``/``flush`` of zlib's, whose stream is cut into blocks of
    ``_BLOCK`` input bytes deflated by :func:`deflate_block`: on ``pool`` (at most ``ahead`` blocks at
    once, so memory does not grow with the file), or in the calling thread without one. The bytes do
    not depend on the pool, nor on how the input is fed."""

    def __init__(self, level: int, pool: Executor | None = None, ahead: int = 4, module=zlib_ng):
        self._level, self._pool, self._ahead, self._module = level, pool, ahead, module
        self._held: bytes | None = None  # a whole block, fed as one, not deflated until input follows it
        self._pending = bytearray()  # what was fed in other sizes, not yet a block
        self._primer = b""
        self._blocks: deque[Future[bytes] | bytes] = deque()

    def compress(self, data: bytes) -> bytes:
        # A block is cut only once input follows it: the last block is the one flush() ends the stream with.
        if self._held is not None and data:
            self._deflate(self._held, last=False)
            self._held = None
        if not self._pending and len(data) == _BLOCK:  # fed a block at a time (deflate_file): no copy
            self._held = bytes(data)
        else:
            self._pending += data
            while len(self._pending) > _BLOCK:
                block = bytes(self._pending[:_BLOCK])
                del self._pending[:_BLOCK]
                self._deflate(block, last=False)
        return self._done(wait=len(self._blocks) > self._ahead)

    def flush(self) -> bytes:
        block = self._held if self._held is not None else bytes(self._pending)
        self._held, self._pending = None, bytearray()
        self._deflate(block, last=True)
        return b"".join(self._result(self._blocks.popleft()) for _ in range(len(self._blocks)))

    def cancel(self) -> None:
        """Drop the blocks not yet deflated; those being deflated end on their own."""
        self._held, self._pending = None, bytearray()
        for block in self._blocks:
            if isinstance(block, Future):
                block.cancel()
        self._blocks.clear()

    def _deflate(self, block: bytes, last: bool) -> None:
        arguments = (block, self._primer, last, self._level, self._module)
        self._blocks.append(self._pool.submit(deflate_block, *arguments) if self._pool is not None else deflate_block(*arguments))
        self._primer = block[-_WINDOW:] if len(block) >= _WINDOW else (self._primer + block)[-_WINDOW:]

    def _done(self, wait: bool) -> bytes:
        """The streams of the blocks deflated so far, in order; with ``wait``, at least the oldest one's."""
        done = []
        while self._blocks and (wait or not isinstance(self._blocks[0], Future) or self._blocks[0].done()):
            done.append(self._result(self._blocks.popleft()))
            wait = len(self._blocks) > self._ahead
        return b"".join(done)

    @staticmethod
    def _result(block: Future[bytes] | bytes) -> bytes:
        return block.result() if isinstance(block, Future) else block


@dataclass(frozen=True)
class Deflated:
    """What a zip entry records of a file's deflate stream: the CRC-32 and size of its bytes, and the stream's size."""

    crc: int
    size: int
    compressed: int


def deflate_file(path: Path, out: BinaryIO, deflater: BlockDeflater, cancel: threading.Event | None = None) -> Deflated:
    """Write the deflate stream of ``path`` by ``deflater`` into ``out``, reading it a block at a time."""
    crc, size, compressed = 0, 0, 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                _stop_if_cancelled(cancel)
                crc = zlib_ng.crc32(block, crc)
                size += len(block)
                compressed += out.write(deflater.compress(block))
        compressed += out.write(deflater.flush())
    except BaseException:
        deflater.cancel()
        raise
    return Deflated(crc, size, compressed)


def _needs_zip64(files: list[Path]) -> bool:
    # zipfile switches a member to ZIP64 when its size * 1.05 exceeds the limit; offsets add up too.
    sizes = [path.stat().st_size for path in files]
    return any(size * 1.05 > zipfile.ZIP64_LIMIT for size in sizes) or sum(sizes) * 1.05 > zipfile.ZIP64_LIMIT


def _zip_sequentially(
    members: list[tuple[zipfile.ZipInfo, Path]], out: BinaryIO, level: int, pool: Executor, cancel: threading.Event | None,
) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for info, path in members:
            _stop_if_cancelled(cancel)
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                # zipfile offers no choice of compressor; the one it made (stdlib zlib) has seen no byte yet.
                if getattr(target, "_compressor", None) is None:
                    raise RuntimeError("zipfile keeps its compressor elsewhere: the zip would not be zlib-ng's")
                target._compressor = deflater = BlockDeflater(level, pool)
                try:
                    while block := source.read(_BLOCK):
                        _stop_if_cancelled(cancel)
                        target.write(block)
                except BaseException:
                    deflater.cancel()
                    raise


def zip_files(
    members: list[tuple[zipfile.ZipInfo, Path]], out: BinaryIO, level: int, workers: int | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Write the zip of ``(entry, file)`` pairs, in that order, into ``out`` (seekable): the bytes ``zipfile``
    writes with :class:`BlockDeflater` as its compressor, its blocks deflated by ``workers`` threads
    (default: one per core).

    Each entry's ``compress_type`` must be ``ZIP_DEFLATED``; its name, date, attributes and system are kept.
    Raises :class:`ZipCancelled` once ``cancel`` is set.
    """
    for info, _ in members:
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise ValueError(f"{info.filename}: only deflated entries are written")
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1, thread_name_prefix="deflate")
    try:
        if _needs_zip64([path for _, path in members]):
            _zip_sequentially(members, out, level, pool, cancel)
            return
        start = out.tell()
        central = []
        for info, path in members:
            _stop_if_cancelled(cancel)
            info.flag_bits, info.CRC, info.file_size, info.compress_size = 0, 0, 0, 0
            header = out.tell()
            info.header_offset = header - start
            out.write(info.FileHeader(zip64=False))
            member = deflate_file(path, out, BlockDeflater(level, pool), cancel)
            # As zipfile does on a seekable file: the header, written before the stream, now with its CRC and sizes.
            info.CRC, info.file_size, info.compress_size = member.crc, member.size, member.compressed
            end = out.tell()
            out.seek(header)
            out.write(info.FileHeader(zip64=False))
            out.seek(end)
            central.append(_central_directory_entry(info))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    directory = out.tell() - start
    out.write(b"".join(central))
    size = out.tell() - start - directory
    out.write(struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, len(central), len(central), size,
                          directory, 0))  # fmt: skip


def _central_directory_entry(info: zipfile.ZipInfo) -> bytes:
    """The central directory record ``zipfile`` writes for an entry without ZIP64 fields."""
    year, month, day, hour, minute, second = info.date_time
    dosdate = (year - 1980) << 9 | month << 5 | day
    dostime = hour << 11 | minute << 5 | (second // 2)
    try:
        name, flags = info.filename.encode("ascii"), info.flag_bits
    except UnicodeEncodeError:
        name, flags = info.filename.encode("utf-8"), info.flag_bits | _UTF8_NAME_FLAG
    record = struct.pack(
        zipfile.structCentralDir, zipfile.stringCentralDir, info.create_version, info.create_system,
        info.extract_version, info.reserved, flags, info.compress_type, dostime, dosdate, info.CRC,
        info.compress_size, info.file_size, len(name), len(info.extra), len(info.comment), 0,
        info.internal_attr, info.external_attr, info.header_offset,
    )  # fmt: skip
    return record + name + info.extra + info.comment
