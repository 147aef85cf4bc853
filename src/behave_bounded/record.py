"""The run of one feature as behave's formatters saw it, recorded in a worker, bounded.

Workers run, the parent reports. While a worker runs a feature, the recorder
(:class:`behave_bounded.recorder.Recorder`) sits among
behave's formatters and writes down every call behave makes (``uri``, ``feature``, ``rule``,
``background``, ``scenario``, ``step``, ``match``, ``result``, ``embedding``,
``rule_finished``, ``eof``), and once the feature has run, the final state of every statement
(status, duration, error and traceback, captured output, hook failures). A statement's state
does not change after behave has told formatters about it (a step's after its ``result``, a
scenario's once the next one starts), so final states applied at those points show every
formatter the model it would have seen. Model elements are named by their
position in the parsed feature (:func:`statements`), so the parent, which parses the same file
with the same parser, can apply each state to its own model and call the user's formatters
with the same events in the same order (``reports/formatters.py``). Recording what behave
itself did, rather than re-deriving it, keeps every detail plain behave produces: hooks that
skip, ``--stop`` inside a feature, name selection, dry runs, outline rows, backgrounds.

Bounded: the text of a record (captured output, error messages, tracebacks, embeddings) is
limited by a :class:`TextBudget` (the ``--max-output`` of the run, shared by the task's
features); what does not fit is cut with a note saying how much, an embedding that does not
fit is dropped whole, and the characters and bytes cut are counted in
:attr:`FeatureRecord.cut`. A traceback keeps at most :data:`MAX_FRAMES` frames.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from behave.formatter._registry import select_formatter_class
from behave.formatter.base import StreamOpener
from behave.model import Background, Rule, ScenarioOutline

#: Frames a recorded traceback keeps (the first and the last half); deeper ones are cut.
MAX_FRAMES = 200
#: Longest single error message or traceback text kept (the budget may cut it shorter).
MAX_ERROR_CHARS = 64 * 1024
#: Exceptions chained by ``__cause__``/``__context__`` that are recorded, deepest first cut.
MAX_CHAIN = 4
#: A record carries no more embeddings than this per feature; the rest are counted as cut.
MAX_EMBEDDINGS = 1000


#: Formatter modules whose formatters run inside the workers instead: they write one file per
#: test into a directory (no two workers write the same file), and steps talk to them in
#: process (``allure.attach`` reaches the listener of the worker it runs in).
WORKER_FORMATTER_MODULES = ("allure_behave",)


@dataclass(frozen=True, slots=True)
class FormatterSpec:
    """One formatter behave would run: its name, where it writes, and whether behave added it
    itself (its default formatter, when none or only a config file's were given)."""

    name: str
    opener: Any  # behave's StreamOpener (stdout when its ``name`` is None)
    implicit: bool = False

    @property
    def to_stdout(self) -> bool:
        return not getattr(self.opener, "name", None)


def formatter_specs(config: Any) -> list[FormatterSpec]:
    """The formatters behave's main would run for this configuration, outfiles paired.

    As behave does: no ``-f`` means the default formatter; formats that come only from a
    config file get the default formatter added; the i-th outfile goes to the i-th format,
    the others write to stdout. A test sees these names in ``context.config.format``.
    More outfiles than formats is a ValueError, as behave's main refuses it.
    """
    names = list(config.format or ())
    implicit = not names or (
        "format" in config.defaults and len(names) == len(config.defaults["format"])
    )
    if implicit:
        names.append(config.default_format)
    outputs = list(config.outputs or ())
    if len(outputs) > len(names) and getattr(config, "outfiles", None):
        raise ValueError(f"More outfiles ({len(outputs)}) than formatters ({len(names)}).")
    return [
        FormatterSpec(
            name,
            outputs[index] if index < len(outputs) else StreamOpener(stream=sys.stdout),
            implicit=implicit and index == len(names) - 1,
        )
        for index, name in enumerate(names)
    ]


def runs_in_worker(format_name: str) -> bool:
    """Whether the formatter named ``format_name`` (a name, alias or ``module:Class``) runs in
    the workers: per-test-file formatters of :data:`WORKER_FORMATTER_MODULES`, or a class
    that says so with ``behave_bounded_runs_in_worker = True``."""
    try:
        formatter_class = select_formatter_class(format_name)
    except (LookupError, ImportError, ValueError):
        return False  # behave reports the bad name when it builds the formatters
    module = getattr(formatter_class, "__module__", "") or ""
    if getattr(formatter_class, "behave_bounded_runs_in_worker", False):
        return True
    return module.split(".")[0] in WORKER_FORMATTER_MODULES


#: The event of text behave printed to stdout itself (not a formatter call).
PRINTED = "printed"
#: Events whose element belongs to the scenario being reported (the scenario has not ended).
IN_SCENARIO = frozenset({"step", "match", "result", "embedding", PRINTED})


# -- the records ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One traceback frame, as :mod:`traceback` reads it (positions included, for carets)."""

    filename: str
    name: str
    lineno: int | None
    end_lineno: int | None
    colno: int | None
    end_colno: int | None


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """An exception: its class (by name), its text, its traceback and what it was chained to."""

    type_name: str
    module: str
    assertion: bool  # an AssertionError subclass: "failed", not "broken", to every reporter
    message: str
    frames: tuple[FrameRecord, ...] = ()
    cause: ErrorRecord | None = None
    context: ErrorRecord | None = None
    suppress_context: bool = False


@dataclass(frozen=True, slots=True)
class CapturedRecord:
    """One part of a statement's captured output (behave's ``Captured``)."""

    stdout: str
    stderr: str
    log: str
    name: str | None
    failed: bool


@dataclass(frozen=True, slots=True)
class StateRecord:
    """The run-time state of one statement (feature, rule, scenario, step...) at a moment."""

    status: str  # behave's Status name; for containers the cached status ("untested": derive)
    duration: float = 0.0
    error_message: str | None = None
    error: ErrorRecord | None = None
    hook_failed: bool = False
    captured: tuple[CapturedRecord, ...] = ()
    should_skip: bool = False
    skip_reason: str | None = None
    times: tuple[float, float] | None = None  # run_starttime, run_endtime (features, rules)


@dataclass(frozen=True, slots=True)
class ArgumentRecord:
    """A matched step argument; ``value`` is kept as is when JSON can hold it, else its repr."""

    start: int
    end: int
    original: str
    value: object  # str, int, float, bool, None, or a ValueRepr
    name: str | None


@dataclass(frozen=True, slots=True)
class ValueRepr:
    """The repr of an argument value of another type (a parsed date, a custom type...)."""

    text: str

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """A step matched to its definition (behave's ``Match``)."""

    filename: str
    line: int
    function: str
    arguments: tuple[ArgumentRecord, ...]


@dataclass(frozen=True, slots=True)
class StepDefinitionRecord:
    """A step definition of the worker's registry (for the step-definition formatters)."""

    step_type: str
    pattern: str
    filename: str  # as behave shows it (relative to the working directory when inside it)
    line: int
    code_filename: str  # the function's code file (inspect.getfile)
    function: str
    module: str | None
    doc: str | None


@dataclass(frozen=True, slots=True)
class FeatureRecord:
    """Everything the parent needs to replay one feature file's run into formatters.

    ``events`` are ``(name, ref, payload)``: ``name`` the formatter method behave called,
    ``ref`` the index in :func:`statements` of the element it was called with (-1 when the
    call has none), ``payload`` its other argument (the ``uri``, a :class:`MatchRecord`, an
    embedding's ``(mime type, data or None, size)``). ``final`` holds every statement's state
    when the feature had run, except those still as parsed; the parent applies each one
    where behave had set it: a step's at its ``result``, a scenario's when the next
    scenario, rule or ``eof`` comes, the rest at ``eof``. ``usage`` maps step refs to the
    index of their definition in the worker's registry (only when a step-definition
    formatter asked for it).
    """

    path: str
    statement_count: int
    events: tuple[tuple[str, int, Any], ...]
    final: tuple[tuple[int, StateRecord], ...] = ()
    usage: tuple[tuple[int, int], ...] = ()
    cut: int = 0  # bytes of text the budget did not let into the record
    #: What the run changed in which steps the scenarios have (:func:`shape_of`): a hook
    #: that turned a background off; the parent does the same before it reads the refs.
    shape: tuple[tuple[str, int, int], ...] = ()


def dumps_records(records: list[FeatureRecord]) -> bytes:
    """A task's records in one blob: the parent holds, spills and counts them as bytes."""
    return pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)


