"""Settings of a run, from the command line > environment > pyproject.toml > defaults.

Every option is declared once in :data:`OPTIONS`; the command line, the ``BEHAVE_BOUNDED_*``
environment variables, the ``[tool.behave-bounded]`` table and ``-D behave_bounded.NAME=VALUE``
userdata (the ``behave --runner`` face) all read that table, so the four sources cannot drift
apart. Bad values raise :class:`~behave_bounded.errors.UsageError` naming the source and value.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from behave_bounded.errors import UsageError

ENV_PREFIX = "BEHAVE_BOUNDED_"
USERDATA_PREFIX = "behave_bounded."
PYPROJECT_TABLE = "behave-bounded"

_UNITS = {
    "": 1,
    "b": 1,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
}
_SIZE_RE = re.compile(r"^(\d+)\s*([a-z]*)$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``4096``, ``512KiB``, ``10MiB``, ``1GiB`` (KB/MB/GB are powers of 1000); must be > 0."""
    match = _SIZE_RE.match(text.strip())
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError("expected a positive size such as 4096, 512KiB, 10MiB or 1GiB")
    value = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if value <= 0:
        raise ValueError("a size must be greater than 0")
    return value


def parse_size_or_unlimited(text: str) -> int | None:
    """A size, or ``unlimited`` (``None``): the original unbounded capture, kept on purpose."""
    if text.strip().lower() == "unlimited":
        return None
    return parse_size(text)


def parse_positive_int(text: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) <= 0:
        raise ValueError("expected a whole number greater than 0")
    return int(text)


def parse_count(text: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text):
        raise ValueError("expected a whole number (0 or more)")
    return int(text)


def parse_jobs(text: str) -> int | None:
    """``auto`` (``None``: one per CPU) or a whole number greater than 0."""
    if text.strip().lower() == "auto":
        return None
    return parse_positive_int(text)


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number of seconds greater than 0") from None
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a number of seconds greater than 0")
    return value


def parse_keep(text: str) -> str:
    value = text.strip().lower()
    if value not in {"head", "tail", "both"}:
        raise ValueError("expected one of: head, tail, both")
    return value


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected one of: true, false, yes, no, 1, 0")


def parse_scheme(text: str) -> str:
    value = text.strip().lower()
    if value not in {"feature", "scenario"}:
        raise ValueError("expected one of: feature, scenario")
    return value


def parse_shard_option(text: str) -> tuple[int, int]:
    """``K/N``: this machine runs shard K of N (1-based)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError("expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(match.group(1)), int(match.group(2))


def parse_tag_name(text: str) -> str:
    value = text.strip().removeprefix("@")
    if not re.fullmatch(r"[\w.-]+", value):
        raise ValueError("expected a tag name such as serial")
    return value


def parse_path(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a file path")
    return text


def parse_modules(text: str) -> tuple[str, ...]:
    """Comma-separated dotted module names."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", name):
            raise ValueError(f"{name!r} is not a module name")
    return names


