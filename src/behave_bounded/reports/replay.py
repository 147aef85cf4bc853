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
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from typing import Any, TextIO

from behave.capture import Captured, ManyCaptured
from behave.formatter._registry import select_formatter_class
from behave.formatter.base import StreamOpener
from behave.matchers import Match, NoMatch
from behave.model import Rule, Scenario, ScenarioOutline, Step
from behave.model_type import Argument, FileLocation
from behave.model_type import Status as BehaveStatus
from behave.parser import parse_file
from behave.runner_util import make_undefined_step_snippets

from behave_bounded.finalize import ABSORBING, Fate, crash_fates, fate_message
from behave_bounded.record import (
    PRINTED,
    ErrorRecord,
    FeatureRecord,
    FrameRecord,
    MatchRecord,
    StateRecord,
    StepDefinitionRecord,
    loads_records,
    statements,
)

#: Events whose element belongs to the scenario being reported (the scenario has not ended).
_IN_SCENARIO = frozenset({"step", "match", "result", "embedding", PRINTED})


# -- stand-ins for what cannot cross a process ------------------------------------------------


@cache
def _error_class(module: str, qualname: str, assertion: bool) -> type[BaseException]:
    base: type[BaseException] = AssertionError if assertion else Exception
    name = qualname.rsplit(".", 1)[-1]
    return type(name, (base,), {"__module__": module, "__qualname__": qualname})


def stand_in_error(record: ErrorRecord | None) -> BaseException | None:
    """An exception that prints, compares by class name and tests as ``AssertionError`` like
    the one the worker saw; its chain has the chained exceptions' messages."""
    if record is None:
        return None
    cls = _error_class(record.module, record.type_name, record.assertion)
    error = cls.__new__(cls)
    error.args = (record.message,) if record.message else ()
    error.__cause__ = stand_in_error(record.cause)
    error.__context__ = stand_in_error(record.context)
    error.__suppress_context__ = record.suppress_context
    return error


class _Code:
    """The part of a code object :mod:`traceback` reads: names and one instruction's position."""

    def __init__(self, frame: FrameRecord) -> None:
        self.co_filename = frame.filename
        self.co_name = frame.name
        self._position = (frame.lineno, frame.end_lineno, frame.colno, frame.end_colno)

    def co_positions(self) -> Iterator[tuple[int | None, int | None, int | None, int | None]]:
        yield self._position


class _Frame:
    def __init__(self, frame: FrameRecord) -> None:
        self.f_code = _Code(frame)
        self.f_globals: dict[str, Any] = {}
        self.f_locals: dict[str, Any] = {}
        self.f_lineno = frame.lineno


class StandInTraceback:
    """A traceback that :func:`traceback.format_tb` and ``format_exception`` read as the
    original: the same files, lines, functions and caret positions (source lines are read
    from the same files, as they would be in the worker)."""

    def __init__(self, frame: FrameRecord, tb_next: StandInTraceback | None) -> None:
        self.tb_frame = _Frame(frame)
        self.tb_lineno = frame.lineno
        self.tb_lasti = 0
        self.tb_next = tb_next

    @classmethod
    def of(cls, frames: Sequence[FrameRecord]) -> StandInTraceback | None:
        tb = None
        for frame in reversed(frames):
            tb = cls(frame, tb)
        return tb


def stand_in_match(record: MatchRecord | None) -> Any:
    """behave's ``Match`` for a recorded match (``NoMatch`` for an undefined step)."""
    if record is None:
        return NoMatch()
    match = Match(
        None, [Argument(a.start, a.end, a.original, a.value, a.name) for a in record.arguments]
    )
    match.location = FileLocation(record.filename, record.line)
    match.func = _function(record.function, record.filename, record.line, None, None)
    return match


def _function(
    name: str, filename: str, line: int, module: str | None, doc: str | None
) -> Callable[..., None]:
    """A function whose name, file, first line, module and docstring are the original's."""
    source = "\n" * max(line - 1, 0) + f"def {_identifier(name)}(*args, **kwargs):\n    pass\n"
    namespace: dict[str, Any] = {"__name__": module}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a generated stub
    function: Callable[..., None] = namespace[_identifier(name)]
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = doc
    function.__module__ = module  # type: ignore[assignment]
    return function


