"""``make profile``: a pyinstrument profile of one synthetic article through the pipeline, no Prefect.

    python -m benchmarks.profile --rows 100000 [--out benchmarks/results/profile-100000.txt]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.generate import generate_corpus

REPO = Path(__file__).resolve().parents[1]


def profile_pipeline(rows: int, out: Path) -> Path:
    """Generate one article of ``rows`` table rows, run build_dataset and publish under pyinstrument."""
    from pyinstrument import Profiler

    from ceasefire.pipeline import build_dataset, publish

    with tempfile.TemporaryDirectory(prefix="ceasefire-profile-") as scratch:
        raw = generate_corpus(Path(scratch) / "raw", 1, rows)[0]
        profiler = Profiler()
        profiler.start()
        publish(build_dataset(raw), Path(scratch) / "dist")
        profiler.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or REPO / "benchmarks" / "results" / f"profile-{args.rows}.txt"
    print(f"profile written to {profile_pipeline(args.rows, out)}")


if __name__ == "__main__":
    main()
