"""CPU time of one pipeline step on prepared input, for side-by-side runs of two source trees (docs/BENCHMARKS.md).

    python -m benchmarks.cpu_steps prepare OUT --rows 200000   # OUT/raw (one article) and OUT/dist (published)
    python benchmarks/cpu_steps.py extract OUT/raw/article-00000
    python benchmarks/cpu_steps.py check OUT/dist/<package>/<version>
    python benchmarks/cpu_steps.py sqlite OUT/dist/<package>/<version>

``extract`` times ``pipeline.extract`` (the violations table and the prose events) on a raw
folder; ``check`` times the streamed package check (``package_check.find_package_errors``) on a
published version folder; ``sqlite`` writes that version's SQLite download again
(``formats.write_sqlite``, from frames rebuilt out of its Parquet files, untimed) and then times
the read-back check of the typed files (``formats.find_written_mismatches``), and says whether the
database it wrote has the published bytes. Each prints one JSON line: the step's CPU and wall seconds (reading the
raw folder and imports excluded) and what it produced, so the two trees can be seen to agree.
Run as a file, the step imports ``ceasefire`` from ``PYTHONPATH`` first: put an earlier commit's
``src/`` there to time it on the same input. ``side-by-side`` does that itself, in alternating runs
(current, baseline, baseline, current, ...), and writes every run and the medians as JSON:

    git archive <commit> | tar -x -C BASE
    python -m benchmarks.cpu_steps side-by-side --baseline BASE --rounds 4 --out RESULTS.json \
        check OUT/dist/<package>/<version> sqlite OUT/dist/<package>/<version>
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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


def _frames_of(package_dir: Path) -> list[tuple[str, dict, dict, object]]:
    """``(name, metadata, Table Schema, frame)`` per table of a version, as ``write_sqlite`` takes them.

    The frames hold what the build's frames hold (dates as dates, lists as lists, an empty list
    where Parquet has null), rebuilt from the published Parquet.
    """
    import pyarrow.parquet as pq

    from ceasefire.contracts.schema import Schema

    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    tables = []
    for resource in descriptor["resources"]:
        if resource.get("format") != "csv":
            continue
        schema, contract = resource["schema"], Schema.from_descriptor(resource["schema"])
        table = pq.read_table(package_dir / f"data/{resource['name']}.parquet")
        columns = {}
        for spec in contract.fields:
            values = table.column(spec.name).to_pylist()
            columns[spec.name] = [[] if value is None else value for value in values] if spec.type == "list" else values
        metadata = {"title": resource.get("title"), "description": resource.get("description")}
        tables.append((resource["name"], metadata, schema, contract.frame_from_columns(columns)))
    return tables


def time_sqlite(package_dir: Path) -> dict:
    import hashlib
    import shutil
    import tempfile

    from ceasefire.publish import formats
    from ceasefire.publish.publishing import DataFile

    tables = _frames_of(package_dir)
    published = package_dir / formats.SQLITE_PATH
    with tempfile.TemporaryDirectory(prefix="ceasefire-sqlite-") as scratch:
        folder = Path(scratch)
        (folder / "data").mkdir()
        for name, *_ in tables:  # the read-back check reads the CSV and Parquet forms too
            for suffix in ("csv", "parquet"):
                shutil.copyfile(package_dir / f"data/{name}.{suffix}", folder / f"data/{name}.{suffix}")
        file = DataFile("sqlite", formats.SQLITE_PATH, "sqlite", formats.SQLITE_MEDIATYPE, None)
        write, written = _timed(lambda: formats.write_sqlite(file, tables, folder))
        read_back, mismatches = _timed(lambda: formats.find_written_mismatches(folder, {name: schema for name, _, schema, _ in tables}))
        digest = hashlib.sha256((folder / formats.SQLITE_PATH).read_bytes()).hexdigest()
    return {"step": "sqlite", "write": write, "read_back": read_back, "mismatches": mismatches,
            "rows": {name: len(frame) for name, _, _, frame in tables},
            "same_bytes_as_published": digest == hashlib.sha256(published.read_bytes()).hexdigest()}  # fmt: skip


def _run_step(tree: Path, step: str, path: Path) -> dict:
    """One step in a fresh interpreter importing ``ceasefire`` from ``tree``; its result and the whole process's CPU."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), step, str(path)], capture_output=True, text=True,
                               env=env, cwd=tree, timeout=3600)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode:
        raise RuntimeError(f"{tree}: {step}: {completed.stderr[-2000:]}")
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3)
    return result


