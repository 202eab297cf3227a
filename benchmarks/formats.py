"""The data files alone: CSV, JSON Lines, Parquet, SQLite written into a folder, and the read-back check, on one synthetic article.

    python -m benchmarks.formats --rows 100000

Prints one JSON line: seconds per step, sizes, peak RSS. `make bench` measures them inside
`publish`; this separates their share.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate_corpus


def measure_formats(rows: int) -> dict:
    from ceasefire.pipeline import build_dataset, data_files, plan_data_files
    from ceasefire.publish import formats

    with tempfile.TemporaryDirectory(prefix="ceasefire-formats-") as scratch:
        build = build_dataset(generate_corpus(Path(scratch) / "raw", 1, rows)[0])
        schemas = {name: build.contracts.table_schema(name) for name in build.extractions}
        folder = Path(scratch) / "version"
        files, timings, started = plan_data_files(build), {}, time.perf_counter()

        def lap(step: str) -> None:
            nonlocal started
            timings[step] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()

        for form in ("csv", "jsonl", "parquet", "sqlite"):  # each written into the folder, in slices
            written = {file.path: file for file in data_files(build, folder, [f for f in files if f.format == form])}
            files = [written.get(file.path, file) for file in files]
            lap(f"{form}_s")
        assert not formats.find_written_mismatches(folder, schemas)
        lap("read_back_check_s")
        sizes = {form: round(sum(f.size for f in files if f.format == form) / 1e6, 2) for form in ("csv", "jsonl", "parquet", "sqlite")}
    return {
        "rows": {name: len(e.frame) for name, e in build.extractions.items()},
        **timings,
        **{f"{form}_mb": size for form, size in sizes.items()},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="table rows of the synthetic article")
    print(json.dumps(measure_formats(parser.parse_args().rows)))


if __name__ == "__main__":
    main()
