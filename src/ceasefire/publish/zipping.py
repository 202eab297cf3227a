"""A version folder as a reproducible zip, its files deflated in parallel.

The zip is part of the published output, so its bytes must not depend on how it was made: this
writes exactly what ``zipfile.ZipFile.writestr`` writes for the same ``ZipInfo`` entries and
compression level (``tests/test_release_catalog.py`` compares the two). Deflate is the slow part
(a 1,000,000-row version holds ~330 MB of CSV and JSON Lines); zlib releases the GIL while it
compresses, so each file is deflated, streamed from disk, in its own thread, and the archive is
assembled from the results in file order. Each deflate stream is spooled to a temporary file, so
memory does not grow with the folder. Archives that would need ZIP64 records (a member near 2 GiB)
are left to ``zipfile`` itself. A zip built alongside other work can be cancelled (``cancel``): it then
stops within one block of each file it is deflating.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def deflate_file(path: Path, level: int, cancel: threading.Event | None = None) -> Deflated:
    """Raw deflate of ``path`` (as zipfile does it: ``wbits=-15``), read in blocks, into a temporary file.

    zlib gives the same stream whether the input comes in one call or in blocks.
    """
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc, size, compressed = 0, 0, 0
    spool = tempfile.TemporaryFile()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            _stop_if_cancelled(cancel)
            crc = zlib.crc32(block, crc)
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
            info._compresslevel = level  # what writestr(compresslevel=) sets; Python 3.11's name for it
            with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, _READ_BLOCK)


def zip_files(
    members: list[tuple[zipfile.ZipInfo, Path]], out: BinaryIO, level: int, workers: int | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Write the zip of ``(entry, file)`` pairs, in that order, into ``out``: the bytes ``zipfile.writestr``
    gives, made in parallel.

    Each entry's ``compress_type`` must be ``ZIP_DEFLATED``; its name, date, attributes and system are kept.
    Raises :class:`ZipCancelled` once ``cancel`` is set.
    """
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
            if info.compress_type != zipfile.ZIP_DEFLATED:
                raise ValueError(f"{info.filename}: only deflated entries are written in parallel")
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
