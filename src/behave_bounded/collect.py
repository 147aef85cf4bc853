"""Collect features from paths exactly as behave does, before any worker starts.

Behave's own :class:`~behave.configuration.Configuration` reads ``behave.ini`` /
``[tool.behave]`` and the selection options, and behave's own path logic finds the base
directory and the feature files; we only parse each file ourselves so that every file that
does not parse is reported (``path:line: message``) instead of stopping at the first one.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from behave.configuration import Configuration
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
from behave.runner import Runner
from behave.runner_util import collect_feature_locations, parse_features

from behave_bounded.errors import CollectionError, UsageError
from behave_bounded.record import formatter_specs
from behave_bounded.results import Task


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
        # Tag expression errors draw a pointer under the expression: keep the words only.
        lines = [line.strip() for line in str(error).splitlines() if "(HERE)" not in line]
        raise UsageError(f"{type(error).__name__}: {'; '.join(filter(None, lines))}") from None
    try:
        formatter_specs(config)
    except ValueError as error:
        raise UsageError(f"CONFIG-ERROR: {error}") from None
    return config


def find_base_dir(config: Any) -> str:
    """Behave's base directory (the one holding ``steps/`` or ``environment.py``)."""
    runner = Runner(config)
    try:
        with runner.path_manager:
            runner.setup_paths()
    except ConfigError as error:
        raise CollectionError([f"{', '.join(config.paths) or 'features'}: {error}"]) from None
    return str(runner.base_dir)


def _group_by_file(locations: Sequence[FileLocation]) -> dict[str, list[FileLocation]]:
    grouped: dict[str, list[FileLocation]] = {}
    for location in locations:
        grouped.setdefault(os.path.normpath(location.filename), []).append(location)
    return grouped


def _relative(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def collect(config: Any) -> list[FeatureInfo]:
    """Every feature file selected by behave's paths and include/exclude options, parsed."""
    find_base_dir(config)
    try:
        locations = collect_feature_locations(config.paths)
    except (BehaveFileNotFoundError, InvalidFilenameError, InvalidFileLocationError) as error:
        raise CollectionError([f"{error}: {type(error).__name__}"]) from None
    grouped = _group_by_file([loc for loc in locations if not config.exclude(loc.filename)])
    features: list[FeatureInfo] = []
    problems: list[str] = []
    for path, file_locations in grouped.items():
        try:
            parsed = parse_features(file_locations, language=config.lang)
        except ParserError as error:
            line = getattr(error, "line", None) or 0
            message = str(error.args[0]).split("\n", 1)[0] if error.args else str(error)
            problems.append(f"{_relative(path)}:{line}: {message}")
            continue
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{_relative(path)}:0: cannot read: {error}")
            continue
        lines = tuple(sorted({loc.line for loc in file_locations if loc.line}))
        for feature in parsed:
            features.append(_feature_info(feature, path, lines, config))
    if problems:
        raise CollectionError(problems)
    return features


def _feature_info(feature: Any, path: str, lines: tuple[int, ...], config: Any) -> FeatureInfo:
    scenarios = tuple(
        ScenarioInfo(
            location=f"{_relative(scenario.filename)}:{scenario.line}",
            name=scenario.name,
            tags=tuple(str(tag) for tag in scenario.effective_tags),
            selected=bool(scenario.should_run(config)),
        )
        for scenario in feature.walk_scenarios()
    )
    return FeatureInfo(
        path=_relative(path),
        lines=lines,
        name=feature.name,
        scenarios=scenarios,
        line=int(feature.line or 1),
    )
