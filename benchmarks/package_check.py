"""Ways to validate a written package, timed on one synthetic article (docs/BENCHMARKS.md).

    python -m benchmarks.package_check --rows 200000
    PYTHONPATH=<tree>/src python -m benchmarks.package_check --rows 1000000 --streamed-only

Publishes one synthetic article, then times on the published version folder: frictionless on the
whole package, with ``parallel=True``, on the CSV resources only, the streamed check
(``package_check.find_package_errors``, derived from the contract) and the whole large-package path
publishing takes (``validate_written_package`` above its threshold). ``--streamed-only`` times the
last two alone (frictionless on a million rows takes minutes), each ``--rounds`` times, with the
CPU seconds of each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate_corpus


def _timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _frictionless(package_dir: Path, *, parallel: bool = False, csv_only: bool = False) -> int:
    from frictionless import Package, system

    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    if csv_only:
        descriptor["resources"] = [r for r in descriptor["resources"] if r["format"] == "csv"]
    with system.use_context(trusted=False):
        report = Package(descriptor, basepath=str(package_dir)).validate(parallel=parallel)
    return len(report.flatten(["type"]))


def _large_path(package_dir: Path) -> list:
    from ceasefire.publish import package_check

    threshold, package_check.FULL_FRICTIONLESS_MAX_ROWS = package_check.FULL_FRICTIONLESS_MAX_ROWS, -1
    try:
        return package_check.validate_written_package(package_dir, {})
    finally:
        package_check.FULL_FRICTIONLESS_MAX_ROWS = threshold


def measure(rows: int, streamed_only: bool = False, rounds: int = 1) -> dict:
    from ceasefire.pipeline import build_dataset, publish
    from ceasefire.publish import package_check

    with tempfile.TemporaryDirectory(prefix="ceasefire-check-") as scratch:
        raw = generate_corpus(Path(scratch) / "raw", 1, rows)[0]
        outcome = publish(build_dataset(raw), Path(scratch) / "dist")
        package = outcome.path
        results = {"rows": rows, "total_rows": sum(outcome.rows.values())}
        actions = [
            ("frictionless_full_s", lambda: _frictionless(package)),
            ("frictionless_parallel_s", lambda: _frictionless(package, parallel=True)),
            ("frictionless_csv_only_s", lambda: _frictionless(package, csv_only=True)),
            ("streamed_check_s", lambda: len(package_check.find_package_errors(package))),
            ("large_path_s", lambda: len(_large_path(package))),
        ]
        for name, action in actions[3:] if streamed_only else actions:
            for _ in range(rounds):
                cpu = time.process_time()
                seconds, errors = _timed(action)
                results.setdefault(name, []).append(round(seconds, 2))
                results.setdefault(name.removesuffix("_s") + "_cpu_s", []).append(round(time.process_time() - cpu, 2))
                results[name.removesuffix("_s") + "_errors"] = errors
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--streamed-only", action="store_true", help="time the streamed check and the large-package path only")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.rows, args.streamed_only, args.rounds), indent=2))


if __name__ == "__main__":
    main()
