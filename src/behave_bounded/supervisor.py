"""The supervisor: an event loop that keeps the workers busy and survives crashes, hangs, Ctrl-C.

Like pytest-xdist's ``DSession``, it waits on every worker's pipe and process, and handles what
comes: a message (:mod:`behave_bounded.protocol`), or the loss of a worker. A closed pipe, a
dead process and a timeout are one event, :meth:`Supervisor.lost` with its cause, handled in
one place: the task that was running is reported with the cause, the tasks queued behind it
go back to the queue for another worker, and a fresh worker takes the slot (``w0``, ``w1``...).

Each worker has its next task queued in its pipe while it runs one (:data:`QUEUED`), so it
never waits for the parent between tasks; with ``--stop`` nothing is queued, so no task starts
after the failure that stops the run.

With ``--reruns``, ``on_result`` may answer a finished task with a
:class:`~behave_bounded.reruns.Rerun`: it waits in a :class:`~behave_bounded.reruns.RerunQueue`
ahead of the other tasks, and an idle worker stays open while another one is busy (its
failure may bring a rerun this worker should take, being of another slot).
"""

from __future__ import annotations

import os
import selectors
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from behave_bounded.config import Settings
from behave_bounded.processes import Descendants
from behave_bounded.protocol import Closed, Ready, SetupFailed, TaskDone
from behave_bounded.record import StepDefinitionRecord
from behave_bounded.reruns import Rerun, RerunQueue
from behave_bounded.results import RunResult, Task, TaskResult, WorkerLife
from behave_bounded.session import RecordMode
from behave_bounded.worker import WorkerIdentity, WorkerSpec
from behave_bounded.worker_handle import (
    WorkerHandle,
    WorkerState,
    describe_exit,
    kill_group,
    read_spilled,
    wait_for_exit,
)

#: How often the loop wakes up to check timeouts and signals when nothing else happens.
TICK = 0.2
#: Tasks a worker may hold beyond the one it runs: they wait in its pipe.
QUEUED = 1
#: How long stopped workers get to exit after SIGTERM before they are killed.
STOP_GRACE = 3.0


@dataclass(frozen=True)
class WorkerOptions:
    """What the parent's views ask of every worker: which records, the step definitions."""

    records: RecordMode = RecordMode.FAILING
    step_definitions: bool = False
    #: Called once with the first worker's step definitions (when ``step_definitions``).
    on_step_definitions: Callable[[Sequence[StepDefinitionRecord]], None] | None = None
    #: The run's id, one for all workers (a test reads it as BEHAVE_BOUNDED_RUN_ID).
    run_id: str = ""