def loads_records(data: bytes) -> list[FeatureRecord]:
    """A task's records, as its worker pickled them (our own worker, over our own pipe)."""
    records = pickle.loads(data)  # noqa: S301 - written by our worker
    if not isinstance(records, list) or not all(isinstance(r, FeatureRecord) for r in records):
        raise TypeError("not a list of FeatureRecord")
    return records


# -- the model's statements, by position ------------------------------------------------------


def statements(feature: Any, *, make_copies: bool = True) -> list[Any]:
    """Every statement of a parsed feature in a fixed order: the refs of a record.

    The worker and the parent parse the same file with the same parser, so the same position
    names the same statement in both: the feature, each background and its steps, each rule,
    each outline, each scenario (outline rows included) followed by all of its steps
    (background copies first, as behave runs them). A scenario whose background a hook
    turned off (:func:`shape_of`) has fewer copies: ``None`` holds the places of the missing
    ones, so that every later position is the same whatever the run turned off.

    behave copies a scenario's background steps when they are first asked for, and a hook
    that turns a background off later does not undo copies already made: a worker that reads
    the positions while the feature runs passes ``make_copies=False`` (copies not made yet
    are ``None`` too: no formatter saw them).
    """
    found: list[Any] = [feature]
    for kind, item in _walk(feature):
        if kind == "scenario":
            found.extend(scenario_block(item, make_copies=make_copies))
        else:
            found.append(item)
            if kind == "background":
                found.extend(item.steps)
    return found


