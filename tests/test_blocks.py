"""The violations table parsed in blocks: on two threads as in turn, and sharing parsed cells."""

from __future__ import annotations

import collections

BAD_CELLS = [  # (column, cell): bad cells of several kinds (dates, counts, places, formulas, control characters)
    (1, "31.02.2022"), (2, "many"), (3, "Shusha and Atlantis"), (4, "=HYPERLINK(\"x\")"), (5, "2 killed\x07"),
    (2, "99999999999"), (5, "+1 wounded"),
]


def _hostile_article(rows: int) -> tuple[str, str]:
    from benchmarks.generate import TABLE_HEADER, generate_article

    article, cited = generate_article(rows)
    lines = article.split("\n")
    first = lines.index(TABLE_HEADER) + 1
    for number, index in enumerate(range(first, first + rows, 37)):
        column, cell = BAD_CELLS[number % len(BAD_CELLS)]
        cells = lines[index].split("|")
        cells[column] = f" {cell} "
        lines[index] = "|".join(cells)
    lines.insert(first + rows // 2, "")  # a blank line inside the table
    return "\n".join(lines), cited


def test_the_build_on_two_threads_is_the_build_in_turn(tmp_path, monkeypatch):
    """Extraction's blocks and validation's checks on two threads give the findings, in the same
    order, and the frames that running them one at a time gives, on a table with bad cells of
    several kinds in many blocks (twelve rules fire); run a few times, so that a race would show."""
    from benchmarks.generate import write_raw_folder
    from ceasefire import pipeline, threads
    from ceasefire.extract import violations

    raw = write_raw_folder(tmp_path / "raw", *_hostile_article(3_000))
    monkeypatch.setattr(violations, "BLOCK_LINES", 250)

    def build() -> tuple[list[dict], dict]:
        result = pipeline.build_dataset(raw)
        return [finding.to_dict() for finding in result.findings], {name: e.frame for name, e in result.extractions.items()}

    threaded = [build() for _ in range(3)]
    in_turn = lambda calls, name, workers=threads.WORKERS: threads.in_threads(calls, name, workers=1)  # noqa: E731
    monkeypatch.setattr(violations, "in_threads", in_turn)
    monkeypatch.setattr(pipeline, "in_threads", in_turn)
    findings, frames = build()
    assert len({finding["rule"] for finding in findings}) >= 6 and len(findings) > 80
    for threaded_findings, threaded_frames in threaded:
        assert threaded_findings == findings
        for name, frame in frames.items():
            assert threaded_frames[name].equals(frame), name


def test_a_cell_that_recurs_in_every_block_is_parsed_once_for_the_table(tmp_path, monkeypatch):
    """The blocks of one table share their parsed cells: a place named in every block is looked up
    in the gazetteer once per parser that needs it, not once per block."""
    from benchmarks.generate import generate_article, write_raw_folder
    from ceasefire.contracts.vocabularies import Gazetteer, load_contracts
    from ceasefire.extract import violations
    from ceasefire.extract.raw import read_raw_dir

    raw = write_raw_folder(tmp_path / "raw", *generate_article(3_000))
    monkeypatch.setattr(violations, "BLOCK_LINES", 250)  # twelve blocks
    looked_up: collections.Counter = collections.Counter()
    resolve = Gazetteer.resolve
    monkeypatch.setattr(Gazetteer, "resolve", lambda self, text: looked_up.update([text]) or resolve(self, text))
    extraction = violations.extract_violations(read_raw_dir(raw).by_role("article"), load_contracts())
    locations = extraction.frame["location"]
    in_blocks = locations.groupby(extraction.frame.index // 250).unique().explode().value_counts()
    assert in_blocks.max() >= 10  # some place recurs in (nearly) every block
    assert max(looked_up.values()) <= 3  # the parsers that resolve places: places, unresolved, precision


def test_each_block_gives_back_what_it_freed(tmp_path, monkeypatch):
    """Every block of the table, once parsed, returns the memory its temporaries held to the
    operating system (ceasefire.memory.give_back), on the thread that parsed it, before the blocks
    are joined: at ten million rows that freed memory was ~110 MB of extraction's peak."""
    import threading

    from benchmarks.generate import generate_article, write_raw_folder
    from ceasefire.contracts.vocabularies import load_contracts
    from ceasefire.extract import violations
    from ceasefire.extract.raw import read_raw_dir

    raw = write_raw_folder(tmp_path / "raw", *generate_article(3_000))
    monkeypatch.setattr(violations, "BLOCK_LINES", 250)  # twelve blocks, the table's lines in them
    given: list[str] = []
    monkeypatch.setattr(violations, "give_back", lambda: given.append(threading.current_thread().name) or True)
    joined = violations.concat_frames
    monkeypatch.setattr(violations, "concat_frames", lambda *args, **kwargs: given.append("joined") or joined(*args, **kwargs))
    extraction = violations.extract_violations(read_raw_dir(raw).by_role("article"), load_contracts())
    blocks = -(-(extraction.cell_columns.line_numbers.max() - extraction.cell_columns.line_numbers.min() + 1) // 250)
    assert len(given) == blocks + 1 and given[-1] == "joined", given
    assert all(name.startswith("extract") for name in given[:-1]), given
