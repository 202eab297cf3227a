"""CPU and bytes of deflating a version folder's files with the system zlib and the pinned zlib-ng, by level.

    python -m benchmarks.deflate VERSION_DIR [--levels 4 5 6] [--out RESULTS.json]
    python -m benchmarks.deflate VERSION_DIR --build-zip [--out RESULTS.json]

Each file's stream is the zip's own (``zipping.BlockDeflater``: blocks of ``zipping._BLOCK`` bytes,
each primed with the 32 KiB before it), deflated in one thread; CPU is ``time.process_time``. The level of
``catalog.ZIP_LEVEL`` was chosen from these figures (docs/BENCHMARKS.md).

``--build-zip`` instead times ``catalog.build_zip`` of the folder as publishing runs it (its
threads, into a temporary file): wall and CPU seconds and the zip's bytes. With another tree's
``src`` first on ``PYTHONPATH``, it times that tree's zip.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zlib
from pathlib import Path

from zlib_ng import zlib_ng

from benchmarks.run import describe_machine, emit_json


def deflate_folder(files: list[Path], module, level: int) -> dict:
    from ceasefire.publish import zipping

    cpu, compressed = 0.0, 0
    for path in files:
        with path.open("rb") as handle:
            deflater = zipping.BlockDeflater(level, module=module)
            while data := handle.read(zipping._BLOCK):
                started = time.process_time()
                compressed += len(deflater.compress(data))
                cpu += time.process_time() - started
            started = time.process_time()
            compressed += len(deflater.flush())
            cpu += time.process_time() - started
    return {"cpu_s": round(cpu, 2), "compressed_bytes": compressed}


def time_build_zip(version_dir: Path) -> dict:
    from ceasefire.publish.catalog import build_zip

    with tempfile.TemporaryFile() as out:
        wall, cpu = time.perf_counter(), time.process_time()
        build_zip(version_dir, "root", out)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "zip_bytes": out.tell()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version_dir", type=Path)
    parser.add_argument("--levels", type=int, nargs="+", default=[4, 5, 6])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--build-zip", action="store_true", help="time build_zip of the folder instead")
    args = parser.parse_args()
    files = sorted(path for path in args.version_dir.rglob("*") if path.is_file())
    if args.build_zip:
        emit_json({"input_bytes": sum(path.stat().st_size for path in files), "files": len(files),
                   "machine": describe_machine(), "build_zip": time_build_zip(args.version_dir)}, args.out)  # fmt: skip
        return
    results = []
    for name, module in (("zlib", zlib), ("zlib-ng", zlib_ng)):
        for level in args.levels:
            results.append({"deflate": name, "level": level, **deflate_folder(files, module, level)})
            print(results[-1], flush=True)
    emit_json({"input_bytes": sum(path.stat().st_size for path in files), "files": len(files),
               "machine": describe_machine(), "results": results}, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
