"""The task runner of a publish run, chosen by a flow parameter.

``threads`` (the default) runs tasks in a thread pool inside the flow's process. ``dask`` sends
them to a Dask cluster: a temporary ``LocalCluster`` of ``dask_workers`` processes, or the
scheduler at ``dask_address`` (for example ``tcp://127.0.0.1:8786``); on Dask the workers also
render the rows of a big table in partitions (``flows/partitions.py``). Workers of an existing
scheduler must see the same raw folder and Prefect result storage as the flow.
"""

from __future__ import annotations

from typing import Literal

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

TaskRunnerName = Literal["threads", "dask"]
TASK_RUNNERS: tuple[str, ...] = ("threads", "dask")


def build_task_runner(
    name: TaskRunnerName = "threads",
    dask_address: str | None = None,
    dask_workers: int = 2,
    api_url: str | None = None,
) -> TaskRunner:
    """A fresh, unstarted task runner; enter it with ``with`` to start it.

    ``api_url`` is the Prefect API the flow talks to. A LocalCluster's workers get it, so their
    task runs report to the same server; without it, each worker process of a run on Prefect's
    temporary server would start a temporary server of its own.

    Example:
        >>> type(build_task_runner("threads")).__name__
        'ThreadPoolTaskRunner'
    """
    if name == "threads":
        if dask_address:
            raise ValueError("dask_address needs task_runner='dask'")
        return ThreadPoolTaskRunner()
    if name == "dask":
        from prefect_dask import DaskTaskRunner  # imported only when asked for: dask is slow to import

        if dask_address:
            return DaskTaskRunner(address=dask_address)
        if dask_workers < 1:
            raise ValueError(f"dask_workers must be at least 1, not {dask_workers}")
        # Processes on the loopback interface, no dashboard: nothing listens beyond this machine.
        cluster_kwargs = {"n_workers": dask_workers, "threads_per_worker": 1, "processes": True,
                          "host": "127.0.0.1", "dashboard_address": None}  # fmt: skip
        if api_url:
            cluster_kwargs["env"] = {"PREFECT_API_URL": str(api_url)}
        return DaskTaskRunner(cluster_kwargs=cluster_kwargs)
    raise ValueError(f"unknown task runner {name!r}; use one of {', '.join(TASK_RUNNERS)}")


def retry_on_filesystem_error(task, task_run, state) -> bool:
    """Retry filesystem hiccups (OSError) only: bad input or a held lock is not fixed by retrying."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False
