"""The recorder: a formatter among behave's own in a worker, writing down what they see.

It takes each statement's final state (status, error and traceback, captured output) and the
events behave sends formatters, bounded by the task's :class:`~behave_bounded.record.TextBudget`,
into :class:`~behave_bounded.record.FeatureRecord` s (see :mod:`behave_bounded.record` for what
a record is and why the parent can replay it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

from behave.formatter.base import Formatter, StreamOpener
from behave.model import Step
from behave.model_type import Status as BehaveStatus

from behave_bounded.record import (
    MAX_CHAIN,
    MAX_EMBEDDINGS,
    MAX_ERROR_CHARS,
    MAX_FRAMES,
    PRINTED,
    ArgumentRecord,
    CapturedRecord,
    ErrorRecord,
    FeatureRecord,
    FrameRecord,
    MatchRecord,
    StateRecord,
    TextBudget,
    ValueRepr,
    scenario_block,
    shape_of,
    statements,
)

# -- taking states -----------------------------------------------------------------------------


def _value(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    try:
        return ValueRepr(repr(value)[:1000])
    except Exception:  # a repr that raises: still a value, never a crash
        return ValueRepr(f"<{type(value).__name__}>")


def match_record(match: Any) -> MatchRecord | None:
    """A behave ``Match`` as a record; ``None`` for ``NoMatch`` (an undefined step)."""
    location = getattr(match, "location", None)
    if match is None or location is None:
        return None
    function = getattr(getattr(match, "func", None), "__name__", "")
    arguments = tuple(
        ArgumentRecord(
            int(argument.start or 0),
            int(argument.end or 0),
            str(argument.original),
            _value(argument.value),
            argument.name,
        )
        for argument in (match.arguments or ())
    )
    return MatchRecord(str(location.filename), int(location.line or 0), str(function), arguments)


def _positions(tb: TracebackType) -> tuple[int | None, int | None, int | None, int | None]:
    """What :mod:`traceback` reads for a frame: (line, end line, column, end column)."""
    if tb.tb_lasti < 0:
        return tb.tb_lineno, None, None, None
    positions = next(itertools.islice(tb.tb_frame.f_code.co_positions(), tb.tb_lasti // 2, None))
    if positions[0] is None:
        return (tb.tb_lineno, *positions[1:])
    return positions


def _frames(tb: TracebackType | None) -> tuple[FrameRecord, ...]:
    frames: list[FrameRecord] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append(FrameRecord(code.co_filename, code.co_name, *_positions(tb)))
        tb = tb.tb_next
    if len(frames) > MAX_FRAMES:
        half = MAX_FRAMES // 2
        frames = frames[:half] + frames[-half:]
    return tuple(frames)


def error_record(
    error: BaseException | None,
    tb: TracebackType | None,
    budget: TextBudget,
    depth: int = 0,
) -> ErrorRecord | None:
    """An exception as a record (its message bounded), with its chain up to :data:`MAX_CHAIN`."""
    if error is None:
        return None
    try:
        message = str(error)
    except Exception:  # an exception whose __str__ raises
        message = f"<{type(error).__name__}: unprintable>"
    deeper = depth + 1 < MAX_CHAIN
    cause = error.__cause__ if deeper else None
    context = error.__context__ if deeper and not error.__suppress_context__ else None
    return ErrorRecord(
        type_name=type(error).__qualname__,
        module=type(error).__module__,
        assertion=isinstance(error, AssertionError),
        message=budget.take(message, MAX_ERROR_CHARS) or "",
        frames=_frames(tb),
        cause=error_record(cause, cause.__traceback__, budget, depth + 1) if cause else None,
        context=(
            error_record(context, context.__traceback__, budget, depth + 1) if context else None
        ),
        suppress_context=bool(error.__suppress_context__),
    )


def _captured(statement: Any, budget: TextBudget) -> tuple[CapturedRecord, ...]:
    captured = getattr(statement, "_captured", None)
    parts = getattr(captured, "captures", None) or ()
    return tuple(
        CapturedRecord(
            budget.take(part.stdout) or "",
            budget.take(part.stderr) or "",
            budget.take(part.log) or "",
            part.name,
            bool(part.failed),
        )
        for part in parts
        if part.stdout or part.stderr or part.log
    )


def state_of(statement: Any, budget: TextBudget) -> StateRecord:
    """The statement's state now (no side effect: a container's status is read as cached)."""
    if isinstance(statement, Step):
        status = statement.status
    else:
        status = getattr(statement, "_cached_status", BehaveStatus.untested)
    start = getattr(statement, "run_starttime", None)
    return StateRecord(
        status=status.name,
        duration=float(getattr(statement, "duration", 0.0) or 0.0)
        if isinstance(statement, Step)
        else 0.0,
        error_message=budget.take(statement.error_message, MAX_ERROR_CHARS),
        error=error_record(statement.exception, statement.exc_traceback, budget),
        hook_failed=bool(getattr(statement, "hook_failed", False)),
        captured=_captured(statement, budget),
        should_skip=bool(getattr(statement, "should_skip", False)),
        skip_reason=getattr(statement, "skip_reason", None),
        times=(float(start), float(statement.run_endtime)) if start else None,
    )


_PRISTINE = StateRecord(status=BehaveStatus.untested.name)


# -- the recorder ---------------------------------------------------------------------------


class Recorder(Formatter):  # type: ignore[misc]
    """A formatter that records what behave tells formatters, for the parent to replay.

    One recorder serves a worker's whole life; :meth:`begin` starts a task's record and
    :meth:`take` ends it. Until then it keeps model objects, a tuple per event; states are
    read once, when the feature has finished, so a task nobody asks a record of costs only
    those tuples.
    """

    name = "behave_bounded.recorder"
    description = "records formatter events for the parent process (internal)"

    def __init__(self, config: Any, limit: int | None) -> None:
        super().__init__(StreamOpener(filename=None), config)
        self.limit = limit
        self.events: list[tuple[str, Any, Any]] = []
        self.embedded: list[bytes] = []
        self._feature: Any = None
        self._refs: dict[int, int] = {}
        self._count = 0  # positions in statements(): refs leave out the None places
        self._chunked = 0  # events already given out in chunks

    def begin(self) -> None:
        """Forget the previous task's events: a new task starts."""
        self.events = []
        self.embedded = []
        self._feature = None
        self._refs = {}
        self._chunked = 0

    def chunk(self, scenario: Any) -> FeatureRecord | None:
        """The events since the last chunk and the finished scenario's (and its steps') final
        states: what the journal keeps so that a crash later in the feature costs only the
        scenario that was running then. Embeddings are counted, not kept."""
        feature = self._feature
        if feature is None:
            return None
        if not self._refs:
            found = statements(feature, make_copies=False)
            self._refs = {id(s): index for index, s in enumerate(found) if s is not None}
            self._count = len(found)
        start = self._refs.get(id(scenario))
        if start is not None:  # its background copies were made after the refs were read
            for offset, statement in enumerate(scenario_block(scenario)):
                if statement is not None:
                    self._refs[id(statement)] = start + offset
        budget = TextBudget(self.limit)
        fresh = self.events[self._chunked :]
        self._chunked = len(self.events)
        dropped = [(None, len(data)) for data in self.embedded]
        states = []
        for statement in (scenario, *scenario.all_steps):
            state = state_of(statement, budget)
            if state != _PRISTINE and id(statement) in self._refs:
                states.append((self._refs[id(statement)], state))
        return FeatureRecord(
            path=str(feature.filename),
            statement_count=self._count,
            events=tuple(_converted(fresh, self._refs, dropped)),
            final=tuple(states),
            cut=budget.cut,
            shape=shape_of(feature),
        )

    def take(
        self, features: Sequence[Any], usage: Iterable[tuple[Any, int]] = ()
    ) -> list[FeatureRecord]:
        """The records of the task's features (one per parsed file), in run order.

        Call it after the features ran: every statement's state is final then. ``usage``
        pairs steps with the index of their definition (for ``steps.usage``).
        """
        budget = TextBudget(self.limit)
        embedded = _embedded(self.embedded, budget)
        events = iter(self.events)
        pending = list(usage)
        records: list[FeatureRecord] = []
        for feature in features:
            found = statements(feature)
            refs = {id(statement): index for index, statement in enumerate(found)}
            converted = tuple(_converted(_until_eof(events), refs, embedded))
            states = final_states(found, budget)
            records.append(
                FeatureRecord(
                    path=str(feature.filename),
                    statement_count=len(found),
                    events=converted,
                    final=states,
                    usage=tuple((refs[id(s)], i) for s, i in pending if id(s) in refs),
                    cut=budget.cut,
                    shape=shape_of(feature),
                )
            )
        self.begin()
        return records

    # -- the formatter interface behave calls
    def uri(self, uri: str) -> None:
        self.events.append(("uri", None, uri))

    def feature(self, feature: Any) -> None:
        self._feature = feature
        self._refs = {}
        self.events.append(("feature", feature, None))

    def rule(self, rule: Any) -> None:
        self.events.append(("rule", rule, None))

    def background(self, background: Any) -> None:
        self.events.append(("background", background, None))

    def scenario(self, scenario: Any) -> None:
        self.events.append(("scenario", scenario, None))

    def step(self, step: Any) -> None:
        self.events.append(("step", step, None))

    def match(self, match: Any) -> None:
        self.events.append(("match", None, match_record(match)))

    def result(self, step: Any) -> None:
        self.events.append(("result", step, None))

    def embedding(self, mime_type: str, data: bytes) -> None:
        self.events.append(("embedding", None, (str(mime_type), len(self.embedded))))
        self.embedded.append(bytes(data))

    def rule_finished(self) -> None:
        self.events.append(("rule_finished", None, None))

    def printed(self, text: str) -> None:
        """What behave itself prints between formatter calls: the captured output of a hook
        that failed (its ``CaptureSink2Print``). Plain behave prints it to stdout there."""
        self.events.append((PRINTED, None, text))

    def eof(self) -> None:
        self.events.append(("eof", None, None))

    def close(self) -> None:
        """Nothing to close: the recorder writes no stream."""


