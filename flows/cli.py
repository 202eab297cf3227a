"""ceasefire: extract, validate and publish the Nagorno-Karabakh ceasefire dataset; record reviews.

Exit codes: 0 published or unchanged; 1 validation errors, nothing published; 2 unusable input,
arguments or output location (one line naming the path); 3 another run held the publish lock past
the timeout; 70 (EX_SOFTWARE) a bug in our code, with the traceback saved in the report folder. A
run that promoted a version always exits 0, even if refreshing the downloads failed (the next run
repairs them; the message says so). ``publish`` and ``validate`` write
the run's report into ``--reports`` (``runs/<run id>/`` and ``latest/``; see docs/REPORTS.md).

``ceasefire diff OLD NEW`` compares two published versions and ``ceasefire browse [VERSION]`` serves a
version's SQLite database with Datasette; neither needs Prefect, and neither do the review commands
(``raw add``, ``correct``, ``ack``, ``findings``: src/ceasefire/review/), which validate a decision
and write the reviewed file atomically.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from flows.review_commands import REVIEW_COMMANDS, add_review_commands, run_review_command

if TYPE_CHECKING:
    from flows.temporary_server import TemporaryServer

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE, EXIT_LOCKED, EXIT_SOFTWARE = 0, 1, 2, 3, 70


def _configure_prefect() -> None:
    """Keep Prefect's state in the project, not in the user's home, before Prefect is imported."""
    os.environ.setdefault("PREFECT_HOME", str(Path.cwd() / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ceasefire", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version_text())
    commands = parser.add_subparsers(dest="command", required=True)
    publish = commands.add_parser("publish", help="extract, validate and publish a new version (Prefect flow)")
    publish.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")
    publish.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    _add_task_runner_arguments(publish)
    serve = commands.add_parser(
        "serve", help="serve the scheduled deployment publish-dataset/nightly on the Prefect server at PREFECT_API_URL"
    )
    serve.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")
    serve.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    serve.add_argument("--name", help="deployment name (default: nightly)")
    serve.add_argument("--cron", help="schedule, cron syntax in UTC (default: 0 3 * * *, daily at 03:00)")
    serve.add_argument("--interval", type=float, metavar="SECONDS",
                       help="schedule a run every SECONDS instead of the cron schedule (for trying it out, tests)")  # fmt: skip
    serve.add_argument("--no-schedule", action="store_true", help="no schedule: runs start only when triggered")
    _add_task_runner_arguments(serve)
    automations = commands.add_parser("automations", help="Prefect automations on the server at PREFECT_API_URL")
    apply = automations.add_subparsers(dest="automations_command", required=True).add_parser(
        "apply", help="notify the maintainers when a publish-dataset run fails (docs/SCHEDULED_RUNS.md)"
    )
    target = apply.add_mutually_exclusive_group(required=True)
    target.add_argument("--webhook-url", help="POST the notification as JSON to this URL (saves a custom-webhook block)")
    target.add_argument("--block", help="send it through a saved notification block, TYPE/NAME, e.g. slack-webhook/maintainers")
    validate = commands.add_parser("validate", help="extract and validate only; writes the report, publishes nothing")
    validate.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")
    diff = commands.add_parser("diff", help="what changed between two published versions")
    diff.add_argument("old", help="the earlier version, e.g. 1.0.0")
    diff.add_argument("new", help="the later version, e.g. 1.1.0")
    diff.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")
    add_review_commands(commands)
    validate.add_argument("--dist", type=Path, default=Path("dist"),
                          help="publication folder the report compares with (default: dist)")  # fmt: skip
    browse = commands.add_parser("browse", help="browse a published version's SQLite database in Datasette on 127.0.0.1")
    browse.add_argument("version", nargs="?", help="the version, e.g. 1.1.0 (default: the latest)")
    browse.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    browse.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default: 8001)")
    for command in (publish, validate):
        command.add_argument("--verbose", action="store_true", help="show Prefect's own log lines too")
        command.add_argument("--corrections", type=Path, default=None, help=_CORRECTIONS_HELP)
        command.add_argument("--reports", type=Path, default=Path("reports"), help="report folder (default: reports)")
        command.add_argument(
            "--acknowledgements", type=Path, default=Path("reviews/acknowledgements.json"),
            help="reviewed, acknowledged findings (default: reviews/acknowledgements.json)",
        )  # fmt: skip
    return parser


_CORRECTIONS_HELP = "reviewed corrections file (default: reviews/corrections.json beside the raw folder)"


def _version_text() -> str:
    from importlib import metadata

    try:
        return f"ceasefire {metadata.version('nagorno-karabakh-ceasefire')}"
    except metadata.PackageNotFoundError:
        return "ceasefire (not installed)"


def published_versions_text(package_dir: Path) -> str:
    """Which versions exist, for a message about one that does not."""
    from ceasefire.publish.publishing import list_versions

    versions = list_versions(package_dir)
    return f"published versions: {', '.join(map(str, versions))}" if versions else f"nothing is published in {package_dir}"


def _diff(args: argparse.Namespace) -> int:
    import json

    from ceasefire import PACKAGE_NAME
    from ceasefire.publish.releases import compare, corrections_added, render_diff_text, snapshot_from_folder

    package_dir = args.dist / PACKAGE_NAME
    snapshots = []
    for version in (args.old, args.new):
        folder = package_dir / version
        if not (folder / "datapackage.json").is_file():
            print(f"error: {folder} is not a published version; {published_versions_text(package_dir)}", file=sys.stderr)
            return EXIT_UNUSABLE
        snapshots.append(snapshot_from_folder(folder))
    old, new = snapshots
    if args.json:
        record = {"old": args.old, "new": args.new, **compare(old, new).to_dict(), "corrections_applied": corrections_added(old, new)}
        print(json.dumps(record, ensure_ascii=False, indent=2))
    else:
        print(render_diff_text(args.old, args.new, old, new), end="")
    return EXIT_OK


def _browse(args: argparse.Namespace) -> int:
    """Serve one version's database with Datasette until interrupted; needs no Prefect."""
    import json
    import subprocess
    import tempfile

    from ceasefire import PACKAGE_NAME
    from ceasefire.publish.browse import datasette_command, write_datasette_metadata
    from ceasefire.publish.formats import SQLITE_PATH

    package_dir = args.dist / PACKAGE_NAME
    version = args.version
    if version is None:
        latest = package_dir / "latest.json"
        if not latest.is_file():
            print(f"error: {package_dir} holds no published version", file=sys.stderr)
            return EXIT_UNUSABLE
        version = json.loads(latest.read_text(encoding="utf-8"))["version"]
    folder = package_dir / version
    if not (folder / SQLITE_PATH).is_file():
        reason = "is not a published version" if not (folder / "datapackage.json").is_file() else "has no SQLite database (published before there was one)"
        print(f"error: {folder} {reason}", file=sys.stderr)
        return EXIT_UNUSABLE
    with tempfile.TemporaryDirectory(prefix="ceasefire-browse-") as scratch:
        metadata = write_datasette_metadata(folder, Path(scratch) / "metadata.json")
        print(f"browse {PACKAGE_NAME} {version} at http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
        try:
            return subprocess.run(datasette_command(folder, metadata, args.port)).returncode
        except KeyboardInterrupt:
            return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    """Extract and validate, write the report; exit 1 on errors, 2 (raised) on unusable input."""
    from ceasefire import pipeline
    from ceasefire.contracts.vocabularies import load_contracts
    from ceasefire.errors import RawInputError
    from ceasefire.extract.raw import read_raw_dir
    from ceasefire.plurals import plural
    from ceasefire.report.build import report_url, start_run
    from ceasefire.validate.corrections import default_corrections_file, load_corrections
    from flows.console import Console, describe_release_changes

    pipeline.check_output_location(args.reports)
    console = Console()
    run = start_run("validate", args.reports, args.acknowledgements)
    try:
        with console.step("read") as note:
            corpus = read_raw_dir(args.raw)
            note.append(f"{plural(len(corpus.documents), 'raw file')}, {plural(sum(len(d.lines) for d in corpus.documents), 'line')}")
        with console.step("extract") as note:
            contracts = load_contracts()
            extractions = pipeline.extract(corpus, contracts)
            note.append(", ".join(plural(len(e.frame), name.removesuffix("s"), name) for name, e in extractions.items()))
        with console.step("validate") as note:
            corrections = load_corrections(args.corrections or default_corrections_file(args.raw))
            build = pipeline.validate(corpus, contracts, extractions, corrections)
            note.append(f"{plural(build.counts['error'], 'error')}, {plural(build.counts['warning'], 'warning')}")
    except RawInputError as error:
        folder = pipeline.write_input_error_report(error, run, args.reports)
        print(f"report: {report_url(folder / 'report.html')}", file=sys.stderr)
        raise
    outcome = pipeline.Outcome("failed" if build.counts["error"] else "validated", None, build.findings,
                               {name: len(e.frame) for name, e in extractions.items()},
                               message="validate only: nothing published")  # fmt: skip
    with console.step("report") as note:
        folder = pipeline.write_report(build, outcome, run, args.reports, args.dist)
        note.append("report.json, report.html")
    report = _read_report(folder)
    console.findings(report)
    since = describe_release_changes(report.get("since_release"))
    console.summary(f"validation {build.status}", report, stream=sys.stdout,
                    tail="nothing published" + (f"; {since}" if since else ""))  # fmt: skip
    print(f"report: {report_url(folder / 'report.html')}", flush=True)
    return EXIT_INVALID if build.counts["error"] else EXIT_OK


def _read_report(folder: Path) -> dict:
    import json

    return json.loads((folder / "report.json").read_text(encoding="utf-8"))


def _add_task_runner_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--task-runner", choices=("threads", "dask"), default="threads",
                         help="where tasks run: a thread pool (default) or Dask")  # fmt: skip
    command.add_argument("--dask-address", default=None,
                         help="scheduler of an existing Dask cluster, e.g. tcp://127.0.0.1:8786 (default: a LocalCluster)")  # fmt: skip
    command.add_argument("--dask-workers", type=int, default=2, help="worker processes of the LocalCluster (default: 2)")


