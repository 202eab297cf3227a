"""The typed downloads alone: Parquet, SQLite and their read-back check, on one synthetic article.

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
    from ceasefire.pipeline import build_dataset
    from ceasefire.publish import formats
    from ceasefire.publish.serialize import render_csv

    with tempfile.TemporaryDirectory(prefix="ceasefire-formats-") as scratch:
        build = build_dataset(generate_corpus(Path(scratch) / "raw", 1, rows)[0])
        schemas = {name: build.contracts.table_schema(name) for name in build.extractions}
        timings, started = {}, time.perf_counter()

        def lap(step: str) -> None:
            nonlocal started
            timings[step] = round(time.perf_counter() - started, 2)
            started = time.perf_counter()

        csvs = {name: render_csv(e.frame) for name, e in build.extractions.items()}
        lap("csv_s")
        columns = {name: formats.typed_columns(e.frame) for name, e in build.extractions.items()}
        lap("typed_columns_s")
        parquets = {name: formats.render_parquet(columns[name], schemas[name]) for name in columns}
        lap("parquet_s")
        database = formats.render_sqlite([(name, {}, schemas[name], columns[name]) for name in columns])
        lap("sqlite_s")
        folder = Path(scratch) / "version"
        (folder / "data").mkdir(parents=True)
        for name in columns:
            (folder / f"data/{name}.csv").write_bytes(csvs[name])
            (folder / formats.parquet_path(name)).write_bytes(parquets[name])
        (folder / formats.SQLITE_PATH).write_bytes(database)
        started = time.perf_counter()
        assert not formats.find_written_mismatches(folder, schemas)
        lap("read_back_check_s")
    return {
        "rows": {name: len(e.frame) for name, e in build.extractions.items()},
        **timings,
        "csv_mb": round(sum(map(len, csvs.values())) / 1e6, 2),
        "parquet_mb": round(sum(map(len, parquets.values())) / 1e6, 2),
        "sqlite_mb": round(len(database) / 1e6, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="table rows of the synthetic article")
    print(json.dumps(measure_formats(parser.parse_args().rows)))


if __name__ == "__main__":
    main()
