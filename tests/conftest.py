"""Shared fixtures: raw folders built from inline text, and the repository's own inputs."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
SEED_RAW = REPO / "raw"
ARTICLE = "wikipedia-peacekeeping-nagorno-karabakh.txt"
CITED = "wikipedia-cited-sentences.txt"


def write_raw_dir(folder: Path, article: bytes | str, cited: bytes | str | None = None) -> Path:
    """A raw folder with an article, optional cited sentences and a matching provenance.json."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [(ARTICLE, "article", article)]
    if cited is not None:
        files.append((CITED, "cited_sentences", cited))
    entries = []
    for name, role, content in files:
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
        entries.append({"path": name, "role": role, "sha256": hashlib.sha256(data).hexdigest()})
    (folder / "provenance.json").write_text(json.dumps({"files": entries}), encoding="utf-8")
    return folder


def seed_article() -> str:
    return (SEED_RAW / ARTICLE).read_text(encoding="utf-8")


def seed_cited() -> str:
    return (SEED_RAW / CITED).read_text(encoding="utf-8")


def replace_line(text: str, number: int, new_line: str | None) -> str:
    """The text with 1-based line ``number`` replaced (or removed when ``new_line`` is None)."""
    lines = text.split("\n")
    if new_line is None:
        del lines[number - 1]
    else:
        lines[number - 1] = new_line
    return "\n".join(lines)


def insert_line(text: str, after: int, new_line: str) -> str:
    lines = text.split("\n")
    lines.insert(after, new_line)
    return "\n".join(lines)


@contextmanager
def prefect_log_lines() -> Iterator[list[str]]:
    """Every line that Prefect logs while the block runs, tracebacks included.

    Prefect's console handler writes to the stream it found when Prefect was first imported, not to
    a test's ``capfd``; this handler sees the same records. Import Prefect at module level in a test
    that uses it, so that stream is pytest's session-long one.
    """
    lines: list[str] = []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.extend(formatter.format(record).splitlines())  # type: ignore[method-assign]
    logger = logging.getLogger("prefect")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


@pytest.fixture(autouse=True)
def _run_in_a_scratch_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run in a scratch working folder: a default such as ``reports/`` never lands in the project."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def seed_raw_dir(tmp_path: Path) -> Path:
    """A private copy of the repository's raw folder."""
    target = tmp_path / "raw"
    shutil.copytree(SEED_RAW, target)
    return target


@pytest.fixture
def dist_dir(tmp_path: Path) -> Path:
    return tmp_path / "dist"


def tree_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes, to prove a run changed nothing."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def pytest_configure(config: pytest.Config) -> None:
    """A throwaway PREFECT_HOME, set before any test imports Prefect, so tests never touch the
    project's or the user's Prefect state."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="ceasefire-prefect-home-"))
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    config.stash[_PREFECT_HOME] = home


def pytest_unconfigure(config: pytest.Config) -> None:
    import logging

    # Prefect stops its temporary server at interpreter exit and logs it to a stream pytest has
    # already closed; that message is noise, not a failure.
    logging.getLogger("prefect").setLevel(logging.WARNING)
    home = config.stash.get(_PREFECT_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


_PREFECT_HOME = pytest.StashKey[Path]()
