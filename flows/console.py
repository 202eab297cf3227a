"""What the ``ceasefire`` command prints for people: steps with timings, findings, one summary.

A run prints one line per step of the pipeline (read, extract, validate, publish, report) with
what it did and how long it took, then each finding once in the style of a compiler message
(``file:line:col: severity rule: message``) cut to the terminal's width, then a summary line and
the report's URL. The full text of every finding is in the report. On a terminal a step that is
still running shows a live timer, so a long step (the Prefect server starting) is never silent.

Prefect's own console logging is switched off unless ``--verbose``; :class:`PrefectSteps` turns
the flow's log records into the same step lines.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

from ceasefire.plurals import plural

# Findings of one rule printed in full before the rest are counted (the report lists them all).
FINDINGS_PER_RULE = 5
STEP_WIDTH = 9
DETAIL_WIDTH = 48
PROGRESS_INTERVAL = 0.25


def terminal_width(stream: TextIO) -> int | None:
    """The width to cut lines at: ``COLUMNS``, else the terminal's; None (no cut) into a pipe or file."""
    if os.environ.get("COLUMNS", "").isdigit():
        return max(40, int(os.environ["COLUMNS"]))
    try:
        return max(40, os.get_terminal_size(stream.fileno()).columns) if stream.isatty() else None
    except (AttributeError, OSError, ValueError):
        return None


def cut(line: str, width: int | None) -> str:
    """``line`` cut to ``width`` characters, ending in "…" when something was cut.

    Example:
        >>> cut("abcdefgh", 5), cut("abc", 5), cut("abc", None)
        ('abcd…', 'abc', 'abc')
    """
    return line if width is None or len(line) <= width else line[: width - 1] + "…"


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``12.3 s``, ``2 min 05 s``.

    Example:
        >>> format_duration(0.04), format_duration(125.2)
        ('0.0 s', '2 min 05 s')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def finding_line(entry: dict) -> str:
    """One finding of a report, compiler style: ``file:line:col: severity rule: message (details)``."""
    details = []
    if entry.get("row_id"):
        details.append(f"row {entry['row_id']}")
    if entry.get("column"):
        details.append(f"column {entry['column']}")
    if entry.get("value") is not None:
        details.append(f"value {entry['value']!r}")
    if entry.get("expected") is not None:
        details.append(f"expected {entry['expected']}")
    text = f"{entry['location']}: {entry['severity']} {entry['rule']}: {entry['message']}"
    return text + (f" ({', '.join(details)})" if details else "")


