"""The HTML report of a failing run, rendered in headless Chromium from disk, with no network."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from chromium import render_page
from conftest import ARTICLE, replace_line, seed_article, seed_cited, write_raw_dir
from test_report_html import HOSTILE_LINE

from flows.cli import main

pytestmark = pytest.mark.browser

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture
def failing_report(tmp_path) -> Path:
    """``ceasefire validate`` on a fixture with an impossible date on line 86 and HTML in line 88."""
    article = seed_article()
    lines = article.split("\n")
    article = replace_line(article, 86, lines[85].replace("15.02.2022", "31.02.2022"))
    article = replace_line(article, 88, HOSTILE_LINE.replace("15.02.2022", "04.03.2022"))
    raw = write_raw_dir(tmp_path / "raw", article, seed_cited())
    assert main(["validate", "--raw", str(raw), "--reports", str(tmp_path / "reports")]) == 1
    return tmp_path / "reports" / "latest" / "report.html"


def test_failing_report_renders_its_findings_and_raw_lines(failing_report, tmp_path):
    screenshot = tmp_path / "report.png"
    dom = render_page(failing_report, screenshot, width=1366, height=900).dom

    assert "<h1>failed</h1>" in dom
    assert f"{ARTICLE}:86:3" in dom
    assert "date '31.02.2022' is not valid: day 31 does not exist in February 2022" in dom
    assert "<mark>31.02.2022</mark> | 1 | near the village of Dzhanatag | Azerbaijan |" in dom
    assert f"{ARTICLE}:83:3" in dom  # the seed's ordering warning is still listed
    assert dom.count("<svg") == 3  # violations, events and casualties per month
    # The hostile line is shown as text; its script and onerror handler never ran.
    assert "&lt;script&gt;document.body.setAttribute" in dom
    assert "data-pwned=" not in dom
    assert "<script" not in dom and "<img" not in dom
    assert png_size(screenshot) == (1366, 900)
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank image
