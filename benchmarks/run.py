"""``make bench``: the pipeline's throughput, memory and Prefect overhead at several corpus sizes.

Each size is measured in fresh child processes, so peak RSS (``VmHWM`` of the child) belongs
to that size alone:

1. ``pipeline``: every article of the size through ``build_dataset`` and ``publish``, no Prefect,
   timing each beat (extraction, pandera, the other validation, publishing);
2. ``frictionless``: the published packages validated again by frictionless alone, in process
   (frictionless rows/s);
3. ``references`` (single-article sizes): on the published ``violations.csv``, the
   ``frictionless validate`` command alone and pandas ``read_csv`` (the floor);
4. ``prefect``: the same run as a Prefect flow, on the temporary server and on a running
   ``prefect server`` (started here on a free 127.0.0.1 port with a temporary PREFECT_HOME, and
   stopped), then an unchanged re-run on that server.

Results go to ``benchmarks/results/latest.json`` and, as a table, into ``docs/BENCHMARKS.md``
between the ``results`` markers.

    python -m benchmarks.run                 # every size (about half an hour on 2 cores)
    python -m benchmarks.run --sizes 1x 1M   # some of them
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from benchmarks.generate import generate_corpus
from flows.temporary_server import wait_until_healthy

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "latest.json"
DOCS = REPO / "docs" / "BENCHMARKS.md"
START_MARK, END_MARK = "<!-- results:start -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Size:
    """A corpus size: ``articles`` raw folders of ``rows`` table rows each (None: the seed's 33)."""

    name: str
    articles: int
    rows: int | None = None
    prefect: bool = True  # measure the orchestrated run too
    references: bool = True  # frictionless validate and read_csv on the published CSV
    frictionless_sample: int = 100  # packages validated again by frictionless alone


SIZES = {
    "1x": Size("1x", 1),
    "100x": Size("100x", 100, prefect=False, references=False),
    "1000x": Size("1000x", 1000, prefect=False, references=False),
    "1M": Size("1M", 1, rows=1_000_000),
}


# --- child processes -----------------------------------------------------------------------------


def measure_pipeline(raw_root: Path, work: Path) -> dict:
    """Run every raw folder under ``raw_root`` through the pipeline without Prefect; time each beat."""
    from ceasefire.validate.corrections import default_corrections_file, load_corrections
    from ceasefire.pipeline import extract, publish, validate
    from ceasefire.extract.raw import read_raw_dir
    from ceasefire.validate.validation import validate_extraction
    from ceasefire.contracts.vocabularies import load_contracts

    folders = sorted(p for p in raw_root.iterdir() if (p / "provenance.json").is_file())
    totals = dict.fromkeys(("read", "extract", "pandera", "validate", "publish", "end_to_end"), 0.0)
    article_bytes = rows = pandera_rows = 0
    statuses: dict[str, int] = {}
    contracts = load_contracts()
    for folder in folders:
        started = time.perf_counter()
        corpus = read_raw_dir(folder)
        read = time.perf_counter()
        extractions = extract(corpus, contracts)
        extracted = time.perf_counter()
        # pandera alone, on the same frames validate() checks (its own time is inside validate too)
        for extraction in extractions.values():
            validate_extraction(extraction, contracts)
        checked = time.perf_counter()
        build = validate(corpus, contracts, extractions, load_corrections(default_corrections_file(folder)))
        validated = time.perf_counter()
        outcome = publish(build, work / "dist" / folder.name)
        published = time.perf_counter()
        totals["read"] += read - started
        totals["extract"] += extracted - read
        totals["pandera"] += checked - extracted
        totals["validate"] += validated - checked
        totals["publish"] += published - validated
        totals["end_to_end"] += (read - started) + (extracted - read) + (published - checked)
        article_bytes += corpus.by_role("article").bytes
        rows += len(build.extractions["violations"].frame)
        pandera_rows += sum(len(e.frame) for e in extractions.values())
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return {
        "articles": len(folders),
        "article_bytes": article_bytes,
        "violation_rows": rows,
        "pandera_rows": pandera_rows,
        "seconds": totals,
        "extraction_mb_per_s": article_bytes / 1e6 / totals["extract"] if totals["extract"] else None,
        "pandera_rows_per_s": pandera_rows / totals["pandera"] if totals["pandera"] else None,
        "statuses": statuses,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure_frictionless(dist_root: Path, sample: int) -> dict:
    """frictionless alone on up to ``sample`` published packages: every resource, both forms."""
    from frictionless import Package, system

    packages = sorted(dist_root.glob("*/nagorno-karabakh-ceasefire/*/datapackage.json"))[:sample]
    rows = 0
    seconds = 0.0
    valid = True
    for descriptor in packages:
        started = time.perf_counter()
        with system.use_context(trusted=False):
            report = Package(str(descriptor)).validate()
        seconds += time.perf_counter() - started
        valid &= report.valid
        rows += sum(task.stats.get("rows") or 0 for task in report.tasks)
    return {"packages": len(packages), "rows": rows, "seconds": seconds, "valid": valid,
            "rows_per_s": rows / seconds if seconds else None, "peak_rss_mb": peak_rss_mb()}  # fmt: skip


def measure_read_csv(csv_path: Path) -> dict:
    """pandas ``read_csv`` of the published CSV with its dates parsed: the floor for reading it."""
    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_csv(csv_path, parse_dates=["date_start", "date_end"])
    seconds = time.perf_counter() - started
    return {"rows": len(frame), "seconds": seconds, "rows_per_s": len(frame) / seconds, "peak_rss_mb": peak_rss_mb()}


def measure_flow(raw_dir: Path, work: Path, runs: int) -> dict:
    """The publish flow under Prefect, ``runs`` times on the same inputs (PREFECT_API_URL decides where)."""
    from flows.publish import publish_dataset

    seconds = []
    statuses = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = publish_dataset(raw_dir=str(raw_dir), dist_dir=str(work / "dist"), reports_dir=str(work / "reports"))
        seconds.append(time.perf_counter() - started)
        statuses.append(outcome.status)
    return {"seconds": seconds, "statuses": statuses, "peak_rss_mb": peak_rss_mb()}


def measure_plain(raw_dir: Path, work: Path) -> dict:
    """The flow's work without Prefect: ``pipeline.run`` with a report, as the flow does."""
    from ceasefire.pipeline import run

    started = time.perf_counter()
    outcome = run(raw_dir, work / "dist", reports_dir=work / "reports")
    return {"seconds": time.perf_counter() - started, "status": outcome.status, "peak_rss_mb": peak_rss_mb()}


CHILDREN = {"pipeline": measure_pipeline, "frictionless": measure_frictionless, "read_csv": measure_read_csv,
            "flow": measure_flow, "plain": measure_plain}  # fmt: skip


def _child_main(argv: list[str]) -> None:
    name, *arguments = argv
    function = CHILDREN[name]
    parsed = [int(a) if a.isdigit() else Path(a) for a in arguments]
    print("RESULT " + json.dumps(function(*parsed)))


# --- the parent ----------------------------------------------------------------------------------


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="240", PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(REPO)]))  # fmt: skip
    env.update(extra or {})
    return env


