"""What crosses the network per partition of the Dask scale-out path (docs/BENCHMARKS.md).

Runs the publish flow on a LocalCluster (``--task-runner dask``) over a generated article whose
table is split into ``--partitions`` ranges, and records, for each ``render-partition`` task, the
pickled size of what the flow's process hands Dask (Prefect's task, its parameters and the run
context it serialises; the parameters alone too) and of the state each worker sends back. Prefect's
own calls from a worker to its API (task run created, state changes) are not counted. The sizes do not depend on how many
rows a range holds: a range is two integers and a part is a path, a size and a sha256.

    python -m benchmarks.partition_bytes --rows 3000 --partitions 3 --out benchmarks/results/partition-bytes.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import cloudpickle
import distributed

from benchmarks.generate import generate_article, write_raw_folder
from benchmarks.run import REPO, describe_machine

TASK_KEY = "render_partition_task"


def measure(rows: int, partitions: int, workers: int, scratch: Path) -> dict:
    import flows.partitions
    from flows.publish import publish_dataset

    raw = write_raw_folder(scratch / "raw", *generate_article(rows))
    flows.partitions.PARTITION_ROWS = -(-rows // partitions)  # ceil: exactly ``partitions`` ranges of the table
    sent: list[int] = []
    sent_parameters: list[int] = []
    received: list[int] = []
    submit, result = distributed.Client.submit, distributed.Future.result

    def measured_submit(client, func, *args, key=None, **kwargs):
        future = submit(client, func, *args, key=key, **kwargs)
        if future.key.startswith(TASK_KEY):
            sent.append(len(cloudpickle.dumps((func, args, kwargs))))
            sent_parameters.append(len(cloudpickle.dumps(kwargs["parameters"])))
        return future

    def measured_result(future, *args, **kwargs):
        value = result(future, *args, **kwargs)
        if str(future.key).startswith(TASK_KEY):
            received.append(len(cloudpickle.dumps(value)))
        return value

    distributed.Client.submit, distributed.Future.result = measured_submit, measured_result
    try:
        outcome = publish_dataset(raw_dir=str(raw), dist_dir=str(scratch / "dist"), reports_dir=str(scratch / "reports"),
                                  task_runner="dask", dask_workers=workers)  # fmt: skip
    finally:
        distributed.Client.submit, distributed.Future.result = submit, result
    if outcome.status != "published" or len(sent) != partitions:
        raise RuntimeError(f"expected {partitions} partitions published, got {len(sent)} ({outcome.status})")
    parameters = {"build": "BuildRef (folder, raw files by path and sha256, schemas folder)",
                  "partition": "resource, index, start, stop", "scratch": "folder of the run's parts"}  # fmt: skip
    return {
        "rows": rows, "partitions": partitions, "workers": workers, "machine": describe_machine(),
        "parameters": parameters, "sent_bytes": sent, "sent_parameters_bytes": sent_parameters,
        "received_bytes": received, "median_sent_bytes": statistics.median(sent),
        "median_sent_parameters_bytes": statistics.median(sent_parameters), "median_received_bytes": statistics.median(received),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "partition-bytes.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ceasefire-partition-bytes-") as scratch:
        result = measure(args.rows, args.partitions, args.workers, Path(scratch))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({key: value for key, value in result.items() if key != "machine"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
