"""A worker process as the parent sees it: its state, its tasks, and how it is started and ended.

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
import enum
import multiprocessing
import os
import pickle
import select
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from behave_bounded.journal import Journal
from behave_bounded.protocol import Close, RunTask
from behave_bounded.record import FeatureRecord, dumps_records
from behave_bounded.results import CapturedStream, ScenarioResult, StreamStats, Task
from behave_bounded.worker import WorkerIdentity, WorkerSpec, worker_main

_CONTEXT = multiprocessing.get_context("fork")


class WorkerState(enum.Enum):
    """Where a worker is in its life; :meth:`WorkerHandle.move` refuses any other path."""

    STARTING = "starting"  # forked: loading the suite, running before_all
    READY = "ready"  # idle: no task of its own
    BUSY = "busy"  # running a task, maybe with the next one queued behind it
    CLOSING = "closing"  # told to close: after_all runs
    GONE = "gone"  # ended, reaped


_MOVES = {
    WorkerState.STARTING: {WorkerState.READY, WorkerState.GONE},
    WorkerState.READY: {WorkerState.BUSY, WorkerState.CLOSING, WorkerState.GONE},
    WorkerState.BUSY: {WorkerState.READY, WorkerState.GONE},
    WorkerState.CLOSING: {WorkerState.GONE},
    WorkerState.GONE: set(),
}


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


class WorkerHandle:
    """One worker process: its pipe, its journal, the tasks sent to it and not yet reported.

    ``assigned`` holds them in the order they were sent: the first is the one running (once
    the journal says it began), the others wait queued in the worker's pipe.
    """

    def __init__(self, identity: WorkerIdentity, spec: WorkerSpec) -> None:
        self.identity = identity
        self.journal = Journal()  # shared with the worker: it exists before the fork
        self.conn, child_conn = _CONTEXT.Pipe(duplex=True)
        self.process = _CONTEXT.Process(
            target=_worker_entry,
            args=(child_conn, identity, spec, self.journal),
            name=f"behave-bounded-worker-{identity.serial}",
        )
        self.process.start()
        child_conn.close()
        with contextlib.suppress(OSError):  # the child may have done it already
            os.setpgid(self.pid, self.pid)
        self.state = WorkerState.STARTING
        self.assigned: deque[Task] = deque()
        self.since = time.monotonic()  # when the state (or the first queued task) began
        self.born = time.time()
        self.spill_paths: dict[str, str | None] = {}

    @property
    def pid(self) -> int:
        pid = self.process.pid
        if pid is None:  # pragma: no cover - Process.start() always sets it
            raise RuntimeError("the worker process has no pid")
        return int(pid)

    def __repr__(self) -> str:
        return f"<worker {self.identity.serial} ({self.identity.name}) {self.state.value}>"

    def move(self, state: WorkerState) -> None:
        """Go to ``state``; a move the worker's life does not allow is a bug, said loudly."""
        if state not in _MOVES[self.state]:
            raise RuntimeError(f"{self!r}: cannot move to {state.value}")
        self.state = state
        self.since = time.monotonic()

    def send(self, task: Task) -> None:
        """Queue a task for the worker (it runs them in the order they were sent)."""
        if self.state is WorkerState.READY:
            self.move(WorkerState.BUSY)
        if not self.assigned:
            self.since = time.monotonic()
        self.assigned.append(task)
        self._send(RunTask(task))

    def close(self) -> None:
        """No more tasks: run after_all and exit."""
        self.move(WorkerState.CLOSING)
        self._send(Close())

    def _send(self, message: RunTask | Close) -> None:
        """A worker that died since its last message cannot be written to: the loop sees
        its death next and requeues what it had not begun (this task among them)."""
        with contextlib.suppress(OSError):
            self.conn.send(message)

    def running(self) -> tuple[Task | None, float]:
        """The task the worker is running and when it began (from its journal), or the first
        queued one and when it was sent when the worker has not begun it yet (None: idle)."""
        if not self.assigned:
            return None, self.since
        first = self.assigned[0]
        index, began = self.journal.current()
        if index == first.index:
            return first, began
        return None, self.since

    def take_back(self, allowed: Callable[[Task], bool] | None = None) -> Task | None:
        """The task queued behind the running one, if the worker has not begun it yet (and
        ``allowed`` allows it: a rerun is not taken by the slot it avoids)."""
        if len(self.assigned) < 2 or (allowed is not None and not allowed(self.assigned[-1])):
            return None
        if not self.journal.revoke(self.assigned[-1].index):
            return None
        return self.assigned.pop()

    def journaled(self, task: Task) -> tuple[tuple[ScenarioResult, ...], bytes, int]:
        """What the dead worker journaled of ``task``: the finished scenarios' results, their
        recorded events (pickled, for behave's formatters), the line of the one running."""
        read = self.journal.read(task.index)
        results: list[ScenarioResult] = []
        chunks: list[FeatureRecord] = []
        for entry in read.entries:
            result, chunk = pickle.loads(entry)  # noqa: S301 - written by our own worker
            results.append(result)
            if chunk is not None:
                chunks.append(chunk)
        return tuple(results), dumps_records(chunks) if chunks else b"", read.running

    def end(self, grace: float = 5.0) -> None:
        """Reap the worker and kill whatever it left running (its process group).

        ``grace`` is how long a worker that said goodbye gets to exit by itself (coverage
        and other atexit work of the suite's own tools run then) before it is killed.
        """
        if self.state is not WorkerState.GONE:
            self.move(WorkerState.GONE)
        self.conn.close()
        wait_for_exit(self.process, grace)
        kill_group(self.pid, signal.SIGKILL)  # orphans of the suite's steps
        wait_for_exit(self.process, 5.0)
        self.journal.close()

    def kill(self) -> None:
        """SIGKILL the worker and its process group, and wait (briefly) for it to end."""
        kill_group(self.pid, signal.SIGKILL)
        wait_for_exit(self.process, 5.0)


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


