"""Rendering the CSV and JSON Lines forms of one big table, side by side with a baseline source tree.

    python -m benchmarks.render --rows 1000000 --rounds 2 --baseline /tmp/base [--out FILE]

Both renderers (``publish/serialize.py`` of this tree and of ``--baseline``) run in one process on
the same extracted frame, in alternating order, so a drift in the machine's load favours neither;
the bytes of the two must be equal (the script fails otherwise).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import describe_machine, emit_json


def _load_serializer(tree: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, tree / "src" / "ceasefire" / "publish" / "serialize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compare(rows: int, rounds: int, baseline: Path, scratch: Path) -> dict:
    from ceasefire import pipeline
    from ceasefire.publish import serialize

    frame = pipeline.build_dataset(generate_corpus(scratch / "raw", 1, rows)[0]).extractions["violations"].frame
    renderers = {"current": serialize, "baseline": _load_serializer(baseline, "baseline_serialize")}
    samples: dict[str, list[dict]] = {name: [] for name in renderers}
    for round_number in range(rounds):
        order = list(renderers) if round_number % 2 == 0 else list(reversed(renderers))
        rendered = {}
        for name in order:
            started = time.perf_counter()
            csv_bytes = b"".join(renderers[name].csv_chunks(frame))
            csv_seconds = time.perf_counter() - started
            started = time.perf_counter()
            jsonl_bytes = b"".join(renderers[name].jsonl_chunks(frame))
            samples[name].append({"csv_s": round(csv_seconds, 2), "jsonl_s": round(time.perf_counter() - started, 2)})
            rendered[name] = (len(csv_bytes), hash(csv_bytes), len(jsonl_bytes), hash(jsonl_bytes))
            print(round_number + 1, name, samples[name][-1], file=sys.stderr, flush=True)
        if len(set(rendered.values())) != 1:
            raise SystemExit("the two renderers wrote different bytes")
    medians = {name: {key: statistics.median(s[key] for s in runs) for key in ("csv_s", "jsonl_s")} for name, runs in samples.items()}
    return {"rows": rows, "rounds": rounds, "baseline": baseline.name, "machine": describe_machine(),
            "load_average": os.getloadavg(), "samples": samples, "medians": medians}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline", type=Path, required=True, help="a source tree (git archive <commit> | tar -x -C DIR)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ceasefire-render-") as scratch:
        result = compare(args.rows, args.rounds, args.baseline, Path(scratch))
    emit_json(result, args.out)


if __name__ == "__main__":
    main()
