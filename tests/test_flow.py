"""The publish flow under the Prefect engine (temporary local server) and the command line."""

from __future__ import annotations

import asyncio

import pytest

from conftest import ARTICLE, replace_line, seed_article, tree_snapshot, write_raw_dir

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module")
def flow_module():
    from flows import publish

    return publish


def _artifact_markdown(key: str) -> str:
    from prefect.client.orchestration import get_client

    async def read() -> str:
        async with get_client() as client:
            artifact = await client.read_latest_artifacts(limit=50)
            matches = [a for a in artifact if a.key == key]
            return matches[0].data if matches else ""

    return asyncio.run(read())


def test_flow_publishes_then_finds_unchanged(flow_module, seed_raw_dir, dist_dir, tmp_path):
    reports = str(tmp_path / "reports")
    outcome = flow_module.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir), reports_dir=reports)
    assert (outcome.status, outcome.version, outcome.rows) == ("published", "1.0.0", {"violations": 33, "events": 64})
    assert (dist_dir / "nagorno-karabakh-ceasefire/1.0.0/datapackage.json").is_file()
    summary = _artifact_markdown(flow_module.SUMMARY_ARTIFACT_KEY)
    assert "# Ceasefire dataset run: published" in summary
    assert "| violations | 33 |" in summary
    assert "chronological-order" in summary

    again = flow_module.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir), reports_dir=reports)
    assert (again.status, again.version) == ("unchanged", "1.0.0")


def test_cli_exit_codes(flow_module, tmp_path, seed_raw_dir, capsys):
    from flows.cli import main

    dist = tmp_path / "dist"
    reports = ["--reports", str(tmp_path / "reports")]
    assert main(["publish", "--raw", str(seed_raw_dir), "--dist", str(dist), *reports]) == 0
    assert "published 1.0.0" in capsys.readouterr().out
    before = tree_snapshot(dist)

    bad = write_raw_dir(tmp_path / "bad", replace_line(seed_article(), 82, "| 31.02.2022 | 1 | near Shusha | Azerbaijan | |"))
    assert main(["publish", "--raw", str(bad), "--dist", str(dist), *reports]) == 1
    err = capsys.readouterr().err
    assert f"{ARTICLE}:82:3: error date-format: date '31.02.2022' is not valid" in err
    assert "nothing published" in err

    empty = write_raw_dir(tmp_path / "empty", b"")
    assert main(["publish", "--raw", str(empty), "--dist", str(dist), *reports]) == 2
    assert f"error: unusable input: {ARTICLE}:1: the file is empty" in capsys.readouterr().err

    assert main(["validate", "--raw", str(seed_raw_dir), *reports]) == 0
    assert "validation passed with warnings: 0 errors, 35 warnings" in capsys.readouterr().out
    assert tree_snapshot(dist) == before


def test_cli_rejects_bad_arguments_with_exit_2(capsys):
    from flows.cli import main

    with pytest.raises(SystemExit) as caught:
        main(["publish", "--bogus"])
    assert caught.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_a_flow_failure_state_names_the_error_count(flow_module, tmp_path):
    bad = write_raw_dir(tmp_path / "bad", replace_line(seed_article(), 82, "| 08.11.2021 | 0 | near Shusha | Azerbaijan | |"))
    state = flow_module.publish_dataset(
        raw_dir=str(bad), dist_dir=str(tmp_path / "dist"), reports_dir=str(tmp_path / "reports"), return_state=True
    )
    assert state.is_failed()
    # One line, no exception type: the run ended Failed on purpose, it did not crash.
    assert state.message.startswith("1 validation error, 35 warnings; nothing published; report: file://")
    assert "\n" not in state.message
    assert not (tmp_path / "dist").exists()


def test_prefect_never_walks_the_build_or_the_outcome_looking_for_futures(flow_module, seed_raw_dir, dist_dir, tmp_path, monkeypatch):
    # Prefect visits every object of an unquoted task parameter: the raw corpus line by line, about
    # 10 s per million lines (docs/BENCHMARKS.md). The build and the outcome go to tasks quoted.
    import prefect.task_engine
    import prefect.utilities.engine

    from ceasefire import pipeline
    from ceasefire.extract.raw import RawCorpus

    walked = []
    for module in (prefect.task_engine, prefect.utilities.engine):
        collect = module.collect_task_run_inputs_sync

        def spy(expr, *args, _collect=collect, **kwargs):
            walked.append(type(expr))
            return _collect(expr, *args, **kwargs)

        monkeypatch.setattr(module, "collect_task_run_inputs_sync", spy)
    outcome = flow_module.publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(dist_dir), reports_dir=str(tmp_path / "reports"))
    assert outcome.status == "published"
    assert walked, "the spy saw no task parameters: Prefect collects them elsewhere now"
    assert not {pipeline.Build, pipeline.Outcome, RawCorpus} & set(walked)


def test_a_full_disk_under_the_build_store_ends_the_run_with_one_line_and_publishes_nothing(flow_module, tmp_path, monkeypatch):
    """The build is stored beside the run's tasks (flows/references.py); the store failing is the run's
    output location failing: the run ends Failed with the store's path, no traceback, nothing published."""
    import errno

    from flows import references

    def disk_full(frame, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(references, "write_frame", disk_full)
    # A table row no other test has, so the extraction is not cached and its build is stored.
    raw = write_raw_dir(tmp_path / "raw", replace_line(seed_article(), 82, f"| 08.11.2021 | 1 | near Shusha | Azerbaijan | {tmp_path.name} |"))
    state = flow_module.publish_dataset(
        raw_dir=str(raw), dist_dir=str(tmp_path / "dist"), reports_dir=str(tmp_path / "reports"), return_state=True
    )
    assert state.is_failed()
    store = references.store_root()
    assert state.message == f"{store}: cannot be written: No space left on device; nothing published"
    assert not (tmp_path / "dist").exists()
    assert not list((tmp_path / "reports").rglob("traceback.txt"))
