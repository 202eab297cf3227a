"""The rules against the hand-coded gold of the seed (tests/gold/): the numbers docs/EVENTS.md reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.gold_scores import render_markdown, score_build, score_field

from ceasefire.pipeline import build_dataset
from conftest import SEED_RAW

DOCS = Path(__file__).parents[1] / "docs" / "EVENTS.md"


@pytest.fixture(scope="module")
def scores():
    return score_build(build_dataset(SEED_RAW).extractions)


def test_precision_and_recall_count_only_filled_values():
    predicted = {"a": "Russia", "b": "", "c": "Armenia", "d": "Turkey"}
    gold = {"a": "Russia", "b": "Azerbaijan", "c": "Azerbaijan", "d": ""}
    assert score_field(predicted, gold) == {"predicted": 3, "gold": 3, "correct": 1, "precision": 0.33, "recall": 0.33}


def test_docs_show_the_current_scores(scores):
    assert render_markdown(scores) in DOCS.read_text(encoding="utf-8"), "rerun `python -m benchmarks.gold_scores` and update docs/EVENTS.md"


def test_the_rules_keep_their_measured_quality(scores):
    by_field = {(row["resource"], row["field"]): row for row in scores}
    # Attribution and roles prefer silence to guessing: whatever they fill is right.
    for field in ("reported_by", "perpetrator", "target"):
        assert by_field[("events", field)]["precision"] == 1.0, field
    assert by_field[("events", "claim_status")]["precision"] >= 0.95
    assert by_field[("events", "violation_id")]["recall"] == 1.0
    assert by_field[("violations", "location_precision")]["precision"] == 1.0
    assert by_field[("events", "location_precision")]["recall"] >= 0.75
