"""Headless Chromium for tests of pages a user opens from disk.

Debian's ``chromium`` is installed by the set-up (``make chromium``), not by a test;
``render_page()`` loads a ``file://`` page or an ``http://`` URL and returns its DOM as text plus a screenshot.
"""

from __future__ import annotations

import html
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def ensure_chromium() -> Path:
    """The Chromium binary, which the set-up installs (``make chromium``, a prerequisite of ``make test``)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (it installs Debian's chromium package)")
    return CHROMIUM


@dataclass(frozen=True)
class RenderedPage:
    dom: str  # the serialised DOM after load
    screenshot: Path

    @property
    def text(self) -> str:
        """What a user reads: the DOM without tags, styles and scripts, whitespace collapsed."""
        body = re.sub(r"<(style|script)\b.*?</\1>", " ", self.dom, flags=re.S | re.I)
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def render_page(page: Path | str, screenshot: Path, *, width: int = 1280, height: int = 900, timeout: float = 120) -> RenderedPage:
    """Open ``page`` (a file on disk, or an ``http://`` URL) in headless Chromium; return its DOM and write a PNG screenshot."""
    binary = ensure_chromium()
    url = page if isinstance(page, str) else page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        common = [str(binary), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=timeout)
        assert dom.returncode == 0 and dom.stdout.strip(), f"chromium --dump-dom failed ({dom.returncode}):\n{dom.stderr[-2000:]}"
        shot = subprocess.run([*common, f"--screenshot={screenshot}", url], capture_output=True, text=True, timeout=timeout)
        assert shot.returncode == 0 and screenshot.is_file(), f"chromium --screenshot failed ({shot.returncode}):\n{shot.stderr[-2000:]}"
    return RenderedPage(dom=dom.stdout, screenshot=screenshot)
