"""The nightly deployment on a real Prefect server: the scheduler fires it, runs publish, failures notify.

One `prefect server start` on a free loopback port with its own PREFECT_HOME for the whole module,
and every test fails if the server logs an ERROR line while it runs. The proof that scheduled runs
happen is a run the server's scheduler created (`auto_scheduled`), for both routes: `ceasefire serve`
with an interval schedule, and prefect.yaml deployed to a process work pool with `prefect deploy`
and run by `prefect worker start`. Every process is stopped even when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from uuid import UUID

import pytest

from conftest import SEED_RAW

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FLOW = "publish-dataset"
PACKAGE = "nagorno-karabakh-ceasefire"
START_TIMEOUT = 240  # seconds; the machine is shared and a fresh database needs migrations
RUN_TIMEOUT = 300
SCHEDULE_SECONDS = 10  # interval of the test schedules: the scheduler must create the runs itself
# A line the server logs at ERROR level (Prefect's "| ERROR |" or uvicorn's "ERROR:").
ERROR_LINE = re.compile(r"\bERROR\b")
# The one ERROR the server may log: a worker's heartbeat that met SQLite's write lock. Prefect drops
# it and the worker's next beat is stored (PrefectHQ/prefect#17566, #19771); seen once in a full run.
TRANSIENT_ERROR = ("Worker channel heartbeat persistence failed", "sqlite3.OperationalError: database is locked")


@dataclass
class Server:
    api_url: str
    log: Path
    process: subprocess.Popen


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
        # The served deployment here fires every 10 s while tests hold its one slot with triggered
        # runs, so its waiting runs turn late within seconds, and the late-runs service's writes then
        # race the runs' own state writes for SQLite's single writer ("database is locked", seen
        # under CI load). The service keeps running; it marks a run late after 10 minutes, as no
        # run of a test waits that long. The nightly schedule (one run a day) never queues like this.
        PREFECT_SERVER_SERVICES_LATE_RUNS_AFTER_SECONDS="600",
    )
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Server:
    """A `prefect server start` on a free loopback port, with all its services, stopped after the module."""
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
        yield Server(api_url, log, process)
    finally:
        _stop(process)


@pytest.fixture(autouse=True)
def _server_logs_no_error(request):
    """Fail the test when the server logged an ERROR line while it ran (a scheduler loop failing, say)."""
    if "server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("server")
    start = server.log.stat().st_size
    yield
    with server.log.open("rb") as handle:
        handle.seek(start)
        new_lines = handle.read().decode("utf-8", errors="replace").splitlines()
    errors = [number for number, line in enumerate(new_lines) if ERROR_LINE.search(line)]
    # Each ERROR line with the last line of its traceback (the exception).
    reports = [(new_lines[n], next((line for line in new_lines[n + 1:] if re.match(r"^\S+(Error|Exception)\b", line)), ""))
               for n in errors]  # fmt: skip
    reports = [f"{line}\n    {exception}" for line, exception in reports
               if not (TRANSIENT_ERROR[0] in line and exception.startswith(TRANSIENT_ERROR[1]))]  # fmt: skip
    if reports:
        pytest.fail("the Prefect server logged errors during the test:\n" + "\n".join(reports) + "\n--- log tail ---\n" + _tail(server.log, 20))


@pytest.fixture(scope="module")
def client(server):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        with get_client(sync_client=True) as api:
            yield api


def _serve(server: Server, folder: Path, *options: str) -> tuple[subprocess.Popen, Path]:
    """`ceasefire serve` of a copy of the seed raw folder into folder/dist, run from folder."""
    shutil.copytree(SEED_RAW, folder / "raw")
    env = _base_env(folder / "home") | {"PREFECT_API_URL": server.api_url, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    log = folder / "serve.log"
    command = [str(BIN / "ceasefire"), "serve", "--raw", "raw", "--dist", "dist", *options]
    return _start(command, env, log, folder), log


def _deployment(client, name: str):
    from prefect.exceptions import ObjectNotFound

    try:
        return client.read_deployment_by_name(f"{FLOW}/{name}")
    except ObjectNotFound:
        return None


@pytest.fixture(scope="module")
def served(server, client, tmp_path_factory) -> dict:
    """`ceasefire serve --no-schedule` of the seed raw folder: runs start only when a test triggers them."""
    folder = tmp_path_factory.mktemp("served")
    process, log = _serve(server, folder, "--name", "triggered", "--no-schedule")
    try:
        found = _wait_for(lambda: _deployment(client, "triggered"), START_TIMEOUT, "ceasefire serve", process, log, every=2.0)
        yield {"deployment": found, "folder": folder, "raw": folder / "raw", "dist": folder / "dist", "log": log, "process": process}
    finally:
        _stop(process)


def _auto_scheduled_runs(client, deployment_id: UUID) -> list:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
    return [run for run in runs if run.auto_scheduled]


def _wait_for_scheduled_run_to_publish(client, server: Server, deployment, dist: Path, process, log: Path):
    """The first run the server's scheduler created for the deployment, once it has completed.

    Fails at once when the server logs an ERROR line meanwhile: a failing scheduler loop never
    creates the run, and its traceback says why.
    """
    start = server.log.stat().st_size

    def completed():
        with server.log.open("rb") as handle:
            handle.seek(start)
            logged = handle.read().decode("utf-8", errors="replace")
        if ERROR_LINE.search(logged):
            pytest.fail(f"the Prefect server logged an error while the schedule was due:\n{logged[-3000:]}")
        runs = _auto_scheduled_runs(client, deployment.id)
        done = [run for run in runs if run.state and run.state.is_final()]
        return min(done, key=lambda run: run.expected_start_time) if done else None

    run = _wait_for(completed, RUN_TIMEOUT, f"a run scheduled by the server for {FLOW}/{deployment.name}", process, log, every=2.0)
    assert run.state.type.value == "COMPLETED", f"{run.state}\n{_tail(log)}"
    assert run.auto_scheduled is True
    assert _versions(dist) == ["1.0.0"], _tail(log)
    published = (dist / PACKAGE / "latest.json").stat().st_mtime
    seconds = published - run.expected_start_time.timestamp()
    # Schedule to published version, for docs/SCHEDULED_RUNS.md (pytest -s shows it).
    print(f"{deployment.name}: scheduled for {run.expected_start_time:%H:%M:%S}, published {seconds:.1f} s later")
    return run


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


def test_server_scheduler_creates_runs_of_the_served_deployment_and_they_publish(server, client, tmp_path):
    process, log = _serve(server, tmp_path, "--name", "every-few-seconds", "--interval", str(SCHEDULE_SECONDS))
    try:
        deployment = _wait_for(lambda: _deployment(client, "every-few-seconds"), START_TIMEOUT, "ceasefire serve", process, log, every=2.0)
        assert [schedule.schedule.interval.total_seconds() for schedule in deployment.schedules] == [SCHEDULE_SECONDS]
        assert deployment.parameters["dist_dir"] == str((tmp_path / "dist").resolve())
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy.value == "ENQUEUE"
        run = _wait_for_scheduled_run_to_publish(client, server, deployment, tmp_path / "dist", process, log)
        assert _summary(client, run.id).startswith("# Ceasefire dataset run: published\n")
    finally:
        _stop(process)


def _prefect(server: Server, cwd: Path, *arguments: str) -> str:
    env = _base_env(cwd / "home") | {"PREFECT_API_URL": server.api_url}
    result = subprocess.run([str(BIN / "prefect"), *arguments], env=env, cwd=cwd, capture_output=True, text=True, timeout=START_TIMEOUT)
    assert result.returncode == 0, f"prefect {' '.join(arguments)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_prefect_yaml_deployed_to_a_process_work_pool_runs_on_schedule_through_a_worker(server, client, tmp_path):
    """The route of docs/SCHEDULED_RUNS.md for Prefect users: work pool, `prefect deploy`, worker."""
    shutil.copytree(SEED_RAW, tmp_path / "raw")
    _prefect(server, tmp_path, "work-pool", "create", "ceasefire", "--type", "process", "--overwrite")
    # From the data folder, as the docs say: the runs' working directory is where `prefect deploy` ran.
    _prefect(server, tmp_path, "deploy", "--prefect-file", str(REPO / "prefect.yaml"), "--name", "nightly",
             "--interval", str(SCHEDULE_SECONDS), "--no-prompt")  # fmt: skip
    deployment = _deployment(client, "nightly")
    assert deployment.work_pool_name == "ceasefire"
    assert deployment.pull_steps == [{"prefect.deployments.steps.set_working_directory": {"directory": str(tmp_path.resolve())}}]
    env = _base_env(tmp_path / "home") | {"PREFECT_API_URL": server.api_url, "PREFECT_WORKER_QUERY_SECONDS": "2"}
    log = tmp_path / "worker.log"
    worker = _start([str(BIN / "prefect"), "worker", "start", "--pool", "ceasefire"], env, log, tmp_path)
    try:
        _wait_for_scheduled_run_to_publish(client, server, deployment, tmp_path / "dist", worker, log)
        assert (tmp_path / "reports" / "latest" / "report.json").is_file()
    finally:
        _stop(worker)
        # As `ceasefire serve` does on exit: no more runs come due for a worker that is gone.
        client.pause_deployment(deployment.id)


def test_prefect_yaml_and_ceasefire_serve_define_the_same_nightly_deployment(tmp_path):
    import yaml

    from flows.deployment import build_deployment

    (declared,) = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))["deployments"]
    served = build_deployment(tmp_path / "raw", tmp_path / "dist")
    assert declared["name"] == served.name == "nightly"
    assert declared["entrypoint"] == served.entrypoint == "flows.publish.publish_dataset"
    assert declared["description"] == served.description
    assert declared["tags"] == served.tags
    assert [s["cron"] for s in declared["schedules"]] == [s.schedule.cron for s in served.schedules] == ["0 3 * * *"]
    assert {s["timezone"] for s in declared["schedules"]} == {s.schedule.timezone for s in served.schedules} == {"UTC"}
    assert declared["concurrency_limit"]["limit"] == served.concurrency_limit == 1
    assert declared["concurrency_limit"]["collision_strategy"] == served.concurrency_options.collision_strategy.value


class _WebhookReceiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (the name http.server calls)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def webhook():
    """An HTTP receiver on 127.0.0.1 that records the JSON bodies POSTed to it."""
    receiver = HTTPServer(("127.0.0.1", 0), _WebhookReceiver)
    _WebhookReceiver.received = []
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{receiver.server_port}/ceasefire-failed", _WebhookReceiver.received
    finally:
        receiver.shutdown()


def test_failed_run_notifies_the_maintainers_webhook_through_the_automation(server, client, served, webhook, tmp_path):
    url, received = webhook
    env = _base_env(tmp_path / "home") | {"PREFECT_API_URL": server.api_url}
    for _ in range(2):  # applying twice leaves one automation
        result = subprocess.run([str(BIN / "ceasefire"), "automations", "apply", "--webhook-url", url],
                                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=START_TIMEOUT)  # fmt: skip
        assert result.returncode == 0, result.stderr
    assert len(client.read_automations_by_name("ceasefire-publish-dataset-failed")) == 1
    broken = tmp_path / "raw"
    shutil.copytree(SEED_RAW, broken)
    (broken / "provenance.json").write_text("{not json", encoding="utf-8")

    run_id = _trigger(client, served, raw_dir=str(broken), dist_dir=str(tmp_path / "dist"), reports_dir=str(tmp_path / "reports"))
    run = _wait_final(client, served, run_id)
    assert run.state.type.value == "FAILED"
    notices = _wait_for(lambda: [n for n in received if run.name in n["subject"]], 120, "the failure webhook", server.process, server.log)
    assert notices[0]["subject"] == f"ceasefire: {FLOW} run {run.name} Failed"
    assert f"Flow run {run.name} ({run.id}) of {FLOW}, deployment triggered, ended Failed" in notices[0]["body"]
    assert not (tmp_path / "dist").exists()


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


def _task_states(client, run_id: UUID) -> dict[str, set[str]]:
    """State names of the run's tasks by task name, e.g. {"extract": {"Cached"}}."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    states: dict[str, set[str]] = {}
    for task_run in task_runs:
        states.setdefault(task_run.name.rsplit("-", 1)[0], set()).add(task_run.state.name)
    return states


