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


def _version_files(dist: Path) -> dict[str, bytes]:
    """Every file of the version folder, with the run's creation time and report id masked (all that may differ)."""
    version_dir = dist / PACKAGE / "1.0.0"
    created = json.loads((version_dir / "datapackage.json").read_text(encoding="utf-8"))["created"]
    run = json.loads((version_dir / "report.json").read_text(encoding="utf-8"))["run"]
    stamps = [created, run["id"], run["started"], run["started"][:19].replace("T", " ")]  # report.html: "2026-12-05 06:51:46"
    files = {}
    for path in sorted(p for p in version_dir.rglob("*") if p.is_file()):
        content = path.read_bytes()
        for stamp in stamps:
            content = content.replace(stamp.encode("utf-8"), b"<run>")
        files[str(path.relative_to(version_dir))] = content
    return files


def test_a_big_table_rendered_in_partitions_on_two_workers_publishes_the_bytes_of_the_thread_pool(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster, get_task_stream
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    import flows.partitions
    from benchmarks.generate import generate_article, write_raw_folder
    from ceasefire.publish import descriptor
    from flows.publish import publish_dataset
    from flows.references import store_root

    raw = write_raw_folder(tmp_path / "raw", *generate_article(2_500))
    monkeypatch.setattr(flows.partitions, "PARTITION_ROWS", 1_000)  # the flow plans 3 ranges of the violations table
    rendered_here = []  # rows of every table file the flow's own process renders
    for table_format, render in list(descriptor.TABLE_RENDERERS.items()):
        monkeypatch.setitem(descriptor.TABLE_RENDERERS, table_format, lambda frame, render=render, **options: rendered_here.append(len(frame)) or render(frame, **options))
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        threads = publish_dataset(raw_dir=str(raw), dist_dir=str(tmp_path / "threads"), reports_dir=str(tmp_path / "threads-reports"))
        assert max(rendered_here) > 2_000  # the thread pool renders the whole violations table itself
        rendered_here.clear()
        with get_client(sync_client=True) as api:
            api_url = str(api.api_url)
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, env={"PREFECT_API_URL": api_url})  # fmt: skip
        try:
            with Client(cluster) as client, get_task_stream(client) as stream:
                dask = publish_dataset(raw_dir=str(raw), dist_dir=str(tmp_path / "dask"), reports_dir=str(tmp_path / "dask-reports"),
                                       task_runner="dask", dask_address=cluster.scheduler_address)  # fmt: skip
        finally:
            cluster.close()

    ran_on_dask = sorted(task["key"].rsplit("-", 1)[0] for task in stream.data)
    assert ran_on_dask.count("render_partition_task") == 3
    assert len({task["worker"] for task in stream.data if task["key"].startswith("render_partition_task")}) == 2  # both workers rendered ranges
    assert max(rendered_here) < 1_000  # the flow rendered only the small events table; the violations rows came in parts
    assert (threads.status, threads.version, dask.status, dask.version) == ("published", "1.0.0", "published", "1.0.0")
    assert threads.rows["violations"] == dask.rows["violations"] == 2_500
    threads_files, dask_files = _version_files(tmp_path / "threads"), _version_files(tmp_path / "dask")
    assert "data/violations.jsonl" in threads_files and len(threads_files) > 20
    assert dask_files == threads_files
    assert not list(store_root().glob(f"{flows.partitions.PARTS_PREFIX}*"))  # the parts are removed after publishing


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
