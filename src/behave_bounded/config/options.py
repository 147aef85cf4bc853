"""The table of options: every setting declared once, as a field of :class:`Settings`.

A field made by :func:`setting` carries its option (parser, help, metavar, how the command line
writes it); :data:`OPTIONS` is derived from those fields, so the defaults, the types and the
option table cannot drift apart. Every source reads this table.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from behave_bounded.config.values import (
    Shard,
    parse_bool,
    parse_count,
    parse_delay,
    parse_jobs,
    parse_keep,
    parse_modules,
    parse_path,
    parse_positive_int,
    parse_repeat,
    parse_reruns,
    parse_scheme,
    parse_seconds,
    parse_shard_or_auto,
    parse_size,
    parse_size_or_unlimited,
    parse_tag_name,
)
from behave_bounded.results import Keep, Scheme

ENV_PREFIX = "BEHAVE_BOUNDED_"
USERDATA_PREFIX = "behave_bounded."
PYPROJECT_TABLE = "behave-bounded"


class Kind(enum.Enum):
    """How an option is written on the command line and in the other sources."""

    VALUE = "value"  # --name VALUE
    SWITCH = "switch"  # --name / --no-name; true/false elsewhere
    LIST = "list"  # --name VALUE, repeatable; comma-separated in the environment; a TOML array


@dataclass(frozen=True)
class Option:
    """One setting: its name in every source, how to parse it, its default and its help."""

    name: str  # attribute of Settings; --name-with-dashes, BEHAVE_BOUNDED_NAME, name-with-dashes
    parse: Callable[[str], Any]
    default: Any
    help: str
    metavar: str = ""
    kind: Kind = Kind.VALUE
    short: str = ""  # a one-letter flag besides the long one ("-j")
    env_name: str = ""  # another environment variable than BEHAVE_BOUNDED_NAME
    environment_only: bool = False  # a property of the machine: no flag, no file key

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def negative_flag(self) -> str:
        """``--no-name``, the flag that turns a switch off."""
        return "--no-" + self.flag[2:]

    @property
    def flags(self) -> tuple[str, ...]:
        return (self.short, self.flag) if self.short else (self.flag,)

    @property
    def env(self) -> str:
        return self.env_name or ENV_PREFIX + self.name.upper()

    @property
    def key(self) -> str:
        """The key in ``[tool.behave-bounded]`` and after ``-D behave_bounded.``."""
        return self.name.replace("_", "-")


_OPTION = "behave_bounded.option"


def setting(
    default: Any,
    parse: Callable[[str], Any],
    help: str,
    metavar: str = "",
    *,
    kind: Kind = Kind.VALUE,
    short: str = "",
    env_name: str = "",
    environment_only: bool = False,
) -> Any:
    """A field of :class:`Settings` that is also an option of every source."""
    spec = {
        "parse": parse,
        "help": help,
        "metavar": metavar,
        "kind": kind,
        "short": short,
        "env_name": env_name,
        "environment_only": environment_only,
    }
    return field(default=default, metadata={_OPTION: spec})


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one run; each option field is declared once, with its option."""

    jobs: int | None = setting(
        None, parse_jobs, "worker processes: a number or 'auto' (CPU count)", "N|auto", short="-j"
    )
    max_jobs: int | None = setting(
        None, parse_positive_int, "upper bound on the number of workers", "N"
    )
    timeout: float | None = setting(
        None, parse_seconds, "per-feature time limit; the worker is killed", "SECONDS"
    )
    preimport: tuple[str, ...] = setting(
        (),
        parse_modules,
        "module imported once before workers start (repeatable)",
        "MODULE",
        kind=Kind.LIST,
    )
    preimport_timeout: float = setting(
        30.0, parse_seconds, "time limit for each --preimport", "SECONDS"
    )
    max_worker_restarts: int | None = setting(
        None,
        parse_count,
        "crashed workers replaced before the run aborts (default: 2 x jobs)",
        "N",
    )
    max_output: int | None = setting(
        10 * 2**20,
        parse_size_or_unlimited,
        "output kept per stream per feature, or 'unlimited'",
        "SIZE",
    )
    keep: Keep = setting(
        Keep.BOTH, parse_keep, "which part of long output to keep", "head|tail|both"
    )
    max_spill: int = setting(2**30, parse_size, "size cap of each spill file", "SIZE")
    spill: bool = setting(
        True, parse_bool, "write the full output to the artifact directory", kind=Kind.SWITCH
    )
    artifacts: str = setting(
        ".behave-bounded", parse_path, "directory for spill files and run data", "DIR"
    )
    show_output: int = setting(64 * 2**10, parse_size, "output shown per failing feature", "SIZE")
    tdd_strict: bool = setting(
        True,
        parse_bool,
        "an expected failure that passes fails the run (off: a warning)",
        kind=Kind.SWITCH,
    )
    scheme: Scheme = setting(
        Scheme.FEATURE,
        parse_scheme,
        "what one task is: a feature or a scenario",
        "feature|scenario",
    )
    shard: Shard | None = setting(
        None,
        parse_shard_or_auto,
        "run only shard K of N of the suite; auto: from the CI's parallel job variables",
        "K/N|auto",
    )
    last_failed: bool = setting(
        False, parse_bool, "rerun only what failed or errored last time", kind=Kind.SWITCH
    )
    serial_tag: str = setting("serial", parse_tag_name, "tag of features run one at a time", "TAG")
    random_order: bool = setting(
        False,
        parse_bool,
        "shuffle the order of the tasks instead of longest first (the seed is printed)",
        kind=Kind.SWITCH,
    )
    random_seed: int | None = setting(
        None,
        parse_count,
        "seed of --random-order (implies it): the same seed gives the same order",
        "S",
    )
    reruns: int = setting(
        0, parse_reruns, "run a failed or errored scenario again, up to N times", "N"
    )
    reruns_delay: float = setting(
        0.0, parse_delay, "seconds to wait before a rerun starts", "SECONDS"
    )
    repeat: int = setting(
        1, parse_repeat, "run each selected scenario N times and report its pass rate", "N"
    )
    junit_xml: str | None = setting(None, parse_path, "write one merged JUnit XML report", "PATH")
    json: str | None = setting(None, parse_path, "write the machine-readable run report", "PATH")
    html: str | None = setting(
        None, parse_path, "write the HTML run report (timeline, failures)", "PATH"
    )
    ci_max_processes: int | None = setting(
        None,
        parse_positive_int,
        "cap on workers set by a CI machine shared by several jobs",
        "N",
        env_name="CI_MAX_PROCESSES",
        environment_only=True,
    )
    #: Where ``shard`` came from, e.g. ``--shard auto: GitLab CI_NODE_INDEX=2, CI_NODE_TOTAL=4``.
    shard_origin: str = ""
    behave_args: tuple[str, ...] = ()

    def worker_count(self, task_count: int) -> int:
        """Workers to start: jobs (or CPU count), capped by every cap and by the task count."""
        wanted = self.jobs or os.cpu_count() or 1
        caps = [wanted, max(task_count, 1), self.max_jobs, self.ci_max_processes]
        return min(cap for cap in caps if cap)

    def restart_budget(self, workers: int) -> int:
        if self.max_worker_restarts is None:
            return 2 * workers
        return self.max_worker_restarts


OPTIONS: tuple[Option, ...] = tuple(
    Option(name=f.name, default=f.default, **f.metadata[_OPTION])
    for f in fields(Settings)
    if _OPTION in f.metadata
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}
