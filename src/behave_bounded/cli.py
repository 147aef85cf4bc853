"""``behave-bounded``: the command line.

Our options are parsed here; everything else (behave's options and the paths) is handed to
behave's own parser unchanged, so ``behave-bounded -t @smoke features/`` means what
``behave -t @smoke features/`` means. User errors print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from behave_bounded import __version__
from behave_bounded.config import OPTIONS, Kind, resolve
from behave_bounded.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_USAGE,
    BoundedError,
    CollectionError,
    UsageError,
)

EPILOG = """\
Subcommands: `behave-bounded validate-tags [PATHS]` checks TDD and memory-budget tags only;
`behave-bounded merge-reports OUT --json|--junit|--html FILES...` merges shard reports;
`behave-bounded merge-durations OUT FILES...` merges the shards' durations.json files.
Any other option, and the paths, go to behave (see `behave --help`): -t/--tags, -n/--name,
-i/-e, -D name=value, --dry-run, --stop, -f/--format, ... Settings also come from the
environment (BEHAVE_BOUNDED_<NAME>) and from [tool.behave-bounded] in pyproject.toml;
the command line wins over the environment, which wins over pyproject.toml.
Exit codes: 0 passed, 1 failed, 2 usage, configuration or collection error,
130/143 interrupted."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump, exit 2
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """Our flags, one per entry of the options table (a switch has its ``--no-`` twin)."""
    parser = _Parser(
        prog="behave-bounded",
        description="Run behave features in parallel with bounded output, memory and time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="help", help="show this help and exit")
    parser.add_argument("--version", action="version", version=f"behave-bounded {__version__}")
    for option in OPTIONS:
        if option.environment_only:
            continue
        if option.kind is Kind.SWITCH:
            for flag, value in ((option.flag, True), (option.negative_flag, False)):
                parser.add_argument(
                    flag,
                    dest=option.name,
                    action="store_const",
                    const=value,
                    default=argparse.SUPPRESS,
                    help=(option.help if value else f"the opposite of {option.flag}")
                    + (" (default)" if option.default is value else ""),
                )
            continue
        parser.add_argument(
            *option.flags,
            dest=option.name,
            action="append" if option.kind is Kind.LIST else "store",
            metavar=option.metavar,
            default=argparse.SUPPRESS,
            help=option.help,
        )
    return parser


def parse_command_line(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Our flags as given (config parses them, with every other source) and behave's args."""
    namespace, behave_args = build_parser().parse_known_args(list(argv))
    return vars(namespace), behave_args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``behave-bounded`` and ``python -m behave_bounded``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "validate-tags":
        from behave_bounded.tdd import validate_tags_main  # noqa: PLC0415 - a fast path

        return validate_tags_main(argv[1:])
    if argv and argv[0] == "merge-durations":
        return merge_durations_main(argv[1:])
    if argv and argv[0] == "merge-reports":
        return merge_reports_main(argv[1:])
    return run_main(argv)


def run_main(argv: list[str]) -> int:
    """A run: our flags and behave's arguments; user errors are one line and exit code 2."""
    try:
        flags, behave_args = parse_command_line(argv)
        # Imported here: --help, --version and the subcommands never load behave's runner.
        from behave_bounded.collect import behave_configuration  # noqa: PLC0415
        from behave_bounded.run import execute  # noqa: PLC0415

        config = behave_configuration(behave_args)
        settings = resolve(flags, tuple(behave_args), userdata=dict(config.userdata or {}))
        return execute(settings, config=config)
    except CollectionError as error:
        report_collection_error(error)
        return EXIT_USAGE
    except BoundedError as error:
        print(f"behave-bounded: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:  # before the supervisor takes over the signals
        print("behave-bounded: interrupted", file=sys.stderr)
        return EXIT_SIGINT


def merge_durations_main(argv: list[str]) -> int:
    """``behave-bounded merge-durations OUT FILES...``: 0 merged, 2 a bad input or usage."""
    parser = _Parser(
        prog="behave-bounded merge-durations",
        description="Merge the durations.json files of the CI jobs of one sharded run.",
        allow_abbrev=False,
    )
    parser.add_argument("out", metavar="OUT", help="the merged durations file to write")
    parser.add_argument("inputs", nargs="+", metavar="FILE", help="each job's durations.json")
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(f"behave-bounded merge-durations: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    from behave_bounded.durations import merge_duration_files  # noqa: PLC0415

    count, problems = merge_duration_files(args.out, args.inputs)
    for problem in problems:
        print(problem, file=sys.stderr)
    files = len(args.inputs) - len(problems)
    print(f"merge-durations: {count} feature(s) from {files} file(s) into {args.out}")
    return EXIT_USAGE if problems else EXIT_OK


def report_collection_error(error: CollectionError) -> None:
    """One problem: one line. Several (files that do not parse): one line each, then a count."""
    if len(error.problems) == 1:
        print(f"behave-bounded: error: {error.problems[0]}", file=sys.stderr)
        return
    for problem in error.problems:
        print(problem, file=sys.stderr)
    print(
        f"behave-bounded: error: {len(error.problems)} problem(s) found while collecting "
        "features; no feature was run",
        file=sys.stderr,
    )


def _merge_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="behave-bounded merge-reports",
        description="Merge the --json or --junit-xml reports of CI shards into one file, or "
        "draw one HTML report from their --json reports (--html).",
        epilog="Exit codes: 0 all passed, 1 failures, a partial shard or a shard whose run "
        "failed, 2 usage error, a missing, unreadable, corrupt or wrong-kind input, or shards "
        "that do not cover one shard plan (another plan, overlaps, gaps).",
        allow_abbrev=False,
    )
    parser.add_argument("out", metavar="OUT", help="the merged report to write")
    kinds = parser.add_mutually_exclusive_group(required=True)
    kinds.add_argument("--json", dest="kind", action="store_const", const="json")
    kinds.add_argument("--junit", dest="kind", action="store_const", const="junit")
    kinds.add_argument(
        "--html",
        dest="kind",
        action="store_const",
        const="html",
        help="FILES are JSON reports; OUT is one HTML page, a timeline lane group per shard",
    )
    parser.add_argument("inputs", metavar="FILES", nargs="+", help="the shard reports")
    return parser


def _merge_error(message: str) -> int:
    print(f"behave-bounded merge-reports: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def merge_reports_main(argv: list[str]) -> int:
    """``behave-bounded merge-reports OUT --json|--junit|--html FILES...``; verdict last."""
    try:
        args = _merge_parser().parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except UsageError as error:
        return _merge_error(str(error))
    from behave_bounded.reports.merge import merge  # noqa: PLC0415 - a fast path
    from behave_bounded.reports.verdict import verdict_line, verdict_numbers  # noqa: PLC0415

    try:
        outcome = merge(args.out, args.kind, args.inputs)
    except (UsageError, OSError) as error:
        return _merge_error(f"cannot write {args.out}: {error}")
    for problem in outcome.problems:
        print(f"behave-bounded merge-reports: error: {problem}", file=sys.stderr)
    for partial in outcome.partial_inputs:
        print(f"behave-bounded merge-reports: warning: partial run: {partial}", file=sys.stderr)
    counts = outcome.counts
    state = " (partial)" if outcome.problems or outcome.partial_inputs else ""
    print(
        f"merged {outcome.merged} of {len(args.inputs)} {args.kind} report(s) into "
        f"{args.out}{state}"
    )
    print("scenarios by status: " + ", ".join(f"{n} {key}" for key, n in counts.items()))
    sys.stdout.flush()
    print(verdict_line(counts, outcome.failure), flush=True)
    if outcome.problems:
        return EXIT_USAGE
    if verdict_numbers(counts)[1] or outcome.partial_inputs or outcome.failure:
        return EXIT_FAILED
    return EXIT_OK


def console_main() -> None:  # pragma: no cover - thin wrapper for the console script
    sys.exit(main())
