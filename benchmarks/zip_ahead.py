"""Publishing with the zip built beside the read-back and the package check, or after the promotion.

    python -m benchmarks.zip_ahead --rows 1000000 --rounds 2 [--steps]

One process builds the generated article once, then publishes it into a fresh folder per run,
alternating the two ways: ``ahead`` (what ``publish`` does) and ``after`` (``ZipAhead`` never
started, so ``refresh_downloads`` builds the zip after the promotion, as before issue 14). Each
run reports the seconds of ``publish``, of the read-back and the package check alone and with the
wait for the zip (up to the promotion), of building the zip (wherever it runs), and of the
downloads' refresh, with the process's CPU seconds and the machine's load average.

``--steps`` times the two steps alone on one published version folder: the read-back and the
package check, and ``build_zip``, one after the other (``after``) and side by side (``ahead``).

Both ways do the same work, so they differ only in how much of it runs at once: on a shared
machine the gain depends on a core being free, which the CPU seconds and the load average show.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import describe_machine, emit_json


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class _Marks(dict):
    """The start and end of each wrapped call, by name (the last call's)."""

    def timed(self, name: str, function):
        def wrapper(*args, **kwargs):
            self[f"{name}_start"] = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self[f"{name}_end"] = time.perf_counter()

        return wrapper

    def seconds(self, first: str, last: str) -> float:
        return round(self[last] - self[first], 2)


def publish_both_ways(build, rounds: int, scratch: Path) -> dict[str, list[dict]]:
    from ceasefire import pipeline
    from ceasefire.publish import catalog

    marks = _Marks()
    real_start = catalog.ZipAhead.start
    pipeline.formats.find_written_mismatches = marks.timed("read_back", pipeline.formats.find_written_mismatches)
    pipeline.validate_written_package = marks.timed("package_check", pipeline.validate_written_package)
    pipeline.promote = marks.timed("promote", pipeline.promote)
    catalog.build_zip = marks.timed("zip", catalog.build_zip)
    pipeline.refresh_downloads = marks.timed("refresh", pipeline.refresh_downloads)
    samples: dict[str, list[dict]] = {"ahead": [], "after": []}
    for round_number in range(rounds):
        for way in ["ahead", "after"] if round_number % 2 == 0 else ["after", "ahead"]:
            catalog.ZipAhead.start = real_start if way == "ahead" else lambda *args: None
            dist = scratch / f"dist-{way}-{round_number}"
            cpu, started = _cpu_seconds(), time.perf_counter()
            outcome = pipeline.publish(build, dist)
            published = time.perf_counter()
            assert outcome.status == "published", outcome.message
            samples[way].append({
                "publish_s": round(published - started, 2),
                "cpu_s": round(_cpu_seconds() - cpu, 1),
                "checks_s": marks.seconds("read_back_start", "package_check_end"),
                "checks_and_zip_wait_s": marks.seconds("read_back_start", "promote_start"),
                "zip_s": marks.seconds("zip_start", "zip_end"),
                "refresh_s": marks.seconds("refresh_start", "refresh_end"),
                "load_average": round(os.getloadavg()[0], 2),
            })  # fmt: skip
            print(way, samples[way][-1], file=sys.stderr, flush=True)
            shutil.rmtree(dist)
    return samples


def steps_both_ways(build, rounds: int, scratch: Path) -> dict[str, list[dict]]:
    from ceasefire import pipeline
    from ceasefire.publish import catalog
    from ceasefire.publish.formats import find_written_mismatches
    from ceasefire.publish.package_check import validate_written_package

    pipeline.refresh_downloads = lambda *args: None
    folder = pipeline.publish(build, scratch / "dist").path
    tables = [file for file in pipeline.plan_data_files(build) if file.schema is not None]
    frames = {file.resource: build.extractions[file.resource.removesuffix("-json")].frame for file in tables}
    schemas = {file.resource: file.schema for file in tables if file.format == "csv"}
    seconds: dict[str, float] = {}

    def checks() -> None:
        started = time.perf_counter()
        assert not find_written_mismatches(folder, schemas) and not validate_written_package(folder, frames)
        seconds["checks_s"] = round(time.perf_counter() - started, 2)

    def zip_folder() -> None:
        started = time.perf_counter()
        catalog.build_zip(folder, "root", io.BytesIO())
        seconds["zip_s"] = round(time.perf_counter() - started, 2)

    samples: dict[str, list[dict]] = {"ahead": [], "after": []}
    for round_number in range(rounds):
        for way in ["ahead", "after"] if round_number % 2 == 0 else ["after", "ahead"]:
            cpu, started = _cpu_seconds(), time.perf_counter()
            if way == "ahead":
                thread = threading.Thread(target=zip_folder)
                thread.start()
                checks()
                thread.join()
            else:
                checks()
                zip_folder()
            samples[way].append({"total_s": round(time.perf_counter() - started, 2), "cpu_s": round(_cpu_seconds() - cpu, 1),
                                 **seconds, "load_average": round(os.getloadavg()[0], 2)})  # fmt: skip
            print(way, samples[way][-1], file=sys.stderr, flush=True)
    return samples


def measure(rows: int, rounds: int, steps: bool, scratch: Path) -> dict:
    from ceasefire import pipeline

    raw = generate_corpus(scratch / "raw", 1, rows)[0]
    build = pipeline.build_dataset(raw)
    samples = (steps_both_ways if steps else publish_both_ways)(build, rounds, scratch)
    medians = {way: {key: statistics.median(s[key] for s in runs) for key in runs[0]} for way, runs in samples.items()}
    return {"rows": rows, "rounds": rounds, "steps": steps, "machine": describe_machine(), "samples": samples, "medians": medians}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", action="store_true", help="the read-back and package check, and the zip, alone (see the docstring)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ceasefire-zip-ahead-") as scratch:
        result = measure(args.rows, args.rounds, args.steps, Path(scratch))
    emit_json(result, args.out)


if __name__ == "__main__":
    main()
