"""Bad input, one case each: a finding or message that names the file and line, a non-zero exit,
and an untouched ``dist/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceasefire.errors import RawInputError
from ceasefire.pipeline import build_dataset, publish, run
from conftest import ARTICLE, insert_line, replace_line, seed_article, tree_snapshot, write_raw_dir

# Line 82 of the seed article: the 08.11.2021 row.
ROW_LINE = 82
ROW = "| 08.11.2021 | 1 | near Shusha | Azerbaijan | a group of Armenian workers from Nagorno-Karabakh were fired on - 1 worker killed and 3 injured |"


@pytest.fixture
def published_dist(seed_raw_dir: Path, dist_dir: Path) -> Path:
    """A dist folder that already holds 1.0.0, so we can prove a failing run leaves it alone."""
    assert run(seed_raw_dir, dist_dir).status == "published"
    return dist_dir


def _flatten(findings):
    return [(f.severity, f.rule, f.source_file, f.source_line, f.column, f.value) for f in findings if f.severity == "error"]


def test_seed_row_is_where_the_tests_expect_it():
    assert seed_article().split("\n")[ROW_LINE - 1] == ROW


@pytest.mark.parametrize(
    ("case", "bad_row", "expected"),
    [
        (
            "malformed-date",
            ROW.replace("08.11.2021", "31.02.2022"),
            [("error", "date-format", ARTICLE, ROW_LINE, "date_text", "31.02.2022")],
        ),
        (
            "non-numeric-count",
            ROW.replace("| 1 | near", "| one | near"),
            [("error", "count-format", ARTICLE, ROW_LINE, "violation_count", "one")],
        ),
        (
            "zero-count",
            ROW.replace("| 1 | near", "| 0 | near"),
            [("error", "minimum", ARTICLE, ROW_LINE, "violation_count", "0")],
        ),
        (
            "unknown-violator",
            ROW.replace("| Azerbaijan |", "| Martians |"),
            [("error", "enum", ARTICLE, ROW_LINE, "violator", "Martians")],
        ),
        (
            "missing-cell",
            "| 08.11.2021 | 1 | near Shusha | a group of Armenian workers were fired on |",
            [("error", "cell-count", ARTICLE, ROW_LINE, None, "4")],
        ),
        (
            "date-outside-time-span",
            ROW.replace("08.11.2021", "08.11.2019"),
            [("error", "time-span", ARTICLE, ROW_LINE, "date_end", "2019-11-08"),
             ("error", "time-span", ARTICLE, ROW_LINE, "date_start", "2019-11-08")],
        ),  # fmt: skip
    ],
)
def test_bad_row_blocks_publishing(published_dist, tmp_path, case, bad_row, expected):
    raw = write_raw_dir(tmp_path / case, replace_line(seed_article(), ROW_LINE, bad_row))
    before = tree_snapshot(published_dist)
    outcome = run(raw, published_dist)
    assert outcome.status == "failed"
    assert outcome.exit_code == 1
    assert sorted(_flatten(outcome.findings)) == sorted(expected)
    assert tree_snapshot(published_dist) == before


def test_duplicated_row_is_reported_on_both_lines(published_dist, tmp_path):
    raw = write_raw_dir(tmp_path / "duplicate", insert_line(seed_article(), ROW_LINE, ROW))
    before = tree_snapshot(published_dist)
    outcome = run(raw, published_dist)
    assert outcome.exit_code == 1
    assert sorted(_flatten(outcome.findings)) == [
        ("error", "unique", ARTICLE, ROW_LINE, "violation_id", "2021-11-08-near-shusha"),
        ("error", "unique", ARTICLE, ROW_LINE + 1, "violation_id", "2021-11-08-near-shusha"),
    ]
    assert tree_snapshot(published_dist) == before


@pytest.mark.parametrize(
    ("case", "content", "message"),
    [
        ("empty-file", b"", f"{ARTICLE}:1: the file is empty"),
        # One Latin-1 byte in the 08.11.2021 row: "Sh\xfbsha".
        ("non-utf8", seed_article().encode().replace(b"1 | near Shusha | Azerbaijan | a group", b"1 | near Sh\xfbsha | Azerbaijan | a group"),
         f"{ARTICLE}:{ROW_LINE}:{ROW.index('Shusha') + 3}: not valid UTF-8 (byte fb)"),
        ("no-table", "= Title =\n\nProse only.\n".encode(), f"{ARTICLE}: no table with the columns"),
    ],
)  # fmt: skip
def test_unusable_raw_file_raises_with_file_and_line(published_dist, tmp_path, case, content, message):
    raw = write_raw_dir(tmp_path / case, content)
    before = tree_snapshot(published_dist)
    with pytest.raises(RawInputError) as caught:
        run(raw, published_dist)
    assert str(caught.value).startswith(message)
    assert tree_snapshot(published_dist) == before


def test_a_raw_file_edited_behind_provenance_is_refused(seed_raw_dir, dist_dir):
    article = seed_raw_dir / ARTICLE
    article.write_text(article.read_text(encoding="utf-8") + "\nextra\n", encoding="utf-8")
    with pytest.raises(RawInputError, match="raw files are never edited"):
        run(seed_raw_dir, dist_dir)
    assert not dist_dir.exists()


def test_a_raw_file_edited_between_reading_and_publishing_is_not_shipped(seed_raw_dir, dist_dir):
    """The version ships the raw files read again from disk, block by block (a large article is not
    held in memory twice); bytes that are no longer the ones extracted stop the run, unpublished."""
    build = build_dataset(seed_raw_dir)
    article = seed_raw_dir / ARTICLE
    article.write_bytes(article.read_bytes().replace(b"Shusha", b"Shushi", 1))
    with pytest.raises(RawInputError, match=f"^{ARTICLE}: changed on disk while the run was reading it"):
        publish(build, dist_dir)
    assert [path.name for path in (dist_dir / "nagorno-karabakh-ceasefire").iterdir()] == []  # no version, no stage


def test_a_missing_raw_folder_is_unusable(tmp_path):
    with pytest.raises(RawInputError, match="raw directory does not exist"):
        run(tmp_path / "nowhere", tmp_path / "dist")
