"""The scheduled deployment of the ``publish-dataset`` flow, served by ``ceasefire serve``.

One deployment, ``publish-dataset/nightly``: a daily cron schedule, absolute raw and dist paths
and the task runner as its parameters, and a concurrency limit of one run at a time. A run that
comes due while another is running waits in the ``AwaitingConcurrencySlot`` state (collision
strategy ENQUEUE) instead of racing it; the publish lock covers runs started outside the
deployment, such as ``ceasefire publish``.
"""

from __future__ import annotations

from pathlib import Path

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Interval

from flows.publish import publish_dataset
from flows.runners import TaskRunnerName

DEPLOYMENT_NAME = "nightly"
DAILY_CRON = "0 3 * * *"  # 03:00 UTC every day
SCHEDULE_TIMEZONE = "UTC"
TAGS = ["ceasefire"]


def build_deployment(
    raw_dir: Path,
    dist_dir: Path,
    *,
    name: str = DEPLOYMENT_NAME,
    cron: str | None = DAILY_CRON,
    interval: float | None = None,
    task_runner: TaskRunnerName = "threads",
    dask_address: str | None = None,
    dask_workers: int = 2,
) -> RunnerDeployment:
    """The deployment, with paths made absolute: its runs may start in another working folder.

    ``interval`` (seconds) replaces the cron schedule: a run every few seconds shows the server's
    scheduler at work without waiting for 03:00.
    """
    parameters = {
        "raw_dir": str(raw_dir.resolve()),
        "dist_dir": str(dist_dir.resolve()),
        "task_runner": task_runner,
        "dask_address": dask_address,
        "dask_workers": dask_workers,
    }
    return publish_dataset.to_deployment(
        name=name,
        schedules=_schedules(cron, interval),
        parameters=parameters,
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
        description="Nightly run: extract, validate and publish the ceasefire dataset; does nothing when nothing changed.",
        tags=TAGS,
        # The flow is loaded from the installed package, whatever the runner's working folder.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def _schedules(cron: str | None, interval: float | None) -> list:
    # The timezone is explicit so the schedule reads the same in the UI as in prefect.yaml.
    if interval:
        return [Interval(interval, timezone=SCHEDULE_TIMEZONE)]
    return [Cron(cron, timezone=SCHEDULE_TIMEZONE)] if cron else []


def serve_deployment(deployment: RunnerDeployment) -> None:
    """Register the deployment with the Prefect server and run its flow runs until interrupted."""
    from prefect import serve

    serve(deployment)
