"""Reruns (``--reruns N``, ``--reruns-delay S``): a failed or errored scenario runs again.

As pytest-rerunfailures does for a test, but across worker processes: a scenario that failed
or errored (a crash or a timeout of its worker included) runs again, up to N times, preferably
on a worker of another slot than the attempt that failed. One that then passes is *flaky*: it
counts as passed and is reported with every attempt. Never rerun: a scenario tagged
``@tdd_expected_fail``/``@xfail`` (its failure is the point), an undefined step, an xpass (both
are the same on every run), an error outside every scenario (a feature hook that crashed the
worker after its scenarios ended: there is no scenario to run again).

Two halves, each small:

* :class:`Reruns`, the policy, sits between the supervisor and the views. It finalizes each
  finished task once, decides which of its scenarios run again (only those: a rerun is a task
  narrowed to their lines, as ``--scheme scenario`` narrows one), holds the task until its
  last rerun is back and then hands the views one final result per task
  (:attr:`~behave_bounded.results.TaskResult.reruns`): no view sees a scenario waiting for
  its rerun. Held tasks are pickled and kept in memory up to :data:`MEMORY_LIMIT` bytes, the
  rest in one private temporary file (removed when the run ends).
* :class:`RerunQueue`, the supervisor's: the reruns waiting for a worker, each from its time
  (``--reruns-delay``) and avoiding the slot whose attempt failed while a worker of another
  slot lives (with one worker, or once the others are gone, the same slot runs it).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from typing import IO

from behave_bounded.finalize import Finalizer
from behave_bounded.results import Attempt, ScenarioResult, Status, Task, TaskResult
from behave_bounded.tdd import expects_failure

#: Bytes of held tasks (pickled results) kept in memory; beyond, they wait in a private file.
MEMORY_LIMIT = 32 * 2**20
#: The statuses a rerun may change: an undefined step or an xpass is the same on every run.
RERUN_STATUSES = frozenset({Status.FAILED, Status.ERRORED})


@dataclass(frozen=True)
class Rerun:
    """A task narrowed to the scenarios that run again, when it may start, what it avoids."""

    task: Task
    after: float  # time.monotonic() from which it may start (--reruns-delay)
    avoid: int  # the slot of the worker whose attempt failed: another slot is preferred


def _line_of(location: str) -> int:
    return int(location.rsplit(":", 1)[1])


def _line(scenario: ScenarioResult) -> int:
    return _line_of(scenario.location)


def rerun_lines(
    result: TaskResult, never_started: Collection[int], scenario_lines: Collection[int]
) -> tuple[int, ...]:
    """Lines of a finalized run's scenarios that run again: failed or errored, or never begun
    because the worker died (``never_started``); a scenario expected to fail never does."""
    lines = {
        _line(s)
        for s in result.scenarios
        if (s.status in RERUN_STATUSES or _line(s) in never_started)
        and not expects_failure(s.tags)
        and _line(s) in scenario_lines  # not the entry of an error outside every scenario
    }
    return tuple(sorted(lines))


def stopped_after(result: TaskResult, selected: Collection[int]) -> frozenset[int]:
    """Lines of the selected scenarios behave's ``--stop`` skipped after the run's first
    scenario that may run again (failed or errored)."""
    lines: set[int] = set()
    failed = False
    for scenario in result.scenarios:
        if failed and scenario.status is Status.SKIPPED and _line(scenario) in selected:
            lines.add(_line(scenario))
        failed = failed or scenario.status in RERUN_STATUSES
    return frozenset(lines)


def merge_attempt(held: TaskResult, rerun: TaskResult) -> TaskResult:
    """The task's final result so far once ``rerun`` (a finalized run of some of its scenarios)
    is back: each of them with one more attempt. A scenario's result is its last attempt that
    ran: one the rerun did not begin (its worker died first) keeps the earlier result."""
    again = {s.location: s for s in rerun.scenarios}
    scenarios = []
    for scenario in held.scenarios:
        new = again.pop(scenario.location, None)
        if new is None:
            scenarios.append(scenario)
            continue
        before = scenario.attempts or (Attempt.of(scenario, held.worker, held.slot),)
        attempts = (*before, Attempt.of(new, rerun.worker, rerun.slot))
        ran = new.status is not Status.SKIPPED or scenario.status is Status.SKIPPED
        scenarios.append(replace(new if ran else scenario, attempts=attempts))
    scenarios.extend(again.values())  # an error of the rerun outside its scenarios
    return replace(held, scenarios=tuple(scenarios), reruns=(*held.reruns, rerun))


class Reruns:
    """The rerun policy of one run: :meth:`add` each finished task, :meth:`flush` at the end.

    ``deliver`` is the views' entry for a final (finalized) result; ``first_index`` is the
    first task index no task of the run uses (reruns are new tasks, with indexes from there).
    """

    def __init__(
        self,
        count: int,
        delay: float,
        finalizer: Finalizer,
        deliver: Callable[[TaskResult], TaskResult],
        first_index: int,
        *,
        stop: bool = False,
        spill_dir: str | None = None,
        memory_limit: int = MEMORY_LIMIT,
    ) -> None:
        """``stop``: behave's ``--stop`` skips the scenarios after a failure inside its worker;
        they run with the failed one's rerun, which may make the failure good."""
        self.stop = stop
        self.count = count
        self.delay = delay
        self.finalizer = finalizer
        self.deliver = deliver
        self._next_index = first_index
        self._held = HeldResults(memory_limit, spill_dir)

    def add(self, result: TaskResult) -> TaskResult | Rerun:
        """A finished run of a task: its final result (delivered), or the rerun to schedule."""
        never_started = self.finalizer.never_started(result)  # read before the expansion
        run = self.finalizer.finalize(result)
        task = run.task
        merged = run if task.attempt == 1 else merge_attempt(self._held.pop(task.index), run)
        lines: tuple[int, ...] = ()
        if task.attempt <= self.count:
            info = self.finalizer.features[task.path]
            scenario_lines = {_line_of(s.location) for s in info.scenarios}
            if self.stop:
                selected = {_line_of(s.location) for s in info.selected}
                never_started = never_started | stopped_after(run, selected)
            lines = rerun_lines(run, never_started, scenario_lines)
        if not lines:
            return self.deliver(merged)
        again = replace(
            task,
            index=self._next_index,
            lines=lines,
            scenario_count=len(lines),
            part=True,
            attempt=task.attempt + 1,
        )
        self._next_index += 1
        self._held.put(again.index, merged)
        return Rerun(again, time.monotonic() + self.delay, run.slot)

    def flush(self) -> None:
        """Deliver every task whose rerun never ran (the run stopped, was interrupted or lost)
        with the attempts it had: its failed scenarios report their last failure."""
        for result in self._held.drain():
            self.deliver(result)
        self._held.close()


