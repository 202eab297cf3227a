"""Retries, caching and overlapping runs of the publish flow under the Prefect engine."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

import flows.publish
from ceasefire import pipeline
from ceasefire.errors import RawInputError
from ceasefire.publish.publishing import publish_lock
from conftest import ARTICLE, CITED, seed_article, seed_cited, write_raw_dir

pytestmark = pytest.mark.prefect

PACKAGE = "nagorno-karabakh-ceasefire"


@pytest.fixture
def fresh_cache():
    """Tasks compute and overwrite their cache entries instead of reusing earlier tests' results."""
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        yield


def _versions(dist: Path) -> list[str]:
    package = dist / PACKAGE
    return sorted(p.name for p in package.iterdir() if p.is_dir() and not p.name.startswith("."))


def _count_calls(monkeypatch, owner, name: str, fail_first: Exception | None = None) -> list:
    """Record each call of ``owner.name`` (its first argument that names a file, or None)."""
    calls: list = []
    original = getattr(owner, name)

    def spy(*args, **kwargs):
        entry = next((a for a in args if isinstance(a, dict) and "path" in a), None)
        calls.append(entry["path"] if entry else None)
        if fail_first is not None and len(calls) == 1:
            raise fail_first
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return calls


def test_reading_a_raw_document_is_retried_after_a_transient_os_error(seed_raw_dir, dist_dir, monkeypatch, fresh_cache):
    calls = []
    original = flows.publish.read_raw_document

    def flaky_read(raw_dir, entry):
        calls.append(entry["path"])
        if entry["path"] == ARTICLE and calls.count(ARTICLE) == 1:
            raise OSError(5, "Input/output error", str(raw_dir / ARTICLE))
        return original(raw_dir, entry)

    monkeypatch.setattr(flows.publish, "read_raw_document", flaky_read)
    outcome = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))
    assert (outcome.status, outcome.version) == ("published", "1.0.0")
    assert sorted(calls) == [CITED, ARTICLE, ARTICLE]


def test_publishing_is_retried_after_a_transient_os_error(seed_raw_dir, dist_dir, monkeypatch):
    calls = _count_calls(monkeypatch, pipeline, "publish", fail_first=OSError(28, "No space left on device"))
    outcome = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))
    assert (outcome.status, outcome.version, outcome.bump) == ("published", "1.0.0", "initial")
    assert len(calls) == 2
    assert _versions(dist_dir) == ["1.0.0"]


def test_unusable_input_is_not_retried(tmp_path, dist_dir, monkeypatch, fresh_cache):
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    (raw / ARTICLE).write_bytes(b"\xff\xfe not utf-8\n")  # provenance still records the good file
    calls = _count_calls(monkeypatch, flows.publish, "read_raw_document")
    with pytest.raises(RawInputError) as error:
        flows.publish.publish_dataset(raw_dir=str(raw), dist_dir=str(dist_dir))
    assert str(error.value).startswith(f"{ARTICLE}:1:1: not valid UTF-8 (byte ff)")
    assert sorted(calls) == [CITED, ARTICLE]
    assert not dist_dir.exists()


def test_rerun_on_unchanged_input_reuses_cached_results_and_publishes_nothing(seed_raw_dir, dist_dir, monkeypatch):
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        first = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))
    reads = _count_calls(monkeypatch, flows.publish, "read_raw_document")
    extracts = _count_calls(monkeypatch, pipeline, "extract")
    validations = _count_calls(monkeypatch, pipeline, "validate")
    publishes = _count_calls(monkeypatch, pipeline, "publish")
    second = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))
    assert (first.status, first.version) == ("published", "1.0.0")
    assert (second.status, second.version) == ("unchanged", "1.0.0")
    assert (reads, extracts, validations) == ([], [], [])  # served from the persisted results
    assert len(publishes) == 1  # publishing is never cached: it always looks at dist/
    assert second.counts == first.counts == {"error": 0, "warning": 35}


