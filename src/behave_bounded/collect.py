"""Collect features from paths exactly as behave does, before any worker starts.

Behave's own :class:`~behave.configuration.Configuration` reads ``behave.ini`` /
``[tool.behave]`` and the selection options, and behave's own path logic finds the base
directory and the feature files; we only parse each file ourselves so that every file that
does not parse is reported (``path:line: message``, behave's message) instead of stopping at
the first one. A configuration file behave cannot read is one line naming the file, and the
option and value when the problem is one value, instead of behave's traceback.
"""

from __future__ import annotations

import configparser
import contextlib
import io
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from behave.configuration import (
    Configuration,
    config_filenames,
    configfile_options_iter,
    read_configuration,
)
from behave.exception import (
    ConfigError,
    InvalidFileLocationError,
    InvalidFilenameError,
    TagExpressionError,
)
from behave.exception import (
    FileNotFoundError as BehaveFileNotFoundError,
)
from behave.model_core import FileLocation
from behave.parser import ParserError
from behave.runner_util import collect_feature_locations, parse_features

from behave_bounded.config import display_path
from behave_bounded.errors import CollectionError, ConfigurationError, UsageError
from behave_bounded.record import formatter_specs
from behave_bounded.results import Task, clip


@dataclass(frozen=True)
class ScenarioInfo:
    """A scenario (or one outline row) as collected: enough to report it without running it."""

    location: str
    name: str
    tags: tuple[str, ...]
    selected: bool


@dataclass(frozen=True)
class FeatureInfo:
    """One feature file: its path as given, the lines selected on the command line, scenarios."""

    path: str
    lines: tuple[int, ...]
    name: str
    scenarios: tuple[ScenarioInfo, ...]
    line: int = 1  # where the feature starts (its "Feature:" line)

    @property
    def selected(self) -> tuple[ScenarioInfo, ...]:
        return tuple(s for s in self.scenarios if s.selected)

    def task(self, index: int) -> Task:
        return Task(
            index=index, path=self.path, lines=self.lines, scenario_count=len(self.selected)
        )


def behave_configuration(behave_args: Sequence[str]) -> Any:
    """Behave's configuration for these arguments; argparse errors become a UsageError."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            config = Configuration(list(behave_args))
    except SystemExit:
        lines = [line for line in stderr.getvalue().splitlines() if line.strip()]
        reason = lines[-1].split("error: ", 1)[-1] if lines else "invalid arguments"
        raise UsageError(reason) from None
    except (ConfigError, TagExpressionError) as error:
        raise _configuration_error(error) from None
    except (configparser.Error, ValueError, OSError, TypeError, LookupError):
        # Only reading a configuration file raises these here (arguments fail by SystemExit).
        problem = config_file_problem()
        if not problem:  # pragma: no cover - no file explains it: a bug, with its traceback
            raise
        raise ConfigurationError(problem) from None
    try:
        formatter_specs(config)
    except ValueError as error:
        raise UsageError(f"CONFIG-ERROR: {error}") from None
    return config


def _configuration_error(error: ConfigError | TagExpressionError) -> UsageError:
    """behave's own configuration error, or the file behave read that caused it."""
    problem = config_file_problem()
    if problem:  # a file behave read (a [tool.behave] value of the wrong type, ...)
        return ConfigurationError(problem)
    # Tag expression errors draw a pointer under the expression: keep the words only.
    lines = [line.strip() for line in str(error).splitlines() if "(HERE)" not in line]
    return UsageError(f"{type(error).__name__}: {'; '.join(filter(None, lines))}")


def one_line(text: str) -> str:
    """A message of several lines as one: its non-empty lines joined by ``; ``, clipped."""
    return clip("; ".join(line.strip() for line in text.splitlines() if line.strip()), 1000)


def config_file_problem() -> str:
    """What is wrong with the first configuration file behave cannot read, or ``""``.

    Each file behave reads (``config_filenames``: behave.ini, .behaverc, setup.cfg, tox.ini,
    pyproject.toml, here and in the home directory) is read again on its own with behave's
    own reader, so the file is named; for an ini file whose problem is one value, the
    option and the value are named as well.
    """
    for path in config_filenames():
        shown = display_path(os.path.normpath(path))
        try:
            read_configuration(path)
        except configparser.Error as error:
            return f"{shown}: cannot read: {_configparser_reason(error)}"
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
            return f"{shown}: cannot read: {one_line(str(error))}"
        except ConfigError as error:  # a [tool.behave] value of the wrong type
            return f"{shown} [tool.behave]: {one_line(str(error))}"
        except (ValueError, TypeError, LookupError) as error:
            if path.endswith(".toml"):  # [tool] or [tool.behave] is not a table
                reason = f"{type(error).__name__}: {one_line(str(error))}"
                return f"{shown}: [tool.behave] cannot be read as behave's settings: {reason}"
            return f"{shown}: {_bad_ini_value(path, error)}"
    return ""


