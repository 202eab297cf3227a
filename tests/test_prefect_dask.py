"""Scale-out: the publish flow on a Dask LocalCluster gives the same bytes as the thread pool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.runners import build_task_runner

pytestmark = pytest.mark.prefect

PACKAGE = "nagorno-karabakh-ceasefire"


def _data_files(dist: Path) -> dict[str, bytes]:
    version_dir = dist / PACKAGE / "1.0.0"
    return {str(p.relative_to(version_dir)): p.read_bytes() for p in sorted((version_dir / "data").rglob("*")) if p.is_file()}


def _resources(dist: Path) -> list[dict]:
    return json.loads((dist / PACKAGE / "1.0.0" / "datapackage.json").read_text(encoding="utf-8"))["resources"]


def test_dask_runner_on_a_two_worker_local_cluster_publishes_the_same_bytes(seed_raw_dir, tmp_path):
    from distributed import Client, LocalCluster, get_task_stream
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from flows.publish import publish_dataset

    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):  # compute, don't reuse earlier tests' results
        threads = publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(tmp_path / "threads"))
        with get_client(sync_client=True) as api:
            api_url = str(api.api_url)  # the temporary server this test session runs on
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, env={"PREFECT_API_URL": api_url})  # fmt: skip
        try:
            with Client(cluster) as client, get_task_stream(client) as stream:
                dask = publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(tmp_path / "dask"),
                                       task_runner="dask", dask_address=cluster.scheduler_address)  # fmt: skip
                assert len(client.scheduler_info()["workers"]) == 2
        finally:
            cluster.close()

    ran_on_dask = sorted(task["key"].rsplit("-", 1)[0] for task in stream.data)
    assert ran_on_dask == ["extract_task", "read_document_task", "read_document_task", "validate_task"]
    assert (threads.status, threads.version) == ("published", "1.0.0")
    assert (dask.status, dask.version) == ("published", "1.0.0")
    threads_files, dask_files = _data_files(tmp_path / "threads"), _data_files(tmp_path / "dask")
    assert sorted(threads_files) == [
        "data/events.csv", "data/events.jsonl", "data/events.parquet", "data/nagorno-karabakh-ceasefire.sqlite",
        "data/violations.csv", "data/violations.jsonl", "data/violations.parquet",
    ]  # fmt: skip
    assert dask_files == threads_files
    # datapackage.json differs only where it should (its `created` time); the resources are identical.
    assert _resources(tmp_path / "dask") == _resources(tmp_path / "threads")


def test_dask_runner_without_address_starts_a_loopback_local_cluster_reporting_to_the_flow_api():
    runner = build_task_runner("dask", dask_workers=3, api_url="http://127.0.0.1:4200/api")
    assert type(runner).__name__ == "DaskTaskRunner"
    assert runner.address is None
    assert runner.cluster_kwargs == {
        "n_workers": 3, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1", "dashboard_address": None,
        "env": {"PREFECT_API_URL": "http://127.0.0.1:4200/api"},
    }  # fmt: skip


def test_dask_runner_with_address_connects_to_that_scheduler():
    runner = build_task_runner("dask", dask_address="tcp://127.0.0.1:8786")
    assert runner.address == "tcp://127.0.0.1:8786"
    assert runner.cluster_kwargs == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": "threads", "dask_address": "tcp://127.0.0.1:8786"}, "dask_address needs task_runner='dask'"),
        ({"name": "dask", "dask_workers": 0}, "dask_workers must be at least 1, not 0"),
        ({"name": "ray"}, "unknown task runner 'ray'; use one of threads, dask"),
    ],
)
def test_task_runner_rejects_contradictory_settings(arguments, message):
    with pytest.raises(ValueError) as error:
        build_task_runner(**arguments)
    assert str(error.value) == message
