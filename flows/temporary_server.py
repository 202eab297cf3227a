"""A temporary Prefect server for one ``ceasefire publish``, started before Prefect is imported.

Without ``PREFECT_API_URL`` Prefect starts a temporary server only when the flow first needs the
API, after the command has spent seconds importing Prefect, pandas and the pipeline; the server
then spends as long again importing Prefect's API. Starting the same server first lets the two
imports overlap (docs/SCHEDULED_RUNS.md, "How fast"). With ``PREFECT_API_URL`` set, the running
server is used and nothing is started. This module imports nothing heavy on purpose.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.request

STARTUP_TIMEOUT_SECONDS = 120.0


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(api_url: str, process: subprocess.Popen, timeout: float, every: float = 0.05) -> None:
    """Poll ``api_url``/health until it answers 200; RuntimeError if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(every)
    raise RuntimeError(f"the Prefect server at {api_url} did not answer within {timeout:.0f} s")


class TemporaryServer:
    """Prefect's own temporary server (the same uvicorn command Prefect runs), on a free loopback port."""

    def __init__(self) -> None:
        self.port = _free_loopback_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        # The variables Prefect's SubprocessASGIServer sets: no UI, the services of a temporary server.
        env = os.environ | {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error", "--lifespan", "on"],
            env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def wait_until_healthy(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Block until the API answers; raise RuntimeError if the server exits or stays silent."""
        wait_until_healthy(self.api_url, self.process, timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_temporary_server() -> TemporaryServer | None:
    """Start a temporary server and point ``PREFECT_API_URL`` at it, unless a server is configured.

    Does nothing once Prefect is imported (``main()`` called from Python): Prefect has read its
    settings by then and would start its own server anyway.
    """
    if os.environ.get("PREFECT_API_URL") or "prefect" in sys.modules:
        return None
    server = TemporaryServer()
    # Stopped at exit, after Prefect's own exit handlers (registered later) have sent the last logs.
    atexit.register(server.stop)
    os.environ["PREFECT_API_URL"] = server.api_url
    return server
