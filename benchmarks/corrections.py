"""Applying reviewed corrections to one big table, side by side with a baseline source tree.

    python -m benchmarks.corrections --rows 1000000 --corrections 1 --baseline /tmp/base [--out FILE]

Each tree runs in a fresh child process on the same generated article: the table is extracted
(untimed), then ``apply_corrections`` applies ``--corrections`` corrections of the consequences of
rows spread over the table; the child reports the seconds and the growth of its resident memory
(sampled every 10 ms) while they are applied.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.generate import generate_corpus
from benchmarks.run import REPO, RssSampler, _child_env, describe_machine, emit_json, rss_mb



def child(raw: Path, count: int) -> dict:
    from ceasefire import pipeline
    from ceasefire.contracts.vocabularies import load_contracts
    from ceasefire.extract.raw import read_raw_dir
    from ceasefire.validate.corrections import Correction, apply_corrections

    contracts = load_contracts()
    extraction = pipeline.extract(read_raw_dir(raw), contracts)["violations"]
    frame = extraction.frame
    rows = [frame.iloc[(len(frame) * (number + 1)) // (count + 1)] for number in range(count)]
    corrections = [Correction("violations", str(row["violation_id"]), "consequences", row["consequences"], "1 serviceman wounded",
                              "benchmark", "benchmark", "2026-01-01") for row in rows]  # fmt: skip
    before = rss_mb()
    with RssSampler() as sampler:
        started = time.perf_counter()
        _, applied, findings = apply_corrections(extraction, corrections, contracts)
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "rss_growth_mb": round(sampler.peak - before), "applied": len(applied),
            "findings": len(findings)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--corrections", type=int, default=1)
    parser.add_argument("--baseline", type=Path, required=True, help="a source tree (git archive <commit> | tar -x -C DIR)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.corrections)))
        return
    with tempfile.TemporaryDirectory(prefix="ceasefire-corrections-") as scratch:
        raw = generate_corpus(Path(scratch) / "raw", 1, args.rows)[0]
        samples = {}
        for name, tree in (("current", REPO), ("baseline", args.baseline)):
            env = _child_env({"PYTHONPATH": os.pathsep.join([str(tree / "src"), str(REPO)])})
            command = [sys.executable, "-m", "benchmarks.corrections", "--child", str(raw), "--corrections", str(args.corrections),
                       "--baseline", str(args.baseline)]  # fmt: skip
            completed = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=3600, check=True)
            samples[name] = json.loads(completed.stdout.strip().splitlines()[-1])
            print(name, samples[name], file=sys.stderr, flush=True)
    result = {"rows": args.rows, "corrections": args.corrections, "baseline": args.baseline.name, "machine": describe_machine(),
              "load_average": os.getloadavg(), "samples": samples}  # fmt: skip
    emit_json(result, args.out)


if __name__ == "__main__":
    main()
