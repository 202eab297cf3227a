"""The built wheel ships every subpackage: build it from a clean copy and import each module from it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.wheel


def _module_names() -> list[str]:
    names = []
    for top in ("src/ceasefire", "flows"):
        root = REPO / top
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_wheel_ships_and_imports_every_module(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for name in ("src", "flows"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "-w", str(tmp_path / "wheel"), str(source)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "wheel").glob("*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        assert "ceasefire/report/templates/report.html.j2" in archive.namelist()
    modules = _module_names()
    assert {"ceasefire.contracts.schema", "ceasefire.extract", "ceasefire.validate", "ceasefire.publish", "ceasefire.report"} <= set(modules)
    script = (
        "import importlib, sys\n"
        f"site = {str(site)!r}\n"
        "for name in sys.argv[1:]:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(site), (name, module.__file__)\n"
    )
    imported = subprocess.run([sys.executable, "-c", script, *modules], cwd=site, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-2000:]