class HeldResults:
    """Tasks waiting for their reruns, pickled: in memory up to ``memory_limit`` bytes, the
    rest in one private temporary file (``mkstemp`` semantics), read back when taken."""

    def __init__(self, memory_limit: int = MEMORY_LIMIT, spill_dir: str | None = None) -> None:
        self.memory_limit = memory_limit
        self.spill_dir = spill_dir
        self.in_memory = 0
        self._memory: dict[int, bytes] = {}
        self._in_file: dict[int, tuple[int, int]] = {}  # key -> (offset, size)
        self._file: IO[bytes] | None = None

    def __len__(self) -> int:
        return len(self._memory) + len(self._in_file)

    def put(self, key: int, result: TaskResult) -> None:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        if self.in_memory + len(data) <= self.memory_limit:
            self._memory[key] = data
            self.in_memory += len(data)
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(  # noqa: SIM115 - closed by close()
                prefix="behave-bounded-reruns-", dir=self.spill_dir
            )
        self._file.seek(0, os.SEEK_END)
        self._in_file[key] = (self._file.tell(), len(data))
        self._file.write(data)

    def pop(self, key: int) -> TaskResult:
        data = self._memory.pop(key, None)
        if data is not None:
            self.in_memory -= len(data)
        else:
            offset, size = self._in_file.pop(key)
            if self._file is None:  # pragma: no cover - a key in the file implies the file
                raise RuntimeError("the held results' file is gone")
            self._file.seek(offset)
            data = self._file.read(size)
            if not self._in_file:  # nothing waits in the file: give its space back
                self._file.truncate(0)
        result: TaskResult = pickle.loads(data)  # noqa: S301 - pickled by this process
        return result

    def drain(self) -> Iterator[TaskResult]:
        """Every held result, oldest first, each taken out."""
        for key in sorted([*self._memory, *self._in_file]):
            yield self.pop(key)

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


class RerunQueue:
    """The reruns one supervisor has been given and not yet seen reported.

    A rerun waits here until a worker may take it: from its time on, by a worker of another
    slot than the one it avoids, or by that slot when no worker of another slot lives. A rerun
    a worker was given and had not begun when it died (or retired) waits here again.
    """

    def __init__(self) -> None:
        self._waiting: list[Rerun] = []  # in the order they came
        self._given: dict[int, Rerun] = {}  # task index -> rerun, until its result is back

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def add(self, rerun: Rerun) -> None:
        self._given[rerun.task.index] = rerun
        self._waiting.append(rerun)

    def is_rerun(self, task: Task) -> bool:
        return task.index in self._given

    def allows(self, task: Task, slot: int, other_slots: Collection[int]) -> bool:
        """Whether the worker of ``slot`` may run ``task`` while workers of ``other_slots`` live."""
        rerun = self._given.get(task.index)
        if rerun is None or rerun.avoid != slot:
            return True
        return not any(other != rerun.avoid for other in other_slots)

    def take(self, slot: int, other_slots: Collection[int], now: float) -> Task | None:
        """The first waiting rerun the worker of ``slot`` may start now, taken out; or None."""
        for position, rerun in enumerate(self._waiting):
            if rerun.after <= now and self.allows(rerun.task, slot, other_slots):
                del self._waiting[position]
                return rerun.task
        return None

    def put_back(self, task: Task) -> bool:
        """A rerun a worker had not begun waits again (True); False: not a rerun."""
        rerun = self._given.get(task.index)
        if rerun is None:
            return False
        self._waiting.insert(0, rerun)
        return True

    def done(self, task: Task) -> None:
        """The task's result is back: it no longer waits for anything."""
        self._given.pop(task.index, None)
