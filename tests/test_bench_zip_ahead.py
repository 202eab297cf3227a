"""``benchmarks/zip_ahead.py`` on a tiny article, in a process of its own (it replaces pipeline
functions with timed ones), so it cannot rot. No timing is asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("steps", [[], ["--steps"]])
def test_the_zip_ahead_benchmark_times_both_ways(tmp_path: Path, steps: list[str]) -> None:
    out = tmp_path / "result.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    command = [sys.executable, "-m", "benchmarks.zip_ahead", "--rows", "300", "--rounds", "1", "--out", str(out), *steps]
    subprocess.run(command, check=True, capture_output=True, cwd=REPO, env=env, timeout=300)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert (result["rows"], result["steps"]) == (300, bool(steps))
    for way in ("ahead", "after"):
        [sample] = result["samples"][way]
        assert sample["zip_s"] >= 0 and sample["checks_s"] > 0