class Console:
    """Step lines, findings and the summary on one stream, flushed line by line."""

    def __init__(self, stream: TextIO | None = None, *, width: int | None = None, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):  # fmt: skip
        self.stream = stream or sys.stderr
        self.width = width or terminal_width(self.stream)
        self.live = self.stream.isatty() if live is None else live
        self.clock = clock
        self.started = clock()
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    def print(self, line: str = "") -> None:
        # Written, not print()ed: inside a flow with log_prints, Prefect turns print() into log records.
        with self._lock:
            self._clear_progress()
            self.stream.write((cut(line, self.width) if line else line) + "\n")
            self.stream.flush()

    # --- steps -----------------------------------------------------------------------------------

    def begin(self, step: str) -> None:
        """A step starts; on a terminal a live timer runs until :meth:`end`."""
        self._running.setdefault(step, self.clock())
        if self.live and self._ticker is None:
            self._stop.clear()
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()

    def end(self, step: str, detail: str = "", *, failed: bool = False) -> None:
        started = self._running.pop(step, None)
        elapsed = self.clock() - started if started is not None else 0.0
        mark = "✗" if failed else "✓"
        duration = format_duration(elapsed)
        room = min(self.width or DETAIL_WIDTH + STEP_WIDTH + 3, DETAIL_WIDTH + STEP_WIDTH + 3) - len(duration) - 1
        self.print(f"{cut(f'{mark} {step:<{STEP_WIDTH}} {detail}', room):<{room}} {duration}")
        if not self._running:
            self._stop_ticker()

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time the block as step ``name``; append a detail to the yielded list to print it."""
        detail: list[str] = []
        self.begin(name)
        try:
            yield detail
        except BaseException:
            self.end(name, " ".join(detail) or "failed", failed=True)
            raise
        self.end(name, " ".join(detail))

    def _tick(self) -> None:
        while not self._stop.wait(PROGRESS_INTERVAL):
            with self._lock:
                if not self._running:
                    continue
                step, started = next(iter(self._running.items()))
                text = f"… {step:<{STEP_WIDTH}} {format_duration(self.clock() - started)}"
                self.stream.write("\r" + cut(text, self.width) + "\x1b[K")
                self.stream.flush()

    def _clear_progress(self) -> None:
        if self.live and self._ticker is not None:
            self.stream.write("\r\x1b[K")

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._stop.set()
            self._ticker.join()
            self._ticker = None

    def is_running(self, step: str) -> bool:
        return step in self._running

    def forget_running(self) -> None:
        """Drop steps that never reported their end (a task on a Dask worker logs elsewhere)."""
        self._running.clear()
        self._stop_ticker()

    # --- findings and summary --------------------------------------------------------------------

    def findings(self, report: dict, per_rule: int = FINDINGS_PER_RULE) -> None:
        """Each finding that is not acknowledged, once; past ``per_rule`` of a rule, a count."""
        shown: dict[str, int] = {}
        hidden: dict[str, int] = {}
        for entry in report["findings"]:
            if entry.get("acknowledged"):
                continue
            rule = entry["rule"]
            if shown.get(rule, 0) < per_rule:
                shown[rule] = shown.get(rule, 0) + 1
                self.print(finding_line(entry))
            else:
                hidden[rule] = hidden.get(rule, 0) + 1
        severity = {entry["rule"]: entry["severity"] for entry in report["findings"]}
        for rule, count in hidden.items():
            self.print(f"… and {plural(count, 'more ' + severity[rule])}: ceasefire findings --rule {rule}")

    def summary(self, headline: str, report: dict | None, *, stream: TextIO | None = None, tail: str = "") -> str:
        """``headline: N errors, M warnings (k new, a acknowledged) · tail · T s``; printed and returned."""
        line = headline
        if report is not None:
            counts = report["counts"]
            severity = counts["by_severity"]
            states = [f"{counts['new']} new"] + ([f"{counts['acknowledged']} acknowledged"] if counts["acknowledged"] else [])
            line += f": {plural(severity['error'], 'error')}, {plural(severity['warning'], 'warning')} ({', '.join(states)})"
        line += (f" · {tail}" if tail else "") + f" · {format_duration(self.clock() - self.started)}"
        with self._lock:
            (stream or self.stream).write(line + "\n")
            (stream or self.stream).flush()
        return line


def describe_release_changes(since: dict | None) -> str:
    """The report's ``since_release`` in a few words, for the summary line ("" when nothing is published).

    Example:
        >>> describe_release_changes({"version": "1.1.0", "changes": {"bump": "patch", "resources": {
        ...     "violations": {"rows_added": [], "rows_removed": ["a"], "rows_changed": ["b", "c"]}}}})
        'since 1.1.0 (patch): violations 1 row removed, 2 rows changed'
    """
    if not since:
        return ""
    version, changes = since["version"], since["changes"]
    if changes is None:
        return f"data not compared with {version}: the run has errors"
    if changes["bump"] == "none":
        return f"data unchanged since {version}"
    parts = []
    for name, resource in changes["resources"].items():
        counts = [f"{plural(len(resource[key]), 'row')} {verb}"
                  for key, verb in (("rows_added", "added"), ("rows_removed", "removed"), ("rows_changed", "changed"))
                  if resource[key]]  # fmt: skip
        if counts:
            parts.append(f"{name} {', '.join(counts)}")
    return f"since {version} ({changes['bump']}): {'; '.join(parts) or 'schema or metadata changed'}"


# --- Prefect ---------------------------------------------------------------------------------------

# Task name -> the step it is. Log records of a task carry its name (``record.task_name``).
TASK_STEPS = {"read-raw-document": "read", "extract": "extract", "validate": "validate", "publish": "publish",
              "write-report": "report"}  # fmt: skip
_FINISHED = re.compile(r"^Finished in state (\w+)")


def silence_prefect_console() -> None:
    """Turn off Prefect's console handlers (its INFO chatter and the findings it logs again).

    Records still reach Prefect's API handler, so the UI keeps every log line.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in [logging.getLogger(), *[obj for obj in logging.Logger.manager.loggerDict.values()
                                          if isinstance(obj, logging.Logger)]]:  # fmt: skip
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.CRITICAL + 1)


