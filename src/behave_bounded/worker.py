"""Runs tasks through behave inside one long-lived worker process.

A worker keeps one behave runner for its whole life, so ``before_all``/``after_all`` run once
per worker (as pytest-xdist's session fixtures run once per worker) while every other hook
runs exactly as in plain behave. Each task runs under a :class:`TaskCapture`, so whatever the
feature prints is bounded before it ever reaches the parent.

Messages to the parent (over a ``multiprocessing`` connection), each small and bounded:
``("ready", None)``, ``("setup_error", text)``, ``("started", (index, spill_paths))``,
``("result", (TaskResult, retire_reason))``, ``("closed", after_all_error)``. A worker
retires (exits after its result) when a feature left its behave runner unusable.
"""

from __future__ import annotations

import copy
import enum
import os
import pickle
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from behave.capture import CaptureSink2Print
from behave.formatter._registry import select_formatter_class
from behave.model import Scenario as BehaveScenario
from behave.model import Step as BehaveStep
from behave.model_core import FileLocation
from behave.model_type import Status as BehaveStatus
from behave.model_type import unwrap_function
from behave.runner import Context, Runner, the_step_registry
from behave.runner_util import make_undefined_step_snippet, parse_features

from behave_bounded import behave_capture
from behave_bounded.baseline import Baseline, Isolation
from behave_bounded.capture import Keep, TaskCapture, warn_through
from behave_bounded.collect import behave_configuration
from behave_bounded.config import Settings
from behave_bounded.errors import WorkerSetupError
from behave_bounded.journal import Journal
from behave_bounded.memory import budget_outcome, run_within_budget
from behave_bounded.processes import Descendants, end_with_parent
from behave_bounded.protocol import Close, Closed, Ready, SetupFailed, TaskDone
from behave_bounded.record import (
    StepDefinitionRecord,
    dumps_records,
    formatter_specs,
    runs_in_worker,
    statements,
)
from behave_bounded.recorder import Recorder
from behave_bounded.results import (
    MAX_CAPTURED_CHARS,
    ScenarioResult,
    Status,
    Task,
    TaskResult,
    bounded_warnings,
    clip,
)

_STATUS = {
    BehaveStatus.passed: Status.PASSED,
    BehaveStatus.failed: Status.FAILED,
    BehaveStatus.skipped: Status.SKIPPED,
    BehaveStatus.untested: Status.SKIPPED,
    BehaveStatus.undefined: Status.UNDEFINED,
}


def where(error: BaseException, base_dir: str) -> str:
    """``path:line`` of the innermost traceback frame inside the suite (or the innermost).

    A SyntaxError happens before its file has a frame: it names the file and line itself.
    """
    if isinstance(error, SyntaxError) and error.filename:
        return f"{_shown_path(error.filename)}:{error.lineno or 0}"
    frames = traceback.extract_tb(error.__traceback__)
    inside = [f for f in frames if os.path.abspath(f.filename).startswith(base_dir + os.sep)]
    frame = (inside or frames)[-1]  # an exception that was raised always has a frame
    return f"{_shown_path(frame.filename)}:{frame.lineno}"


def _shown_path(path: str) -> str:
    """Relative to the working directory when inside it; else absolute (no ``../../..``)."""
    relative = os.path.relpath(path)
    return os.path.abspath(path) if relative.startswith("..") else relative


def describe(error: BaseException) -> str:
    """``Type: message`` on one line (a multi-line message is joined, at most 300 chars)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


#: Where a scenario's result is kept once built at its end (the journal's and the report's).
RESULT_ATTRIBUTE = "_behave_bounded_result"


class TaskOutcome(NamedTuple):
    """What running a task produced, before its capture is stopped."""

    scenarios: tuple[ScenarioResult, ...]
    failed: bool  # behave's own verdict (hook errors, cleanup errors, ...)
    records: bytes  # pickled FeatureRecords, or b"" when nobody asked for them
    snippets: tuple[str, ...]  # behave's snippets for the undefined steps, in run order


def _print_into(recorder: Recorder) -> None:
    """behave prints a failed hook's captured output to stdout: record it in its place among
    the formatter calls instead, so the parent prints it where plain behave would."""
    recorder_ref = recorder

    def print_captured_output(sink: Any, captured: Any) -> None:
        if sink.should_print(captured):
            recorder_ref.printed(str(captured.make_report()))

    CaptureSink2Print.print_captured_output = print_captured_output


def watched(run: Callable[[Any, Any], bool], session: WorkerSession) -> Callable[[Any, Any], bool]:
    """Wrap behave's ``Scenario.run`` so the session journals each scenario's start and end."""

    def run_scenario(scenario: Any, runner: Any) -> bool:
        session.scenario_started(scenario)
        failed = run(scenario, runner)
        session.scenario_finished(scenario)
        return failed

    run_scenario.watched = True  # type: ignore[attr-defined]
    run_scenario.__wrapped__ = run  # type: ignore[attr-defined]
    return run_scenario


def _registered() -> list[tuple[str, Any]]:
    """(step type, definition) of behave's registry, in its order (the index the parent uses)."""
    from behave.step_registry import registry  # noqa: PLC0415 - behave's global registry

    return [
        (step_type, matcher)
        for step_type in registry.steps
        for matcher in registry.steps[step_type]
    ]


