"""``ceasefire browse``: a real Datasette server on 127.0.0.1 over a published version's SQLite
database, loaded in headless Chromium: a table page with its facets, and the year facet."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from chromium import render_page
from conftest import SEED_RAW

from ceasefire import PACKAGE_NAME
from ceasefire.pipeline import build_dataset, publish

CEASEFIRE = str(Path(sys.executable).with_name("ceasefire"))
DATABASE = PACKAGE_NAME


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("browse") / "dist"
    assert publish(build_dataset(SEED_RAW), dist, now=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).version == "1.0.0"
    return dist


@pytest.fixture(scope="module")
def server(dist):
    """``ceasefire browse`` (the latest version) in its own process group; its base URL."""
    port = _free_port()
    process = subprocess.Popen([CEASEFIRE, "browse", "--dist", str(dist), "--port", str(port)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/-/versions.json", timeout=5) as response:
                assert response.status == 200
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGTERM)
                pytest.fail(f"ceasefire browse did not start:\n{process.stdout.read()}")
            time.sleep(0.5)
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


@pytest.mark.browser
def test_a_table_page_shows_the_package_metadata_and_the_violator_facet(server, tmp_path):
    page = render_page(f"{server}/{DATABASE}/violations", tmp_path / "violations.png", height=1400)
    text = page.text
    assert "Ceasefire violations reported by the Russian peacekeeping mission" in text  # the resource's title
    assert "33 rows" in text
    assert 'href="https://creativecommons.org/licenses/by-sa/4.0/"' in page.dom and "CC-BY-SA-4.0" in text
    assert "Peacekeeping operations in Nagorno-Karabakh, English Wikipedia" in text  # the source
    assert "The party the report blames" in text  # a column description from the Table Schema
    assert 'id="facet-violator"' in page.dom
    assert "Azerbaijan 27" in text and "not indicated 6" in text
    png = page.screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000


@pytest.mark.browser
def test_the_year_facet_counts_what_the_csv_holds(server, dist, tmp_path):
    csv = pd.read_csv(dist / PACKAGE_NAME / "1.0.0" / "data" / "events.csv", parse_dates=["date_start"])
    expected = csv["date_start"].dt.year.value_counts().sort_index()
    page = render_page(f"{server}/{DATABASE}/events_by_year", tmp_path / "years.png", height=1400)
    assert 'id="facet-year"' in page.dom and 'id="facet-event_type"' in page.dom
    for year, count in expected.items():
        assert f"{year} {count}" in page.text, (year, count)
    filtered = render_page(f"{server}/{DATABASE}/events_by_year?year=2022", tmp_path / "2022.png")
    assert f"{expected[2022]} rows where year = 2022" in filtered.text


def test_browse_names_a_missing_version_without_a_traceback(dist):
    result = subprocess.run([CEASEFIRE, "browse", "9.9.9", "--dist", str(dist)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == f"error: {dist / PACKAGE_NAME / '9.9.9'} is not a published version\n"