def _step_seconds(result: dict) -> dict[str, float]:
    """The CPU seconds a step reports, by part: ``cpu_s``, or ``write`` and ``read_back`` for ``sqlite``."""
    parts = {"": result} if "cpu_s" in result else {f"{part}_": result[part] for part in ("write", "read_back")}
    return {**{f"{name}cpu_s": part["cpu_s"] for name, part in parts.items()}, "process_cpu_s": result["process_cpu_s"],
            "peak_rss_mb": result["peak_rss_mb"]}  # fmt: skip


def side_by_side(steps: list[tuple[str, Path]], baseline: Path, rounds: int) -> dict:
    """Each step on the same input, this tree and ``baseline`` in alternating order, ``rounds`` runs each."""
    from benchmarks.run import describe_machine

    trees = {"current": REPO, "baseline": baseline}
    runs: dict[str, dict[str, list[dict]]] = {step: {name: [] for name in trees} for step, _ in steps}
    for number in range(rounds):
        for step, path in steps:
            for name in list(trees) if number % 2 == 0 else reversed(list(trees)):
                runs[step][name].append(_run_step(trees[name], step, path))
                print(step, name, runs[step][name][-1], file=sys.stderr, flush=True)
    summary = {}
    for step, by_tree in runs.items():
        seconds = {name: [_step_seconds(result) for result in results] for name, results in by_tree.items()}
        medians = {name: {key: statistics.median(run[key] for run in values) for key in values[0]} for name, values in seconds.items()}
        ratios = {key: statistics.median(a[key] / b[key] for a, b in zip(seconds["current"], seconds["baseline"]))
                  for key in seconds["current"][0]}  # fmt: skip
        # What each step produced, which must not depend on the tree: errors, mismatches, the database's bytes.
        produced = {name: [{key: value for key, value in result.items() if key in ("errors", "mismatches", "same_bytes_as_published")}
                           for result in results] for name, results in by_tree.items()}  # fmt: skip
        same = all(run == produced["current"][0] for results in produced.values() for run in results)
        summary[step] = {"medians": medians, "ratio_current_to_baseline": ratios, "same_output": same, "output": produced["current"][0]}
    # Folder names only: the results are committed, the machine's paths are not.
    return {"baseline": baseline.name, "rounds": rounds, "steps": [[step, path.name] for step, path in steps],
            "machine": describe_machine(), "load_average": os.getloadavg(), "summary": summary,
            "runs": runs}  # fmt: skip


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
    commands.add_parser("sqlite", help="time writing a version's SQLite again and the read-back check").add_argument("path", type=Path)
    paired = commands.add_parser("side-by-side", help="time steps in this tree and a baseline tree, alternately")
    paired.add_argument("--baseline", type=Path, required=True, help="a source tree (git archive <commit> | tar -x -C DIR)")
    paired.add_argument("--rounds", type=int, default=4)
    paired.add_argument("--out", type=Path)
    paired.add_argument("pairs", nargs="+", metavar="STEP PATH", help="steps and their input: check DIR sqlite DIR extract DIR")
    args = parser.parse_args()
    if args.command == "side-by-side":
        steps = [(step, Path(path)) for step, path in zip(args.pairs[::2], args.pairs[1::2], strict=True)]
        result = side_by_side(steps, args.baseline.resolve(), args.rounds)
        text = json.dumps(result, indent=2)
        if args.out:
            args.out.write_text(text + "\n", encoding="utf-8")
        print(json.dumps(result["summary"], indent=2))
        return
    if args.command == "prepare":
        result = prepare(args.out, args.rows)
    else:
        result = {"extract": time_extract, "check": time_check, "sqlite": time_sqlite}[args.command](args.path)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