def step_definitions() -> tuple[StepDefinitionRecord, ...]:
    """This worker's step definitions, for the parent's step-definition formatters."""
    found = []
    for step_type, matcher in _registered():
        function = unwrap_function(matcher.func)
        code = getattr(function, "__code__", None)
        location = matcher.location
        found.append(
            StepDefinitionRecord(
                step_type=step_type,
                pattern=str(matcher.pattern),
                filename=str(location.filename),
                line=int(location.line or 0),
                code_filename=code.co_filename if code else str(location.filename),
                function=getattr(function, "__name__", "step_impl"),
                module=getattr(function, "__module__", None),
                doc=getattr(function, "__doc__", None),
            )
        )
    return tuple(found)


def step_usage(features: list[Any]) -> list[tuple[Any, int]]:
    """Every step of the features with the index of the definition it matches (steps.usage)."""
    from behave.step_registry import registry  # noqa: PLC0415 - behave's global registry

    index = {id(matcher): number for number, (_, matcher) in enumerate(_registered())}
    used = []
    for feature in features:
        for statement in statements(feature):
            if isinstance(statement, BehaveStep):
                definition = registry.find_step_definition(statement)
                if definition is not None and id(definition) in index:
                    used.append((statement, index[id(definition)]))
    return used


class RecordMode(enum.StrEnum):
    """Which tasks' records a worker sends: the parent's formatters need all, the console
    only those of failing features (it shows their report)."""

    ALL = "all"
    FAILING = "failing"


class WorkerSession:
    """One behave runner kept for the life of a worker process.

    The worker runs no formatter of the user's that writes a report (the parent does, from
    the records): only :class:`~behave_bounded.recorder.Recorder` and the formatters that write
    one file per test and must see the steps in process (allure-behave, see
    :func:`~behave_bounded.reports.formatters.runs_in_worker`). No reporter runs here either:
    ``--junit`` and the summary are the parent's.
    """

    def __init__(
        self,
        behave_args: tuple[str, ...],
        max_output: int | None,
        keep: Keep,
        journal: Journal | None = None,
    ) -> None:
        self.config = config = behave_configuration(behave_args)
        bounded = behave_capture.install(max_output, keep, store_passing=bool(config.junit))
        specs = formatter_specs(config)
        self.formatters = [
            select_formatter_class(spec.name)(spec.opener, config)
            for spec in specs
            if runs_in_worker(spec.name)
        ]
        config.format = [spec.name for spec in specs]  # what plain behave's context shows
        config.reporters = []
        self.runner = Runner(config)
        self.recorder = Recorder(config, max_output)
        self.runner.formatters = [self.recorder, *self.formatters]
        _print_into(self.recorder)
        self.journal = journal
        self.task: Task | None = None
        self.record_mode = RecordMode.FAILING
        if not getattr(BehaveScenario.run, "watched", False):
            BehaveScenario.run = watched(run_within_budget(BehaveScenario.run), self)
        if bounded:
            behave_capture.bound_runner(self.runner)
        self.base_dir = ""
        self._setup_error: BaseException | None = None
        self.pid = os.getpid()

    def setup(self) -> None:
        """Load hooks and steps, then run ``before_all``; errors name the file and line."""
        runner = self.runner
        runner.path_manager.__enter__()  # sys.path as behave sets it, for the worker's life
        runner.setup_paths()
        self.base_dir = os.path.abspath(runner.base_dir)
        runner.context = Context(runner)
        runner.step_registry = the_step_registry  # the registry run_model() would use
        try:
            runner.load_hooks()
            runner.load_step_definitions()
        except BaseException as error:  # SystemExit in a steps module is a broken suite too
            raise WorkerSetupError(
                f"{where(error, self.base_dir)}: loading the suite raised {describe(error)}"
            ) from None
        before_all = runner.hooks["before_all"]
        runner.hooks["before_all"] = self._remember_error(before_all)
        runner.run_hook("before_all")
        runner.hooks["before_all"] = before_all
        if runner.hook_failures or runner.aborted:
            failure = self._setup_error
            place = where(failure, self.base_dir) if failure else self.config.environment_file
            reason = describe(failure) if failure else "it failed"
            raise WorkerSetupError(f"{place}: before_all hook raised {reason}")

    def _remember_error(self, hook: Callable[..., Any]) -> Callable[..., Any]:
        def remembering(context: Any) -> Any:
            try:
                return hook(context)
            except BaseException as error:
                self._setup_error = error
                raise

        return remembering

    def scenario_started(self, scenario: Any) -> None:
        """Journal: this scenario runs now (a crash from here on is charged to it)."""
        if self.journal is not None and self._owns(scenario):
            self.journal.running(scenario.line)

    def scenario_finished(self, scenario: Any) -> None:
        """Journal: the scenario's result (and its recorded events), for the parent to read
        should the worker die before the task is done."""
        if self.journal is None or not self._owns(scenario):
            return
        chunk = self.recorder.chunk(scenario) if self.record_mode is RecordMode.ALL else None
        result = scenario_result(scenario)
        setattr(scenario, RESULT_ATTRIBUTE, result)  # reported as is when the task ends
        self.journal.append(pickle.dumps((result, chunk), protocol=pickle.HIGHEST_PROTOCOL))
        self.journal.running(0)

    def _owns(self, scenario: Any) -> bool:
        task = self.task
        return task is not None and (not task.part or scenario.line in task.lines)

    def run_task(self, task: Task, record: RecordMode, usage: bool = False) -> TaskOutcome:
        """Run one feature file: its scenario results, behave's failed flag, its records."""
        runner = self.runner
        self.task = task
        self.record_mode = record

        locations = [FileLocation(task.path, line) for line in task.lines]
        features = parse_features(locations or [FileLocation(task.path)], language=self.config.lang)
        results: list[ScenarioResult] = []
        failed = False
        hook_failures = runner.hook_failures
        undefined = len(runner.undefined_steps)
        self.recorder.begin()
        for feature in features:
            runner.feature = feature
            for formatter in runner.formatters:
                formatter.uri(feature.filename)
            failed = bool(feature.run(runner)) or failed
            scenarios = feature.walk_scenarios()
            if task.part:  # the feature's other scenarios are other tasks' to report
                scenarios = [s for s in scenarios if s.line in task.lines]
            results.extend(
                getattr(s, RESULT_ATTRIBUTE, None) or scenario_result(s) for s in scenarios
            )
        failed = failed or runner.hook_failures > hook_failures
        fails = failed or any(r.status.fails_run for r in results)
        records = b""
        if record is RecordMode.ALL or fails:
            matched = step_usage(features) if usage else ()
            records = dumps_records(self.recorder.take(features, matched))
        snippets = tuple(
            make_undefined_step_snippet(copy.copy(step))
            for step in runner.undefined_steps[undefined:]
        )
        del runner.undefined_steps[undefined:]  # a worker's list must not grow for its life
        return TaskOutcome(tuple(results), failed, records, snippets)

    @property
    def aborted(self) -> bool:
        return bool(self.runner.aborted)

    def teardown(self) -> str:
        """Run ``after_all`` and the remaining cleanups; the error text, or ''."""
        runner = self.runner
        failures = runner.hook_failures
        runner.run_hook_with_capture("after_all")
        try:
            runner.context._do_remaining_cleanups()
        except Exception as error:
            return f"cleanup after all features raised {describe(error)}"
        for formatter in self.formatters:
            formatter.close()
        if runner.hook_failures > failures:
            return "after_all hook failed"
        return ""


