"""Replaying a recorded feature into behave's formatters and reporters, in the parent.

Workers run, the parent reports (as pytest-xdist's controller replays each test report into
the reporting hooks). For each feature, in collection order, the parent parses the feature
file with behave's own parser, and :class:`Replayer` calls the user's formatters with the
events the worker recorded (:mod:`behave_bounded.record`), applying each recorded state to
its own model where behave had set it, then hands the finished feature to behave's reporters
(``--junit``, the summary). So ``-f json -o report.json``, ``-f rerun``, behave.ini's
``format``/``outfiles``, ``[behave.formatters]`` aliases, third-party formatters and
``--junit`` write what plain behave writes, each file opened once, by one process.

What the parent's model holds instead of live objects (see the README): an exception is an
instance of a stand-in class with the original's name, module and message (an
``AssertionError`` subclass when the original was one), whose traceback reads like the
original's frame by frame; a matched argument's value of a type JSON cannot hold is its repr;
step definitions are stand-ins with the original's pattern, location, name and docstring.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from behave.capture import Captured, ManyCaptured
from behave.formatter._registry import select_formatter_class
from behave.formatter.base import StreamOpener
from behave.model import Step
from behave.model_type import Status as BehaveStatus
from behave.parser import parse_file
from behave.runner_util import make_undefined_step_snippets

from behave_bounded.record import (
    IN_SCENARIO,
    PRINTED,
    FeatureRecord,
    StateRecord,
    apply_shape,
    loads_records,
    statements,
)
from behave_bounded.reports.record_merge import segments
from behave_bounded.reports.stand_ins import (
    StandInTraceback,
    StepDefinitionStandIn,
    stand_in_error,
    stand_in_match,
)

# -- applying recorded states ---------------------------------------------------------------


def apply_state(statement: Any, state: StateRecord) -> None:
    """Give a statement of the parent's model the state the worker's had."""
    status = BehaveStatus[state.status]
    if isinstance(statement, Step):
        statement.status = status
        statement.duration = state.duration
    elif hasattr(statement, "_cached_status"):
        statement._cached_status = status
    if hasattr(statement, "hook_failed"):
        statement.hook_failed = state.hook_failed
    statement.error_message = state.error_message
    statement.exception = stand_in_error(state.error)
    statement.exc_traceback = StandInTraceback.of(state.error.frames) if state.error else None
    statement._captured = ManyCaptured(
        [Captured(c.stdout, c.stderr, c.log, name=c.name, failed=c.failed) for c in state.captured]
    )
    if hasattr(statement, "should_skip"):
        statement.should_skip = state.should_skip
        statement.skip_reason = state.skip_reason
    if state.times is not None:
        statement.run_starttime, statement.run_endtime = state.times


# -- replaying one feature ---------------------------------------------------------------------


class _States:
    """Applies a record's final states where behave had set them, as the events go by: a
    step's at its ``result``, a scenario's (and its steps') when something after it comes, a
    rule's at ``rule_finished``, everything at ``eof``."""

    def __init__(self, found: Sequence[Any], record: FeatureRecord) -> None:
        self.found = found
        self.final = dict(record.final)
        self.refs = {id(statement): index for index, statement in enumerate(found)}
        self.scenario: Any = None
        self.rule: Any = None

    def settle(self, statement: Any) -> None:
        if statement is None:  # the place of a background step a hook turned off
            return
        state = self.final.get(self.refs.get(id(statement), -1))
        if state is not None:
            apply_state(statement, state)

    def settle_all(self) -> None:
        for statement in self.found:
            self.settle(statement)

    def before(self, name: str, element: Any) -> None:
        if self.scenario is not None and name not in IN_SCENARIO:
            self.settle(self.scenario)
            for step in self.scenario.all_steps:
                self.settle(step)
            self.scenario = None
        if name == "scenario":
            self.scenario = element
        elif name == "rule":
            self.rule = element
        elif name == "result":
            self.settle(element)
        elif name == "rule_finished" and self.rule is not None:
            self.settle(self.rule)
        elif name == "eof":
            self.settle_all()


class ReplayMismatch(Exception):
    """The parent's parse of a feature file does not match the worker's (the file changed)."""


class Replayer:
    """Drives formatters and reporters with recorded features, as behave's runner would."""

    def __init__(
        self,
        formatters: Sequence[Any],
        reporters: Sequence[Any] = (),
        printed: TextIO | None = None,
    ) -> None:
        """``printed`` receives what behave printed itself (a failed hook's captured output):
        stdout for a real run, the rendered text for the console's view, None to drop it."""
        self.formatters = list(formatters)
        self.reporters = list(reporters)
        self.printed = printed
        self.step_definitions: list[StepDefinitionStandIn] = []

    def replay(self, feature: Any, record: FeatureRecord) -> None:
        """Call the formatters with the record's events, then the reporters with the feature."""
        apply_shape(feature, record.shape)
        found = statements(feature)
        if len(found) != record.statement_count:
            raise ReplayMismatch(
                f"{record.path}: the file changed while the run went on "
                f"({record.statement_count} statements in the worker, {len(found)} now)"
            )
        for step_ref, definition in record.usage:
            if definition < len(self.step_definitions):
                self.step_definitions[definition].texts.add(found[step_ref].name)
        states = _States(found, record)
        for name, ref, payload in record.events:
            element = found[ref] if ref >= 0 else None
            states.before(name, element)
            self._call(name, element, payload)
        states.settle_all()  # no eof when behave did not show the feature (--no-skipped)
        for reporter in self.reporters:
            reporter.feature(feature)

    def _call(self, name: str, element: Any, payload: Any) -> None:
        if name == PRINTED:
            if self.printed is not None:
                self.printed.write(payload + "\n")
                self.printed.flush()
            return
        if name in ("uri",):
            args: tuple[Any, ...] = (payload,)
        elif name == "match":
            args = (stand_in_match(payload),)
        elif name == "embedding":
            mime_type, data, _size = payload
            if data is None:
                return  # over the record's budget: counted in the record, not embedded
            args = (mime_type, data)
        elif name in ("eof", "rule_finished"):
            args = ()
        else:
            args = (element,)
        for formatter in self.formatters:
            method = getattr(formatter, name, None)
            if method is not None:
                method(*args)

    def report_unrun(self, feature: Any) -> None:
        """A feature no worker ran (``--stop``, an interrupt): behave still reports it."""
        for reporter in self.reporters:
            reporter.feature(feature)

    def close(self) -> None:
        for formatter in self.formatters:
            formatter.close()
        for reporter in self.reporters:
            reporter.end()


def parse_feature(path: str, language: str | None) -> Any:
    """The feature of ``path`` as behave parses it (a file the collection already parsed)."""
    return parse_file(os.path.abspath(path), language=language)


def render_records(
    data: bytes, config: Any, shown: Callable[[Any], bool] | None = None, format_name: str = "plain"
) -> str:
    """What one formatter (behave's ``plain``) writes for a task's records: the console shows
    it for a failing feature, as plain behave would have printed it. ``shown`` keeps only the
    scenarios it accepts (the task's own, not the ones other tasks or tags left out)."""
    if not data:
        return ""
    stream = io.StringIO()
    formatter = select_formatter_class(format_name)(StreamOpener(stream=stream), config)
    replayer = Replayer([formatter], printed=stream)
    for record in loads_records(data):
        feature = parse_feature(record.path, config.lang)
        if feature is None:
            continue
        kept = record if shown is None else only_scenarios(feature, record, shown)
        replayer.replay(feature, kept)
    return stream.getvalue()


def only_scenarios(
    feature: Any, record: FeatureRecord, shown: Callable[[Any], bool]
) -> FeatureRecord:
    """The record without the events of the scenarios ``shown`` rejects."""
    apply_shape(feature, record.shape)
    found = statements(feature)
    events = [
        event
        for piece in segments(record.events)
        if piece[0][0] != "scenario" or shown(found[piece[0][1]])
        for event in piece
    ]
    return dataclasses.replace(record, events=tuple(events))


class _Snippet:
    """One undefined step's snippet; compared by identity, as behave compares steps."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def print_snippets(snippets: Iterable[str], stream: TextIO | None = None, *, colored: bool) -> None:
    """behave's "You can implement step definitions for undefined steps with these snippets",
    made from the snippets the workers wrote for their undefined steps, to stderr."""
    holders = [_Snippet(text) for text in snippets]
    if not holders:
        return
    stream = sys.stderr if stream is None else stream
    text = "\n".join(make_undefined_step_snippets(holders, make_snippet=lambda s: s.text))
    message = (
        "\nYou can implement step definitions for undefined steps with these snippets:\n\n"
        f"from behave.api.pending_step import StepNotImplementedError\n{text}\n"
    )
    if colored:
        from behave.formatter.ansi_escapes import escapes  # noqa: PLC0415

        message = escapes["undefined"] + message + escapes["reset"]
    stream.write(message)
    stream.flush()
