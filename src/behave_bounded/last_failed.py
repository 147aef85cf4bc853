"""The record ``--last-failed`` reads: the failing scenarios of the previous run, and nothing else.

Each run writes ``ARTIFACTS/last-failed.json`` once, when it ends, atomically: a JSON document
in the shape of the JSON report's ``scenarios`` list (``{"scenarios": [{"location", "status"}]}``)
holding only the scenarios whose status fails the run. Its size is linear in the number of
failing scenarios, not in the suite's size, and the parent holds one short entry per failing
scenario until then. Because the shape is the report's, ``--last-failed`` reads a ``--json``
report just as well (:func:`last_failed_locations`); :func:`select_locations` narrows the
collected features to those scenarios.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from behave_bounded.atomic import write_atomically
from behave_bounded.collect import FeatureInfo, ScenarioInfo
from behave_bounded.errors import UsageError
from behave_bounded.results import Status, TaskResult


class LastFailed:
    """The failing scenarios of this run, in the order they finished (each once)."""

    #: The record's name in the artifact directory.
    FILE_NAME = "last-failed.json"

    def __init__(self, artifacts: str) -> None:
        self.path = os.path.join(artifacts, self.FILE_NAME)
        self._failing: dict[str, str] = {}  # location -> status (ordered, each location once)

    def add(self, result: TaskResult) -> None:
        """Note the failing scenarios of a finalized task result."""
        for scenario in result.scenarios:
            if scenario.status.fails_run:
                self._failing.setdefault(scenario.location, scenario.status.value)

    def save(self) -> str:
        """Write the record atomically (0600); why it could not be written, or ""."""
        scenarios = [{"location": loc, "status": status} for loc, status in self._failing.items()]
        text = json.dumps({"scenarios": scenarios}, separators=(",", ":"))
        try:
            write_atomically(self.path, lambda out: out.write(text), private=True)
        except OSError as error:
            return f"cannot write {self.path}: {error}"
        return ""


_LOCATION = re.compile(r"(.+):(\d+)", re.ASCII | re.DOTALL)
_STATUSES = frozenset(status.value for status in Status)


def _failing(report_path: str, data: Any) -> list[str]:
    """Locations whose status fails the run, in report order; UsageError if malformed."""
    scenarios = data.get("scenarios") if isinstance(data, dict) else None
    if not isinstance(scenarios, list):
        raise UsageError(f"corrupt previous report {report_path}: no 'scenarios' list")
    failing: dict[str, None] = {}  # in report order, each location once
    for item in scenarios:
        location = item.get("location") if isinstance(item, dict) else None
        status = item.get("status") if isinstance(item, dict) else None
        if not isinstance(location, str) or not _LOCATION.fullmatch(location):
            raise UsageError(f"corrupt previous report {report_path}: bad location {item!r:.200}")
        if not isinstance(status, str) or status not in _STATUSES:
            raise UsageError(f"corrupt previous report {report_path}: bad status {item!r:.200}")
        if Status(status).fails_run:
            failing[location] = None
    return list(failing)


def last_failed_locations(report_path: str) -> list[str] | None:
    """The failing ``path:line`` locations of the previous run; None without a report."""
    try:
        text = Path(report_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the previous report {report_path}: {error}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UsageError(f"corrupt previous report {report_path}: {error}") from None
    return _failing(report_path, data)


def _wanted_lines(locations: Sequence[str]) -> dict[str, set[int]]:
    """Lines wanted per absolute path (reports and collection may spell paths differently)."""
    wanted: dict[str, set[int]] = {}
    for location in locations:
        match = _LOCATION.fullmatch(location)
        if match:
            wanted.setdefault(os.path.abspath(match[1]), set()).add(int(match[2]))
    return wanted


def select_locations(
    features: Sequence[FeatureInfo], locations: Sequence[str]
) -> list[FeatureInfo]:
    """The features holding any of the locations, narrowed to exactly those scenarios.

    A location that no longer names a scenario (file or line gone) is ignored; a scenario the
    current selection (tags, names) excludes stays unselected, as behave would skip it.
    """
    wanted = _wanted_lines(locations)
    narrowed: list[FeatureInfo] = []
    for feature in features:
        lines = wanted.get(os.path.abspath(feature.path), set())
        hits = [s for s in feature.scenarios if _line(s) in lines]
        if not hits:
            continue
        scenarios = tuple(
            replace(s, selected=s.selected and _line(s) in lines) for s in feature.scenarios
        )
        narrowed.append(
            replace(feature, lines=tuple(sorted(map(_line, hits))), scenarios=scenarios)
        )
    return narrowed


def _line(scenario: ScenarioInfo) -> int:
    return int(scenario.location.rsplit(":", 1)[1])
