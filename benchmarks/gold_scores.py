"""Precision and recall of the extraction rules against the hand-coded gold (tests/gold/*.csv).

Run ``python -m benchmarks.gold_scores`` from the repository root: it builds the seed and prints the
Markdown table that docs/EVENTS.md shows. ``tests/test_gold.py`` checks the docs show these numbers.

For each field, a prediction is a non-empty value: precision is the share of predictions that equal
the gold value; recall is the share of non-empty gold values that the rules found. ``claim_status``
is never empty, so its precision and recall are both its accuracy.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

# The hand-coded gold is test data: it lives beside the tests that check these scores.
GOLD = Path(__file__).resolve().parents[1] / "tests" / "gold"
EVENT_FIELDS = ("reported_by", "claim_status", "perpetrator", "target", "location_precision", "violation_id")
VIOLATION_FIELDS = ("location_precision",)


def read_gold(name: str) -> dict[str, dict[str, str]]:
    with (GOLD / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    key = next(iter(rows[0]))
    return {row[key]: row for row in rows}


def _text(value: object) -> str:
    if value is None:
        return ""
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def score_field(predicted: dict[str, str], gold: dict[str, str]) -> dict[str, float | int]:
    """Precision and recall of one field over the ids both sides share."""
    ids = sorted(set(predicted) & set(gold))
    made = [i for i in ids if predicted[i]]
    wanted = [i for i in ids if gold[i]]
    right = [i for i in made if predicted[i] == gold[i]]
    return {
        "predicted": len(made), "gold": len(wanted), "correct": len(right),
        "precision": round(len(right) / len(made), 2) if made else 1.0,
        "recall": round(len(right) / len(wanted), 2) if wanted else 1.0,
    }  # fmt: skip


def score_build(extractions: dict) -> list[dict]:
    """One score row per (resource, field)."""
    rows = []
    for resource, fields in (("events", EVENT_FIELDS), ("violations", VIOLATION_FIELDS)):
        gold = read_gold(resource)
        frame = extractions[resource].frame
        key = frame.columns[0]
        missing = set(gold) - set(map(str, frame[key]))
        if missing:
            raise ValueError(f"gold {resource} ids the build does not have: {sorted(missing)}")
        for name in fields:
            predicted = {str(k): _text(v) for k, v in zip(frame[key], frame[name])}
            rows.append({"resource": resource, "field": name, **score_field(predicted, {i: g[name] for i, g in gold.items()})})
    return rows


def render_markdown(rows: list[dict]) -> str:
    lines = ["| resource | field | predicted | gold | correct | precision | recall |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['resource']} | `{row['field']}` | {row['predicted']} | {row['gold']} | {row['correct']} "
                     f"| {row['precision']:.2f} | {row['recall']:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    from ceasefire.pipeline import build_dataset

    raw = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("raw")
    print(render_markdown(score_build(build_dataset(raw).extractions)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
