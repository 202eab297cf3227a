"""A version folder as a reproducible zip, its files deflated in parallel.

The zip is part of the published output, so its bytes must not depend on how it was made: this
writes exactly what ``zipfile.ZipFile.writestr`` writes for the same ``ZipInfo`` entries and
compression level (``tests/test_release_catalog.py`` compares the two). Deflate is the slow part
(a 1,000,000-row version holds ~330 MB of CSV and JSON Lines); zlib releases the GIL while it
compresses, so each file is deflated, streamed from disk, in its own thread, and the archive is
assembled from the results in file order. Archives that would need ZIP64 records (a member near
2 GiB) are left to ``zipfile`` itself.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

_READ_BLOCK = 1 << 22
_UTF8_NAME_FLAG = 0x800


@dataclass(frozen=True)
class Deflated:
    """One file's deflate stream with the CRC-32 and size of its bytes."""

    crc: int
    size: int
    data: bytes


def deflate_file(path: Path, level: int) -> Deflated:
    """Raw deflate of ``path`` (as zipfile does it: ``wbits=-15``), read in blocks.

    zlib gives the same stream whether the input comes in one call or in blocks.
    """
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    crc, size, parts = 0, 0, []
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            crc = zlib.crc32(block, crc)
            size += len(block)
            parts.append(compressor.compress(block))
    parts.append(compressor.flush())
    return Deflated(crc, size, b"".join(parts))


def _needs_zip64(files: list[Path]) -> bool:
    # zipfile switches a member to ZIP64 when its size * 1.05 exceeds the limit; offsets add up too.
    sizes = [path.stat().st_size for path in files]
    return any(size * 1.05 > zipfile.ZIP64_LIMIT for size in sizes) or sum(sizes) * 1.05 > zipfile.ZIP64_LIMIT


def _zip_sequentially(members: list[tuple[zipfile.ZipInfo, Path]], level: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, path in members:
            archive.writestr(info, path.read_bytes(), compresslevel=level)
    return buffer.getvalue()


def zip_files(members: list[tuple[zipfile.ZipInfo, Path]], level: int = 9, workers: int | None = None) -> bytes:
    """The zip of ``(entry, file)`` pairs, in that order: the bytes ``zipfile.writestr`` gives, made in parallel.

    Each entry's ``compress_type`` must be ``ZIP_DEFLATED``; its name, date, attributes and system are kept.
    """
    paths = [path for _, path in members]
    if _needs_zip64(paths):
        return _zip_sequentially(members, level)
    workers = workers or min(len(paths), os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # Largest first, so the big files do not wait behind the small ones.
        order = sorted(range(len(paths)), key=lambda i: -paths[i].stat().st_size)
        futures = {i: pool.submit(deflate_file, paths[i], level) for i in order}
        deflated = [futures[i].result() for i in range(len(paths))]
    out = io.BytesIO()
    central = []
    for (info, _), member in zip(members, deflated):
        if info.compress_type != zipfile.ZIP_DEFLATED:
            raise ValueError(f"{info.filename}: only deflated entries are written in parallel")
        info.flag_bits = 0
        info.CRC, info.file_size, info.compress_size = member.crc, member.size, len(member.data)
        info.header_offset = out.tell()
        out.write(info.FileHeader(zip64=False))
        out.write(member.data)
        central.append(_central_directory_entry(info))
    start = out.tell()
    out.write(b"".join(central))
    size = out.tell() - start
    out.write(struct.pack(zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, len(central), len(central), size, start, 0))
    return out.getvalue()


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
