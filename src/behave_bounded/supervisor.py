"""Worker processes and the supervisor loop that survives crashes, hangs and Ctrl-C.

The supervisor is an event loop over worker connections and process sentinels (like
pytest-xdist's ``DSession``): a worker that dies is just another event, reported against the
task it was running, and a fresh worker takes its place. Each worker gets one task at a time
over its own pipe, so a worker killed at any moment cannot corrupt a shared queue.

Start method: ``fork``. Measured here (2 cores, Python 3.11, the parent having imported
behave and this package; time from ``Process.start`` until the child, having imported what a
worker needs, answers on its pipe; median of 5 after a first start): fork 2.6 ms, forkserver
168 ms (203 ms the first time), spawn 183 ms: forkserver (without a preload list) and spawn
import behave and this package again in every worker. Fork also shares every
``--preimport``-ed module copy-on-write, which is the point of pre-importing. Its usual hazard
is forking a process that runs threads; the supervisor runs none (the pre-import guard uses a
timer signal, not a thread), so the children start from a consistent state.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from behave_bounded.config import Settings
from behave_bounded.journal import Journal
from behave_bounded.processes import Descendants
from behave_bounded.record import FeatureRecord, StepDefinitionRecord, dumps_records
from behave_bounded.results import (
    CapturedStream,
    RunResult,
    ScenarioResult,
    StreamStats,
    Task,
    TaskResult,
)
from behave_bounded.worker import RecordMode, WorkerSpec, worker_main

_CONTEXT = multiprocessing.get_context("fork")
#: How often the loop wakes up to check timeouts and signals when nothing else happens.
TICK = 0.2
#: How long stopped workers get to exit after SIGTERM before they are killed.
STOP_GRACE = 3.0


def describe_exit(exitcode: int | None) -> str:
    """Why a worker process ended, in words a user can act on."""
    if exitcode is None:
        return "worker stopped responding: its connection to the runner was closed"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "unknown signal"
        hint = ", possibly out of memory" if -exitcode == signal.SIGKILL else ""
        return f"worker exited by signal {-exitcode} ({name}){hint}"
    return f"worker exited with code {exitcode}"


def read_spilled(
    path: str | None, name: str, limit: int, max_spill: int, no_spill: str
) -> CapturedStream:
    """Head and tail (at most ``limit`` bytes) of a dead worker's spill file.

    A dead worker never closed its spill, so the file says nothing about what it missed:
    the note says how much the file holds and whether it reached ``--max-spill``. The
    statistics claim no more than was read back (a dead worker's counts died with it).
    """
    if not path:
        return CapturedStream(
            f"[{name} of the dead worker was not kept: {no_spill}]\n", StreamStats(name)
        )
    try:
        with open(path, "rb") as spill:
            size = os.fstat(spill.fileno()).st_size
            room = max(limit - 512, 64)  # the note and markers fit in --show-output too
            head = spill.read(min(size, room // 4))
            spill.seek(max(len(head), size - (room - len(head))))
            tail = spill.read()
    except OSError as error:
        return CapturedStream(
            f"[{name} could not be read from {path}: {error}]\n", StreamStats(name)
        )
    capped = "; it reached --max-spill, so the output went on past it" if size >= max_spill else ""
    not_shown = size - len(head) - len(tail)
    middle = f"[... {not_shown} bytes not shown ...]\n" if not_shown else ""
    note = (
        f"[behave-bounded: {name} of the dead worker, read back from its spill file {path}, "
        f"which holds {size} bytes{capped}; what the worker printed after its last write to "
        "the file, if anything, died with it]\n"
    )
    text = note + head.decode("utf-8", "replace") + middle + tail.decode("utf-8", "replace")
    shown = len(head) + len(tail)
    return CapturedStream(text, StreamStats(name, written=shown, kept=shown, spill_path=path))


@dataclass
class WorkerHandle:
    """The parent's view of one worker process."""

    id: int
    process: Any
    conn: Any
    state: str = "starting"  # starting -> ready <-> busy -> closing
    task: Task | None = None
    since: float = field(default_factory=time.monotonic)
    spill_paths: dict[str, str | None] = field(default_factory=dict)
    journal: Journal | None = None


@dataclass(frozen=True)
class WorkerOptions:
    """What the parent's views ask of every worker: which records, the step definitions."""

    records: RecordMode = RecordMode.FAILING
    step_definitions: bool = False
    #: Called once with the first worker's step definitions (when ``step_definitions``).
    on_step_definitions: Callable[[Sequence[StepDefinitionRecord]], None] | None = None


class Supervisor:
    """Runs tasks on ``workers`` processes and reports each result as it arrives."""

    def __init__(
        self,
        settings: Settings,
        workers: int,
        on_result: Callable[[TaskResult], TaskResult],
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
        self.handles: dict[int, WorkerHandle] = {}
        self.pending: deque[Task] = deque()
        self.run = RunResult()
        self.crashes = 0
        self.next_id = 1
        self.signal_received = 0
        self.stop_scheduling = ""
        self._previous_handlers: dict[int, Any] = {}
        self.pid = os.getpid()
        # processes: what a worker that was killed left running is re-parented to the runner
        self.orphans = Descendants()

    # -- lifecycle ------------------------------------------------------------------------
    def execute(self, tasks: Sequence[Task]) -> RunResult:
        started = time.monotonic()
        self.pending.extend(tasks)
        self._install_signal_handlers()
        self.orphans.adopt()  # processes: the runner becomes the subreaper of the run
        try:
            for _ in range(min(self.workers, len(self.pending))):
                self._start_worker()
            while self.handles:
                self._step()
        finally:
            self._stop_all_workers()
            self.orphans.release()  # processes
            self._restore_signal_handlers()
        self.run.never_ran.extend(self.pending)
        self.pending.clear()
        self.run.wall_time = time.monotonic() - started
        return self.run

    def _start_worker(self) -> None:
        parent_conn, child_conn = _CONTEXT.Pipe(duplex=True)
        worker_id = self.next_id
        self.next_id += 1
        journal = Journal()  # shared with the worker: forked after it exists
        process = _CONTEXT.Process(
            target=_worker_entry,
            args=(child_conn, worker_id, self.spec, journal),
            name=f"behave-bounded-worker-{worker_id}",
        )
        process.start()
        child_conn.close()
        assert process.pid is not None
        with contextlib.suppress(OSError):  # the child may have done it already
            os.setpgid(process.pid, process.pid)
        self.handles[worker_id] = WorkerHandle(worker_id, process, parent_conn, journal=journal)

    # -- the event loop -------------------------------------------------------------------
    def _step(self) -> None:
        if self.signal_received:
            self._interrupt()
            return
        waitables: list[Any] = []
        for handle in self.handles.values():
            waitables += [handle.conn, handle.process.sentinel]
        ready = set(wait(waitables, timeout=TICK))
        for handle in list(self.handles.values()):
            if handle.conn in ready or handle.process.sentinel in ready:
                open_ = self._receive(handle)
                if handle.id in self.handles and (not open_ or handle.process.sentinel in ready):
                    self._reap(handle)
        self._check_timeouts()

    def _receive(self, handle: WorkerHandle) -> bool:
        """Handle every message waiting on the worker's pipe; False once the pipe is closed."""
        while handle.id in self.handles:
            try:
                if not handle.conn.poll():
                    return True
                kind, payload = handle.conn.recv()
            except (EOFError, OSError):
                return False
            getattr(self, f"_on_{kind}")(handle, payload)
        return True

    def _on_ready(self, handle: WorkerHandle, definitions: Sequence[StepDefinitionRecord]) -> None:
        if definitions and self.options.on_step_definitions is not None:
            self.options.on_step_definitions(definitions)
        handle.state = "ready"
        self._assign(handle)

    def _on_setup_error(self, handle: WorkerHandle, message: str) -> None:
        self.run.setup_error = self.run.setup_error or message
        self.stop_scheduling = "a worker could not start"
        self._forget(handle)

    def _on_started(self, handle: WorkerHandle, payload: tuple[int, dict[str, str | None]]) -> None:
        handle.spill_paths = payload[1]

    def _on_result(self, handle: WorkerHandle, payload: tuple[TaskResult, str]) -> None:
        result, retire = payload
        handle.task = None
        handle.state = "ready"
        self._record(result)
        if retire:  # the worker exits after this; a fresh one takes its place
            self._forget(handle)
            self._replace_if_needed()
        else:
            self._assign(handle)

    def _on_closed(self, handle: WorkerHandle, error: str) -> None:
        if error:
            self.run.teardown_errors.append(f"worker {handle.id}: {error}")
        self._forget(handle)

    def _assign(self, handle: WorkerHandle) -> None:
        """Send the ready worker its next task, or ask it to finish (after_all) and exit."""
        if self.pending and not self.stop_scheduling:
            task = self.pending.popleft()
            handle.task = task
            handle.state = "busy"
            handle.since = time.monotonic()
            handle.spill_paths = {}
            handle.conn.send(task)
        else:
            handle.state = "closing"
            handle.since = time.monotonic()
            handle.conn.send(None)

    def _record(self, result: TaskResult) -> None:
        result = self.on_result(result)  # shown on the console; comes back without its text
        failed = result.error or any(s.status.fails_run for s in result.scenarios)
        if self.stop_on_failure and failed:
            self.stop_scheduling = self.stop_scheduling or "--stop after the first failure"
            self.run.stopped_early = self.run.stopped_early or self.stop_scheduling
        self.run.results.append(result)

    # -- failures -------------------------------------------------------------------------
    def _reap(self, handle: WorkerHandle) -> None:
        """The worker's process ended (or its pipe broke): report and replace it."""
        _wait_for_exit(handle.process, 1.0)  # a closed pipe without an exit: it is stuck
        cause = describe_exit(handle.process.exitcode)
        if handle.state == "starting":
            self.run.setup_error = (
                self.run.setup_error or f"worker {handle.id} died while starting: {cause}"
            )
            self.stop_scheduling = "a worker could not start"
        elif handle.state == "closing":
            self.run.teardown_errors.append(f"worker {handle.id}: {cause} while running after_all")
        elif handle.task is not None:
            self.crashes += 1
            self._fail_task(handle, cause)
            if self.crashes > self.settings.restart_budget(self.workers):
                self.stop_scheduling = (
                    f"{self.crashes} workers crashed, more than --max-worker-restarts "
                    f"{self.settings.restart_budget(self.workers)} allows"
                )
                self.run.stopped_early = self.stop_scheduling
                self.run.lost = True
        self._forget(handle, grace=0.0)
        self._replace_if_needed()

    def _fail_task(self, handle: WorkerHandle, cause: str) -> None:
        task = handle.task
        assert task is not None
        scenarios, chunks, running = _journaled(handle.journal, task)
        result = TaskResult(
            task=task,
            scenarios=scenarios,
            records=chunks,
            running=running,
            duration=time.monotonic() - handle.since,
            stdout=self._read_back(handle, "stdout"),
            stderr=self._read_back(handle, "stderr"),
            worker=handle.id,
            error=cause,
            feature_failed=True,
            started=time.time() - (time.monotonic() - handle.since),
        )
        handle.task = None
        self._record(result)

    def _read_back(self, handle: WorkerHandle, name: str) -> CapturedStream:
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
            if now - handle.since <= timeout or handle.state == "ready":
                continue
            _kill_group(handle.process.pid, signal.SIGKILL)
            _wait_for_exit(handle.process, 5.0)
            if handle.state == "busy":
                self._fail_task(handle, f"timed out after {timeout:g} s")
            elif handle.state == "starting":
                self.run.setup_error = (
                    f"worker {handle.id}: before_all did not finish within {timeout:g} s"
                    " (--timeout)"
                )
                self.stop_scheduling = "a worker could not start"
            else:
                self.run.teardown_errors.append(
                    f"worker {handle.id}: after_all did not finish within {timeout:g} s (--timeout)"
                )
            self._forget(handle)
            self._replace_if_needed()

    def _replace_if_needed(self) -> None:
        busy_or_starting = sum(1 for h in self.handles.values() if h.state != "closing")
        if self.pending and not self.stop_scheduling and busy_or_starting < self.workers:
            self._start_worker()

    def _forget(self, handle: WorkerHandle, grace: float = 5.0) -> None:
        """Drop a worker whose work is over; reap it and whatever it left running.

        ``grace`` is how long a worker that said goodbye gets to exit by itself (coverage
        and other atexit work of the suite's own tools run then) before it is killed.
        """
        self.handles.pop(handle.id, None)
        handle.conn.close()
        _wait_for_exit(handle.process, grace)
        _kill_group(handle.process.pid, signal.SIGKILL)  # orphans of the suite's steps
        _wait_for_exit(handle.process, 5.0)
        # processes: those that left the group, re-parented to the runner when the worker died
        self.orphans.end_new(spare=[h.process.pid for h in self.handles.values()])
        if handle.journal is not None:
            handle.journal.close()
            handle.journal = None

    # -- signals --------------------------------------------------------------------------
    def _install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

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
        )

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
        """SIGTERM every worker's process group, then SIGKILL what is left after a grace."""
        handles = list(self.handles.values())
        for handle in handles:
            if handle.task is not None:
                self.run.interrupted.append(handle.task)
                handle.task = None
            if handle.process.is_alive():
                _kill_group(handle.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for handle in handles:
            _wait_for_exit(handle.process, deadline - time.monotonic())
        for handle in handles:
            _kill_group(handle.process.pid, signal.SIGKILL)
            self._forget(handle)


def _journaled(
    journal: Journal | None, task: Task
) -> tuple[tuple[ScenarioResult, ...], bytes, int]:
    """What a dead worker journaled of its task: the finished scenarios' results, their
    recorded events (pickled, for behave's formatters), the line of the one that was running."""
    if journal is None:
        return (), b"", 0
    read = journal.read(task.index)
    results: list[ScenarioResult] = []
    chunks: list[FeatureRecord] = []
    for entry in read.entries:
        result, chunk = pickle.loads(entry)  # noqa: S301 - written by our own worker
        results.append(result)
        if chunk is not None:
            chunks.append(chunk)
    return tuple(results), dumps_records(chunks) if chunks else b"", read.running


def _wait_for_exit(process: Any, timeout: float) -> int | None:
    """The exit code once the process ended, or None after ``timeout`` seconds.

    Not ``Process.join``: it waits on the process's sentinel pipe and then blocks in
    ``waitpid`` until the process ends, and a step that closes every inherited descriptor
    closes that pipe while the process goes on running, which would stall the supervisor.
    """
    deadline = time.monotonic() + timeout
    while (code := process.exitcode) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return code  # type: ignore[no-any-return]


def _kill_group(pid: int, signum: int) -> None:
    """Signal a worker and everything it started (its process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _worker_entry(conn: Any, worker_id: int, spec: WorkerSpec, journal: Journal) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # own process group: Ctrl-C reaches the supervisor, which stops us
    worker_main(conn, worker_id, spec, journal)