class Supervisor:
    """Runs tasks on ``workers`` processes and reports each result as it arrives."""

    def __init__(
        self,
        settings: Settings,
        workers: int,
        on_result: Callable[[TaskResult], TaskResult | Rerun],
        spill_dir: str | None,
        options: WorkerOptions | None = None,
        *,
        stop_on_failure: bool = False,
        no_spill: str = "spilling is off (--no-spill)",
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.on_result = on_result
        self.spill_dir = spill_dir
        self.options = options or WorkerOptions()
        self.stop_on_failure = stop_on_failure
        self.no_spill = no_spill  # why there is no spill file to read a dead worker's output
        self.queued = 0 if stop_on_failure else QUEUED
        self.handles: dict[int, WorkerHandle] = {}
        self.pending: deque[Task] = deque()
        self.reruns = RerunQueue()  # reruns of failed scenarios, ahead of the pending tasks
        self.rerunning = settings.reruns > 0
        self.run = RunResult()
        self.crashes = 0
        self.next_serial = 1
        self.signal_received = 0
        self.stop_scheduling = ""
        self._previous_handlers: dict[int, Any] = {}
        self.pid = os.getpid()
        # One poll set for the run, updated as workers come and go (not one per wait).
        self.selector = selectors.DefaultSelector()
        # What a worker that was killed left running is re-parented to the runner, which ends it.
        self.orphans = Descendants()

    # -- lifecycle ------------------------------------------------------------------------
    def execute(self, tasks: Sequence[Task]) -> RunResult:
        started = time.monotonic()
        self.pending.extend(tasks)
        self._install_signal_handlers()
        self.orphans.adopt()  # the runner becomes the subreaper of the run's processes
        try:
            for _ in range(min(self.workers, len(self.pending))):
                self._start_worker()
            while self.handles:
                self._step()
        finally:
            self._stop_all_workers()
            self.selector.close()
            self.orphans.release()
            self._restore_signal_handlers()
        self.run.never_ran.extend(self.pending)
        self.pending.clear()
        self.run.wall_time = time.monotonic() - started
        return self.run

    def _start_worker(self) -> None:
        taken = {handle.identity.slot for handle in self.handles.values()}
        slot = next(number for number in range(len(taken) + 1) if number not in taken)
        identity = WorkerIdentity(serial=self.next_serial, slot=slot)
        self.next_serial += 1
        handle = WorkerHandle(identity, self.spec)
        self.handles[identity.serial] = handle
        self.selector.register(handle.conn.fileno(), selectors.EVENT_READ, handle)
        self.selector.register(handle.process.sentinel, selectors.EVENT_READ, handle)

    @property
    def spec(self) -> WorkerSpec:
        handlers = {signum: self._on_signal for signum in self._previous_handlers}
        return WorkerSpec(
            self.settings,
            handlers,
            self.spill_dir,
            self.pid,
            records=self.options.records,
            step_definitions=self.options.step_definitions,
            worker_count=self.workers,
            run_id=self.options.run_id,
        )

    # -- the event loop -------------------------------------------------------------------
    def _step(self) -> None:
        if self.signal_received:
            self._interrupt()
            return
        ready: dict[WorkerHandle, set[int]] = {}
        for key, _ in self.selector.select(timeout=TICK):
            ready.setdefault(key.data, set()).add(key.fd)
        for handle, fds in ready.items():
            if handle.identity.serial in self.handles:
                open_ = self._receive(handle)
                if handle.identity.serial in self.handles and (
                    not open_ or handle.process.sentinel in fds
                ):
                    wait_for_exit(handle.process, 1.0)  # a closed pipe without an exit: stuck
                    self.lost(handle, describe_exit(handle.process.exitcode), crash=True)
        self._check_timeouts()
        if self.rerunning:  # a rerun may have come, or its --reruns-delay may be over
            for handle in list(self.handles.values()):
                self._fill(handle)

    def _receive(self, handle: WorkerHandle) -> bool:
        """Handle every message waiting on the worker's pipe; False once the pipe is closed."""
        while handle.identity.serial in self.handles:
            try:
                if not handle.conn.poll():
                    return True
                message = handle.conn.recv()
            except (EOFError, OSError):
                return False
            if isinstance(message, TaskDone):
                self._done(handle, message)
            elif isinstance(message, Ready):
                self._ready(handle, message)
            elif isinstance(message, Closed):
                if message.error:
                    self.run.teardown_errors.append(
                        f"worker {handle.identity.serial}: {message.error}"
                    )
                self._forget(handle, "exited")
            elif isinstance(message, SetupFailed):
                self.run.setup_error = self.run.setup_error or message.message
                self.stop_scheduling = "a worker could not start"
                self._forget(handle, "exited", message.message)
            else:  # pragma: no cover - our own worker sends nothing else
                raise RuntimeError(f"{handle!r} sent an unknown message: {message!r}")
        return True

    def _ready(self, handle: WorkerHandle, message: Ready) -> None:
        if message.step_definitions and self.options.on_step_definitions is not None:
            self.options.on_step_definitions(message.step_definitions)
        handle.spill_paths = dict(message.spill_paths)
        handle.move(WorkerState.READY)
        self._fill(handle)

    def _done(self, handle: WorkerHandle, message: TaskDone) -> None:
        task = handle.assigned.popleft()
        if task.index != message.result.task.index:
            raise RuntimeError(
                f"{handle!r} reported task {message.result.task.index}, not {task.index}"
            )
        handle.since = time.monotonic()  # the next queued task starts now
        if not handle.assigned:
            handle.move(WorkerState.READY)
        self._record(message.result)
        if message.retire:  # the worker exits after this; a fresh one takes its place
            self._requeue(handle)
            self._forget(handle, "retired", message.retire)
            self._replace_if_needed()
        else:
            self._fill(handle)

    def _fill(self, handle: WorkerHandle) -> None:
        """Keep the worker's queue full; an idle worker with nothing left takes a task queued
        behind another worker's (a long or hanging one); one with nothing at all closes."""
        while (
            handle.state in (WorkerState.READY, WorkerState.BUSY)
            and len(handle.assigned) <= self.queued
            and not self.stop_scheduling
        ):
            task = self._next_task(handle)
            if task is None:
                break
            handle.send(task)
        if handle.state is WorkerState.READY and not self.stop_scheduling:
            stolen = self._take_back(handle)
            if stolen is not None:
                handle.send(stolen)
                return
        if handle.state is WorkerState.READY and not self._stays_idle(handle):
            handle.close()

    def _next_task(self, handle: WorkerHandle) -> Task | None:
        """A rerun this worker may run now, else the next pending task, else None."""
        rerun = self.reruns.take(handle.identity.slot, self._other_slots(handle), time.monotonic())
        if rerun is not None:
            return rerun
        return self.pending.popleft() if self.pending else None

    def _other_slots(self, handle: WorkerHandle) -> set[int]:
        """The slots of the other workers that can still take a task."""
        taking = (WorkerState.STARTING, WorkerState.READY, WorkerState.BUSY)
        return {
            other.identity.slot
            for other in self.handles.values()
            if other is not handle and other.state in taking
        }

    def _stays_idle(self, handle: WorkerHandle) -> bool:
        """With --reruns, an idle worker waits while a rerun waits or another worker is busy."""
        if not self.rerunning or self.stop_scheduling:
            return False
        busy = any(
            other is not handle and other.state is WorkerState.BUSY
            for other in self.handles.values()
        )
        return busy or self.reruns.waiting

    def _take_back(self, idle: WorkerHandle) -> Task | None:
        others = self._other_slots(idle)
        slot = idle.identity.slot
        for other in self.handles.values():
            if other is not idle and other.state is WorkerState.BUSY:
                task = other.take_back(lambda task: self.reruns.allows(task, slot, others))
                if task is not None:
                    return task
        return None

    def _record(self, result: TaskResult) -> None:
        self.reruns.done(result.task)
        outcome = self.on_result(result)  # finalized: its statuses are final
        if isinstance(outcome, Rerun):  # some of its scenarios run again first
            self.reruns.add(outcome)
            return
        # Finalized, a task that died has an errored entry (see finalize); with reruns its
        # own error may be the first run's, which a rerun made good.
        failed = any(s.status.fails_run for s in outcome.scenarios)
        if self.stop_on_failure and failed:
            self.stop_scheduling = self.stop_scheduling or "--stop after the first failure"
            self.run.stopped_early = self.run.stopped_early or self.stop_scheduling

    # -- losing a worker ------------------------------------------------------------------
    def lost(self, handle: WorkerHandle, cause: str, *, crash: bool) -> None:
        """A worker is gone (its process ended, its pipe closed, or it timed out and was
        killed): charge the cause to what it was doing, requeue what it had not begun."""
        handle.kill()
        serial = handle.identity.serial
        if handle.state is WorkerState.STARTING:
            self.run.setup_error = self.run.setup_error or (
                cause if not crash else f"worker {serial} died while starting: {cause}"
            )
            self.stop_scheduling = "a worker could not start"
        elif handle.state is WorkerState.CLOSING:
            what = cause if not crash else f"{cause} while running after_all"
            self.run.teardown_errors.append(f"worker {serial}: {what}")
        else:
            running, since = handle.running()
            if running is not None:
                handle.assigned.popleft()
                self.crashes += crash
                self._fail_task(handle, running, since, cause)
            self._requeue(handle)
            if self.crashes > self.settings.restart_budget(self.workers):
                self.stop_scheduling = (
                    f"{self.crashes} workers crashed, more than --max-worker-restarts "
                    f"{self.settings.restart_budget(self.workers)} allows"
                )
                self.run.stopped_early = self.stop_scheduling
                self.run.lost = True
        self._forget(handle, "crashed" if crash else "timed out", cause, grace=0.0)
        self._replace_if_needed()

    def _requeue(self, handle: WorkerHandle) -> None:
        """Tasks the worker held but had not begun go back to the front of the queue."""
        while handle.assigned:
            task = handle.assigned.pop()
            if not self.reruns.put_back(task):
                self.pending.appendleft(task)

    def _fail_task(self, handle: WorkerHandle, task: Task, since: float, cause: str) -> None:
        scenarios, chunks, running = handle.journaled(task)
        elapsed = max(time.monotonic() - since, 0.0)
        result = TaskResult(
            task=task,
            scenarios=scenarios,
            records=chunks,
            running=running,
            duration=elapsed,
            stdout=self._read_back(handle, "stdout"),
            stderr=self._read_back(handle, "stderr"),
            worker=handle.identity.serial,
            slot=handle.identity.slot,
            error=cause,
            feature_failed=True,
            started=time.time() - elapsed,
        )
        self._record(result)

    def _read_back(self, handle: WorkerHandle, name: str) -> Any:
        return read_spilled(
            handle.spill_paths.get(name),
            name,
            self.settings.show_output,
            self.settings.max_spill,
            self.no_spill,
        )

    def _check_timeouts(self) -> None:
        timeout = self.settings.timeout
        if timeout is None:
            return
        now = time.monotonic()
        for handle in list(self.handles.values()):
            if handle.state is WorkerState.READY:
                continue
            since = handle.running()[1] if handle.state is WorkerState.BUSY else handle.since
            if now - since <= timeout:
                continue
            limit = f"within {timeout:g} s (--timeout)"
            if handle.state is WorkerState.STARTING:
                cause = f"worker {handle.identity.serial}: before_all did not finish {limit}"
            elif handle.state is WorkerState.CLOSING:
                cause = f"after_all did not finish {limit}"
            else:
                cause = f"timed out after {timeout:g} s"
            self.lost(handle, cause, crash=False)

    def _replace_if_needed(self) -> None:
        working = sum(1 for h in self.handles.values() if h.state is not WorkerState.CLOSING)
        wanted = self.pending or self.reruns.waiting
        if wanted and not self.stop_scheduling and working < self.workers:
            self._start_worker()

    def _forget(
        self, handle: WorkerHandle, end: str, cause: str = "", *, grace: float = 5.0
    ) -> None:
        """Drop a worker whose work is over; reap it and whatever it left running."""
        if self.handles.pop(handle.identity.serial, None) is not None:
            self.selector.unregister(handle.conn.fileno())
            self.selector.unregister(handle.process.sentinel)
        handle.end(grace)
        # Those that left the worker's group, re-parented to the runner when the worker died.
        self.orphans.end_new(spare=[h.pid for h in self.handles.values()])
        self.run.workers.append(
            WorkerLife(
                slot=handle.identity.slot,
                worker=handle.identity.serial,
                started=handle.born,
                ended=time.time(),
                end=end,
                cause=cause,
            )
        )

    # -- signals --------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.pid:  # pragma: no cover - runs after coverage saved its data
            # A forked worker inherited this handler, maybe wrapped by another one (coverage's
            # SIGTERM handler chains to whatever it found): act as the default would.
            if signum == signal.SIGINT:
                signal.default_int_handler(signum, frame)
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.signal_received = self.signal_received or signum

    def _interrupt(self) -> None:
        name = signal.Signals(self.signal_received).name
        self.run.interrupted_by = self.signal_received
        self.run.stopped_early = f"interrupted by {name}"
        self.stop_scheduling = self.run.stopped_early
        self._stop_all_workers()

    def _stop_all_workers(self) -> None:
        """SIGTERM every worker's process group, then SIGKILL what is left after a grace.

        The task a worker was running is interrupted; the ones queued behind it never ran.
        """
        handles = list(self.handles.values())
        for handle in handles:
            running, _ = handle.running()
            if running is not None:
                handle.assigned.popleft()
                if not self.reruns.is_rerun(running):  # its scenarios keep their last attempt
                    self.run.interrupted.append(running)
            self._requeue(handle)
            if handle.process.is_alive():
                kill_group(handle.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for handle in handles:
            wait_for_exit(handle.process, deadline - time.monotonic())
        for handle in handles:
            kill_group(handle.pid, signal.SIGKILL)
            self._forget(handle, "interrupted" if self.signal_received else "stopped")
