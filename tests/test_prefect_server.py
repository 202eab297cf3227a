"""The nightly deployment on a real Prefect server: deploy, trigger through the API, read back.

One `prefect server start` on a free loopback port with its own PREFECT_HOME, and one
`ceasefire serve` process, for the whole module; both are stopped even when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from uuid import UUID

import pytest

from conftest import SEED_RAW

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEPLOYMENT = "publish-dataset/nightly"
PACKAGE = "nagorno-karabakh-ceasefire"
START_TIMEOUT = 240  # seconds; the machine is shared and a fresh database needs migrations
RUN_TIMEOUT = 300


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_for(condition, timeout: float, what: str, process: subprocess.Popen, log: Path, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what}: the process exited with {process.returncode}\n{_tail(log)}")
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"{what}: not ready after {timeout} s\n{_tail(log)}")


def _start(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def _base_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="INFO",
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    """The API URL of a `prefect server start` on a free loopback port, stopped after the module."""
    folder = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = folder / "server.log"
    process = _start([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                     _base_env(folder / "home"), log, folder)  # fmt: skip

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        _wait_for(healthy, START_TIMEOUT, "prefect server start", process, log)
        yield api_url
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def client(server):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: server}):
        with get_client(sync_client=True) as api:
            yield api


@pytest.fixture(scope="module")
def served(server, client, tmp_path_factory) -> dict:
    """`ceasefire serve` of the seed raw folder into a temporary dist, from a foreign folder."""
    folder = tmp_path_factory.mktemp("served")
    raw = folder / "raw"
    shutil.copytree(SEED_RAW, raw)
    dist = folder / "dist"
    env = _base_env(folder / "home") | {"PREFECT_API_URL": server, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    log = folder / "serve.log"
    process = _start([sys.executable, "-m", "flows.cli", "serve", "--raw", str(raw), "--dist", str(dist)], env, log, folder)

    def deployment():
        from prefect.exceptions import ObjectNotFound

        try:
            return client.read_deployment_by_name(DEPLOYMENT)
        except ObjectNotFound:
            return None

    try:
        found = _wait_for(deployment, START_TIMEOUT, "ceasefire serve", process, log, every=2.0)
        yield {"deployment": found, "raw": raw, "dist": dist, "log": log, "process": process}
    finally:
        _stop(process)


def _trigger(client, served: dict, **parameters) -> UUID:
    run = client.create_flow_run_from_deployment(served["deployment"].id, parameters=parameters or None)
    return run.id


def _wait_final(client, served: dict, run_id: UUID):
    def final():
        run = client.read_flow_run(run_id)
        return run if run.state and run.state.is_final() else None

    return _wait_for(final, RUN_TIMEOUT, f"flow run {run_id}", served["process"], served["log"], every=2.0)


def _summary(client, run_id: UUID) -> str:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

    artifacts = client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ceasefire-run-summary"])),
        flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
    )
    assert len(artifacts) == 1, f"expected one run summary for {run_id}, got {len(artifacts)}"
    assert artifacts[0].type == "markdown"
    return artifacts[0].data


def _versions(dist: Path) -> list[str]:
    package = dist / PACKAGE
    return sorted(p.name for p in package.iterdir() if p.is_dir() and not p.name.startswith(".")) if package.exists() else []


def test_deployment_has_daily_schedule_raw_and_dist_parameters_and_one_run_at_a_time(served):
    deployment = served["deployment"]
    assert deployment.parameters["raw_dir"] == str(served["raw"].resolve())
    assert deployment.parameters["dist_dir"] == str(served["dist"].resolve())
    assert deployment.parameters["task_runner"] == "threads"
    assert [schedule.schedule.cron for schedule in deployment.schedules] == ["0 3 * * *"]
    assert deployment.global_concurrency_limit is not None
    assert deployment.global_concurrency_limit.limit == 1
    assert deployment.concurrency_options.collision_strategy.value == "ENQUEUE"


def test_triggered_run_publishes_1_0_0_with_summary_artifact_and_event(client, served):
    from prefect.events.filters import EventFilter, EventNameFilter

    run_id = _trigger(client, served)
    run = _wait_final(client, served, run_id)
    assert run.state.type.value == "COMPLETED", f"{run.state}\n{_tail(served['log'])}"
    assert _versions(served["dist"]) == ["1.0.0"]
    latest = json.loads((served["dist"] / PACKAGE / "latest.json").read_text(encoding="utf-8"))
    assert latest["version"] == "1.0.0"
    summary = _summary(client, run_id)
    assert summary.startswith("# Ceasefire dataset run: published\n")
    assert "- **Version:** 1.0.0 (initial)" in summary
    assert "| violations | 33 |" in summary

    def published_events():
        page = client.read_events(EventFilter(event=EventNameFilter(name=["ceasefire.package.published"])), limit=50)
        return [event for event in page.events if event.payload.get("path", "").startswith(str(served["dist"]))]

    events = _wait_for(published_events, 60, "ceasefire.package.published event", served["process"], served["log"])
    assert len(events) == 1
    assert events[0].payload["version"] == "1.0.0"
    assert events[0].payload["bump"] == "initial"
    assert events[0].resource["ceasefire.version"] == "1.0.0"
    assert events[0].resource["ceasefire.bump"] == "initial"


def test_second_triggered_run_reports_unchanged_and_publishes_nothing(client, served):
    before = sorted(str(p.relative_to(served["dist"])) for p in served["dist"].rglob("*"))
    run_id = _trigger(client, served)
    run = _wait_final(client, served, run_id)
    assert run.state.type.value == "COMPLETED", f"{run.state}\n{_tail(served['log'])}"
    summary = _summary(client, run_id)
    assert summary.startswith("# Ceasefire dataset run: unchanged\n")
    assert "content unchanged since 1.0.0; nothing published" in summary
    assert sorted(str(p.relative_to(served["dist"])) for p in served["dist"].rglob("*")) == before


def test_two_runs_triggered_together_publish_one_version(client, served, tmp_path):
    dist = tmp_path / "dist"
    run_ids = [_trigger(client, served, dist_dir=str(dist)) for _ in range(2)]
    runs = [_wait_final(client, served, run_id) for run_id in run_ids]
    assert [run.state.type.value for run in runs] == ["COMPLETED", "COMPLETED"]
    statuses = sorted(_summary(client, run_id).splitlines()[0] for run_id in run_ids)
    assert statuses == ["# Ceasefire dataset run: published", "# Ceasefire dataset run: unchanged"]
    assert _versions(dist) == ["1.0.0"]
