"""Features that did not run: why, and how many scenarios each counts for in a report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from behave_bounded.reports.meta import RunMeta
from behave_bounded.results import Task


def not_run_reason(interrupted: bool, meta: RunMeta) -> str:
    """Why a feature is in ``not_run``: it was cut off, or never started, and the run's reason."""
    what = "interrupted while running" if interrupted else "never started"
    return f"{what} ({meta.reason})" if meta.reason else what


def not_run_tasks(
    never_ran: Sequence[Task], interrupted: Sequence[Task]
) -> Iterable[tuple[Task, bool]]:
    yield from ((task, True) for task in interrupted)
    yield from ((task, False) for task in never_ran)


def slots(task: Task) -> int:
    """Scenarios a not-run feature counts for (at least one, so it is never invisible)."""
    return max(task.scenario_count, 1)
