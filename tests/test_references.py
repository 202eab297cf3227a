"""The references the publish flow's tasks exchange give back the very build that was stored."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from ceasefire.errors import OutputLocationError, RawInputError
from ceasefire.pipeline import build_dataset
from ceasefire.publish.serialize import render_csv, render_jsonl
from conftest import ARTICLE, SEED_RAW, replace_line, seed_article, seed_cited, write_raw_dir
from flows.references import _REST_FILE, CorpusRef, DocumentRef, load_build, read_frame, retaining, store_build, write_frame


def _corpus_ref(raw: Path, build) -> CorpusRef:
    provenance = json.loads((raw / "provenance.json").read_text(encoding="utf-8"))
    documents = tuple(DocumentRef.of(raw, entry, document) for entry, document in zip(provenance["files"], build.corpus.documents))
    return CorpusRef(documents, provenance)


def _same_cells(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left, right)
    for name in left.columns:
        assert [type(value) for value in left[name].tolist()] == [type(value) for value in right[name].tolist()], name


def test_a_stored_build_loads_back_with_the_same_frames_findings_and_raw_lines(tmp_path):
    # An unparseable date gives an extraction finding whose raw column is worked out from the raw line.
    article = replace_line(seed_article(), 80, "| 31.02.2021 | 3 | near Shusha | Azerbaijan | |")
    raw = write_raw_dir(tmp_path / "raw", article, seed_cited())
    build = build_dataset(raw)
    assert build.extractions["violations"].findings
    ref = store_build(build, _corpus_ref(raw, build), "key", tmp_path / "store")
    loaded = load_build(ref)
    assert loaded.corpus == build.corpus
    assert loaded.findings == build.findings
    for name, extraction in build.extractions.items():
        again = loaded.extractions[name]
        _same_cells(extraction.frame, again.frame)
        assert render_csv(again.frame) == render_csv(extraction.frame)
        assert render_jsonl(again.frame) == render_jsonl(extraction.frame)
        assert again.findings == extraction.findings
        assert list(again.cell_columns) == list(extraction.cell_columns)
    assert store_build(build, ref.corpus, "key", tmp_path / "store") == ref  # stored once per key
    # The raw file is stored by reference: the table's cell columns point at the loaded document.
    assert loaded.extractions["violations"].cell_columns.document is loaded.corpus.by_role("article")
    assert b"31.02.2021 | 3 | near Shusha" not in (ref.folder / _REST_FILE).read_bytes()


def test_columns_arrow_cannot_give_back_exactly_are_kept_as_python_objects(tmp_path):
    frame = pd.DataFrame({
        "text": pd.array(["a", None, "=b"], dtype="string"),
        "count": pd.array([1, None, -3], dtype="Int64"),
        "day": pd.Series([dt.date(2021, 1, 2), None, dt.date(2024, 2, 29)], dtype=object),
        "items": pd.Series([["x", "y"], [], None], dtype=object),
        "nan_text": pd.Series(["a", float("nan"), None], dtype=object),
        "mixed": pd.Series([1, "1", 1.5], dtype=object),
        "stamp": pd.Series([dt.datetime(2021, 1, 2, 3, 4), None, None], dtype=object),
    })  # fmt: skip
    write_frame(frame, tmp_path / "frame.arrow")
    again = read_frame(tmp_path / "frame.arrow")
    _same_cells(frame, again)
    assert math.isnan(again["nan_text"][1]) and again["nan_text"][2] is None
    # A row range (what a Dask worker reads to render its partition) is those rows, Arrow and pickled columns alike.
    for rows in (range(1, 3), range(0, 1), range(2, 3), range(3, 3)):
        _same_cells(frame.iloc[rows.start : rows.stop].reset_index(drop=True), read_frame(tmp_path / "frame.arrow", rows))
    assert read_frame(tmp_path / "frame.arrow", range(1, 3))["mixed"].tolist() == ["1", 1.5]


def test_loading_a_build_whose_raw_file_changed_is_an_input_error(tmp_path):
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    build = build_dataset(raw)
    ref = store_build(build, _corpus_ref(raw, build), "key", tmp_path / "store")
    (raw / ARTICLE).write_text(seed_article() + "\nedited\n", encoding="utf-8")
    with pytest.raises(RawInputError, match="sha256 is"):
        load_build(ref)


def test_the_seed_build_round_trips(tmp_path):
    build = build_dataset(SEED_RAW)
    loaded = load_build(store_build(build, _corpus_ref(SEED_RAW, build), "seed", tmp_path))
    for name, extraction in build.extractions.items():
        _same_cells(extraction.frame, loaded.extractions[name].frame)


@pytest.mark.prefect
def test_the_flow_publishes_the_bytes_the_plain_pipeline_publishes(seed_raw_dir, tmp_path):
    """Through the references (stored after extract, linked or stored after validate, loaded to publish)."""
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from ceasefire.pipeline import publish
    from flows.publish import publish_dataset

    publish(build_dataset(seed_raw_dir), tmp_path / "plain")
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        outcome = publish_dataset(raw_dir=str(seed_raw_dir), dist_dir=str(tmp_path / "flow"))
    assert (outcome.status, outcome.version) == ("published", "1.0.0")

    def data(dist: Path) -> dict[str, bytes]:
        folder = dist / "nagorno-karabakh-ceasefire" / "1.0.0" / "data"
        return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}

    assert data(tmp_path / "flow") == data(tmp_path / "plain")
    assert len(data(tmp_path / "plain")) == 7  # CSV, JSON Lines and Parquet of both tables, and the SQLite database


def test_a_frame_validation_left_as_it_was_is_linked_not_written_again(tmp_path):
    build = build_dataset(SEED_RAW)
    corpus = _corpus_ref(SEED_RAW, build)
    extracted = store_build(build, corpus, "extracted", tmp_path)
    validated = store_build(build, corpus, "validated", tmp_path, unchanged={"violations": extracted.frame_file("violations")})
    assert validated.frame_file("violations").samefile(extracted.frame_file("violations"))
    assert not validated.frame_file("events").samefile(extracted.frame_file("events"))
    _same_cells(load_build(validated).extractions["violations"].frame, build.extractions["violations"].frame)


def test_while_retaining_a_stored_build_is_taken_from_memory_and_forgotten_after(tmp_path):
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    build = build_dataset(raw)
    with retaining():
        ref = store_build(build, _corpus_ref(raw, build), "key", tmp_path / "store")
        kept = load_build(ref)
        assert all(kept.extractions[name].frame is e.frame for name, e in build.extractions.items())
    again = load_build(ref)  # read from the folder, which was written all the same
    assert all(again.extractions[name].frame is not e.frame for name, e in build.extractions.items())
    for name, extraction in build.extractions.items():
        _same_cells(again.extractions[name].frame, extraction.frame)


def test_while_retaining_a_build_is_written_beside_the_run_and_the_block_waits_for_it(tmp_path, monkeypatch):
    """The next task does not wait for the files of the cache: they are written on the store thread,
    and the retaining block (the flow's tasks) ends only once they are in place."""
    import threading

    from flows import references

    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    build = build_dataset(raw)
    release, writers = threading.Event(), []

    def slow_write(frame, path):
        writers.append(threading.current_thread().name)
        assert release.wait(10)
        write_frame(frame, path)

    monkeypatch.setattr(references, "write_frame", slow_write)
    with retaining():
        ref = store_build(build, _corpus_ref(raw, build), "key", tmp_path / "store")
        assert ref.is_stored() and not ref.folder.exists()  # being written: a task after this one takes it from memory
        assert load_build(ref).extractions["violations"].frame is build.extractions["violations"].frame
        release.set()
    assert (ref.folder / _REST_FILE).is_file() and writers and all(name.startswith("store-build") for name in writers)
    for name, extraction in build.extractions.items():
        _same_cells(load_build(ref).extractions[name].frame, extraction.frame)


def test_a_build_that_could_not_be_stored_fails_the_retaining_block_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    from flows import references

    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    build = build_dataset(raw)

    def disk_full(frame, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(references, "write_frame", disk_full)
    with pytest.raises(OutputLocationError, match=r"store: cannot be written: No space left on device; nothing published"):
        with retaining():
            ref = store_build(build, _corpus_ref(raw, build), "key", tmp_path / "store")
    assert not ref.is_stored() and list((tmp_path / "store").iterdir()) == []  # no folder, no scratch
    # The block's own failure is the one raised, not the store's.
    with pytest.raises(RawInputError, match="the block's own"):
        with retaining():
            store_build(build, _corpus_ref(raw, build), "key", tmp_path / "store")
            raise RawInputError("a.txt", "the block's own failure")


def test_while_retaining_a_raw_file_edited_since_it_was_read_is_an_input_error_not_stale_data(tmp_path):
    raw = write_raw_dir(tmp_path / "raw", seed_article(), seed_cited())
    build = build_dataset(raw)
    with retaining():
        corpus = _corpus_ref(raw, build)  # the documents as the read task read them
        assert corpus.load().documents[0] is build.corpus.documents[0]  # not decoded again
        (raw / ARTICLE).write_text(seed_article().replace("Khramort", "Khramorta"), encoding="utf-8")
        with pytest.raises(RawInputError, match="sha256"):
            corpus.load()
