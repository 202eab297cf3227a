"""CPU and bytes of deflating a version folder's files with the system zlib and the pinned zlib-ng, by level.

    python -m benchmarks.deflate VERSION_DIR [--levels 4 5 6] [--out RESULTS.json]

Each file is fed in the zip's own blocks (``zipping._READ_BLOCK``), one thread, as one deflate
stream each (what ``build_zip`` does per member); CPU is ``time.process_time``. The level of
``catalog.ZIP_LEVEL`` was chosen from these figures (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import time
import zlib
from pathlib import Path

from zlib_ng import zlib_ng

from benchmarks.run import describe_machine, emit_json


def deflate_folder(files: list[Path], module, level: int, block: int) -> dict:
    cpu, compressed = 0.0, 0
    for path in files:
        with path.open("rb") as handle:
            compressor = module.compressobj(level, module.DEFLATED, -15)
            while data := handle.read(block):
                started = time.process_time()
                compressed += len(compressor.compress(data))
                cpu += time.process_time() - started
            started = time.process_time()
            compressed += len(compressor.flush())
            cpu += time.process_time() - started
    return {"cpu_s": round(cpu, 2), "compressed_bytes": compressed}


def main() -> None:
    from ceasefire.publish import zipping

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version_dir", type=Path)
    parser.add_argument("--levels", type=int, nargs="+", default=[4, 5, 6])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    files = sorted(path for path in args.version_dir.rglob("*") if path.is_file())
    results = []
    for name, module in (("zlib", zlib), ("zlib-ng", zlib_ng)):
        for level in args.levels:
            results.append({"deflate": name, "level": level, **deflate_folder(files, module, level, zipping._READ_BLOCK)})
            print(results[-1], flush=True)
    emit_json({"input_bytes": sum(path.stat().st_size for path in files), "files": len(files),
               "machine": describe_machine(), "results": results}, args.out)  # fmt: skip


if __name__ == "__main__":
    main()
