"""``make bench-compare``: one big article through ``ceasefire publish`` beside ``frictionless validate``.

On a shared machine absolute times drift with the load, so everything here is measured side by
side, in rounds that alternate the commands, and reported as medians and ratios:

- ``publish``: ``ceasefire publish`` as a user runs it (the Prefect flow, against a ``prefect
  server`` started here on a free loopback port), each round with a fresh ``PREFECT_HOME`` (nothing
  cached) and a fresh ``dist/``; wall time and peak RSS from ``/usr/bin/time -v``;
- ``baseline`` (with ``--baseline DIR``): the same command with the source tree ``DIR`` (an
  earlier commit, e.g. ``git archive <commit> | tar -x -C DIR``) first on ``PYTHONPATH``, and
  pyarrow hidden from it (``--baseline-hides pyarrow``) when that commit ran without it;
- ``frictionless``: ``frictionless validate datapackage.json --resource-name violations`` on the
  package the round published (schema, constraints, bytes and sha256 of the CSV);
- ``floor``: reading and hashing the raw input bytes, and writing (with fsync) as many bytes as
  the published version folder holds: what the hardware needs for the bytes alone;
- ``--seed-rounds N``: the seed (``raw/``) published and then re-run unchanged on the same server,
  N rounds alternating with the baseline: the re-run is what a scheduled run costs on most days;
- ``--publish-args`` and ``--baseline-args`` pass options to either command: with the current tree
  as its own baseline, ``--publish-args "--task-runner dask --dask-workers 2"`` compares Dask with
  the thread pool.

    python -m benchmarks.compare --rows 1000000 --rounds 3 [--baseline /tmp/base] [--out results.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import REPO, _child_env, _fresh, describe_machine, prefect_server, run_child, timed_command

PACKAGE = "nagorno-karabakh-ceasefire"


def measure_floor(raw_dir: Path, version_dir: Path) -> dict:
    """Read + sha256 of the raw files, and a fsynced write of as many bytes as the version folder holds."""
    started = time.perf_counter()
    read = 0
    for path in sorted(raw_dir.iterdir()):
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(1 << 22):
                digest.update(block)
                read += len(block)
    hashed = time.perf_counter()
    written = sum(p.stat().st_size for p in version_dir.rglob("*") if p.is_file())
    block = os.urandom(1 << 22)
    with tempfile.NamedTemporaryFile(dir=version_dir.parent.parent) as handle:
        remaining = written
        while remaining > 0:
            remaining -= handle.write(block[: min(remaining, len(block))])
        handle.flush()
        os.fsync(handle.fileno())
    done = time.perf_counter()
    return {"read_bytes": read, "read_hash_seconds": hashed - started, "write_bytes": written,
            "write_seconds": done - hashed, "seconds": done - started}  # fmt: skip


def _hiding(modules: list[str], folder: Path) -> Path:
    """A folder of stand-ins that fail to import, so the baseline runs as if ``modules`` were not installed."""
    folder.mkdir(parents=True, exist_ok=True)
    for module in modules:
        (folder / f"{module}.py").write_text(f"raise ImportError('{module} is hidden from the baseline')\n", encoding="utf-8")
    return folder


def _publish(
    raw_dir: Path, work: Path, api_url: str, source: Path | None, hidden: Path | None = None, extra: list[str] | None = None
) -> dict:
    env = {"PREFECT_API_URL": api_url, "PREFECT_HOME": str(_fresh(work / "home"))}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([*([str(hidden)] if hidden else []), str(source / "src"), str(source)])
    command = [str(Path(sys.executable).parent / "ceasefire"), "publish", "--raw", str(raw_dir),
               "--dist", str(_fresh(work / "dist")), "--reports", str(work / "reports"), *(extra or [])]  # fmt: skip
    result = timed_command(command, env=_child_env(env))
    if result["returncode"]:
        raise RuntimeError(f"ceasefire publish failed with exit code {result['returncode']}")
    return result


def _version_dir(work: Path) -> Path:
    return next((work / "dist" / PACKAGE).glob("*/datapackage.json")).parent


def compare(
    rows: int, rounds: int, baseline: Path | None, scratch: Path, hide: list[str] | None = None,
    publish_args: list[str] | None = None, baseline_args: list[str] | None = None,
) -> dict:
    raw_dir = generate_corpus(_fresh(scratch / "raw"), 1, rows)[0]
    hidden = _hiding(hide, scratch / "hidden") if hide else None
    cli = str(Path(sys.executable).parent / "frictionless")
    samples: dict[str, list[dict]] = {"publish": [], "frictionless": [], "floor": []}
    if baseline is not None:
        samples["baseline"] = []
    with prefect_server(_fresh(scratch / "server")) as api_url:
        for round_number in range(rounds):
            # Alternate which goes first, so a drift in the load does not favour one of them.
            order = ["publish", "baseline"] if baseline is not None else ["publish"]
            for name in order if round_number % 2 == 0 else order[::-1]:
                work = _fresh(scratch / name)
                source = baseline if name == "baseline" else None
                extra = baseline_args if name == "baseline" else publish_args
                samples[name].append(_publish(raw_dir, work, api_url, source, hidden if source else None, extra))
                print(f"round {round_number + 1} {name}: {samples[name][-1]}", flush=True)
            version = _version_dir(scratch / "publish")
            samples["frictionless"].append(timed_command([cli, "validate", str(version / "datapackage.json"),
                                                         "--resource-name", "violations"]))  # fmt: skip
            samples["floor"].append(measure_floor(raw_dir, version))
            print(f"round {round_number + 1} frictionless: {samples['frictionless'][-1]}", flush=True)
    medians = {name: statistics.median(s["seconds"] for s in runs) for name, runs in samples.items()}
    peaks = {name: max(s.get("peak_rss_mb") or 0 for s in runs) for name, runs in samples.items() if name != "floor"}
    cpu = {name: statistics.median(s["cpu_seconds"] for s in runs) for name, runs in samples.items()
           if name != "floor" and runs and all(s.get("cpu_seconds") is not None for s in runs)}  # fmt: skip
    result = {
        "rows": rows, "rounds": rounds, "publish_args": publish_args or [], "baseline_args": baseline_args or [],
        "baseline": str(baseline) if baseline else None, "baseline_hides": hide or [],
        "machine": describe_machine(), "load_average": os.getloadavg(),
        "medians_seconds": medians, "medians_cpu_seconds": cpu, "peak_rss_mb": peaks, "samples": samples,
        "publish_over_frictionless": medians["publish"] / medians["frictionless"],
        "floor_seconds": medians["floor"],
    }  # fmt: skip
    if baseline is not None:
        result["publish_over_baseline"] = medians["publish"] / medians["baseline"]
    return result


def compare_seed_rerun(rounds: int, baseline: Path | None, scratch: Path, hide: list[str] | None = None) -> dict:
    """The seed published, then re-run unchanged, on one running server; the baseline alternating."""
    hidden = _hiding(hide, scratch / "hidden") if hide else None
    reruns: dict[str, list[float]] = {"rerun": []}
    if baseline is not None:
        reruns["baseline"] = []
    with prefect_server(_fresh(scratch / "server")) as api_url:
        for round_number in range(rounds):
            order = list(reruns) if round_number % 2 == 0 else list(reruns)[::-1]
            for name in order:
                env = {"PREFECT_API_URL": api_url, "PREFECT_HOME": str(_fresh(scratch / name / "home"))}
                if name == "baseline":
                    env["PYTHONPATH"] = os.pathsep.join([*([str(hidden)] if hidden else []), str(baseline / "src"), str(baseline)])
                source = baseline if name == "baseline" else REPO
                flow = run_child("flow", REPO / "raw", _fresh(scratch / name / "work"), 2, env=_child_env(env), cwd=source)
                if flow["statuses"][1] != "unchanged":
                    raise RuntimeError(f"the {name} re-run was {flow['statuses'][1]}, not unchanged")
                reruns[name].append(flow["seconds"][1])
                print(f"seed round {round_number + 1} {name}: {flow['seconds']}", flush=True)
    return {"rounds": rounds, "rerun_seconds": reruns,
            "medians_seconds": {name: statistics.median(values) for name, values in reruns.items()}}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="a source tree to compare with (its src/ and flows/)")
    parser.add_argument("--seed-rounds", type=int, default=0, help="also time the seed's unchanged re-run, this many rounds")
    parser.add_argument("--baseline-hides", nargs="*", default=[], help="modules the baseline must not see (e.g. pyarrow)")
    parser.add_argument("--publish-args", default="", help="extra options of ceasefire publish, e.g. '--task-runner dask'")
    parser.add_argument("--baseline-args", default="", help="extra options of the baseline's ceasefire publish")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "compare.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ceasefire-compare-") as scratch:
        result = compare(args.rows, args.rounds, args.baseline, Path(scratch), args.baseline_hides,
                         args.publish_args.split(), args.baseline_args.split()) if args.rounds else {}  # fmt: skip
        if args.seed_rounds:
            result["seed"] = compare_seed_rerun(args.seed_rounds, args.baseline, Path(scratch) / "seed", args.baseline_hides)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({key: result[key] for key in result if key != "samples"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
