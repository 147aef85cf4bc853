"""Counts and the verdict line: what every report's last word is made of.

The verdict line ``scenarios: P passed, F failed, S skipped`` is computed here and nowhere
else, from counts keyed by status (:data:`COUNT_KEYS`), so the console, the JSON report, the
JUnit report and a merge of shard reports can never disagree about a run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from behave_bounded.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE
from behave_bounded.results import RunResult, ScenarioResult, Status, TaskResult

#: Keys of ``run.counts``: one per status, and how many of them never ran.
COUNT_KEYS = (*(status.value for status in Status), "not_run")
#: Worst first: a feature's status is the first of these any of its scenarios has.
_ORDER = (
    Status.ERRORED,
    Status.FAILED,
    Status.XPASSED,
    Status.UNDEFINED,
    Status.PASSED,
    Status.XFAILED,
    Status.SKIPPED,
)


def feature_status(scenarios: Iterable[ScenarioResult]) -> Status:
    """The worst status among a feature's scenarios (skipped when it has none)."""
    return worst(s.status for s in scenarios)


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of some statuses, in the order a feature's status is decided (skipped: none)."""
    present = set(statuses)
    return next((status for status in _ORDER if status in present), Status.SKIPPED)


class Counts:
    """Scenario outcomes of a report or a merge: the single source of the verdict line."""

    def __init__(self) -> None:
        self._n: Counter[str] = Counter()

    def add(self, key: str, n: int = 1) -> None:
        self._n[key] += n

    def update(self, other: Counts) -> None:
        self._n.update(other._n)

    def as_dict(self) -> dict[str, int]:
        return {key: self._n[key] for key in COUNT_KEYS}

    def verdict(self) -> str:
        return verdict_line(self.as_dict())


def verdict_numbers(counts: Mapping[str, int]) -> tuple[int, int, int]:
    """(passed, failed, skipped) as the console's verdict counts them."""
    passed = counts.get("passed", 0) + counts.get("xfailed", 0)
    failed = sum(counts.get(status.value, 0) for status in Status if status.fails_run)
    return passed, failed, counts.get("skipped", 0)


def verdict_line(counts: Mapping[str, int]) -> str:
    passed, failed, skipped = verdict_numbers(counts)
    return f"scenarios: {passed} passed, {failed} failed, {skipped} skipped"


def task_status(result: TaskResult) -> Status:
    """A (finalized) task's status: errored when it died as a whole, else its worst scenario's."""
    return Status.ERRORED if result.error else feature_status(result.scenarios)


def exit_code(run: RunResult, failed: int) -> int:
    """0 passed, 1 failed, 2 could not start, 130/143 interrupted (documented in README)."""
    if run.interrupted_by:
        return EXIT_SIGINT if run.interrupted_by == 2 else EXIT_SIGTERM
    if run.setup_error:
        return EXIT_USAGE
    if failed or run.teardown_errors or run.report_errors or run.lost:
        return EXIT_FAILED
    return EXIT_OK
