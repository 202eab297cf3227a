"""CPU time of one pipeline step on prepared input, for side-by-side runs of two source trees (docs/BENCHMARKS.md).

    python -m benchmarks.cpu_steps prepare OUT --rows 200000   # OUT/raw (one article) and OUT/dist (published)
    python benchmarks/cpu_steps.py extract OUT/raw/article-00000
    python benchmarks/cpu_steps.py check OUT/dist/<package>/<version>

``extract`` times ``pipeline.extract`` (the violations table and the prose events) on a raw
folder; ``check`` times the streamed package check (``package_check.find_package_errors``) on a
published version folder. Each prints one JSON line: the step's CPU and wall seconds (reading the
raw folder and imports excluded) and what it produced, so the two trees can be seen to agree.
Run as a file, the step imports ``ceasefire`` from ``PYTHONPATH`` first: put an earlier commit's
``src/`` there to time it on the same input, e.g. with ``farm-bench --vs``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _timed(action) -> tuple[dict, object]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = action()
    return {"cpu_s": round(time.process_time() - cpu, 3), "wall_s": round(time.perf_counter() - wall, 3)}, result


def time_extract(raw_dir: Path) -> dict:
    from ceasefire import pipeline
    from ceasefire.contracts.vocabularies import load_contracts
    from ceasefire.extract.raw import read_raw_dir

    corpus, contracts = read_raw_dir(raw_dir), load_contracts()
    figures, extractions = _timed(lambda: pipeline.extract(corpus, contracts))
    return {"step": "extract", **figures,
            "rows": {name: len(extraction.frame) for name, extraction in extractions.items()},
            "findings": sum(len(extraction.findings) for extraction in extractions.values())}  # fmt: skip


def time_check(package_dir: Path) -> dict:
    from ceasefire.publish.package_check import find_package_errors

    figures, errors = _timed(lambda: find_package_errors(package_dir))
    return {"step": "check", **figures, "errors": [list(error) for error in errors]}


def prepare(out: Path, rows: int) -> dict:
    from benchmarks.generate import generate_corpus
    from ceasefire.pipeline import build_dataset, publish

    raw = generate_corpus(out / "raw", 1, rows)[0]
    outcome = publish(build_dataset(raw), out / "dist")
    return {"raw": str(raw), "package": str(outcome.path), "status": outcome.status}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepared = commands.add_parser("prepare", help="generate one article and publish it")
    prepared.add_argument("out", type=Path)
    prepared.add_argument("--rows", type=int, default=200_000)
    commands.add_parser("extract", help="time pipeline.extract on a raw folder").add_argument("path", type=Path)
    commands.add_parser("check", help="time the streamed package check on a version folder").add_argument("path", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        result = prepare(args.out, args.rows)
    else:
        result = (time_extract if args.command == "extract" else time_check)(args.path)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