def wait_for_exit(process: Any, timeout: float) -> int | None:
    """The exit code once the process ended, or None after ``timeout`` seconds.

    Not ``Process.join``: it waits on the process's sentinel pipe and then blocks in
    ``waitpid`` until the process ends, and a step that closes every inherited descriptor
    closes that pipe while the process goes on running, which would stall the supervisor.
    """
    code = process.exitcode
    if code is not None:
        return code  # type: ignore[no-any-return]
    deadline = time.monotonic() + timeout
    with _exit_watch(process.pid) as wait:
        while (code := process.exitcode) is None and (left := deadline - time.monotonic()) > 0:
            wait(left)
    return code  # type: ignore[no-any-return]


@contextlib.contextmanager
def _exit_watch(pid: int) -> Iterator[Callable[[float], None]]:
    """A wait for ``pid``'s end: on its pidfd (readable once the process ended: no latency,
    no polling), else short sleeps growing to 10 ms."""
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux 5.3+, or already reaped
        delays = iter((0.0005, 0.001, 0.002, 0.005))

        def sleep(left: float) -> None:
            time.sleep(min(next(delays, 0.01), left))

        yield sleep
        return
    try:
        watch = select.poll()
        watch.register(pidfd, select.POLLIN)
        ended = False

        def on_pidfd(left: float) -> None:
            nonlocal ended
            if ended:  # ended, yet not reaped by us (someone else waited for it): no spinning
                time.sleep(min(0.01, left))
            else:
                ended = bool(watch.poll(max(1, int(min(left, 0.1) * 1000))))

        yield on_pidfd
    finally:
        os.close(pidfd)


def kill_group(pid: int, signum: int) -> None:
    """Signal a worker and everything it started (its process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _worker_entry(conn: Any, identity: WorkerIdentity, spec: WorkerSpec, journal: Journal) -> None:
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)  # own process group: Ctrl-C reaches the supervisor, which stops us
    worker_main(conn, identity, spec, journal)
