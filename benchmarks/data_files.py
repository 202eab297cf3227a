"""Time and memory of publishing one big article, side by side with a baseline source tree.

    python -m benchmarks.data_files --rows 1000000 --rounds 2 --baseline /tmp/base [--data-only]

Each round runs ``build_dataset`` + ``publish`` (no Prefect) in a fresh child process per source
tree, in alternating order, on the same generated article. The child reports the seconds of the
build and of ``publish``, its resident memory after the build, the peak of its resident memory
while it publishes (sampled every 20 ms) and its peak over the whole run (``ru_maxrss``).

``--data-only`` measures the data files' part of publishing alone: the build's findings are
dropped (the per-row findings of the report grow with rows and are being summarised elsewhere),
and the package check and the downloads' refresh (zip, catalog) are skipped, so what is left is
rendering and staging the data files, the release comparison and the read-back check.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import REPO, _child_env, describe_machine


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(raw: Path, dist: Path, data_only: bool) -> dict:
    """One build and publish in this process (the source tree is whatever ``ceasefire`` imports)."""
    from ceasefire import pipeline

    started = time.perf_counter()
    build = pipeline.build_dataset(raw)
    built = time.perf_counter()
    if data_only:
        build.findings = []
        pipeline.validate_written_package = lambda *args, **kwargs: []
        pipeline.refresh_downloads = lambda *args, **kwargs: None
    after_build = _rss_mb()
    peak, stop = [after_build], threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    publish_started = time.perf_counter()
    outcome = pipeline.publish(build, dist)
    published = time.perf_counter()
    stop.set()
    sampler.join()
    return {
        "status": outcome.status, "build_s": round(built - started, 2), "publish_s": round(published - publish_started, 2),
        "rss_after_build_mb": round(after_build), "publish_peak_rss_mb": round(max(peak[0], _rss_mb())),
        "publish_rss_growth_mb": round(max(peak[0], _rss_mb()) - after_build),
        "run_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }  # fmt: skip


def _run_child(tree: Path, raw: Path, dist: Path, data_only: bool) -> dict:
    env = _child_env({"PYTHONPATH": os.pathsep.join([str(tree / "src"), str(REPO)])})
    command = [sys.executable, "-m", "benchmarks.data_files", "--child", str(raw), str(dist)] + (["--data-only"] if data_only else [])
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=3600)
    if completed.returncode:
        raise RuntimeError(f"{tree}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def compare(rows: int, rounds: int, baseline: Path, data_only: bool, scratch: Path, first: str = "current") -> dict:
    raw = generate_corpus(scratch / "raw", 1, rows)[0]
    trees = {"current": REPO, "baseline": baseline}
    if first == "baseline":
        trees = dict(reversed(trees.items()))
    samples: dict[str, list[dict]] = {name: [] for name in trees}
    for round_number in range(rounds):
        order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
        for name in order:
            dist = scratch / f"dist-{name}-{round_number}"
            samples[name].append(_run_child(trees[name], raw, dist, data_only))
            print(name, samples[name][-1], file=sys.stderr, flush=True)
            subprocess.run(["rm", "-rf", str(dist)], check=True)
    keys = [key for key in samples["current"][0] if key != "status"]
    medians = {name: {key: statistics.median(s[key] for s in runs) for key in keys} for name, runs in samples.items()}
    return {"rows": rows, "rounds": rounds, "data_only": data_only, "baseline": str(baseline), "machine": describe_machine(),
            "load_average": os.getloadavg(), "samples": samples, "medians": medians}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="a source tree to compare with (e.g. git archive <commit> | tar -x -C DIR)")
    parser.add_argument("--data-only", action="store_true", help="the data files' part of publishing alone (see the docstring)")
    parser.add_argument("--first", choices=["current", "baseline"], default="current", help="which tree runs first in round 1")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, type=Path, metavar=("RAW", "DIST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.data_only)))
        return
    with tempfile.TemporaryDirectory(prefix="ceasefire-data-files-") as scratch:
        result = compare(args.rows, args.rounds, args.baseline, args.data_only, Path(scratch), args.first)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