def _embedded(data: Sequence[bytes], budget: TextBudget) -> list[tuple[bytes | None, int]]:
    """Each embedding kept whole if the budget allows (and within :data:`MAX_EMBEDDINGS`)."""
    kept: list[tuple[bytes | None, int]] = []
    for number, item in enumerate(data):
        if number < MAX_EMBEDDINGS:
            kept.append((budget.take_bytes(item), len(item)))
        else:
            budget.cut += len(item)
            kept.append((None, len(item)))
    return kept


def _until_eof(events: Iterator[tuple[str, Any, Any]]) -> Iterator[tuple[str, Any, Any]]:
    """The events of one feature: up to and including its ``eof``."""
    for event in events:
        yield event
        if event[0] == "eof":
            return


def _converted(
    events: Iterable[tuple[str, Any, Any]],
    refs: dict[int, int],
    embedded: Sequence[tuple[bytes | None, int]],
) -> Iterator[tuple[str, int, Any]]:
    """Events with model objects turned into refs and embeddings into their (kept) data."""
    for name, element, payload in events:
        ref = -1 if element is None else refs.get(id(element), -1)
        if name == "embedding":
            mime_type, number = payload
            yield name, ref, (mime_type, *embedded[number])
        else:
            yield name, ref, payload


def final_states(found: Sequence[Any], budget: TextBudget) -> tuple[tuple[int, StateRecord], ...]:
    """Every statement's state that differs from a freshly parsed one."""
    states = []
    for index, statement in enumerate(found):
        if statement is None:  # the place of a background step a hook turned off
            continue
        state = state_of(statement, budget)
        if state != _PRISTINE:
            states.append((index, state))
    return tuple(states)
