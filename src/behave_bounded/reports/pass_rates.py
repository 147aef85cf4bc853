"""``--repeat N``: how often each scenario passed over its N runs, the failing ones first.

Flake hunting, as pytest-repeat and pytest-flakefinder do it: every selected scenario runs N
times (each run a task of its own, spread over the workers) and each run counts in the
verdict; this view tells, per scenario, how many of its runs passed. It keeps one small entry
per selected scenario (its location, name and three counters) until the run ends: linear in
the suite's size, not in N or in anything a scenario prints.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from behave_bounded.results import Status, TaskResult

#: The statuses that pass (the verdict counts an xfail as passed).
PASSING = frozenset({Status.PASSED, Status.XFAILED})


@dataclass(slots=True)
class PassRate:
    """The runs of one scenario: how many, how many passed, how many failed the run."""

    location: str
    name: str
    runs: int = 0
    passed: int = 0
    failed: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    def line(self) -> str:
        """``2/3 passed (67%)  features/a.feature:3  its name``, for the console."""
        return (
            f"{self.passed}/{self.runs} passed ({round(100 * self.rate)}%)  "
            f"{self.location}  {self.name}"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "location": self.location,
            "name": self.name,
            "runs": self.runs,
            "passed": self.passed,
            "failed": self.failed,
            "rate": round(self.rate, 4),
        }


def _order(entry: PassRate) -> tuple[int, float, str, int]:
    """Failing scenarios first, lowest pass rate first, then by path and line."""
    path, _, line = entry.location.rpartition(":")
    return (0 if entry.failed else 1, entry.rate, path, int(line) if line.isdigit() else 0)


class PassRates:
    """Each scenario's runs under ``--repeat`` (``times`` runs each); fed finished tasks.

    ``selected``: the locations of the selected scenarios, the only ones counted (None:
    every scenario fed, as a merge of shard reports feeds only the runs of selected ones).
    """

    def __init__(self, times: int, selected: Collection[str] | None = None) -> None:
        self.times = times
        self.selected = selected
        self._entries: dict[str, PassRate] = {}

    def add(self, result: TaskResult) -> None:
        """A finished (finalized) run of a task; scenarios no selection chose are not counted."""
        if not result.task.repeat:  # the features no selection chose, reported as skipped
            return
        for scenario in result.scenarios:
            if self.selected is None or scenario.location in self.selected:
                self.count(scenario.location, scenario.name, scenario.status)

    def count(self, location: str, name: str, status: Status) -> None:
        entry = self._entries.get(location)
        if entry is None:
            entry = self._entries[location] = PassRate(location, name)
        entry.runs += 1
        entry.passed += status in PASSING
        entry.failed += status.fails_run

    def ordered(self) -> list[PassRate]:
        return sorted(self._entries.values(), key=_order)

    def as_json(self) -> dict[str, object]:
        """``run.repeat`` of the JSON report: ``times`` and each scenario's pass rate."""
        return {"times": self.times, "scenarios": [e.as_json() for e in self.ordered()]}
