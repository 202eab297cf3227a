"""Where a plain run's memory and time go: each step of ``build_dataset`` and ``publish``, with its
seconds, when it started and ended and on which thread, the resident memory before and after it and
the peak inside it (sampled every 10 ms); and how many cores the process kept busy, every half second.

    python -m benchmarks.memory_steps --rows 1000000 [--out FILE]

The steps are the functions ``ceasefire.pipeline`` calls (looked up in its namespace at run time,
so they are wrapped there), the read-back and the zip; a nested step's peak is inside its caller's,
and steps on other threads (the read-back, the zip) share their peaks with the steps beside them.
One generated article, no Prefect, this tree. It explains a peak and shows which steps leave a
core idle; side-by-side figures come from ``benchmarks/data_files.py`` and ``benchmarks/compare.py``.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import RssSampler, describe_machine, emit_json, rss_mb

STEPS = ("read_raw_dir", "extract", "validate", "_candidate", "compare", "initial_changes", "data_files", "build_report",
         "report_files", "stage_version", "check_csv_forms", "validate_written_package", "_refresh_finishing_touches")  # fmt: skip
# The checks inside ``validate`` run on two threads (ceasefire.threads): only the step as a whole is measured.
FORMAT_STEPS = ("find_written_mismatches",)
CATALOG_STEPS = ("build_zip",)
# Cores kept busy (CPU seconds per second) are sampled this often.
CPU_INTERVAL = 0.5

def measure(raw: Path, dist: Path) -> tuple[list[dict], list[float]]:
    """The steps of one run, and the cores it kept busy in each interval of :data:`CPU_INTERVAL` seconds."""
    import flows  # noqa: F401  the command line's runtime: its Arrow memory pool (flows/__init__.py)
    from ceasefire import pipeline
    from ceasefire.publish import catalog, formats

    steps: list[dict] = []
    sampler = RssSampler()
    origin = time.perf_counter()

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
                ended = time.perf_counter()
                steps.append({"step": name, "seconds": round(ended - started, 2), "start_s": round(started - origin, 2),
                              "end_s": round(ended - origin, 2), "thread": threading.current_thread().name,
                              "rss_before_mb": round(before), "rss_after_mb": round(rss_mb()),
                              "peak_inside_mb": round(max(sampler.peak, rss_mb()))})  # fmt: skip
                sampler.peak = max(outer, sampler.peak)

        setattr(module, name, step)

    for module, names in ((pipeline, STEPS), (formats, FORMAT_STEPS), (catalog, CATALOG_STEPS)):
        for name in names:
            wrap(module, name)
    with sampler, _CoresBusy() as cores:
        pipeline.publish(pipeline.build_dataset(raw), dist)
    return sorted(steps, key=lambda step: step["start_s"]), cores.busy


class _CoresBusy:
    """This process's CPU seconds per wall second, every :data:`CPU_INTERVAL` seconds while the block runs."""

    def __init__(self) -> None:
        self.busy: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        last = (time.perf_counter(), time.process_time())
        while not self._stop.wait(CPU_INTERVAL):
            now = (time.perf_counter(), time.process_time())
            self.busy.append(round((now[1] - last[1]) / (now[0] - last[0]), 2))
            last = now

    def __enter__(self) -> "_CoresBusy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ceasefire-memory-") as scratch:
        raw = generate_corpus(Path(scratch) / "raw", 1, args.rows)[0]
        steps, busy = measure(raw, Path(scratch) / "dist")
    result = {"rows": args.rows, "machine": describe_machine(), "steps": steps, "cpu_interval_s": CPU_INTERVAL, "cores_busy": busy}
    emit_json(result, args.out)
    for step in steps:
        print(f"{step['step']:28s} {step['start_s']:6.2f}-{step['end_s']:6.2f} {step['seconds']:6.2f} s {step['thread'][:12]:12s} "
              f"RSS {step['rss_before_mb']:6d} -> {step['rss_after_mb']:6d} MB, peak {step['peak_inside_mb']:6d} MB")  # fmt: skip
    print("cores busy every", CPU_INTERVAL, "s:", " ".join(f"{value:.1f}" for value in busy))


if __name__ == "__main__":
    main()