@dataclass(frozen=True)
class Option:
    """One setting: its name everywhere, how to parse it and its default."""

    name: str  # attribute of Settings; CLI --name-with-dashes, env BEHAVE_BOUNDED_NAME
    parse: Callable[[str], Any]
    default: Any
    help: str
    metavar: str = ""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option("jobs", parse_jobs, None, "worker processes: a number or 'auto' (CPU count)", "N|auto"),
    Option("max_jobs", parse_positive_int, None, "upper bound on the number of workers", "N"),
    Option(
        "timeout", parse_seconds, None, "per-feature time limit; the worker is killed", "SECONDS"
    ),
    Option(
        "preimport",
        parse_modules,
        (),
        "module imported once before workers start (repeatable)",
        "MODULE",
    ),
    Option("preimport_timeout", parse_seconds, 30.0, "time limit for each --preimport", "SECONDS"),
    Option(
        "max_worker_restarts",
        parse_count,
        None,
        "crashed workers replaced before the run aborts (default: 2 x jobs)",
        "N",
    ),
    Option(
        "max_output",
        parse_size_or_unlimited,
        10 * 2**20,
        "output kept per stream per feature, or 'unlimited'",
        "SIZE",
    ),
    Option("keep", parse_keep, "both", "which part of long output to keep", "head|tail|both"),
    Option("max_spill", parse_size, 2**30, "size cap of each spill file", "SIZE"),
    Option("spill", parse_bool, True, "write the full output to the artifact directory", ""),
    Option("artifacts", str, ".behave-bounded", "directory for spill files and run data", "DIR"),
    Option("show_output", parse_size, 64 * 2**10, "output shown per failing feature", "SIZE"),
    Option("scheme", parse_scheme, "feature", "what one task is: a feature or a scenario", "NAME"),
    Option("shard", parse_shard_option, None, "run only shard K of N of the suite", "K/N"),
    Option("last_failed", parse_bool, False, "rerun only what failed or errored last time", ""),
    Option("serial_tag", parse_tag_name, "serial", "tag of features run one at a time", "TAG"),
    Option("junit_xml", parse_path, None, "write one merged JUnit XML report", "PATH"),
    Option("json", parse_path, None, "write the machine-readable run report", "PATH"),
    Option("html", parse_path, None, "write the HTML run report (timeline, failures)", "PATH"),
    Option(
        "tdd_strict",
        parse_bool,
        True,
        "an expected failure that passes fails the run (off: a warning)",
        "",
    ),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one run (see :data:`OPTIONS` for meaning and defaults)."""

    jobs: int | None = None
    max_jobs: int | None = None
    timeout: float | None = None
    preimport: tuple[str, ...] = ()
    preimport_timeout: float = 30.0
    max_worker_restarts: int | None = None
    max_output: int | None = 10 * 2**20
    keep: str = "both"
    max_spill: int = 2**30
    spill: bool = True
    artifacts: str = ".behave-bounded"
    show_output: int = 64 * 2**10
    tdd_strict: bool = True
    scheme: str = "feature"
    shard: tuple[int, int] | None = None
    last_failed: bool = False
    serial_tag: str = "serial"
    junit_xml: str | None = None
    json: str | None = None
    html: str | None = None
    behave_args: tuple[str, ...] = field(default=())

    def worker_count(self, task_count: int, environ: Mapping[str, str] | None = None) -> int:
        """Workers to start: jobs (or CPU count), capped by every cap and by the task count."""
        environ = os.environ if environ is None else environ
        wanted = self.jobs or os.cpu_count() or 1
        caps = [wanted, max(task_count, 1)]
        if self.max_jobs:
            caps.append(self.max_jobs)
        ci_cap = environ.get("CI_MAX_PROCESSES", "").strip()
        if ci_cap:
            caps.append(_parse_from("CI_MAX_PROCESSES", ci_cap, parse_positive_int))
        return min(caps)

    def restart_budget(self, workers: int) -> int:
        if self.max_worker_restarts is None:
            return 2 * workers
        return self.max_worker_restarts


def _parse_from(source: str, raw: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(raw)
    except ValueError as error:
        raise UsageError(f"{source}: invalid value {raw!r}: {error}") from None


def read_pyproject(directory: Path) -> dict[str, Any]:
    """The ``[tool.behave-bounded]`` table of ``directory/pyproject.toml`` ({} if none)."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot read: {error}") from None
    table = data.get("tool", {}).get(PYPROJECT_TABLE, {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.{PYPROJECT_TABLE}] must be a table")
    return table


def _from_pyproject(table: Mapping[str, Any], path: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, raw in table.items():
        name = key.replace("-", "_")
        option = OPTIONS_BY_NAME.get(name)
        source = f"{path} [tool.{PYPROJECT_TABLE}] {key}"
        if option is None:
            raise UsageError(f"{source}: unknown setting (known: {_known_keys()})")
        text = str(raw)
        if isinstance(raw, list) and option.name == "preimport":
            text = ",".join(str(item) for item in raw)
        elif isinstance(raw, bool):
            text = "true" if raw else "false"
        values[name] = _parse_from(source, text, option.parse)
    return values


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = environ.get(option.env)
        if raw is not None and raw != "":
            values[option.name] = _parse_from(option.env, raw, option.parse)
    return values


def from_userdata(userdata: Mapping[str, str]) -> dict[str, Any]:
    """Settings given as ``-D behave_bounded.NAME=VALUE`` (the ``behave --runner`` face)."""
    values: dict[str, Any] = {}
    for key, raw in userdata.items():
        if not key.startswith(USERDATA_PREFIX):
            continue
        name = key[len(USERDATA_PREFIX) :].replace("-", "_")
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            raise UsageError(f"-D {key}: unknown setting (known: {_known_keys()})")
        values[name] = _parse_from(f"-D {key}", str(raw), option.parse)
    return values


def _known_keys() -> str:
    return ", ".join(option.name.replace("_", "-") for option in OPTIONS)


def resolve(
    command_line: Mapping[str, Any],
    behave_args: tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> Settings:
    """Merge the sources, highest first: command line, environment, pyproject, defaults.

    ``command_line`` holds the options the user gave, already parsed with the same parsers;
    an option given as ``auto``/``unlimited`` is present with the value ``None``.
    """
    environ = os.environ if environ is None else environ
    directory = Path.cwd() if directory is None else directory
    merged: dict[str, Any] = {}
    merged.update(_from_pyproject(read_pyproject(directory), str(directory / "pyproject.toml")))
    merged.update(_from_env(environ))
    merged.update(command_line)
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{key: value for key, value in merged.items() if key in known})
    return replace(settings, behave_args=tuple(behave_args))