def _task_runner_parameters(args: argparse.Namespace) -> dict:
    return {"task_runner": args.task_runner, "dask_address": args.dask_address, "dask_workers": args.dask_workers}


def _serve(args: argparse.Namespace) -> int:
    if not os.environ.get("PREFECT_API_URL"):
        print("error: set PREFECT_API_URL to a running Prefect server, e.g. http://127.0.0.1:4200/api "
              "(see docs/SCHEDULED_RUNS.md)", file=sys.stderr)  # fmt: skip
        return EXIT_UNUSABLE
    from flows.deployment import build_deployment, serve_deployment

    options = {"name": args.name, "cron": args.cron}
    options = {key: value for key, value in options.items() if value is not None}
    if args.interval is not None:
        options.update(cron=None, interval=args.interval)
    if args.no_schedule:
        options.update(cron=None, interval=None)
    deployment = build_deployment(args.raw, args.dist, **options, **_task_runner_parameters(args))
    serve_deployment(deployment)
    return EXIT_OK


def _publish(args: argparse.Namespace, server: TemporaryServer | None) -> int:
    """Run the flow with step lines and findings on the console; Prefect's own lines only if --verbose."""
    from ceasefire.errors import RawInputError
    from ceasefire.extract.raw import load_provenance
    from ceasefire.report.build import read_latest_report
    from flows.console import Console, prefect_steps
    from ceasefire.pipeline import check_output_location
    from flows.publish import ValidationFailed, publish_dataset

    for folder in (args.dist, args.reports):  # before Prefect starts: exit 2 at once
        check_output_location(folder)
    console = Console()
    try:
        expected = {"read": len(load_provenance(args.raw)["files"])}
    except RawInputError:  # the flow itself reports unusable input, with its report
        expected = {}
    if server is not None:  # started before the heavy imports; its start-up overlapped them
        with console.step("server") as note:
            server.wait_until_healthy()
            note.append("Prefect's temporary server started")
    try:
        with prefect_steps(console, expected, verbose=args.verbose):
            outcome = publish_dataset(
                raw_dir=str(args.raw), dist_dir=str(args.dist), reports_dir=str(args.reports),
                acknowledgements=str(args.acknowledgements),
                corrections_file=str(args.corrections) if args.corrections else None,
                **_task_runner_parameters(args),
            )  # fmt: skip
    except ValidationFailed:
        report = read_latest_report(args.reports)
        if report:
            console.findings(report)
        console.summary("FAILED", report, tail=f"nothing published; {args.dist} is unchanged")
        print(f"report: {(args.reports / 'latest' / 'report.html').resolve().as_uri()}", file=sys.stderr, flush=True)
        return EXIT_INVALID
    report = read_latest_report(args.reports)
    if report:
        console.findings(report)
    console.summary(outcome.message, report, stream=sys.stdout)
    print(f"report: {(args.reports / 'latest' / 'report.html').resolve().as_uri()}", flush=True)
    return EXIT_OK


