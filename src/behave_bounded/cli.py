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
from behave_bounded.collect import behave_configuration
from behave_bounded.config import OPTIONS, from_userdata, parse_bool, resolve
from behave_bounded.errors import (
    EXIT_SIGINT,
    EXIT_USAGE,
    BoundedError,
    CollectionError,
    UsageError,
)
from behave_bounded.run import execute

EPILOG = """\
Subcommands: `behave-bounded validate-tags [PATHS]` checks TDD and memory-budget tags only;
`behave-bounded merge-reports OUT --json|--junit FILES...` merges shard reports.
Any other option, and the paths, go to behave (see `behave --help`): -t/--tags, -n/--name,
-i/-e, -D name=value, --dry-run, --stop, -f/--format, ... Settings also come from the
environment (BEHAVE_BOUNDED_<NAME>) and from [tool.behave-bounded] in pyproject.toml;
the command line wins over the environment, which wins over pyproject.toml.
Exit codes: 0 passed, 1 failed, 2 usage or collection error, 130/143 interrupted."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump, exit 2
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
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
        flags = ["-j", option.flag] if option.name == "jobs" else [option.flag]
        if option.parse is parse_bool:
            flag = option.flag
            negative = "--no-" + flag[2:]
            parser.add_argument(
                flag,
                dest=option.name,
                action="store_const",
                const=True,
                default=argparse.SUPPRESS,
                help=option.help + (" (default)" if option.default else ""),
            )
            parser.add_argument(
                negative,
                dest=option.name,
                action="store_const",
                const=False,
                default=argparse.SUPPRESS,
                help=f"the opposite of {flag}" + ("" if option.default else " (default)"),
            )
            continue
        action = "append" if option.name == "preimport" else "store"
        parser.add_argument(
            *flags,
            dest=option.name,
            action=action,
            metavar=option.metavar,
            default=argparse.SUPPRESS,
            help=option.help,
        )
    return parser


def parse_command_line(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """Our options (parsed and validated) and the arguments that belong to behave."""
    namespace, behave_args = build_parser().parse_known_args(list(argv))
    given: dict[str, Any] = {}
    for name, raw in vars(namespace).items():
        option = next(o for o in OPTIONS if o.name == name)
        if option.parse is parse_bool:
            given[name] = raw
        elif name == "preimport":
            given[name] = tuple(m for text in raw for m in _parse(option.flag, text, option.parse))
        else:
            given[name] = _parse(option.flag, raw, option.parse)
    _refuse_conflicts(given)
    return given, behave_args


#: Options that mean nothing together: (option, value that disables it, the other option).
_CONFLICTS = (
    ("spill", False, "max_spill", "--max-spill has no effect with --no-spill"),
    ("max_output", None, "keep", "--keep has no effect with --max-output unlimited"),
)


def _refuse_conflicts(given: dict[str, Any]) -> None:
    """Options given together on the command line that contradict each other."""
    for name, value, other, message in _CONFLICTS:
        if name in given and given[name] is value and other in given:
            raise UsageError(f"conflicting options: {message}")


def _parse(flag: str, raw: str, parse: Any) -> Any:
    try:
        return parse(raw)
    except ValueError as error:
        raise UsageError(f"{flag}: invalid value {raw!r}: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``behave-bounded`` and ``python -m behave_bounded``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "validate-tags":
        from behave_bounded.tdd import validate_tags_main  # noqa: PLC0415 - a fast path

        return validate_tags_main(list(argv[1:]))
    if argv and argv[0] == "merge-reports":
        from behave_bounded.report_files import merge_reports_main  # noqa: PLC0415

        return merge_reports_main(list(argv[1:]))
    try:
        given, behave_args = parse_command_line(argv)
        config = behave_configuration(behave_args)
        userdata = from_userdata(dict(config.userdata or {}))
        settings = resolve({**userdata, **given}, tuple(behave_args))
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


def console_main() -> None:  # pragma: no cover - thin wrapper for the console script
    sys.exit(main())
