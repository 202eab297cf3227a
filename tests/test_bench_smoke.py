"""The benchmark code on a tiny corpus, so it cannot rot: generator, pipeline measurement, report.

No timing is asserted here; speed lives in ``make bench`` (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import doctest
import hashlib
import json
import sys
from pathlib import Path

import benchmarks.generate as generate
from benchmarks.run import check_targets, describe_machine, measure_frictionless, measure_pipeline, write_markdown


def test_the_generator_writes_raw_folders_in_the_article_format(tmp_path: Path) -> None:
    folders = generate.generate_corpus(tmp_path, articles=2, rows_per_article=40)
    assert [f.name for f in folders] == ["article-00000", "article-00001"]
    provenance = json.loads((folders[0] / "provenance.json").read_text(encoding="utf-8"))
    assert [(e["path"], e["role"]) for e in provenance["files"]] == [
        (generate.ARTICLE, "article"), (generate.CITED, "cited_sentences"),
    ]  # fmt: skip
    article = (folders[0] / generate.ARTICLE).read_bytes()
    assert provenance["files"][0]["sha256"] == hashlib.sha256(article).hexdigest()
    lines = article.decode("utf-8").split("\n")
    table = [line for line in lines if line.startswith("| ")]
    assert table[0] == generate.TABLE_HEADER and len(table) == 41
    assert "=== 2021 ===" in lines and "== Ceasefire violations ==" in lines
    assert table[1].startswith("| 10.11.2020 | ") and table[1].count("|") == 6
    # deterministic: the same call writes the same bytes; another article differs
    again = generate.generate_corpus(tmp_path / "again", articles=2, rows_per_article=40)
    assert (again[1] / generate.ARTICLE).read_bytes() == (folders[1] / generate.ARTICLE).read_bytes()
    assert (folders[1] / generate.ARTICLE).read_bytes() != article


def test_generated_rows_have_unique_ids_inside_the_time_span() -> None:
    rows = generate.generate_rows(3000, 7, ["no casualties"])
    keys = {(row.split("|")[1].strip(), row.split("|")[3].strip()) for row in rows}
    assert len(keys) == 3000
    assert rows[0].startswith("| 10.11.2020 |") and rows[-1].startswith("| 30.04.2024 |")
    assert [row.split("|")[1] for row in rows] == sorted((row.split("|")[1] for row in rows), key=lambda d: d.split(".")[::-1])


def test_the_generator_doctests_hold() -> None:
    assert doctest.testmod(generate).failed == 0


def test_the_benchmark_runs_the_pipeline_and_writes_its_table(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate.generate_corpus(raw, articles=2, rows_per_article=30)
    pipeline = measure_pipeline(raw, tmp_path / "work")
    assert pipeline["articles"] == 2 and pipeline["violation_rows"] == 60
    assert pipeline["statuses"] == {"published": 2}
    assert pipeline["pandera_rows"] == 60 + 2 * 64  # 64 events from the seed's prose in each article
    assert set(pipeline["seconds"]) == {"read", "extract", "pandera", "validate", "publish", "end_to_end"}
    frictionless = measure_frictionless(tmp_path / "work" / "dist", sample=5)
    assert frictionless["valid"] and frictionless["packages"] == 2
    assert frictionless["rows"] == 2 * 2 * (30 + 64)  # CSV and JSON Lines of both resources
    results = {"machine": describe_machine(), "finished": "2026-01-01",
               "sizes": {"2x": {"articles": 2, "pipeline": pipeline, "frictionless": frictionless}}}  # fmt: skip
    results["targets"] = check_targets(results)
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\nbefore\n<!-- results:start -->\nold\n<!-- results:end -->\nafter\n", encoding="utf-8")
    write_markdown(results, docs)
    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nbefore\n<!-- results:start -->\nMeasured 2026-01-01")
    assert text.endswith("<!-- results:end -->\nafter\n") and "old" not in text
    row = next(line for line in text.splitlines() if line.startswith("| 2x |"))
    assert row.startswith("| 2x | 2 | 60 |")


def test_the_floor_reads_every_raw_byte_and_writes_as_many_as_the_version_holds(tmp_path: Path) -> None:
    from benchmarks.compare import measure_floor

    raw = generate.generate_corpus(tmp_path / "raw", articles=1, rows_per_article=40)[0]
    version = tmp_path / "dist" / "package" / "1.0.0"
    (version / "data").mkdir(parents=True)
    (version / "data" / "a.csv").write_bytes(b"x" * 5_000_000)
    (version / "datapackage.json").write_bytes(b"{}")
    floor = measure_floor(raw, version)
    assert floor["read_bytes"] == sum(p.stat().st_size for p in raw.iterdir())
    assert floor["write_bytes"] == 5_000_002
    assert list((tmp_path / "dist").iterdir()) == [tmp_path / "dist" / "package"]  # the scratch file is gone


def test_the_cpu_steps_time_extraction_and_the_check_on_prepared_input(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    def run(*args: str) -> dict:
        # As documented: prepare and side-by-side as a module (they import benchmarks), the steps as a file.
        script = ["-m", "benchmarks.cpu_steps"] if args[0] in ("prepare", "side-by-side") else ["benchmarks/cpu_steps.py"]
        done = subprocess.run([sys.executable, *script, *args], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1], check=True)  # fmt: skip
        return json.loads(done.stdout)

    prepared = run("prepare", str(tmp_path), "--rows", "50")
    assert prepared["status"] == "published"
    extracted = run("extract", prepared["raw"])
    assert extracted["rows"]["violations"] == 50 and extracted["cpu_s"] > 0
    assert run("check", prepared["package"])["errors"] == []
    database = run("sqlite", prepared["package"])
    assert database["mismatches"] == [] and database["same_bytes_as_published"] is True
    # Both trees the same here: the pairing runs, and the outputs of the two agree.
    paired = run("side-by-side", "--baseline", str(Path(__file__).resolve().parents[1]), "--rounds", "1",
                 "--out", str(tmp_path / "paired.json"), "check", prepared["package"])  # fmt: skip
    assert paired["check"]["same_output"] is True and paired["check"]["output"] == {"errors": []}
    assert set(paired["check"]["medians"]) == {"current", "baseline"}
    assert json.loads((tmp_path / "paired.json").read_text())["steps"] == [["check", Path(prepared["package"]).name]]


def test_the_round_3_benchmarks_run_on_a_small_article(tmp_path: Path) -> None:
    """memory_steps names every step it wraps; render finds this tree's renderer equal to itself;
    corrections applies what it plans; data_files makes a raw revision that corrects one row."""
    from benchmarks import corrections, data_files, memory_steps, render

    raw = generate.generate_corpus(tmp_path / "raw", 1, 300)[0]
    measured, busy = memory_steps.measure(raw, tmp_path / "dist")
    steps = [step["step"] for step in measured]
    assert {"extract", "validate", "data_files", "find_written_mismatches", "validate_written_package", "build_zip"} <= set(steps)
    threads = {step["step"]: step["thread"] for step in measured}
    assert threads["find_written_mismatches"].startswith("read-back") and threads["extract"] == "MainThread"
    assert all(0 <= step["start_s"] <= step["end_s"] for step in measured) and all(value >= 0 for value in busy)
    repo = Path(__file__).resolve().parents[1]
    result = render.compare(300, 1, repo, tmp_path / "render")
    assert set(result["medians"]) == {"current", "baseline"}
    assert corrections.child(raw, 3) | {"seconds": 0, "rss_growth_mb": 0} == {"seconds": 0, "rss_growth_mb": 0, "applied": 3, "findings": 0}
    revised = data_files.corrected_copy(raw, tmp_path / "revised")
    before, after = ((folder / generate.ARTICLE).read_text(encoding="utf-8").split("\n") for folder in (raw, revised))
    assert [number for number, (old, new) in enumerate(zip(before, after)) if old != new] == [before.index(generate.TABLE_HEADER) + 150]


def test_a_timed_command_reports_its_cpu_beside_its_wall_time() -> None:
    """Two processes each burning ~0.3 s of CPU at once: the CPU counts both, the wall time one of them."""
    from benchmarks.run import timed_command

    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    both = f"import subprocess, sys\nchild = subprocess.Popen([sys.executable, '-c', {burn!r}])\nexec({burn!r})\nchild.wait()"
    result = timed_command([sys.executable, "-c", both])
    assert result["returncode"] == 0
    assert result["cpu_seconds"] >= 0.6


def test_the_deflate_benchmark_measures_the_streams_the_zip_writes(tmp_path: Path) -> None:
    """At the zip's level and blocks, the zlib-ng figures are for the very streams build_zip writes."""
    import io

    from zlib_ng import zlib_ng

    from benchmarks.deflate import deflate_folder
    from ceasefire.publish import zipping
    from ceasefire.publish.catalog import ZIP_LEVEL

    path = tmp_path / "rows.csv"
    path.write_bytes(b"".join(b"%d,near Shusha,Azerbaijan\n" % n for n in range(300_000)))  # three blocks
    measured = deflate_folder([path], zlib_ng, ZIP_LEVEL)
    member = zipping.deflate_file(path, io.BytesIO(), zipping.BlockDeflater(ZIP_LEVEL))
    assert measured["compressed_bytes"] == member.compressed and measured["cpu_s"] >= 0