def test_a_new_reviewed_correction_is_not_hidden_behind_the_cache(seed_raw_dir, dist_dir, tmp_path):
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    corrections = tmp_path / "corrections.json"
    corrections.write_text(json.dumps({"corrections": []}), encoding="utf-8")
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        first = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir), corrections_file=str(corrections))
    corrections.write_text(json.dumps({"corrections": [{
        "resource": "violations", "id": "2021-08-11-2-km-northwest-of-yeghtsaog", "field": "date_text",
        "old_value": "11.08.2021", "new_value": "11.11.2021", "reason": "day and month swapped",
        "reviewer": "A. Reviewer", "date": "2024-05-02"}]}), encoding="utf-8")  # fmt: skip
    second = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir), corrections_file=str(corrections))
    assert (first.version, second.status, second.version, second.bump) == ("1.0.0", "published", "1.0.1", "patch")
    assert "chronological-order" not in [f.rule for f in second.findings]
    # The corrected frame is published, not the extracted one the validate task started from.
    published = (dist_dir / PACKAGE / "1.0.1" / "data" / "violations.csv").read_text(encoding="utf-8")
    assert ",11.11.2021," in published and ",11.08.2021," not in published


def test_cache_follows_file_content_not_paths(tmp_path, dist_dir, monkeypatch):
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        flows.publish.publish_dataset(raw_dir=str(raw), dist_dir=str(dist_dir))
    # A new revision of the cited sentences, recorded in provenance.json: only that file is re-read.
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited() + "\nOne more cited sentence.\n")
    reads = _count_calls(monkeypatch, flows.publish, "read_raw_document")
    extracts = _count_calls(monkeypatch, pipeline, "extract")
    outcome = flows.publish.publish_dataset(raw_dir=str(raw), dist_dir=str(dist_dir))
    assert reads == [CITED]
    assert len(extracts) == 1
    assert (outcome.status, outcome.version) == ("unchanged", "1.0.0")  # the violations table is the same
    # An edit that provenance.json does not record is caught, not hidden behind the cache.
    (raw / ARTICLE).write_text(seed_article() + "\nan unrecorded edit\n", encoding="utf-8")
    with pytest.raises(RawInputError) as error:
        flows.publish.publish_dataset(raw_dir=str(raw), dist_dir=str(dist_dir))
    recorded = json.loads((raw / "provenance.json").read_text(encoding="utf-8"))["files"][0]["sha256"]
    actual = hashlib.sha256((raw / ARTICLE).read_bytes()).hexdigest()
    assert f"sha256 is {actual} but provenance.json records {recorded}" in str(error.value)


def test_two_runs_started_together_wait_for_the_lock_and_publish_one_version(seed_raw_dir, dist_dir, monkeypatch):
    saw_lock_held = []
    original = flows.publish._publish_lock_is_held

    def spy(folder):
        held = original(folder)
        saw_lock_held.append(held)
        return held

    monkeypatch.setattr(flows.publish, "_publish_lock_is_held", spy)
    outcomes: dict[int, object] = {}

    def run(number: int) -> None:
        outcomes[number] = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))

    # Hold the lock as a third, slow publisher would, so both runs reach it while it is taken.
    with publish_lock(dist_dir, timeout=10):
        threads = [threading.Thread(target=run, args=(number,)) for number in (1, 2)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 240
        while saw_lock_held.count(True) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    for thread in threads:
        thread.join(timeout=240)
    assert saw_lock_held == [True, True]
    assert sorted((o.status, o.version) for o in outcomes.values()) == [("published", "1.0.0"), ("unchanged", "1.0.0")]
    assert _versions(dist_dir) == ["1.0.0"]


def test_a_cached_build_whose_stored_folder_is_gone_is_computed_again(seed_raw_dir, dist_dir, monkeypatch):
    import shutil

    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from flows.references import store_root

    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        first = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))
    shutil.rmtree(store_root())  # Prefect's cache records remain; the builds they point at do not
    extracts = _count_calls(monkeypatch, pipeline, "extract")
    validations = _count_calls(monkeypatch, pipeline, "validate")
    second = flows.publish.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir))
    assert (first.version, second.status, second.version) == ("1.0.0", "unchanged", "1.0.0")
    assert (len(extracts), len(validations)) == (1, 1)


def test_cached_references_read_this_runs_raw_folder_not_the_one_they_were_made_from(tmp_path, dist_dir):
    import shutil

    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    first = write_raw_dir(tmp_path / "first", seed_article(), seed_cited())
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        published = flows.publish.publish_dataset(raw_dir=str(first), dist_dir=str(dist_dir))
    second = write_raw_dir(tmp_path / "second", seed_article(), seed_cited())  # the same bytes elsewhere
    shutil.rmtree(first)
    again = flows.publish.publish_dataset(raw_dir=str(second), dist_dir=str(dist_dir))  # served from the cache
    assert (published.version, again.status, again.version) == ("1.0.0", "unchanged", "1.0.0")
