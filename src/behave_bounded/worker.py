"""A worker process: its identity, its capture, and the loop that serves the parent.

The parent forks a worker (:mod:`behave_bounded.worker_handle`), which starts one behave
session (:mod:`behave_bounded.session`) and then serves the parent's messages
(:mod:`behave_bounded.protocol`): it answers ``Ready`` (or ``SetupFailed``), runs each
``RunTask`` it can claim under its one :class:`~behave_bounded.capture.TaskCapture` and puts
what the task left behind back (:mod:`behave_bounded.baseline`), sends each ``TaskDone``, and
on ``Close`` runs ``after_all`` and says ``Closed``. A worker retires (exits after its result)
when a feature left its behave runner or the process unusable; the parent replaces it.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

from behave_bounded.baseline import Baseline, Isolation
from behave_bounded.capture import Keep, TaskCapture, warn_through
from behave_bounded.config import Settings
from behave_bounded.errors import WorkerSetupError
from behave_bounded.journal import Journal
from behave_bounded.processes import Descendants, end_with_parent
from behave_bounded.protocol import Close, Closed, Ready, SetupFailed, TaskDone
from behave_bounded.results import (
    Task,
    TaskResult,
    bounded_warnings,
    clip,
)
from behave_bounded.session import (
    RecordMode,
    TaskOutcome,
    WorkerSession,
    describe,
    step_definitions,
    where,
)


def _restore_signals(parent_handlers: dict[int, Any]) -> None:
    """Undo the parent's supervisor handlers, so a test sees the signals plain behave sees."""
    for signum, handler in parent_handlers.items():
        if signal.getsignal(signum) == handler:  # bound methods: equal, never identical
            default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
            signal.signal(signum, default)


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker of a run is started with."""

    settings: Settings
    parent_handlers: dict[int, Any]  # the supervisor's signal handlers, undone in the worker
    spill_dir: str | None
    parent_pid: int
    #: Which tasks' records to send (:class:`RecordMode`).
    records: RecordMode = RecordMode.FAILING
    #: Whether the parent runs step-definition formatters: send the registry and step usage.
    step_definitions: bool = False
    #: How many workers the run has, and its id: what a test learns of its worker.
    worker_count: int = 1
    run_id: str = ""


@dataclass(frozen=True)
class WorkerIdentity:
    """Who a worker is: its process serial number, its slot (``w0``, ``w1``..., kept by the
    worker that replaces it) and the run's id. A test sees the slot, the count and the run id
    as ``BEHAVE_BOUNDED_WORKER``, ``BEHAVE_BOUNDED_WORKER_COUNT``, ``BEHAVE_BOUNDED_RUN_ID``
    and in ``context.config.userdata`` (``behave_bounded.worker`` ...), as pytest-xdist's
    ``PYTEST_XDIST_WORKER``."""

    serial: int
    slot: int

    @property
    def name(self) -> str:
        return f"w{self.slot}"


def identify(identity: WorkerIdentity, spec: WorkerSpec) -> dict[str, str]:
    """The worker's identity as environment variables (set in the worker only)."""
    return {
        "BEHAVE_BOUNDED_WORKER": identity.name,
        "BEHAVE_BOUNDED_WORKER_COUNT": str(spec.worker_count),
        "BEHAVE_BOUNDED_RUN_ID": spec.run_id,
    }


def worker_main(
    conn: Any, identity: WorkerIdentity, spec: WorkerSpec, journal: Journal | None = None
) -> None:
    """Entry point of a worker process (the target of ``multiprocessing.Process``).

    The worker is the child subreaper of whatever its steps start (:mod:`processes`): what
    ``before_all`` started lives as long as the worker, what a task started ends with the
    task; and everything ends when the worker does, or when the runner dies.
    """
    _restore_signals(spec.parent_handlers)
    if not end_with_parent(spec.parent_pid):
        os._exit(1)  # pragma: no cover - the runner died while this worker was being started
    descendants = Descendants()
    descendants.adopt()
    try:
        _serve(conn, identity, spec, journal, descendants)
    finally:
        descendants.end_all()


