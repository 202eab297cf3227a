"""The runtime the command line, the flow runs and the Dask workers share: Arrow's memory pool."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from conftest import REPO

_POOL = "import flows, pyarrow; print(pyarrow.default_memory_pool().backend_name)"


def _pool_after_importing_flows(**env: str) -> str:
    environment = {key: value for key, value in os.environ.items() if key != "ARROW_DEFAULT_MEMORY_POOL"} | env
    return subprocess.run([sys.executable, "-c", _POOL], capture_output=True, text=True, check=True, cwd=REPO,
                          env=environment).stdout.strip()  # fmt: skip


@pytest.mark.skipif("jemalloc" not in pa.supported_memory_backends(), reason="this pyarrow build has no jemalloc")
def test_importing_the_flows_gives_arrow_the_jemalloc_pool() -> None:
    """Arrow's default (mimalloc) held ~120 MB more at the peak of a 1,000,000-row run (docs/BENCHMARKS.md)."""
    assert _pool_after_importing_flows() == "jemalloc"


def test_a_pool_the_user_chose_is_kept() -> None:
    assert _pool_after_importing_flows(ARROW_DEFAULT_MEMORY_POOL="system") == "system"


def test_the_command_line_imports_the_flows_package_first() -> None:
    """The console script runs flows.cli, so every command gets the runtime of flows/__init__.py."""
    from importlib.metadata import entry_points

    (script,) = [entry for entry in entry_points(group="console_scripts") if entry.name == "ceasefire"]
    assert script.value.split(":")[0].split(".")[0] == "flows"