def _relative(filename: str) -> str:
    """``os.path.relpath(filename)``; for a relative name (behave makes them relative to the
    working directory) that is its normal form, without two ``getcwd`` calls per scenario."""
    return os.path.relpath(filename) if os.path.isabs(filename) else os.path.normpath(filename)


def scenario_result(scenario: Any) -> ScenarioResult:
    """Translate behave's scenario into our bounded record."""
    steps = list(scenario.all_steps)
    if any(step.status == BehaveStatus.undefined for step in steps):
        status = Status.UNDEFINED
    else:
        status = _STATUS.get(scenario.status, Status.ERRORED)
    budget = budget_outcome(scenario)
    budget_status, budget_message = (budget.status, budget.message) if budget else (None, "")
    if budget_status is not None and status is Status.PASSED:
        status = budget_status
    messages = [budget_message] if budget_message else []
    messages += [scenario.error_message] if getattr(scenario, "error_message", None) else []
    messages += [step.error_message for step in steps if step.error_message]
    if status is Status.UNDEFINED:
        messages += [
            f"undefined step: {s.keyword} {s.name}" for s in steps if s.status == "undefined"
        ]
    failing = next((step.exception for step in steps if step.exception is not None), None)
    if budget_status is Status.FAILED and failing is None:
        failing = AssertionError()
    if getattr(scenario, "hook_failed", False):
        status = Status.ERRORED  # a hook error is never the scenario's own assertion
    return ScenarioResult(
        location=f"{_relative(scenario.filename)}:{scenario.line}",
        name=scenario.name,
        status=status,
        duration=float(scenario.duration or 0.0),
        message=clip("\n".join(messages)),
        tags=tuple(sorted(str(tag) for tag in scenario.effective_tags)),
        error_type=type(failing).__name__ if failing is not None else "",
        memory=budget.figures if budget else None,
        captured=_captured_tail(scenario) if status.fails_run else "",
    )


def _captured_tail(scenario: Any) -> str:
    """behave's report of what it captured for the scenario: the tail, bounded."""
    captured = getattr(scenario, "captured", None)
    if captured is None or not captured.has_output():
        return ""
    text = str(captured.make_simple_report())
    return text[-MAX_CAPTURED_CHARS:]


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
        started=started_at,
        records=outcome.records,
        snippets=outcome.snippets,
        warnings=bounded_warnings([*notes, *drift.warnings]),
    )
    notes.clear()
    conn.send(TaskDone(result, retire))
    return retire
