"""Where a plain run's memory goes: each step of ``build_dataset`` and ``publish``, with its seconds,
the resident memory before and after it and the peak inside it (sampled every 10 ms).

    python -m benchmarks.memory_steps --rows 1000000 [--out FILE]

The steps are the functions ``ceasefire.pipeline`` calls (looked up in its namespace at run time,
so they are wrapped there); a nested step's peak is inside its caller's. One generated article, no
Prefect, this tree. It explains a peak; side-by-side figures come from ``benchmarks/data_files.py``.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import RssSampler, describe_machine, emit_json, rss_mb

STEPS = ("read_raw_dir", "extract", "validate", "_candidate", "compare", "initial_changes", "data_files", "build_report",
         "report_files", "stage_version", "validate_written_package", "_refresh_finishing_touches")  # fmt: skip
# The checks inside ``validate`` run on two threads (ceasefire.threads): only the step as a whole is measured.
FORMAT_STEPS = ("find_written_mismatches",)

def measure(raw: Path, dist: Path) -> list[dict]:
    import flows  # noqa: F401  the command line's runtime: its Arrow memory pool (flows/__init__.py)
    from ceasefire import pipeline
    from ceasefire.publish import formats

    steps: list[dict] = []
    sampler = RssSampler()

    def wrap(module, name: str) -> None:
        function = getattr(module, name)

        @functools.wraps(function)
        def step(*args, **kwargs):
            before, outer = rss_mb(), sampler.peak
            sampler.peak = before
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                steps.append({"step": name, "seconds": round(time.perf_counter() - started, 2), "rss_before_mb": round(before),
                              "rss_after_mb": round(rss_mb()), "peak_inside_mb": round(max(sampler.peak, rss_mb()))})  # fmt: skip
                sampler.peak = max(outer, sampler.peak)

        setattr(module, name, step)

    for name in STEPS:
        wrap(pipeline, name)
    for name in FORMAT_STEPS:
        wrap(formats, name)
    with sampler:
        pipeline.publish(pipeline.build_dataset(raw), dist)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ceasefire-memory-") as scratch:
        raw = generate_corpus(Path(scratch) / "raw", 1, args.rows)[0]
        steps = measure(raw, Path(scratch) / "dist")
    result = {"rows": args.rows, "machine": describe_machine(), "steps": steps}
    emit_json(result, args.out)
    for step in steps:
        print(f"{step['step']:28s} {step['seconds']:7.2f} s  RSS {step['rss_before_mb']:6d} -> {step['rss_after_mb']:6d} MB, peak {step['peak_inside_mb']:6d} MB")


if __name__ == "__main__":
    main()