def run_child(
    name: str, *arguments: object, env: dict[str, str] | None = None, timeout: float = 3600, cwd: Path = REPO
) -> dict:
    """Run one measurement in a fresh interpreter and return its JSON result.

    ``python -m`` puts ``cwd`` first on the import path: it is the source tree being measured.
    """
    command = [sys.executable, "-m", "benchmarks.run", "--child", name, *map(str, arguments)]
    completed = subprocess.run(command, env=env or _child_env(), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode or not lines:
        raise RuntimeError(f"{name} failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def timed_command(command: list[str], timeout: float = 3600, env: dict[str, str] | None = None) -> dict:
    """Wall time and peak RSS of a command (``/usr/bin/time -v`` when it is there)."""
    time_binary = shutil.which("time") or "/usr/bin/time"
    wrapped = [time_binary, "-v", *command] if Path(time_binary).exists() else command
    started = time.perf_counter()
    completed = subprocess.run(wrapped, capture_output=True, text=True, timeout=timeout, env=env or _child_env())
    seconds = time.perf_counter() - started
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", completed.stderr)
    # CPU of the command and the processes it waited for (user + system): on 2 cores, wall time cannot
    # fall below half of it.
    cpu = [float(found.group(1)) for found in re.finditer(r"(?:User|System) time \(seconds\): ([\d.]+)", completed.stderr)]
    return {"seconds": seconds, "returncode": completed.returncode, "peak_rss_mb": int(peak.group(1)) / 1024 if peak else None,
            "cpu_seconds": sum(cpu) if cpu else None}  # fmt: skip


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def prefect_server(folder: Path, timeout: float = 240):
    """A ``prefect server start`` on a free loopback port with its own PREFECT_HOME; yields the API URL."""
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    log = folder / "server.log"
    env = _child_env({"PREFECT_HOME": str(folder / "home")})
    with log.open("wb") as handle:
        process = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                                    "--port", str(port)], env=env, cwd=folder, stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        try:
            wait_until_healthy(api_url, process, timeout, every=1.0)
        except RuntimeError as error:
            raise RuntimeError(f"{error}: {log.read_text()[-2000:]}") from None
        yield api_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def measure_prefect(raw_dir: Path, scratch: Path) -> dict:
    """Orchestrated minus plain, on the temporary server and on a running server (plus a re-run)."""
    plain = run_child("plain", raw_dir, _fresh(scratch / "plain"))
    temporary_home = _fresh(scratch / "temporary-home")
    temporary = run_child("flow", raw_dir, _fresh(scratch / "flow-temporary"), 1,
                          env=_child_env({"PREFECT_HOME": str(temporary_home)}))  # fmt: skip
    with prefect_server(_fresh(scratch / "server")) as api_url:
        served = run_child("flow", raw_dir, _fresh(scratch / "flow-server"), 2,
                           env=_child_env({"PREFECT_API_URL": api_url, "PREFECT_HOME": str(_fresh(scratch / "client-home"))}))  # fmt: skip
    return {
        "plain_seconds": plain["seconds"],
        "temporary_server_seconds": temporary["seconds"][0],
        "temporary_server_overhead_seconds": temporary["seconds"][0] - plain["seconds"],
        "running_server_seconds": served["seconds"][0],
        "running_server_overhead_seconds": served["seconds"][0] - plain["seconds"],
        "running_server_rerun_seconds": served["seconds"][1],
        "rerun_status": served["statuses"][1],
        "peak_rss_mb": max(plain["peak_rss_mb"], temporary["peak_rss_mb"], served["peak_rss_mb"]),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MiB: ``VmHWM``, which starts again at exec.

    Not ``ru_maxrss``: Linux hands a child the peak of the parent it was forked from, so a child
    started by a parent that generated ten million rows reported the generator's peak as its own.
    """
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmHWM:")) / 1024


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """This process's resident memory sampled every ``interval`` seconds while the block runs;
    ``peak`` is the highest seen (a caller may lower it to time a step of its own)."""

    def __init__(self, interval: float = 0.01):
        self.interval, self.peak, self._stop = interval, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            current = rss_mb()  # read first: a caller that lowers ``peak`` meanwhile is not undone by a stale peak
            self.peak = max(self.peak, current)

    def __enter__(self) -> "RssSampler":
        self.peak = rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def emit_json(result: dict, out: Path | None) -> None:
    """Print ``result`` as JSON, and write it to ``out`` when given."""
    text = json.dumps(result, indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    print(text)


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def measure_size(size: Size, scratch: Path) -> dict:
    """Generate the corpus of ``size`` and take every measurement of it."""
    raw_root = _fresh(scratch / "raw")
    started = time.perf_counter()
    generate_corpus(raw_root, size.articles, size.rows)
    result: dict = {"size": size.name, "articles": size.articles, "rows_per_article": size.rows,
                    "generate_seconds": time.perf_counter() - started}  # fmt: skip
    work = _fresh(scratch / "work")
    result["pipeline"] = run_child("pipeline", raw_root, work)
    result["frictionless"] = run_child("frictionless", work / "dist", size.frictionless_sample)
    if size.references:
        descriptor = next((work / "dist").glob("*/nagorno-karabakh-ceasefire/*/datapackage.json"))
        csv_path = descriptor.parent / "data" / "violations.csv"
        cli = str(Path(sys.executable).parent / "frictionless")
        # The CSV against its published schema, byte count and sha256: the check users run.
        reference = timed_command([cli, "validate", str(descriptor), "--resource-name", "violations"])
        reference["rows"] = result["pipeline"]["violation_rows"]
        reference["rows_per_s"] = reference["rows"] / reference["seconds"]
        result["frictionless_validate_csv"] = reference
        result["read_csv"] = run_child("read_csv", csv_path)
    if size.prefect:
        result["prefect"] = measure_prefect(next(raw_root.iterdir()), scratch / "prefect")
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def describe_machine() -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = match.group(1) if match else cpu
    ram_gib = None
    with contextlib.suppress(OSError, AttributeError):
        ram_gib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 1024**2
    libraries = {}
    for name in ("frictionless", "pandera", "pandas", "numpy", "pyarrow", "prefect", "prefect-dask", "dask"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            libraries[name] = metadata.version(name)
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": round(ram_gib, 1) if ram_gib else None,
            "os": platform.platform(), "python": platform.python_version(), "libraries": libraries}  # fmt: skip


def check_targets(results: dict) -> dict:
    """The issue's targets, each with the measured values and whether it is met."""
    sizes = results["sizes"]
    targets = {}
    big = sizes.get("1M")
    if big and "frictionless_validate_csv" in big:
        pipeline, reference = big["pipeline"]["seconds"]["end_to_end"], big["frictionless_validate_csv"]["seconds"]
        targets["1M faster than frictionless validate alone"] = {"pipeline_s": pipeline, "frictionless_validate_s": reference,
                                                              "met": pipeline < reference}  # fmt: skip
        targets["1M peak RSS <= 2 GB"] = {"peak_rss_mb": big["pipeline"]["peak_rss_mb"], "met": big["pipeline"]["peak_rss_mb"] <= 2048}
    if "100x" in sizes and "1000x" in sizes:
        ratio = sizes["1000x"]["pipeline"]["seconds"]["end_to_end"] / sizes["100x"]["pipeline"]["seconds"]["end_to_end"]
        targets["100x -> 1000x costs <= 11x"] = {"ratio": ratio, "met": ratio <= 11}
    seed = sizes.get("1x", {}).get("prefect")
    if seed:
        targets["unchanged seed re-run on a running server <= 2 s"] = {"seconds": seed["running_server_rerun_seconds"],
                                                                      "met": seed["running_server_rerun_seconds"] <= 2}  # fmt: skip
    return targets


def _fmt(value: object, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_markdown(results: dict) -> str:
    """The results table, the machine and the targets, as Markdown."""
    machine = results["machine"]
    libraries = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items())
    lines = [
        f"Measured {results['finished']} by `make bench` on {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['ram_gib']} GiB RAM, {machine['os']}, Python {machine['python']}; {libraries}.",
        "",
        "| size | articles | table rows | input MB | extraction MB/s | pandera rows/s | frictionless rows/s "
        "| publish s | end-to-end s | peak RSS MB | Prefect overhead, temporary server s | Prefect overhead, running server s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, size in results["sizes"].items():
        pipeline, prefect = size["pipeline"], size.get("prefect") or {}
        lines.append(
            f"| {name} | {size['articles']:,} | {pipeline['violation_rows']:,} | {pipeline['article_bytes'] / 1e6:,.1f} "
            f"| {_fmt(pipeline['extraction_mb_per_s'])} | {_fmt(pipeline['pandera_rows_per_s'], 0)} "
            f"| {_fmt(size['frictionless']['rows_per_s'], 0)} | {_fmt(pipeline['seconds']['publish'])} "
            f"| {_fmt(pipeline['seconds']['end_to_end'])} | {_fmt(pipeline['peak_rss_mb'], 0)} "
            f"| {_fmt(prefect.get('temporary_server_overhead_seconds'))} | {_fmt(prefect.get('running_server_overhead_seconds'))} |"
        )
    references = [(name, size) for name, size in results["sizes"].items() if "frictionless_validate_csv" in size]
    if references:
        lines += ["", "References on the same published `violations.csv`:", "",
                  "| size | rows | `frictionless validate` alone s | its rows/s | its peak RSS MB | pandas `read_csv` s | its rows/s | pipeline end-to-end s |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, size in references:
            ref, floor = size["frictionless_validate_csv"], size["read_csv"]
            lines.append(f"| {name} | {ref['rows']:,} | {_fmt(ref['seconds'])} | {_fmt(ref['rows_per_s'], 0)} "
                         f"| {_fmt(ref['peak_rss_mb'], 0)} | {_fmt(floor['seconds'], 2)} | {_fmt(floor['rows_per_s'], 0)} "
                         f"| {_fmt(size['pipeline']['seconds']['end_to_end'])} |")  # fmt: skip
    prefects = [(name, size["prefect"]) for name, size in results["sizes"].items() if size.get("prefect")]
    if prefects:
        lines += ["", "Prefect (one flow run of the first article; overhead = orchestrated minus `pipeline.run` of the same work):", "",
                  "| size | plain s | temporary server s | running server s | unchanged re-run on the running server s |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for name, p in prefects:
            lines.append(f"| {name} | {_fmt(p['plain_seconds'])} | {_fmt(p['temporary_server_seconds'])} "
                         f"| {_fmt(p['running_server_seconds'])} | {_fmt(p['running_server_rerun_seconds'])} ({p['rerun_status']}) |")  # fmt: skip
    if results.get("targets"):
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for target, values in results["targets"].items():
            measured = ", ".join(f"{k} {_fmt(v, 2)}" for k, v in values.items() if k != "met")
            lines.append(f"| {target} | {measured} | {'yes' if values['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"


def write_markdown(results: dict, docs: Path) -> None:
    """Replace the text between the results markers of ``docs`` with the table."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else f"# Benchmarks\n\n{START_MARK}\n{END_MARK}\n"
    before, _, rest = text.partition(START_MARK)
    _, _, after = rest.partition(END_MARK)
    docs.write_text(f"{before}{START_MARK}\n{render_markdown(results)}{END_MARK}{after}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--docs", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    results: dict = {"machine": describe_machine(), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="ceasefire-bench-") as scratch:
        for name in args.sizes:
            print(f"measuring {name} ...", flush=True)
            results["sizes"][name] = measure_size(SIZES[name], Path(scratch) / name)
            print(json.dumps(results["sizes"][name]["pipeline"]["seconds"]), flush=True)
    results["finished"] = time.strftime("%Y-%m-%d", time.gmtime())
    results["targets"] = check_targets(results)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_markdown(results, args.docs)
    print(render_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
