"""One behave runner inside a worker, running task after task: the session.

The session keeps one behave runner for the worker's whole life, so ``before_all``/``after_all``
run once per worker (as pytest-xdist's session fixtures run once per worker) while every other
hook runs exactly as in plain behave. It turns each task (a feature file, maybe narrowed to
lines) into bounded :class:`~behave_bounded.results.ScenarioResult` s, journals each scenario
as it finishes (so a crash loses none that finished) and records what behave's formatters saw
(:mod:`behave_bounded.recorder`) when the parent asked for it.
"""

from __future__ import annotations

import copy
import enum
import os
import pickle
import traceback
from collections.abc import Callable
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
from behave_bounded.capture import Keep
from behave_bounded.collect import behave_configuration
from behave_bounded.errors import WorkerSetupError
from behave_bounded.journal import Journal
from behave_bounded.memory import budget_outcome, run_within_budget
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
    #: behave's errors of hooks outside every scenario (``before_feature``, ``after_rule``,
    #: a feature's tag hook): ``HOOK-ERROR in before_feature: RuntimeError: boom``, clipped.
    hook_errors: tuple[str, ...] = ()


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
        hook_errors: list[str] = []
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
            hook_errors.extend(_hook_errors(feature))
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
        return TaskOutcome(tuple(results), failed, records, snippets, tuple(hook_errors))

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


def _hook_errors(feature: Any) -> list[str]:
    """behave's messages of the feature's (and its rules') failed hooks: errors outside every
    scenario, which behave counts as the feature's ``hook_error`` and fails the run for."""
    return [
        clip(str(statement.error_message or "a hook failed"))
        for statement in (feature, *getattr(feature, "rules", ()))
        if getattr(statement, "hook_failed", False)
    ]


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
