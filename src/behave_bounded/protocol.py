"""The messages between the parent and a worker: small frozen records, each bounded.

One pipe per worker carries them (``multiprocessing`` connections, pickled). The parent sends
:class:`RunTask` (the next task; one may wait queued behind the running one, so a worker never
waits for the parent between tasks) and :class:`Close` (run ``after_all`` and exit). A worker
answers :class:`Ready` once it has loaded the suite and run ``before_all`` (or
:class:`SetupFailed`), :class:`TaskDone` per task, in the order the tasks came, and
:class:`Closed` at the end. Nothing else crosses: which task a worker is running, and since
when, the parent reads from the worker's :class:`~behave_bounded.journal.Journal`.

Bounds: a task result is bounded by its fields (see :mod:`behave_bounded.results`), step
definitions by the suite's own count, error texts by :func:`~behave_bounded.results.clip`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from behave_bounded.record import StepDefinitionRecord
from behave_bounded.results import Task, TaskResult


@dataclass(frozen=True, slots=True)
class RunTask:
    """Parent to worker: run this task when the one before it is done."""

    task: Task


@dataclass(frozen=True, slots=True)
class Close:
    """Parent to worker: no more tasks; run ``after_all`` and exit."""


@dataclass(frozen=True, slots=True)
class Ready:
    """Worker to parent: the suite is loaded and ``before_all`` passed."""

    #: Where the worker spills each stream of the task it runs (read back if it dies).
    spill_paths: dict[str, str | None] = field(default_factory=dict)
    #: The worker's step definitions, when the parent's step-definition formatters asked.
    step_definitions: tuple[StepDefinitionRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class SetupFailed:
    """Worker to parent: loading the suite or ``before_all`` failed (file:line and reason)."""

    message: str


@dataclass(frozen=True, slots=True)
class TaskDone:
    """Worker to parent: a task's result; ``retire`` says why the worker exits after it."""

    result: TaskResult
    retire: str = ""


@dataclass(frozen=True, slots=True)
class Closed:
    """Worker to parent: ``after_all`` ran; ``error`` says how it failed ("" when it passed)."""

    error: str = ""
