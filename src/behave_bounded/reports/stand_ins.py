"""Stand-ins, in the parent, for what cannot cross a process: exceptions, tracebacks, matches,
step definitions.

An exception is an instance of a stand-in class with the original's name, module and message
(an ``AssertionError`` subclass when the original was one), whose traceback reads like the
original's frame by frame; a matched argument's value of a type JSON cannot hold is its repr;
step definitions are stand-ins with the original's pattern, location, name and docstring
(:func:`install_step_definitions` puts them in behave's registry for the step formatters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

from behave.matchers import Match, NoMatch
from behave.model_type import Argument, FileLocation

from behave_bounded.record import (
    ErrorRecord,
    FrameRecord,
    MatchRecord,
    StepDefinitionRecord,
)


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
