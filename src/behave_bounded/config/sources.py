"""Reading the sources of settings, merging them, and refusing settings that contradict.

Highest first: the command line (our flags, then ``-D behave_bounded.NAME=VALUE``), the
environment (``BEHAVE_BOUNDED_*``), ``[tool.behave-bounded]`` in pyproject.toml, the defaults.
Each value keeps where it came from, so an error names the flag, the variable or the file and
key, and a contradiction names both sides.
"""

from __future__ import annotations

import enum
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from behave_bounded.config.ci import ci_shard
from behave_bounded.config.options import (
    OPTIONS,
    OPTIONS_BY_NAME,
    PYPROJECT_TABLE,
    USERDATA_PREFIX,
    Kind,
    Option,
    Settings,
)
from behave_bounded.config.values import AUTO, Shard
from behave_bounded.errors import ConfigurationError, UsageError


class Origin(enum.IntEnum):
    """Where a value came from; a higher origin wins over a lower one."""

    PYPROJECT = 1
    ENVIRONMENT = 2
    COMMAND_LINE = 3  # flags and -D behave_bounded.NAME=VALUE


@dataclass(frozen=True)
class Given:
    """A value some source gave, with where it came from (for messages)."""

    value: Any
    origin: Origin
    where: str  # "--max-spill", "BEHAVE_BOUNDED_MAX_SPILL", "-D behave_bounded.max_spill", ...
    spelled: str  # the same with its value: "--max-spill 1MiB", "BEHAVE_BOUNDED_MAX_SPILL=1MiB"