def _walk(feature: Any) -> Iterator[tuple[str, Any]]:
    """The feature's parts in run order, each as ``(kind, part)``: ``background``, ``rule``,
    ``outline`` (then its rows), ``scenario``; a rule's parts follow the rule."""

    def container(parent: Any) -> Iterator[tuple[str, Any]]:
        background = getattr(parent, "background", None)
        if background is not None:
            yield "background", background
        for item in parent.run_items:
            if isinstance(item, Rule):
                yield "rule", item
                yield from container(item)
            elif isinstance(item, ScenarioOutline):
                yield "outline", item
                for row in item.scenarios:
                    yield "scenario", row
            else:
                yield "scenario", item

    return container(feature)


def _made_copies(scenario: Any) -> list[Any] | None:
    """The background copies behave has made for the scenario so far (None: not asked yet)."""
    return scenario._background_steps  # type: ignore[no-any-return]


def scenario_block(scenario: Any, *, make_copies: bool = True) -> list[Any]:
    """A scenario and the places of its steps in :func:`statements`: background copies (or
    ``None``), then its own steps."""
    block = [scenario]
    if scenario.background is not None:
        made = scenario.background_steps if make_copies else _made_copies(scenario)
        copies = list(made or ())
        block.extend(copies)
        block.extend([None] * (background_span(scenario.background) - len(copies)))
    block.extend(scenario.steps)
    return block


def background_span(background: Any) -> int:
    """How many background steps a scenario has with every background switch on."""
    outer = background.inherited_background
    return len(background.steps) + (len(outer.steps) if outer is not None else 0)


def scenario_span(scenario: Any) -> int:
    """How many places a scenario's steps take after it in :func:`statements`."""
    background = scenario.background
    return len(scenario.steps) + (background_span(background) if background is not None else 0)


def _switchable(feature: Any) -> list[Any]:
    """The backgrounds and scenarios of a feature in a fixed order that no step changes."""
    return [item for kind, item in _walk(feature) if kind in ("background", "scenario")]