class PrefectSteps(logging.Handler):
    """Turns the ``publish-dataset`` flow's log records into step lines on a :class:`Console`.

    A step starts when the one before it ends (the flow's steps run one after another) and ends
    when all its task runs have finished; ``expected`` says how many runs a task maps over.
    """

    def __init__(self, console: Console, expected: dict[str, int] | None = None):
        super().__init__(logging.INFO)
        self.console = console
        self.expected = {step: 1 for step in TASK_STEPS.values()} | (expected or {})
        self.finished: dict[str, int] = {}
        self.details: dict[str, list[str]] = {}
        self.cached: set[str] = set()
        self.files = self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._handle(record)
        except Exception:  # a console glitch must never fail the run
            self.handleError(record)

    def _handle(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "prefect" and message.startswith("Starting temporary server"):
            self.console.begin("server")
            return
        if record.name == "prefect.flow_runs" and message.startswith("Beginning flow run"):
            if self.console.is_running("server"):
                self.console.end("server", "Prefect's temporary server started")
            self.console.begin(TASK_STEPS["read-raw-document"])
            return
        step = TASK_STEPS.get(getattr(record, "task_name", None) or "")
        if step is None:
            return
        finished = _FINISHED.match(message)
        if finished is None:
            self._note(step, record)
            return
        state = finished.group(1)
        if state == "Cached":
            self.cached.add(step)
        self.finished[step] = self.finished.get(step, 0) + 1
        failed = state in ("Failed", "Crashed")
        if failed or self.finished[step] >= self.expected[step]:
            detail = "; ".join(self.details.get(step, [])) + (" (cached)" if step in self.cached else "")
            self.console.end(step, detail.strip(), failed=failed)
            following = _next_step(step)
            if following and not failed:
                self.console.begin(following)

    def _note(self, step: str, record: logging.LogRecord) -> None:
        """What a step's own log lines say (their arguments), shortened for its step line."""
        args = record.args if isinstance(record.args, tuple) else ()
        notes = self.details.setdefault(step, [])
        if step == "read" and len(args) >= 3:  # "read %s (%s): %d lines, sha256 %s"
            self.files += 1
            self.lines += int(args[2])
            notes[:] = [f"{plural(self.files, 'raw file')}, {plural(self.lines, 'line')}"]
        elif step == "extract" and len(args) == 3:  # "extracted %d %s rows from %s"
            name = str(args[1])
            notes.append(plural(int(args[0]), name.removesuffix("s"), name))
        elif step == "validate" and len(args) == 3 and record.getMessage().startswith("validation "):
            notes[:] = [f"{plural(int(args[1]), 'error')}, {plural(int(args[2]), 'warning')}"]
        elif step == "publish" and record.levelno >= logging.WARNING:
            self.console.print(f"  {record.getMessage()}")  # the run waits for another run's publish lock
        elif step == "publish" and not args:
            notes[:] = [record.getMessage()]


def _next_step(step: str) -> str | None:
    order = list(dict.fromkeys(TASK_STEPS.values()))
    index = order.index(step)
    return order[index + 1] if index + 1 < len(order) else None


@contextmanager
def prefect_steps(console: Console, expected: dict[str, int], *, verbose: bool) -> Iterator[PrefectSteps]:
    """Listen to Prefect's records for the duration of a flow call; silence its console unless verbose."""
    if not verbose:
        silence_prefect_console()
    listener = PrefectSteps(console, expected)
    logger = logging.getLogger("prefect")
    logger.addHandler(listener)
    try:
        yield listener
    finally:
        logger.removeHandler(listener)
        console.forget_running()