def _parse_from(source: str, raw: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(raw)
    except ValueError as error:
        raise UsageError(f"{source}: invalid value {raw!r}: {error}") from None


def _parse_all(option: Option, source: str, texts: Iterable[str]) -> Any:
    """One text, or (a list option) every text of the source, parsed and joined."""
    values = [_parse_from(source, text, option.parse) for text in texts]
    if option.kind is Kind.LIST:
        return tuple(item for value in values for item in value)
    return values[-1]


def _unknown(source: str) -> UsageError:
    known = ", ".join(option.key for option in OPTIONS if not option.environment_only)
    return UsageError(f"{source}: unknown setting (known: {known})")


def _option_for(key: str, source: str) -> Option:
    option = OPTIONS_BY_NAME.get(key.replace("-", "_"))
    if option is None or option.environment_only:
        raise _unknown(source)
    return option


def display_path(path: str | Path) -> str:
    """A path as a message shows it: relative to the working directory when inside it."""
    text = str(path)
    relative = os.path.relpath(text)
    return text if relative.startswith("..") else relative


def read_pyproject(directory: Path) -> dict[str, Any]:
    """The ``[tool.behave-bounded]`` table of ``directory/pyproject.toml`` ({} if none)."""
    path = directory / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
        raise ConfigurationError(f"{display_path(path)}: cannot read: {error}") from None
    tool = data.get("tool", {})
    table = tool.get(PYPROJECT_TABLE, {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigurationError(f"{display_path(path)}: [tool.{PYPROJECT_TABLE}] must be a table")
    return table


def _toml_texts(option: Option, source: str, raw: object) -> list[str]:
    """A TOML value as the texts the parser reads: true/false, numbers, strings, arrays."""
    if isinstance(raw, list) and option.kind is Kind.LIST:
        return [_toml_text(source, item) for item in raw]
    return [_toml_text(source, raw)]


def _toml_text(source: str, raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str | int | float):
        return str(raw)
    raise UsageError(f"{source}: invalid value {raw!r}: expected a string, number or boolean")


def from_pyproject(table: Mapping[str, Any], path: str) -> dict[str, Given]:
    """The ``[tool.behave-bounded]`` table read from ``path``."""
    given: dict[str, Given] = {}
    for key, raw in table.items():
        where = f"{path} [tool.{PYPROJECT_TABLE}] {key}"
        option = _option_for(key, where)
        value = _parse_all(option, where, _toml_texts(option, where, raw))
        shown = _toml_repr(raw)
        given[option.name] = Given(value, Origin.PYPROJECT, where, f"{where} = {shown}")
    return given


def _toml_repr(raw: object) -> str:
    """A TOML value as it was written (near enough for a message)."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return f'"{raw}"'
    if isinstance(raw, list):
        return "[" + ", ".join(map(_toml_repr, raw)) + "]"
    return str(raw)


def from_environment(environ: Mapping[str, str]) -> dict[str, Given]:
    """``BEHAVE_BOUNDED_*`` (and ``CI_MAX_PROCESSES``); an empty variable is not given."""
    given: dict[str, Given] = {}
    for option in OPTIONS:
        raw = environ.get(option.env)
        if raw is not None and raw != "":
            value = _parse_all(option, option.env, [raw])
            given[option.name] = Given(value, Origin.ENVIRONMENT, option.env, f"{option.env}={raw}")
    return given


def _from_userdata(userdata: Mapping[str, object]) -> dict[str, Given]:
    given: dict[str, Given] = {}
    for key, raw in userdata.items():
        if not key.startswith(USERDATA_PREFIX):
            continue
        where = f"-D {key}"
        option = _option_for(key[len(USERDATA_PREFIX) :], where)
        value = _parse_all(option, where, [str(raw)])
        given[option.name] = Given(value, Origin.COMMAND_LINE, where, f"{where}={raw}")
    return given


def from_userdata(userdata: Mapping[str, object]) -> dict[str, Any]:
    """Settings given as ``-D behave_bounded.NAME=VALUE`` (the ``behave --runner`` face)."""
    return {name: given.value for name, given in _from_userdata(userdata).items()}


def from_command_line(raw: Mapping[str, object]) -> dict[str, Given]:
    """Flags as the command line holds them: text, a list of texts, or a switch's bool."""
    given: dict[str, Given] = {}
    for name, value in raw.items():
        option = OPTIONS_BY_NAME[name]
        if isinstance(value, bool):
            flag = option.flag if value else option.negative_flag
            given[name] = Given(value, Origin.COMMAND_LINE, flag, flag)
            continue
        texts = [str(item) for item in value] if isinstance(value, list) else [str(value)]
        parsed = _parse_all(option, option.flag, texts)
        spelled = " ".join(f"{option.flag} {text}" for text in texts)
        given[name] = Given(parsed, Origin.COMMAND_LINE, option.flag, spelled)
    return given


# -- settings that contradict each other --------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """``other`` has no effect while ``name`` has the value ``disabling``."""

    name: str
    disabling: object
    other: str


CONFLICTS = (
    Conflict("spill", False, "max_spill"),
    Conflict("max_output", None, "keep"),
    Conflict("random_order", False, "random_seed"),
    Conflict("reruns", 0, "reruns_delay"),
)
#: Settings that cannot both be on, with why: ``(name, its default, other, its default, why)``.
EXCLUSIVE = (
    (
        "repeat",
        1,
        "reruns",
        0,
        "--repeat measures how often each scenario passes, --reruns hides the failures "
        "that pass on a rerun",
    ),
)


def _refuse_exclusive(chosen: Mapping[str, Given]) -> None:
    """Two settings that cannot both take effect, wherever each was given, are refused."""
    for name, default, other, other_default, why in EXCLUSIVE:
        first, second = chosen.get(name), chosen.get(other)
        if first is None or second is None:
            continue
        if first.value != default and second.value != other_default:
            raise ConfigurationError(
                f"conflicting options: {first.spelled} and {second.spelled} cannot be used "
                f"together ({why})"
            )


@dataclass(frozen=True)
class Implication:
    """Giving ``name`` (any value, in any source) sets ``implied`` to ``value``, unless a
    source gave ``implied`` itself."""

    name: str
    implied: str
    value: object


#: A seed asks for the order it makes: ``--random-seed S`` alone reproduces a shuffled run.
IMPLICATIONS = (Implication("random_seed", "random_order", True),)


def _refuse_conflicts(chosen: Mapping[str, Given]) -> None:
    """A setting that cannot take effect because of another is refused, naming both sources.

    It is refused when it was given at the same or a higher precedence than the setting that
    switches it off (``--max-spill`` on the command line with ``spill = false`` in
    pyproject.toml: the command line asks for something that cannot happen). A higher source
    switching a feature off overrides what a lower one configured for it (``--no-spill`` on
    the command line with ``max-spill`` in pyproject.toml: the project's cap simply does not
    apply to this run).
    """
    for conflict in CONFLICTS:
        switch, other = chosen.get(conflict.name), chosen.get(conflict.other)
        if switch is None or other is None or switch.value != conflict.disabling:
            continue
        if other.origin >= switch.origin:
            raise ConfigurationError(
                f"conflicting options: {other.where} has no effect with {switch.spelled}"
            )


def resolve(
    command_line: Mapping[str, object] | None = None,
    behave_args: tuple[str, ...] = (),
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
    userdata: Mapping[str, object] | None = None,
) -> Settings:
    """Merge the sources, highest first: command line, environment, pyproject, defaults.

    ``command_line`` holds our flags as the parser left them (text, a list of texts for a
    repeatable option, a bool for a switch); ``userdata`` is behave's ``-D`` userdata, of
    which the ``behave_bounded.*`` keys are ours (the command line's flags win over them).
    """
    environ = os.environ if environ is None else environ
    directory = Path.cwd() if directory is None else directory
    pyproject = directory / "pyproject.toml"
    chosen: dict[str, Given] = {}
    chosen.update(from_pyproject(read_pyproject(directory), display_path(pyproject)))
    chosen.update(from_environment(environ))
    chosen.update(_from_userdata(userdata or {}))
    chosen.update(from_command_line(command_line or {}))
    _refuse_conflicts(chosen)
    _refuse_exclusive(chosen)
    values = {name: given.value for name, given in chosen.items()}
    for implication in IMPLICATIONS:
        if implication.name in chosen and implication.implied not in chosen:
            values[implication.implied] = implication.value
    shard = chosen.get("shard")
    if shard is not None:
        values["shard"], values["shard_origin"] = _settle_shard(shard, environ)
    return Settings(**values, behave_args=tuple(behave_args))


def _settle_shard(given: Given, environ: Mapping[str, str]) -> tuple[Shard, str]:
    """``auto`` becomes the CI's shard; a K/N keeps the place it was given as its origin."""
    if given.value == AUTO:
        return ci_shard(environ, given.spelled)
    return given.value, given.spelled
