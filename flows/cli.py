"""``ceasefire`` command line.

Exit codes: 0 published or unchanged; 1 validation errors, nothing published; 2 unusable input or
arguments; 3 another run held the publish lock past the timeout.
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
    validate = commands.add_parser("validate", help="extract and validate only; publishes nothing")
    validate.add_argument("--raw", type=Path, default=Path("raw"), help="raw folder with provenance.json (default: raw)")
    return parser


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
    _configure_prefect()
    from ceasefire.errors import PublishLockTimeout, RawInputError

    try:
        if args.command == "validate":
            from ceasefire.pipeline import build_dataset

            build = build_dataset(args.raw)
            _print_findings(build.findings, sys.stderr)
            print(f"validation {build.status}: {build.counts['error']} errors, {build.counts['warning']} warnings")
            return EXIT_INVALID if build.counts["error"] else EXIT_OK

        if args.command == "serve":
            return _serve(args)

        from flows.publish import ValidationFailed, publish_dataset

        try:
            outcome = publish_dataset(raw_dir=str(args.raw), dist_dir=str(args.dist), **_task_runner_parameters(args))
        except ValidationFailed as failure:
            _print_findings(failure.outcome.findings, sys.stderr)
            print(f"FAILED: {failure}; {args.dist} is unchanged", file=sys.stderr)
            return EXIT_INVALID
        _print_findings(outcome.findings, sys.stderr)
        print(f"{outcome.status}: {outcome.message} ({outcome.counts['warning']} warnings)")
        return EXIT_OK
    except RawInputError as error:
        print(f"error: unusable input: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except PublishLockTimeout as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_LOCKED


if __name__ == "__main__":
    sys.exit(main())
