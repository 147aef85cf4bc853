"""The user's behave formatters and ``--junit``, run once, in the parent, in collection order.

Workers run, the parent reports: :class:`BehaveFormatters` builds the formatters the behave
configuration names (``-f/-o``, ``format``/``outfiles`` of every behave config file,
``[behave.formatters]`` aliases, ``--steps-catalog``) with their outfiles, each opened once,
and behave's JUnit reporter. Each finished task's records wait in :class:`InOrder` until
every earlier feature is done, then :class:`~behave_bounded.reports.replay.Replayer` replays
the feature into them; ``close`` closes each formatter once and ends the reporters.

Not here: formatters that run in the workers (:func:`~behave_bounded.record.runs_in_worker`),
behave's default formatter (``pretty`` when no format is configured: the runner's console
takes its place) and behave's summary reporter (the runner's summary takes its place).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, TypeAlias

from behave.formatter._registry import select_formatter_class
from behave.formatter.null import NullFormatter
from behave.formatter.steps import AbstractStepsFormatter

from behave_bounded.collect import FeatureInfo
from behave_bounded.record import (
    FeatureRecord,
    FormatterSpec,
    StepDefinitionRecord,
    formatter_specs,
    loads_records,
    runs_in_worker,
)
from behave_bounded.reports.order import InOrder
from behave_bounded.reports.record_merge import lost_record, merge_records
from behave_bounded.reports.replay import Replayer, ReplayMismatch, parse_feature
from behave_bounded.reports.stand_ins import install_step_definitions
from behave_bounded.results import Task, TaskResult

#: What the view keeps of a task while its feature waits: the task, why it died ("" when it
#: did not), the line of the scenario that was running then.
_Key: TypeAlias = tuple[Task, str, int]
#: Undefined-step snippets kept for the end of the run; more are counted, not kept.
MAX_SNIPPETS = 10_000


def parent_formatters(config: Any) -> list[FormatterSpec]:
    """The formatters the parent runs: behave's, except those that run in the workers and
    behave's default formatter on stdout (the runner's console takes its place)."""
    return [
        spec
        for spec in formatter_specs(config)
        if not runs_in_worker(spec.name) and not (spec.implicit and spec.to_stdout)
    ]


def formatters_configured(config: Any) -> bool:
    """Whether behave would write anything but its default console output: a formatter with
    an outfile or named by the user, or ``--junit``."""
    specs = formatter_specs(config)
    return bool(config.junit) or any(not (s.implicit and s.to_stdout) for s in specs)


class BehaveFormatters:
    """The parent's behave formatters and reporters, fed with finished tasks in any order."""

    def __init__(
        self,
        config: Any,
        replayer: Replayer,
        features: Sequence[FeatureInfo],
        tasks: Iterable[Task],
        spill_dir: str | None = None,
    ) -> None:
        self.config = config
        self.replayer = replayer
        self.features = {info.path: info for info in features}
        expected: dict[str, int] = {}
        for task in tasks:
            expected[task.path] = expected.get(task.path, 0) + 1
        self.order: InOrder[_Key] = InOrder(
            [info.path for info in features], expected, spill_dir=spill_dir
        )
        self.errors: list[str] = []

    @classmethod
    def from_config(
        cls,
        config: Any,
        features: Sequence[FeatureInfo],
        tasks: Iterable[Task],
        spill_dir: str | None = None,
    ) -> BehaveFormatters | None:
        """The view, or None when behave has nothing for the parent to write."""
        pairs = parent_formatters(config)
        reporters = [r for r in config.reporters if _is_junit_reporter(r)]
        if not pairs and not reporters:
            return None
        formatters = [select_formatter_class(spec.name)(spec.opener, config) for spec in pairs]
        view = cls(config, Replayer(formatters, reporters), features, tasks, spill_dir)
        if view.writes_stdout:  # behave's own prints go where its formatters' output goes
            view.replayer.printed = sys.stdout
        return view

    @property
    def writes_stdout(self) -> bool:
        """A formatter writes to the console: it, not the runner's lines, shows the run."""
        return any(
            not getattr(f.stream_opener, "name", None) and not isinstance(f, NullFormatter)
            for f in self.replayer.formatters
        )

    @property
    def needs_step_definitions(self) -> bool:
        """A formatter lists step definitions (steps, steps.doc, steps.usage, ...)."""
        return any(isinstance(f, AbstractStepsFormatter) for f in self.replayer.formatters)

    def step_definitions(self, records: Sequence[StepDefinitionRecord]) -> None:
        """The first worker's registry: the step-definition formatters read stand-ins of it."""
        if records and not self.replayer.step_definitions:
            self.replayer.step_definitions = install_step_definitions(records)

    def add(self, result: TaskResult) -> None:
        """A finished (finalized) task; features that are now complete are replayed.

        A task with reruns is replayed as its scenarios last ran: each rerun's records own
        the scenarios it ran (as the tasks of ``--scheme scenario`` own theirs), the later
        over the earlier; the feature's own events are its first run's.
        """
        path = result.task.path
        decided: dict[int, set[int]] = {}  # run number -> lines of the scenarios it decided
        for scenario in result.scenarios:
            if scenario.attempts:
                line = int(scenario.location.rsplit(":", 1)[1])
                decided.setdefault(scenario.final_run, set()).add(line)
        for number, run in enumerate(result.reruns, 1):  # indexes after every task's of the run
            if number in decided:
                task = replace(run.task, lines=tuple(sorted(decided[number])))
                self.order.add(path, (task, run.error, run.running), run.records, counts=False)
        key = (result.task, result.error, result.running)
        self._replay(self.order.add(path, key, result.records))

    def close(self, not_run: Iterable[Task] = ()) -> None:
        """Replay what is left in order (features that never ran only reach the reporters),
        then close every formatter and reporter once."""
        for task in not_run:
            self._replay(self.order.give_up(task.path))
        self._replay(self.order.rest())
        self.order.close()
        try:
            self.replayer.close()
        except Exception as error:  # a formatter that fails on close fails the run
            self.errors.append(f"behave formatter failed when closing: {_describe(error)}")

    def _replay(
        self, ready: Iterable[tuple[str, list[tuple[tuple[Task, str, int], bytes]]]]
    ) -> None:
        for path, pieces in ready:
            try:
                self._replay_feature(path, pieces)
            except ReplayMismatch as error:
                self.errors.append(str(error))
            except Exception as error:  # a user's formatter that raises fails the run
                self.errors.append(f"{path}: a behave formatter raised {_describe(error)}")

    def _replay_feature(self, path: str, pieces: list[tuple[_Key, bytes]]) -> None:
        feature = parse_feature(path, self.config.lang)
        if feature is None:
            return
        if not pieces:
            self.replayer.report_unrun(feature)
            return
        info = self.features.get(path)
        selected = {s.location for s in info.selected} if info else set()
        parts: list[tuple[frozenset[int], FeatureRecord]] = []
        for (task, error, running), data in sorted(pieces, key=lambda piece: piece[0][0].index):
            lines = frozenset(task.lines) if task.part else frozenset()
            if error or not data:
                runs = _Selection(path, lines, selected)
                chunks = loads_records(data) if data else []
                cause = error or "the worker sent no record"
                record = lost_record(feature, path, runs, cause, chunks=chunks, running=running)
            else:
                record = loads_records(data)[0]
            parts.append((lines, record))
        self.replayer.replay(feature, merge_records(feature, parts))