def _configparser_reason(error: configparser.Error) -> str:
    """configparser's reason on one line, led by the line number where it has one."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        return f"line {error.lineno}: not a [section] header: {error.line.strip()!r}"
    if isinstance(error, configparser.ParsingError):  # its lines are repr()s already
        return "; ".join(f"line {number}: cannot parse {text}" for number, text in error.errors)
    if isinstance(error, configparser.DuplicateOptionError):
        return f"line {error.lineno}: [{error.section}] {error.option} is set twice"
    if isinstance(error, configparser.DuplicateSectionError):
        return f"line {error.lineno}: [{error.section}] appears twice"
    return one_line(str(error))


def _bad_ini_value(path: str, error: Exception) -> str:
    """``[behave] NAME: invalid value 'RAW': REASON`` for the value behave cannot convert."""
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # behave's case-sensitive keys
    parser.read(path, encoding="utf-8")
    problems = (_ini_value_problem(parser, *option) for option in configfile_options_iter(parser))
    return next((problem for problem in problems if problem), one_line(str(error)))


def _ini_value_problem(
    parser: configparser.ConfigParser, name: str, action: str, value_type: Any
) -> str:
    """Why behave cannot convert this one ``[behave]`` value, as behave converts it, or ``""``."""
    raw = parser.get("behave", name, raw=True)
    parts = raw.splitlines() if action == "append" else [raw]
    try:
        if action == "store_true":
            parser.getboolean("behave", name)
        for part in parts if value_type else ():
            value_type(part.strip())
    except (ValueError, TypeError, LookupError) as error:
        return f"[behave] {name}: invalid value {raw!r}: {one_line(str(error))}"
    return ""


def find_base_dir(config: Any) -> str:
    """Behave's base directory (the one holding ``steps/`` or ``environment.py``)."""
    from behave.runner import Runner  # noqa: PLC0415 - validate-tags never loads the runner

    runner = Runner(config)
    try:
        with runner.path_manager:
            runner.setup_paths()
    except ConfigError as error:
        raise CollectionError([f"{', '.join(config.paths) or 'features'}: {error}"]) from None
    except BehaveFileNotFoundError as error:  # an @file listing feature paths is missing
        raise CollectionError([f"{_missing(config, str(error))}: no such file"]) from None
    return str(runner.base_dir)


def _missing(config: Any, name: str) -> str:
    """The path as the user wrote it: ``@list.txt`` for a missing list of feature paths."""
    return f"@{name}" if f"@{name}" in config.paths else name


def parse_problem(path: str, error: Exception) -> str:
    """``path:line: message`` for a feature file that does not parse, in behave's words."""
    if isinstance(error, ParserError):
        message = one_line(str(error.args[0])) if error.args else ""
        return f"{path}:{error.line or 0}: {message or 'cannot parse'}"
    if isinstance(error, OSError | UnicodeDecodeError):
        return f"{path}:0: cannot read: {error}"
    return f"{path}:0: cannot parse: {type(error).__name__}: {error}"


def _group_by_file(locations: Sequence[FileLocation]) -> dict[str, list[FileLocation]]:
    grouped: dict[str, list[FileLocation]] = {}
    for location in locations:
        grouped.setdefault(os.path.normpath(location.filename), []).append(location)
    return grouped


#: What each of behave's path errors means, said plainly (behave names only the class).
_WHAT_IS_WRONG: dict[type[Exception], str] = {
    BehaveFileNotFoundError: "no such file or directory",
    InvalidFilenameError: "not a feature file (a path must end in .feature)",
    InvalidFileLocationError: "not a valid location (expected PATH or PATH:LINE)",
}


def collect(config: Any) -> list[FeatureInfo]:
    """Every feature file selected by behave's paths and include/exclude options, parsed."""
    find_base_dir(config)
    try:
        locations = collect_feature_locations(config.paths)
    except (BehaveFileNotFoundError, InvalidFilenameError, InvalidFileLocationError) as error:
        raise CollectionError([f"{error}: {_WHAT_IS_WRONG[type(error)]}"]) from None
    grouped = _group_by_file([loc for loc in locations if not config.exclude(loc.filename)])
    features: list[FeatureInfo] = []
    problems: list[str] = []
    for path, file_locations in grouped.items():
        try:
            parsed = parse_features(file_locations, language=config.lang)
        except Exception as error:  # a collector reports, it does not crash (`# language: xx`)
            problems.append(parse_problem(display_path(path), error))
            continue
        lines = tuple(sorted({loc.line for loc in file_locations if loc.line}))
        for feature in parsed:
            features.append(_feature_info(feature, path, lines, config))
    if problems:
        raise CollectionError(problems)
    return features


def _feature_info(feature: Any, path: str, lines: tuple[int, ...], config: Any) -> FeatureInfo:
    shown = display_path(path)
    names: dict[str, str] = {}  # a feature's scenarios share its file: made relative once

    def location(scenario: Any) -> str:
        filename = scenario.filename
        if filename not in names:
            same = os.path.normpath(filename) == path  # its feature's file, as collected
            names[filename] = shown if same else display_path(filename)
        return f"{names[filename]}:{scenario.line}"

    scenarios = tuple(
        ScenarioInfo(
            location=location(scenario),
            name=scenario.name,
            tags=tuple(str(tag) for tag in scenario.effective_tags),
            selected=bool(scenario.should_run(config)),
        )
        for scenario in feature.walk_scenarios()
    )
    return FeatureInfo(
        path=shown,
        lines=lines,
        name=feature.name,
        scenarios=scenarios,
        line=int(feature.line or 1),
    )