def shape_of(feature: Any) -> tuple[tuple[str, int, int], ...]:
    """What a run changed in which steps the scenarios have, by position in
    :func:`_switchable`: ``("copies", i, n)`` for a scenario that has ``n`` background steps
    instead of all, ``("inheritance", i, 0)`` for a background that no longer inherits.

    A hook or fixture may turn off a rule's background inheritance
    (``background.use_inheritance``) or a scenario's background (``scenario.use_background``),
    as behave's own ``fixture.behave.override_background`` and ``no_background`` do. behave
    copies a scenario's background steps when they are first asked for, so what a scenario
    has depends on when that was, not only on the switches: the record keeps the counts.
    """
    shape: list[tuple[str, int, int]] = []
    for index, statement in enumerate(_switchable(feature)):
        if isinstance(statement, Background):
            if not statement.use_inheritance:
                shape.append(("inheritance", index, 0))
            continue
        if statement.background is None:
            continue
        made = _made_copies(statement)
        if made is not None and len(made) != background_span(statement.background):
            shape.append(("copies", index, len(made)))
    return tuple(shape)


def apply_shape(feature: Any, *shapes: tuple[tuple[str, int, int], ...]) -> None:
    """Give the parent's model the steps the worker's run gave its scenarios (see
    :func:`shape_of`); doing it again changes nothing."""
    wanted = {(kind, index): value for shape in shapes for kind, index, value in shape}
    if not wanted:
        return
    found = _switchable(feature)
    for index, statement in enumerate(found):  # copies as parsed first, where none differ
        if not isinstance(statement, Background) and statement.background is not None:
            count = wanted.get(("copies", index))
            if count is None:
                statement.background_steps  # noqa: B018 - behave makes them when asked
            elif len(statement.background_steps) != count:
                _copy_background(statement, count)
    for (kind, index), _ in wanted.items():
        if kind == "inheritance" and found[index].use_inheritance:
            found[index].use_inheritance = False  # later copies would not inherit either


def union_shape(
    shapes: Iterable[tuple[tuple[str, int, int], ...]],
) -> tuple[tuple[str, int, int], ...]:
    """One shape holding every entry of ``shapes`` (of tasks that ran parts of one feature)."""
    return tuple(sorted({entry for shape in shapes for entry in shape}))


def owned_shape(
    feature: Any, shape: tuple[tuple[str, int, int], ...], lines: frozenset[int]
) -> tuple[tuple[str, int, int], ...]:
    """The part of a task's shape that is its own: the copies of the scenarios it ran (at
    ``lines``), and every background switch."""
    found = _switchable(feature)
    return tuple(
        (kind, index, value)
        for kind, index, value in shape
        if kind != "copies" or found[index].line in lines
    )


def _copy_background(scenario: Any, count: int) -> None:
    """Make the scenario's background copies again: none, or without the inherited ones."""
    background = scenario.background
    if count == 0:
        scenario.use_background = False  # behave's setter drops the copies
        scenario.background_steps  # noqa: B018
        return
    inherits = background.use_inheritance
    background.use_inheritance = False
    scenario.use_background = True  # drops the copies made with inheritance
    scenario.background_steps  # noqa: B018
    background.use_inheritance = inherits


# -- the budget ----------------------------------------------------------------------------


class TextBudget:
    """Bytes of text a record may still take; each distinct string object is charged once.

    ``limit=None`` takes everything (``--max-output unlimited``: the unbounded baseline).
    """

    def __init__(self, limit: int | None) -> None:
        self.left = limit
        self.cut = 0
        self._seen: dict[int, str] = {}  # id -> the kept text (the same object, same result)

    def take(self, text: str | None, cap: int | None = None) -> str | None:
        """``text``, or its head with a note of what was cut when the budget runs out."""
        if not text:
            return text
        known = self._seen.get(id(text))
        if known is not None:
            return known
        kept = self._charge(text, cap)
        self._seen[id(text)] = kept
        return kept

    def take_bytes(self, data: bytes) -> bytes | None:
        """``data`` if it fits whole (an embedding is never cut in two), else None."""
        size = len(data)
        if self.left is not None and size > self.left:
            self.cut += size
            return None
        if self.left is not None:
            self.left -= size
        return data

    def _charge(self, text: str, cap: int | None) -> str:
        limit = self.left if cap is None else min(cap, self.left) if self.left is not None else cap
        size = len(text)  # characters: a cheap, close measure (the note says characters)
        if limit is None or size <= limit:
            if self.left is not None:
                self.left -= size
            return text
        keep = max(limit, 0)
        self.cut += size - keep
        if self.left is not None:
            self.left -= keep
        return text[:keep] + f"\n[behave-bounded: {size - keep} characters not recorded]"