def _serve(
    conn: Any,
    identity: WorkerIdentity,
    spec: WorkerSpec,
    journal: Journal | None,
    descendants: Descendants,
) -> None:
    settings = spec.settings
    names = identify(identity, spec)
    os.environ.update(names)
    notes: list[str] = []  # the worker's own warnings (its stderr is captured): to the parent
    warn_through(lambda line: notes.append(line.removeprefix("behave-bounded: warning: ")))
    capture = TaskCapture(
        settings.max_output,
        Keep(settings.keep),
        spec.spill_dir,
        settings.max_spill,
        f"worker-{identity.serial}",
    )
    capture.start(spill=False)  # before_all's output: shown only when it fails
    try:
        session = WorkerSession(settings.behave_args, settings.max_output, settings.keep, journal)
        session.config.userdata.update(
            {f"behave_bounded.{key}": value for key, value in _userdata(names).items()}
        )
        session.setup()
    except WorkerSetupError as setup_error:
        # The setup error carries what before_all (or loading the suite) printed, bounded like
        # after_all's: the README says it is shown when it fails.
        stdout, stderr = capture.stop()
        message = str(setup_error)
        for stream in (stdout, stderr):
            if stream.text.strip():
                message += f"\n---- {stream.stats.name} of the worker's setup\n" + clip(stream.text)
        conn.send(SetupFailed(message))
        return
    capture.end()
    isolation = Isolation(Baseline.take(), descendants)
    descendants.mark()  # what before_all started lives as long as the worker
    definitions = step_definitions() if spec.step_definitions else ()
    conn.send(Ready(dict(capture.spill_paths), definitions))
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone: nothing left to do
            capture.stop()
            return
        if isinstance(message, Close):
            break
        if journal is not None and not journal.claim(message.task.index):
            continue  # the parent took the queued task back for an idle worker
        task = message.task
        if _run_one(
            conn, identity, session, task, capture, spec=spec, isolation=isolation, notes=notes
        ):
            capture.stop()
            return  # the parent replaces a retired worker
    capture.begin("worker-teardown", spill=False)
    teardown_error = session.teardown()
    stdout, _ = capture.stop()
    if teardown_error and stdout.text:
        teardown_error += "\n" + clip(stdout.text)
    descendants.end_all()  # before_all's processes end with the worker
    conn.send(Closed(teardown_error))


def _userdata(names: dict[str, str]) -> dict[str, str]:
    return {
        "worker": names["BEHAVE_BOUNDED_WORKER"],
        "worker_count": names["BEHAVE_BOUNDED_WORKER_COUNT"],
        "run_id": names["BEHAVE_BOUNDED_RUN_ID"],
    }


def _leave_if_forked_child(worker_pid: int, escaped: BaseException | None) -> None:
    """A process a step forked got here by leaving the step: it must not act as the worker.

    It would stop the worker's capture threads (which do not exist after a fork) and send a
    result on the worker's connection. It ends as the code in it asked: ``sys.exit(N)`` is N,
    anything else that escaped is 1, finishing the feature normally is 0.
    """
    if os.getpid() == worker_pid:
        return
    code = 0 if escaped is None else 1
    if isinstance(escaped, SystemExit):
        code = escaped.code if isinstance(escaped.code, int) else (0 if escaped.code is None else 1)
    os._exit(code)


def _run_one(
    conn: Any,
    identity: WorkerIdentity,
    session: WorkerSession,
    task: Task,
    capture: TaskCapture,
    *,
    spec: WorkerSpec,
    isolation: Isolation,
    notes: list[str],
) -> str:
    """Run a task and send its result; returns why the worker must retire, or ''.

    ``notes`` are the worker's own warnings since the last task (a spill that failed): they
    go to the parent with this task's result."""
    capture.begin(task.label)
    started = time.perf_counter()
    started_at = time.time()
    retire = ""
    error = ""
    outcome = TaskOutcome((), True, b"", ())
    try:
        outcome = session.run_task(task, spec.records, spec.step_definitions)
    except BaseException as escaped:  # SystemExit / KeyboardInterrupt that behave let through
        _leave_if_forked_child(session.pid, escaped)
        retire = f"a step or hook raised {describe(escaped)} ({where(escaped, session.base_dir)})"
        error = retire
    _leave_if_forked_child(session.pid, None)
    drift = isolation.task_ended(task.label)
    failing = bool(error) or outcome.failed or any(s.status.fails_run for s in outcome.scenarios)
    keep = spec.settings.show_output if failing else None
    stdout, stderr = capture.end(keep_longer_than=keep)
    drift += isolation.captured(task.label)
    if session.aborted and not retire:
        retire = "the run was aborted inside the feature (KeyboardInterrupt or hook error)"
    retire = retire or drift.retire
    result = TaskResult(
        task=task,
        scenarios=outcome.scenarios,
        duration=time.perf_counter() - started,
        stdout=stdout,
        stderr=stderr,
        worker=identity.serial,
        slot=identity.slot,
        error=error,
        feature_failed=outcome.failed,
        hook_errors=outcome.hook_errors,
        started=started_at,
        records=outcome.records,
        snippets=outcome.snippets,
        warnings=bounded_warnings([*notes, *drift.warnings]),
    )
    notes.clear()
    conn.send(TaskDone(result, retire))
    return retire
