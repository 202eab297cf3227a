"""Time and memory of publishing one big article, side by side with a baseline source tree.

    python -m benchmarks.data_files --rows 1000000 --rounds 2 --baseline /tmp/base [--data-only] [--second-release]

Each round runs ``build_dataset`` + ``publish`` (no Prefect) in a fresh child process per source
tree, in alternating order, on the same generated article. The child reports the seconds of the
build and of ``publish``, its peak resident memory in the build and its resident memory after it, the peak
while it publishes (sampled every 20 ms) and its peak over the whole run (``VmHWM``:
``ru_maxrss`` would report the parent's peak when it is higher, as it was while the parent generated
ten million rows, up to round 10).

``--data-only`` measures the data files' part of publishing alone: the build's findings are
dropped (the per-row findings of the report grow with rows and are being summarised elsewhere),
and the package check and the downloads' refresh (zip, catalog) are skipped, so what is left is
rendering and staging the data files, the release comparison and the read-back check.

``--second-release`` measures the release that follows a first one: each round first publishes the
article (not measured), then a raw revision of it that corrects one table row into the same folder,
the scheduled run's usual case. The comparison with the published release is then part of it.
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
import time
from pathlib import Path

from benchmarks.generate import ARTICLE, CITED, generate_corpus, write_raw_folder
from benchmarks.run import REPO, RssSampler, _child_env, describe_machine, emit_json, peak_rss_mb, rss_mb



def child(raw: Path, dist: Path, data_only: bool) -> dict:
    """One build and publish in this process (the source tree is whatever ``ceasefire`` imports)."""
    import flows  # noqa: F401  the command line's runtime: its Arrow memory pool (flows/__init__.py)
    from ceasefire import pipeline

    started = time.perf_counter()
    build = pipeline.build_dataset(raw)
    built = time.perf_counter()
    if data_only:
        build.findings = []
        pipeline.validate_written_package = lambda *args, **kwargs: []
        pipeline.refresh_downloads = lambda *args, **kwargs: None
    after_build, build_peak = rss_mb(), peak_rss_mb()
    publish_started = time.perf_counter()
    with RssSampler(0.02) as sampler:
        outcome = pipeline.publish(build, dist)
    published = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "status": outcome.status, "build_s": round(built - started, 2), "publish_s": round(published - publish_started, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "build_peak_rss_mb": round(build_peak), "rss_after_build_mb": round(after_build), "publish_peak_rss_mb": round(sampler.peak),
        "publish_rss_growth_mb": round(sampler.peak - after_build),
        "run_peak_rss_mb": round(peak_rss_mb()),
    }  # fmt: skip


def _run_child(tree: Path, raw: Path, dist: Path, data_only: bool) -> dict:
    env = _child_env({"PYTHONPATH": os.pathsep.join([str(tree / "src"), str(REPO)])})
    command = [sys.executable, "-m", "benchmarks.data_files", "--child", str(raw), str(dist)] + (["--data-only"] if data_only else [])
    completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=3600)
    if completed.returncode:
        raise RuntimeError(f"{tree}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def corrected_copy(raw: Path, folder: Path) -> Path:
    """A new raw revision of the article in ``raw`` that corrects one table row (its consequences
    cell), with its own provenance: the next release changes that row and no other."""
    article = (raw / ARTICLE).read_text(encoding="utf-8").split("\n")
    table = [number for number, line in enumerate(article) if line.startswith("|") and line.count("|") == 6]
    row = table[len(table) // 2]
    cells = article[row].split("|")
    cells[5] = " one serviceman wounded (corrected) "
    article[row] = "|".join(cells)
    return write_raw_folder(folder, "\n".join(article), (raw / CITED).read_text(encoding="utf-8"))


def compare(
    rows: int, rounds: int, baseline: Path, data_only: bool, scratch: Path, first: str = "current", second_release: bool = False
) -> dict:
    raw = generate_corpus(scratch / "raw", 1, rows)[0]
    corrected = corrected_copy(raw, scratch / "raw-corrected") if second_release else None
    trees = {"current": REPO, "baseline": baseline} if baseline is not None else {"current": REPO}
    if first == "baseline":
        trees = dict(reversed(trees.items()))
    samples: dict[str, list[dict]] = {name: [] for name in trees}
    for round_number in range(rounds):
        order = list(trees) if round_number % 2 == 0 else list(reversed(trees))
        for name in order:
            dist = scratch / f"dist-{name}-{round_number}"
            if corrected is not None:  # the first release, not measured; then the one that corrects a row
                _run_child(trees[name], raw, dist, data_only)
            samples[name].append(_run_child(trees[name], corrected or raw, dist, data_only))
            print(name, samples[name][-1], file=sys.stderr, flush=True)
            subprocess.run(["rm", "-rf", str(dist)], check=True)
    keys = [key for key in samples["current"][0] if key != "status"]
    medians = {name: {key: statistics.median(s[key] for s in runs) for key in keys} for name, runs in samples.items()}
    return {"rows": rows, "rounds": rounds, "data_only": data_only, "second_release": second_release,
            "baseline": baseline.name if baseline else None, "machine": describe_machine(),
            "load_average": os.getloadavg(), "samples": samples, "medians": medians}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", type=Path, help="a source tree to compare with (e.g. git archive <commit> | tar -x -C DIR); without it, this tree alone")
    parser.add_argument("--data-only", action="store_true", help="the data files' part of publishing alone (see the docstring)")
    parser.add_argument("--first", choices=["current", "baseline"], default="current", help="which tree runs first in round 1")
    parser.add_argument("--second-release", action="store_true",
                        help="measure the release after the first one, from a raw revision that corrects one table row")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", nargs=2, type=Path, metavar=("RAW", "DIST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.data_only)))
        return
    with tempfile.TemporaryDirectory(prefix="ceasefire-data-files-") as scratch:
        result = compare(args.rows, args.rounds, args.baseline, args.data_only, Path(scratch), args.first, args.second_release)
    emit_json(result, args.out)


if __name__ == "__main__":
    main()
