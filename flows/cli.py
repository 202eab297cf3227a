"""``ceasefire`` command line.

Exit codes: 0 published or unchanged; 1 validation errors, nothing published; 2 unusable input or
arguments; 3 another run held the publish lock past the timeout. ``publish`` and ``validate`` write
the run's report into ``--reports`` (``runs/<run id>/`` and ``latest/``; see docs/REPORTS.md).

``ceasefire diff OLD NEW`` compares two published versions and ``ceasefire browse [VERSION]`` serves a
version's SQLite database with Datasette; neither needs Prefect.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE, EXIT_LOCKED = 0, 1, 2, 3


def _configure_prefect() -> None:
    """Keep Prefect's state in the project, not in the user's home, before Prefect is imported."""
    os.environ.setdefault("PREFECT_HOME", str(Path.cwd() / ".prefect"))
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ceasefire", description=__doc__.splitlines()[0])
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
    serve.add_argument("--no-schedule", action="store_true", help="no schedule: runs start only when triggered")
    _add_task_runner_arguments(serve)
    validate = commands.add_parser("validate", help="extract and validate only; writes the report, publishes nothing")
    validate.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")
    diff = commands.add_parser("diff", help="what changed between two published versions")
    diff.add_argument("old", help="the earlier version, e.g. 1.0.0")
    diff.add_argument("new", help="the later version, e.g. 1.1.0")
    diff.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")
    browse = commands.add_parser("browse", help="browse a published version's SQLite database in Datasette on 127.0.0.1")
    browse.add_argument("version", nargs="?", help="the version, e.g. 1.1.0 (default: the latest)")
    browse.add_argument("--dist", type=Path, default=Path("dist"), help="publication folder (default: dist)")
    browse.add_argument("--port", type=int, default=8001, help="port on 127.0.0.1 (default: 8001)")
    for command in (publish, validate):
        command.add_argument("--corrections", type=Path, default=None, help=_CORRECTIONS_HELP)
        command.add_argument("--reports", type=Path, default=Path("reports"), help="report folder (default: reports)")
        command.add_argument(
            "--acknowledgements", type=Path, default=Path("reviews/acknowledgements.json"),
            help="reviewed, acknowledged findings (default: reviews/acknowledgements.json)",
        )  # fmt: skip
    return parser


_CORRECTIONS_HELP = "reviewed corrections file (default: reviews/corrections.json beside the raw folder)"


def _diff(args: argparse.Namespace) -> int:
    import json

    from ceasefire import PACKAGE_NAME
    from ceasefire.publish.releases import compare, corrections_added, render_diff_text, snapshot_from_folder

    package_dir = args.dist / PACKAGE_NAME
    snapshots = []
    for version in (args.old, args.new):
        folder = package_dir / version
        if not (folder / "datapackage.json").is_file():
            print(f"error: {folder} is not a published version", file=sys.stderr)
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
    from ceasefire.errors import RawInputError
    from ceasefire.report.build import report_url, start_run

    run = start_run("validate", args.reports, args.acknowledgements)
    try:
        build = pipeline.build_dataset(args.raw, corrections_file=args.corrections)
    except RawInputError as error:
        folder = pipeline.write_input_error_report(error, run, args.reports)
        print(f"report: {report_url(folder / 'report.html')}", file=sys.stderr)
        raise
    outcome = pipeline.Outcome("failed" if build.counts["error"] else "validated", None, build.findings,
                               {name: len(e.frame) for name, e in build.extractions.items()},
                               message="validate only: nothing published")  # fmt: skip
    folder = pipeline.write_report(build, outcome, run, args.reports)
    _print_findings(build.findings, sys.stderr)
    print(f"validation {build.status}: {build.counts['error']} errors, {build.counts['warning']} warnings")
    print(f"report: {report_url(folder / 'report.html')}")
    return EXIT_INVALID if build.counts["error"] else EXIT_OK


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
    if args.no_schedule:
        options["cron"] = None
    deployment = build_deployment(args.raw, args.dist, **options, **_task_runner_parameters(args))
    serve_deployment(deployment)
    return EXIT_OK


def _print_findings(findings, stream) -> None:
    for finding in findings:
        print(finding.format(), file=stream)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "dask_address", None) and args.task_runner != "dask":
        parser.error("--dask-address needs --task-runner dask")
    if getattr(args, "dask_workers", 1) < 1:
        parser.error("--dask-workers must be at least 1")
    if args.command == "diff":
        return _diff(args)
    if args.command == "browse":
        return _browse(args)
    _configure_prefect()
    from ceasefire.errors import PublishLockTimeout, RawInputError

    try:
        if args.command == "validate":
            return _validate(args)

        if args.command == "serve":
            return _serve(args)

        from flows.publish import ValidationFailed, publish_dataset

        try:
            outcome = publish_dataset(
                raw_dir=str(args.raw), dist_dir=str(args.dist), reports_dir=str(args.reports),
                acknowledgements=str(args.acknowledgements),
                corrections_file=str(args.corrections) if args.corrections else None,
                **_task_runner_parameters(args),
            )  # fmt: skip
        except ValidationFailed as failure:
            _print_findings(failure.outcome.findings, sys.stderr)
            print(f"FAILED: {failure}; {args.dist} is unchanged", file=sys.stderr)
            return EXIT_INVALID
        _print_findings(outcome.findings, sys.stderr)
        print(f"{outcome.status}: {outcome.message} ({outcome.counts['warning']} warnings)")
        print(f"report: {(args.reports / 'latest' / 'report.html').resolve().as_uri()}")
        return EXIT_OK
    except RawInputError as error:
        print(f"error: unusable input: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except PublishLockTimeout as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_LOCKED


if __name__ == "__main__":
    sys.exit(main())