def _edit_description(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    document["description"] += " Edited in a test."
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")



@pytest.fixture(scope="module")
def cache_inputs(client, served, tmp_path_factory) -> dict:
    """Copies of raw/, schemas/ and reviews/, published once, so every task's result is cached."""
    folder = tmp_path_factory.mktemp("cache-inputs")
    for name in ("raw", "schemas", "reviews"):
        shutil.copytree(SEED_RAW.parent / name, folder / name)
    parameters = {"raw_dir": str(folder / "raw"), "dist_dir": str(folder / "dist"), "schemas_dir": str(folder / "schemas"),
                  "reports_dir": str(folder / "reports"), "corrections_file": str(folder / "reviews/corrections.json"),
                  "acknowledgements": str(folder / "reviews/acknowledgements.json")}  # fmt: skip
    first = _run_task_states(client, served, parameters)
    # A raw file is keyed on its content, so earlier runs of the seed may have cached its reading already.
    assert (first["extract"], first["validate"]) == ({"Completed"}, {"Completed"})
    return {"folder": folder, "parameters": parameters}


def _run_task_states(client, served: dict, parameters: dict) -> dict[str, set[str]]:
    run = _wait_final(client, served, _trigger(client, served, **parameters))
    assert run.state.type.value == "COMPLETED", f"{run.state}\n{_tail(served['log'])}"
    return {name: states for name, states in _task_states(client, run.id).items() if name in CACHED_TASKS}


CACHED_TASKS = ("read-raw-document", "extract", "validate")


# Each case edits one more file of the same inputs and runs once: every earlier edit is cached by then.
@pytest.mark.parametrize(
    ("edited", "expected"),
    [
        ("schemas/violations.schema.json", {"read-raw-document": {"Cached"}, "extract": {"Completed"}, "validate": {"Completed"}}),
        ("schemas/gazetteer.json", {"read-raw-document": {"Cached"}, "extract": {"Completed"}, "validate": {"Completed"}}),
        ("reviews/corrections.json", {"read-raw-document": {"Cached"}, "extract": {"Cached"}, "validate": {"Completed"}}),
        ("reviews/acknowledgements.json", {"read-raw-document": {"Cached"}, "extract": {"Cached"}, "validate": {"Cached"}}),
    ],
    ids=["table-schema", "gazetteer", "corrections", "acknowledgements"],
)
def test_an_edited_contract_or_review_reruns_exactly_the_tasks_that_read_it(client, served, cache_inputs, edited, expected):
    _edit_description(cache_inputs["folder"] / edited)
    assert _run_task_states(client, served, cache_inputs["parameters"]) == expected