def _apply_automations(args: argparse.Namespace) -> int:
    if not os.environ.get("PREFECT_API_URL"):
        print("error: set PREFECT_API_URL to the Prefect server that runs the deployment", file=sys.stderr)
        return EXIT_UNUSABLE
    from flows.automations import apply_failure_automation, find_block_id, save_webhook_block

    block_id = save_webhook_block(args.webhook_url) if args.webhook_url else find_block_id(args.block)
    automation = apply_failure_automation(block_id)
    print(f"automation {automation.name} ({automation.id}): notifies block {block_id} when a publish-dataset run fails")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "dask_address", None) and args.task_runner != "dask":
        parser.error("--dask-address needs --task-runner dask")
    if getattr(args, "dask_workers", 1) < 1:
        parser.error("--dask-workers must be at least 1")
    if args.command == "diff":
        try:
            return _diff(args)
        except Exception as error:  # a bug, or a version folder damaged by hand: one line, exit 70
            return _report_bug(error, Path("reports"))
    if args.command in REVIEW_COMMANDS:
        return run_review_command(args)
    if args.command == "browse":
        return _browse(args)
    _configure_prefect()
    from flows.temporary_server import start_temporary_server

    # Started before the heavy imports below, so the server's start-up overlaps them.
    server = start_temporary_server() if args.command == "publish" else None
    from ceasefire.errors import InternalError, OutputLocationError, PublishLockTimeout, RawInputError

    try:
        if args.command == "validate":
            return _validate(args)

        if args.command == "serve":
            return _serve(args)

        if args.command == "automations":
            return _apply_automations(args)

        return _publish(args, server)
    except RawInputError as error:
        print(f"error: unusable input: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OutputLocationError as error:
        print(f"error: output location: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except PublishLockTimeout as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except InternalError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_SOFTWARE
    except OSError as error:  # the disk, not our code: a report or lock that could not be written
        print(f"error: output location: {error.filename or args.reports}: {error.strerror or error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as error:  # a bug outside the flow: save the traceback, print one line
        return _report_bug(error, getattr(args, "reports", Path("reports")))


def _report_bug(error: Exception, reports_dir: Path) -> int:
    """Exit 70 with one line; the traceback goes to ``runs/<id>/traceback.txt`` under the reports folder."""
    import datetime as dt
    import traceback

    from ceasefire.errors import InternalError
    from ceasefire.pipeline import write_traceback
    from ceasefire.report.build import make_run_id

    saved = write_traceback(reports_dir, make_run_id(dt.datetime.now(dt.timezone.utc)), traceback.format_exc())
    summary = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    print(f"error: {InternalError(summary, str(saved) if saved else None)}", file=sys.stderr)
    return EXIT_SOFTWARE


if __name__ == "__main__":
    sys.exit(main())