class _Selection:
    """Whether a scenario was one of a task's to run: selected, and on its lines (if any)."""

    def __init__(self, path: str, lines: frozenset[int], selected: set[str]) -> None:
        self.path = path
        self.lines = lines
        self.selected = selected

    def __call__(self, scenario: Any) -> bool:
        if self.lines and scenario.line not in self.lines:
            return False
        return f"{self.path}:{scenario.line}" in self.selected


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


class UndefinedSnippets:
    """behave's snippets for undefined steps, in collection order, printed at the end."""

    def __init__(self) -> None:
        self._by_task: list[tuple[int, tuple[str, ...]]] = []
        self.kept = 0
        self.dropped = 0

    def add(self, result: TaskResult) -> None:
        snippets = result.snippets[: max(MAX_SNIPPETS - self.kept, 0)]
        self.dropped += len(result.snippets) - len(snippets)
        if snippets:
            self.kept += len(snippets)
            self._by_task.append((result.task.index, snippets))

    def in_order(self) -> list[str]:
        return [text for _, texts in sorted(self._by_task) for text in texts]


def _is_junit_reporter(reporter: Any) -> bool:
    """behave's ``--junit`` reporter. No reporter of it exists unless its module was imported
    (behave imports it for ``--junit``): a run without it never loads it, nor xml."""
    junit = sys.modules.get("behave.reporter.junit")
    return junit is not None and isinstance(reporter, junit.JUnitReporter)
