"""The review commands of ``ceasefire``: ``raw add``, ``correct``, ``ack``, ``approve-removal`` and ``findings``.

Thin: each parses its arguments, calls one function of ``ceasefire.review`` and prints what was
recorded. A decision that cannot be recorded exits with code 2 and a message; nothing is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from flows.console import Console, finding_line

EXIT_OK, EXIT_UNUSABLE = 0, 2
REVIEW_COMMANDS = ("raw", "correct", "ack", "approve-removal", "findings")
_ACKNOWLEDGEMENTS = Path("reviews") / "acknowledgements.json"


def add_review_commands(commands: argparse._SubParsersAction) -> None:
    raw = commands.add_parser("raw", help="register a new revision of a raw file (raw add)")
    raw_commands = raw.add_subparsers(dest="raw_command", required=True)
    add = raw_commands.add_parser(
        "add", help="copy FILE into raw/ under a dated name, record its sha256 and provenance, retire the old entry"
    )
    add.add_argument("file", type=Path, help="the new copy, UTF-8, in the raw format (raw/README.md)")
    add.add_argument("--role", required=True, help="article or cited_sentences")
    add.add_argument("--note", required=True, help="where the copy comes from: revision id, URL, how it was saved")
    add.add_argument("--retrieved", type=_iso_date, default=None, help="retrieval date YYYY-MM-DD (default: today, UTC)")
    add.add_argument("--replaces", default=None, help="the provenance entry it replaces (default: the one with --role)")
    add.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")

    correct = commands.add_parser("correct", help="record a reviewed correction of one field of one row")
    correct.add_argument("row_id", help="the row's id (violation_id or event_id)")
    correct.add_argument("field", help="the field to correct, e.g. date_text")
    correct.add_argument("value", help="the corrected value as in the CSV form ('' for empty)")
    correct.add_argument("--reason", required=True, help="why: the source or check that shows the value is wrong")
    correct.add_argument("--reviewer", default=None, help="who reviewed it (default: git config user.name)")
    correct.add_argument("--resource", default=None, help="violations or events, when the id alone is ambiguous")
    correct.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")
    correct.add_argument("--corrections", type=Path, default=None,
                         help="corrections file (default: reviews/corrections.json beside the raw folder)")  # fmt: skip

    ack = commands.add_parser("ack", help="acknowledge one finding of the last run, by its fingerprint")
    ack.add_argument("fingerprint", help="as `ceasefire findings` and the report show it")
    ack.add_argument("--reason", required=True, help="why the finding is accepted")
    ack.add_argument("--reviewer", default=None, help="who reviewed it (default: git config user.name)")
    ack.add_argument("--reports", type=Path, default=Path("reports"), help="report folder (default: reports)")
    ack.add_argument("--acknowledgements", type=Path, default=_ACKNOWLEDGEMENTS,
                     help=f"acknowledgements file (default: {_ACKNOWLEDGEMENTS})")  # fmt: skip

    removal = commands.add_parser("approve-removal", help="approve dropping one published row from the next version (MAJOR)")
    removal.add_argument("row_id", help="the published row's id, as the row-removed finding names it")
    removal.add_argument("--resource", required=True, help="violations or events")
    removal.add_argument("--reason", required=True, help="why the row goes: the source or check that shows it was wrong")
    removal.add_argument("--reviewer", default=None, help="who reviewed it (default: git config user.name)")
    removal.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    removal.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder (default: raw)")
    removal.add_argument("--removals", type=Path, default=None,
                         help="removals file (default: reviews/removals.json beside the raw folder)")  # fmt: skip

    findings = commands.add_parser("findings", help="list the last run's findings, or show one in full")
    findings.add_argument("fingerprint", nargs="?", help="show this finding in full, with its raw line")
    findings.add_argument("--rule", default=None, help="only this rule")
    findings.add_argument("--severity", choices=("error", "warning"), default=None, help="only this severity")
    findings.add_argument("--state", choices=("new", "known", "acknowledged"), default=None, help="only this state")
    findings.add_argument("--reports", type=Path, default=Path("reports"), help="report folder (default: reports)")


def run_review_command(args: argparse.Namespace) -> int:
    from ceasefire.errors import RawInputError
    from ceasefire.review.files import ReviewError

    handlers = {"raw": _raw_add, "correct": _correct, "ack": _ack, "approve-removal": _approve_removal, "findings": _findings}
    try:
        return handlers[args.command](args)
    except (ReviewError, RawInputError) as error:
        print(f"error: {error}; nothing was written", file=sys.stderr)
        return EXIT_UNUSABLE


def _raw_add(args: argparse.Namespace) -> int:
    from ceasefire.review.raw_revision import add_raw_revision

    revision = add_raw_revision(args.raw, args.file, args.role, args.note, args.retrieved or _today(),
                                replaces=args.replaces)  # fmt: skip
    print(f"added {args.raw / revision.path} ({revision.role}, {revision.lines} lines, sha256 {revision.sha256})")
    if revision.replaces:
        print(f"retired {revision.replaces}: it stays in {args.raw}/provenance.json under 'retired'")
    print("next: ceasefire validate")
    return EXIT_OK


def _correct(args: argparse.Namespace) -> int:
    from ceasefire.review.correction import record_correction
    from ceasefire.validate.corrections import default_corrections_file

    path = args.corrections or default_corrections_file(args.raw)
    applied = record_correction(args.raw, path, args.row_id, args.field, args.value, args.reason,
                                _reviewer(args.reviewer), _today(), resource=args.resource)  # fmt: skip
    c = applied.correction
    moved = f"; the row's id becomes {applied.new_id}" if applied.new_id != c.id else ""
    print(f"recorded in {path}: {c.resource} {c.id} {c.field}: {c.old_value!r} → {c.new_value!r}{moved}")
    print("next: ceasefire validate")
    return EXIT_OK


def _ack(args: argparse.Namespace) -> int:
    from ceasefire.review.acknowledgement import record_acknowledgement

    entry = record_acknowledgement(args.reports, args.acknowledgements, args.fingerprint, args.reason,
                                   _reviewer(args.reviewer), _today())  # fmt: skip
    print(f"acknowledged {entry['fingerprint']} in {args.acknowledgements}")
    print("next: ceasefire validate")
    return EXIT_OK


def _approve_removal(args: argparse.Namespace) -> int:
    from ceasefire import PACKAGE_NAME
    from ceasefire.review.removal import record_removal
    from ceasefire.validate.removals import default_removals_file

    path = args.removals or default_removals_file(args.raw)
    removal = record_removal(args.dist / PACKAGE_NAME, path, args.resource, args.row_id, args.reason,
                             _reviewer(args.reviewer), _today())  # fmt: skip
    print(f"approved in {path}: {removal.resource} {removal.id} may be dropped; the next release is MAJOR")
    print("next: ceasefire publish")
    return EXIT_OK


def _findings(args: argparse.Namespace) -> int:
    from ceasefire.review.last_run import find_finding, finding_state, load_last_report, select_findings

    report = load_last_report(args.reports)
    console = Console(sys.stdout, live=False)
    if args.fingerprint:
        for line in describe_finding(find_finding(report, args.fingerprint), report):
            print(line)
        return EXIT_OK
    selected = select_findings(report, rule=args.rule, severity=args.severity, state=args.state)
    for entry in selected:
        console.print(f"{entry['fingerprint']}  {finding_state(entry):<12} {finding_line(entry)}")
    run = report["run"]
    print(f"{len(selected)} of {len(report['findings'])} findings of run {run['id']} ({run['command']}, {report['status']}); "
          "show one with: ceasefire findings FINGERPRINT")  # fmt: skip
    return EXIT_OK


def describe_finding(entry: dict, report: dict) -> list[str]:
    """One finding in full: where, what, the rule's explanation, what to do, the raw line marked."""
    from ceasefire.review.last_run import finding_state

    rule = report.get("rules", {}).get(entry["rule"], {})
    lines = [finding_line(entry), ""]
    facts = [
        ("fingerprint", entry["fingerprint"]), ("state", finding_state(entry)), ("rule", f"{entry['rule']}: {rule.get('title', '')}"),
        ("resource", entry["resource"]), ("row", entry.get("row_id")), ("column", entry.get("column")),
        ("value", repr(entry["value"]) if entry.get("value") is not None else None), ("expected", entry.get("expected")),
        ("engine", entry["engine"]),
    ]  # fmt: skip
    if entry.get("acknowledged"):
        ack = entry["acknowledged"]
        facts.append(("acknowledged", f"{ack['reason']} ({ack['who']}, {ack['date']})"))
    lines += [f"  {name:<12} {value}" for name, value in facts if value]
    if entry.get("raw_line") is not None:
        prefix = f"  {entry['source_line']:>5} | "
        lines += ["", prefix + entry["raw_line"]]
        if entry.get("highlight"):
            start, end = entry["highlight"]
            lines.append(" " * (len(prefix) + start) + "^" * max(1, end - start))
    if rule.get("explanation"):
        lines += ["", f"  why: {rule['explanation']}"]
    if entry.get("fix") or rule.get("fix"):
        lines.append(f"  to do: {entry.get('fix') or rule['fix']}")
    return lines


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _reviewer(given: str | None) -> str:
    """``--reviewer``, else ``CEASEFIRE_REVIEWER``, else git's user.name; empty when none is set."""
    if given is not None:
        return given
    if os.environ.get("CEASEFIRE_REVIEWER"):
        return os.environ["CEASEFIRE_REVIEWER"]
    try:
        result = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()
