"""A version folder as a reproducible zip, its files deflated in parallel.

The zip is part of the published output, so its bytes must not depend on how or where it was made.
Deflate comes from the pinned ``zlib-ng`` wheel, not from Python's ``zlib`` module: that one links the
system zlib, whose output differs between distributions (some ship zlib-ng in its place). zlib-ng
promises no identical output across its versions or CPU architectures either: its version is pinned,
and a test pins the stream of a fixed input, so a change shows up as a failing test. The
container is what ``zipfile`` writes for the same ``ZipInfo`` entries, around the zlib-ng streams
(``tests/test_release_catalog.py`` builds that reference independently). Deflate is
the slow part (a 1,000,000-row version holds ~1.6 GB); zlib-ng releases the GIL while it compresses,
so each file is deflated, streamed from disk, in its own thread, and the archive is assembled from
the results in file order. Each deflate stream is spooled to a temporary file, so memory does not
grow with the folder. Archives that would need ZIP64 records (a member near 2 GiB) are written by
``zipfile`` itself, one file after the other, with its compressor swapped for zlib-ng's: their
streams are zlib-ng's too. A zip built alongside other work can be cancelled (``cancel``): it then
stops within one block of each file it is deflating.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from zlib_ng import zlib_ng

# zlib-ng, unlike zlib, gives another (as valid) stream when the same bytes come in other blocks: the
# block size is part of the zip's bytes, and changing it changes every new zip.
_READ_BLOCK = 1 << 22
_UTF8_NAME_FLAG = 0x800


class ZipCancelled(Exception):
    """The zip was cancelled before it was complete: what was written of it is to be thrown away."""


def _stop_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise ZipCancelled("the zip was cancelled")


@dataclass(frozen=True)
class Deflated:
    """One file's deflate stream, spooled to ``data``, with the CRC-32 and size of its bytes."""

    crc: int
    size: int
    compressed: int
    data: BinaryIO


def _deflater(level: int) -> zlib_ng._Compress:
    """A raw deflate compressor (``wbits=-15``, as zip stores it) from the pinned zlib-ng."""
    return zlib_ng.compressobj(level, zlib_ng.DEFLATED, -15)


def deflate_file(path: Path, level: int, cancel: threading.Event | None = None) -> Deflated:
    """zlib-ng's raw deflate of ``path``, fed to it in blocks of ``_READ_BLOCK`` bytes, into a temporary file."""
    compressor = _deflater(level)
    crc, size, compressed = 0, 0, 0
    spool = tempfile.TemporaryFile()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            _stop_if_cancelled(cancel)
            crc = zlib_ng.crc32(block, crc)
            size += len(block)
            compressed += spool.write(compressor.compress(block))
    compressed += spool.write(compressor.flush())
    spool.seek(0)
    return Deflated(crc, size, compressed, spool)


def _needs_zip64(files: list[Path]) -> bool:
    # zipfile switches a member to ZIP64 when its size * 1.05 exceeds the limit; offsets add up too.
    sizes = [path.stat().st_size for path in files]
    return any(size * 1.05 > zipfile.ZIP64_LIMIT for size in sizes) or sum(sizes) * 1.05 > zipfile.ZIP64_LIMIT


def _zip_sequentially(members: list[tuple[zipfile.ZipInfo, Path]], out: BinaryIO, level: int, cancel: threading.Event | None) -> None:
    with zipfile.ZipFile(out, "w") as archive:
        for info, path in members:
            _stop_if_cancelled(cancel)
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                # zipfile offers no choice of compressor; the one it made (stdlib zlib) has seen no byte yet.
                if getattr(target, "_compressor", None) is None:
                    raise RuntimeError("zipfile keeps its compressor elsewhere: the zip would not be zlib-ng's")
                target._compressor = _deflater(level)
                shutil.copyfileobj(source, target, _READ_BLOCK)


def zip_files(
    members: list[tuple[zipfile.ZipInfo, Path]], out: BinaryIO, level: int, workers: int | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Write the zip of ``(entry, file)`` pairs, in that order, into ``out``, made in parallel: the bytes
    ``zipfile`` writes with zlib-ng as its deflate, fed each file in blocks of ``_READ_BLOCK`` bytes.

    Each entry's ``compress_type`` must be ``ZIP_DEFLATED``; its name, date, attributes and system are kept.
    Raises :class:`ZipCancelled` once ``cancel`` is set.
    """
    for info, _ in members:
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise ValueError(f"{info.filename}: only deflated entries are written")
    paths = [path for _, path in members]
    if _needs_zip64(paths):
        _zip_sequentially(members, out, level, cancel)
        return
    workers = workers or min(len(paths), os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Largest first, so the big files do not wait behind the small ones.
        order = sorted(range(len(paths)), key=lambda i: -paths[i].stat().st_size)
        futures = {i: pool.submit(deflate_file, paths[i], level, cancel) for i in order}
        start = out.tell()
        central = []
        for i, (info, _) in enumerate(members):
            member = futures[i].result()
            with member.data:
                info.flag_bits = 0
                info.CRC, info.file_size, info.compress_size = member.crc, member.size, member.compressed
                info.header_offset = out.tell() - start
                out.write(info.FileHeader(zip64=False))
                shutil.copyfileobj(member.data, out, _READ_BLOCK)
            central.append(_central_directory_entry(info))
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