def _identifier(name: str) -> str:
    return name if name.isidentifier() else "step_impl"


class StepDefinitionStandIn:
    """A worker's step definition in the parent: what step-definition formatters read.

    ``match`` answers for the step texts the worker matched to this definition (reported
    with each feature), so ``steps.usage`` finds the same definition for every step.
    """

    def __init__(self, record: StepDefinitionRecord) -> None:
        self.step_type = record.step_type
        self.pattern = record.pattern
        self.location = FileLocation(record.filename, record.line)
        self.func = _function(
            record.function, record.code_filename, record.line, record.module, record.doc
        )
        self.texts: set[str] = set()

    def match(self, step_text: str) -> Any:
        return Match(self.func, []) if step_text in self.texts else None

    def describe(self, step_type: str | None = None) -> str:
        return f"@{step_type or self.step_type}('{self.pattern}')"


def install_step_definitions(
    records: Sequence[StepDefinitionRecord],
) -> list[StepDefinitionStandIn]:
    """Put stand-ins of the worker's step definitions into behave's registry (the parent loads
    no step module of its own); returns them in the worker's registry order."""
    from behave.step_registry import registry  # noqa: PLC0415 - behave's global registry

    stand_ins = [StepDefinitionStandIn(record) for record in records]
    for step_type in registry.steps:
        registry.steps[step_type] = [s for s in stand_ins if s.step_type == step_type]
    return stand_ins


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
        state = self.final.get(self.refs.get(id(statement), -1))
        if state is not None:
            apply_state(statement, state)

    def settle_all(self) -> None:
        for statement in self.found:
            self.settle(statement)

    def before(self, name: str, element: Any) -> None:
        if self.scenario is not None and name not in _IN_SCENARIO:
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
    found = statements(feature)
    events = [
        event
        for piece in _segments(record.events)
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


# -- records made in the parent: a lost task, a feature split across tasks -----------------


def lost_record(
    feature: Any,
    path: str,
    selected: Callable[[Any], bool],
    cause: str,
    *,
    chunks: Sequence[FeatureRecord] = (),
    running: int = 0,
) -> FeatureRecord:
    """The record of a task whose worker died or timed out before it reported.

    Each scenario has its :class:`~behave_bounded.finalize.Fate`, as the runner counts it:
    those that finished have their journaled events and states (``chunks``), the one that
    was running is errored with the cause (its exception a ``WorkerLost``), those after it
    are skipped. The feature is opened and closed as behave would, so every formatter and
    reporter shows the loss.
    """
    found = statements(feature)
    refs = {id(statement): index for index, statement in enumerate(found)}
    journaled = {
        piece[0][1]: piece
        for chunk in chunks
        for piece in _segments(chunk.events)
        if piece[0][0] == "scenario"
    }
    journaled_states = dict(pair for chunk in chunks for pair in chunk.final)
    rows = [s for s in found if isinstance(s, Scenario) and not isinstance(s, ScenarioOutline)]
    fates = crash_fates(
        [row.line for row in rows],
        {row.line for row in rows if selected(row)},
        {row.line for row in rows if refs[id(row)] in journaled},
        running,
    )
    events: list[tuple[str, int, Any]] = [("uri", -1, path), ("feature", 0, None)]
    final: list[tuple[int, StateRecord]] = []

    def scenario_row(row: Any) -> None:
        ref = refs[id(row)]
        fate = fates[row.line]
        steps = [refs[id(step)] for step in row.all_steps]
        if fate is Fate.FINISHED:
            events.extend(journaled[ref])
            final.extend((r, journaled_states[r]) for r in (ref, *steps) if r in journaled_states)
            return
        events.append(("scenario", ref, None))
        events.extend(("step", step, None) for step in steps)
        if fate in (Fate.RUNNING, Fate.LOST, Fate.UNREACHED):
            message = fate_message(fate, cause)
            error = ErrorRecord("WorkerLost", "behave_bounded", False, message)
            final.append((ref, StateRecord("error", error_message=message, error=error)))
            final.extend((step, StateRecord("untested")) for step in steps)
        else:
            final.append((ref, StateRecord("skipped", should_skip=True)))
            final.extend((step, StateRecord("skipped")) for step in steps)

    def container(parent: Any) -> None:
        if parent.background is not None:
            events.append(("background", refs[id(parent.background)], None))
        for item in parent.run_items:
            if isinstance(item, Rule):
                events.append(("rule", refs[id(item)], None))
                container(item)
                events.append(("rule_finished", -1, None))
            elif isinstance(item, ScenarioOutline):
                for row in item.scenarios:
                    scenario_row(row)
            else:
                scenario_row(item)

    container(feature)
    if not any(fate in ABSORBING for fate in fates.values()):  # a feature hook's crash
        error = ErrorRecord("WorkerLost", "behave_bounded", False, cause)
        final.append((0, StateRecord("hook_error", error_message=cause, error=error)))
    events.append(("eof", -1, None))
    return FeatureRecord(path, len(found), tuple(events), tuple(final))


def _segments(events: Sequence[tuple[str, int, Any]]) -> list[list[tuple[str, int, Any]]]:
    """Events cut into pieces: each scenario's (its event and those inside it), and the rest."""
    pieces: list[list[tuple[str, int, Any]]] = []
    for event in events:
        if event[0] == "scenario" or not pieces or pieces[-1][0][0] != "scenario":
            pieces.append([event])
        elif event[0] in _IN_SCENARIO:
            pieces[-1].append(event)
        else:
            pieces.append([event])
    return pieces


def merge_records(
    feature: Any, parts: Sequence[tuple[frozenset[int], FeatureRecord]]
) -> FeatureRecord:
    """One record of a feature whose scenarios ran as separate tasks (``--scheme scenario``).

    ``parts`` pairs each task's scenario lines with its record, in task order. The first
    record gives the feature's events; each scenario's events and states come from the task
    that ran it. Containers (feature, rules, outlines) get their status from the merged
    scenarios, unless a task's hook or cleanup failed there.
    """
    if len(parts) == 1:
        return parts[0][1]
    found = statements(feature)
    owner: dict[int, FeatureRecord] = {}
    for lines, record in parts:
        for index, statement in enumerate(found):
            if isinstance(statement, Scenario) and statement.line in lines:
                owner[index] = record
    base = parts[0][1]
    owned_segments = {
        id(record): {
            piece[0][1]: piece for piece in _segments(record.events) if piece[0][0] == "scenario"
        }
        for _, record in parts
    }
    events: list[tuple[str, int, Any]] = []
    for piece in _segments(base.events):
        ref = piece[0][1]
        if piece[0][0] == "scenario" and ref in owner:
            events.extend(owned_segments[id(owner[ref])].get(ref, piece))
        else:
            events.extend(piece)
    states = dict(base.final)
    for ref, record in owner.items():
        steps = len(list(found[ref].all_steps))
        theirs = dict(record.final)
        for owned in range(ref, ref + steps + 1):
            if owned in theirs:
                states[owned] = theirs[owned]
            else:
                states.pop(owned, None)
    _merge_containers(found, parts, states)
    return FeatureRecord(
        path=base.path,
        statement_count=base.statement_count,
        events=tuple(events),
        final=tuple(sorted(states.items())),
        usage=tuple(pair for _, record in parts for pair in record.usage),
        cut=sum(record.cut for _, record in parts),
    )


#: A container status that comes from its own hooks or cleanups, not from its scenarios.
_CONTAINER_FAILURES = frozenset({"hook_error", "cleanup_error"})


def _merge_containers(
    found: Sequence[Any],
    parts: Sequence[tuple[frozenset[int], FeatureRecord]],
    states: dict[int, StateRecord],
) -> None:
    """A feature's, rule's or outline's merged state: a task's own hook or cleanup failure
    wins; else its status is derived again from the merged scenarios."""
    finals = [dict(record.final) for _, record in parts]
    for index, statement in enumerate(found):
        if isinstance(statement, Step) or not hasattr(statement, "_cached_status"):
            continue
        if isinstance(statement, Scenario) and not isinstance(statement, ScenarioOutline):
            continue
        theirs = [final[index] for final in finals if index in final]
        broken = next((s for s in theirs if s.status in _CONTAINER_FAILURES), None)
        if broken is not None:
            states[index] = broken
        elif index in states:
            states[index] = dataclasses.replace(states[index], status="untested")
