"""Deterministic synthetic raw corpora in the article's format, for benchmarks and the smoke test.

A synthetic article keeps the seed article's headings, year subsections and prose (so the events
extraction, the citations file and the prose/table reconciliation see real text), and replaces the
pipe table with generated rows: dates in chronological order inside ``schemas/time_span.json``,
locations that resolve through the gazetteer, violators from ``schemas/violators.json`` and
consequences taken from the seed's own cells (so the casualty parser sees real phrases).

Ids are built from the date text and the location, so every generated row has its own
(date, location) pair: the location carries a distance that varies within a day
("3.4 km east of Khramort village").

How "many articles" maps onto the pipeline: the pipeline reads one article per raw folder (one
``provenance.json``), so a corpus of N articles is N raw folders, ``article-00000`` … , each a
complete raw folder that the benchmark runs through the pipeline in sequence.

Usage::

    python -m benchmarks.generate OUT_DIR --articles 100
    python -m benchmarks.generate OUT_DIR --rows 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_RAW = REPO / "raw"
ARTICLE = "wikipedia-peacekeeping-nagorno-karabakh.txt"
CITED = "wikipedia-cited-sentences.txt"
TABLE_HEADER = "| date | number of violations | location | the violator | consequences |"

# Places of the gazetteer that a generated location names (each resolves to one canonical place).
VILLAGES = ("Khramort", "Farukh", "Karmir Shuka", "Dzhanatag", "Marzili", "Muganly", "Taghavard", "Avdur",
            "Magavuz", "Hatsi", "Dyukyanlar", "Yeghtsaog", "Sotk", "Buzdukh", "Saribaba")  # fmt: skip
DIRECTIONS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")
VIOLATORS = ("Azerbaijan", "Azerbaijan", "Azerbaijan", "not indicated", "Armenia", "Nagorno-Karabakh Defense Army")
FIRST_DAY = dt.date(2020, 11, 10)
LAST_DAY = dt.date(2024, 4, 30)


def read_seed() -> tuple[list[str], str]:
    """The seed article's lines and its cited-sentences text."""
    article = (SEED_RAW / ARTICLE).read_text(encoding="utf-8").split("\n")
    cited = (SEED_RAW / CITED).read_text(encoding="utf-8")
    return article, cited


def seed_table_span(lines: list[str]) -> tuple[int, int]:
    """0-based [start, end) of the seed's violations table, header included."""
    start = lines.index(TABLE_HEADER)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def seed_consequences(lines: list[str]) -> list[str]:
    """The consequences cells of the seed table, empty ones included."""
    start, end = seed_table_span(lines)
    return [line.rstrip().rstrip("|").split("|")[5].strip() for line in lines[start + 1 : end]]


def generate_rows(count: int, variant: int, consequences: list[str]) -> list[str]:
    """``count`` table rows in chronological order over the time span, each with its own (date, location).

    Example:
        >>> generate_rows(2, 0, ["no casualties"])[0]
        '| 10.11.2020 | 1 | 0.1 km north of Khramort village | not indicated | no casualties |'
    """
    rng = random.Random(variant)
    days = (LAST_DAY - FIRST_DAY).days + 1
    rows = []
    previous_day, slot = -1, 0
    for index in range(count):
        day_number = min(days - 1, (index * days) // count + (variant % max(1, days // count) if count < days else 0))
        slot = slot + 1 if day_number == previous_day else 0
        previous_day = day_number
        day = FIRST_DAY + dt.timedelta(days=day_number)
        village = VILLAGES[(slot + variant) % len(VILLAGES)]
        direction = DIRECTIONS[(slot // len(VILLAGES)) % len(DIRECTIONS)]
        km = (slot // (len(VILLAGES) * len(DIRECTIONS))) / 10 + 0.1
        location = f"{km:.1f} km {direction} of {village} village"
        violator = VIOLATORS[rng.randrange(len(VIOLATORS))]
        consequence = consequences[rng.randrange(len(consequences))] if consequences else ""
        number = 1 + rng.randrange(5)
        rows.append(f"| {day:%d.%m.%Y} | {number} | {location} | {violator} | {consequence} |")
    return rows


def generate_article(rows: int, variant: int = 0) -> tuple[str, str]:
    """One synthetic article (seed prose, generated table of ``rows`` rows) and its cited sentences."""
    lines, cited = read_seed()
    start, end = seed_table_span(lines)
    table = [TABLE_HEADER, *generate_rows(rows, variant, seed_consequences(lines))]
    return "\n".join(lines[:start] + table + lines[end:]), cited


def write_raw_folder(folder: Path, article: str, cited: str) -> Path:
    """A raw folder with the article, the cited sentences and a matching ``provenance.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, role, text in ((ARTICLE, "article", article), (CITED, "cited_sentences", cited)):
        data = text.encode("utf-8")
        (folder / name).write_bytes(data)
        entries.append({"path": name, "role": role, "sha256": hashlib.sha256(data).hexdigest(),
                        "retrieval": "synthetic benchmark corpus (benchmarks/generate.py)"})  # fmt: skip
    (folder / "provenance.json").write_text(json.dumps({"files": entries}, indent=2) + "\n", encoding="utf-8")
    return folder


def seed_row_count() -> int:
    lines, _ = read_seed()
    start, end = seed_table_span(lines)
    return end - start - 1


def generate_corpus(out_dir: Path, articles: int, rows_per_article: int | None = None) -> list[Path]:
    """``articles`` raw folders, each one article with as many table rows as the seed (by default)."""
    rows = rows_per_article or seed_row_count()
    return [write_raw_folder(out_dir / f"article-{number:05d}", *generate_article(rows, variant=number))
            for number in range(articles)]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--articles", type=int, default=1, help="number of articles (raw folders)")
    parser.add_argument("--rows", type=int, default=None, help="table rows per article (default: the seed's)")
    args = parser.parse_args(argv)
    folders = generate_corpus(args.out_dir, args.articles, args.rows)
    print(f"wrote {len(folders)} raw folder(s) under {args.out_dir}")


if __name__ == "__main__":
    main()
