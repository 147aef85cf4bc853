"""What the HTML report keeps of a JSON run report: a bounded digest, read in one pass.

The HTML report is a view of the JSON report (schema ``behave-bounded/run-report``): it reads
the document's items in file order (run, scenarios, tasks, not_run) and keeps only what it
draws: every task without its output, the scenarios worth listing (failing, errored,
undefined, xfailed, xpassed, flaky), and scenario counts per feature. Text that can be long
(messages, the output ``tail`` of failing tasks) is kept whole only while a report-wide
:class:`Budget` lasts; after that a message keeps its first line and an output tail is left to
the JSON report and the spill file. So the digest, and the page drawn from it, grows with the
number of scenarios, never with their output.

A report file our JSON view wrote has one list item per line; :func:`read_items` streams such
a file item by item, and reads any other layout of the same JSON (re-indented by a tool) whole.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from behave_bounded.results import Status

SECTIONS = ("scenarios", "tasks", "not_run")
#: Scenario statuses the page lists one by one (the others are only counted).
LISTED = frozenset({"failed", "errored", "undefined", "xfailed", "xpassed"})
#: Worker ends that the timeline marks: the worker was replaced there.
REPLACED = frozenset({"crashed", "timed out", "retired"})
#: Characters of a message kept once the budget is spent (its first line, clipped).
SHORT_MESSAGE = 200
#: Bytes of messages and of output tails a report shows in full, over all its features.
MESSAGE_BUDGET = 1 * 2**20
TAIL_BUDGET = 3 * 2**20


class Budget:
    """Bytes of long text a report may still hold in full: messages, and output tails."""

    def __init__(self, messages: int = MESSAGE_BUDGET, tails: int = TAIL_BUDGET) -> None:
        self.left = {"messages": messages, "tails": tails}
        self.refused = Counter[str]()

    def take(self, kind: str, text: str) -> bool:
        size = len(text.encode("utf-8", "replace"))
        if size > self.left[kind]:
            self.refused[kind] += 1
            self.left[kind] = 0  # first come, first shown: no later, shorter text jumps ahead
            return False
        self.left[kind] -= size
        return True


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value if isinstance(value, str) else ""


def _number(item: Mapping[str, Any], key: str) -> float | None:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _whole(item: Mapping[str, Any], key: str) -> int | None:
    value = item.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _status(item: Mapping[str, Any]) -> str:
    status = _text(item, "status")
    return status if status in _STATUSES else "errored"


_STATUSES = frozenset(status.value for status in Status)


def short(message: str) -> str:
    line = next((line.strip() for line in message.splitlines() if line.strip()), "")
    return line if len(line) <= SHORT_MESSAGE else line[: SHORT_MESSAGE - 3] + "..."


@dataclass(frozen=True)
class StreamView:
    """One captured stream of a task: its statistics and, for a failing task, its tail."""

    name: str
    written: int
    kept: int
    dropped: int
    truncated: bool
    spill_path: str
    tail: str | None  # None: the task did not fail, or the JSON has no tail
    tail_withheld: bool = False  # the report's tail budget was spent


@dataclass(frozen=True)
class TaskView:
    """One task (a feature file, or part of one) as the timeline and the tables draw it."""

    path: str
    lines: tuple[int, ...]
    lane: int | None  # the worker slot (``slot``), else the worker's serial number
    by_slot: bool
    worker: int | None
    started: float | None  # None or 0: no worker ran it (unselected scenarios)
    duration: float
    status: str
    error: str
    streams: tuple[StreamView, ...]
    #: Its failed scenarios ran again (``--reruns``): the last run of each tells the outcome.
    rerun: bool = False

    @property
    def label(self) -> str:
        return self.path + "".join(f":{line}" for line in self.lines)

    @property
    def ran(self) -> bool:
        return bool(self.started) and self.lane is not None

    @property
    def fails_run(self) -> bool:
        if self.rerun:  # what it failed ran again: the page lists the last run, once
            return False
        return bool(self.error) or Status(self.status).fails_run


@dataclass(frozen=True)
class Attempt:
    status: str
    duration: float
    message: str
    worker: int | None


@dataclass(frozen=True)
class ScenarioView:
    """A scenario the page lists: failing, errored, undefined, xfailed, xpassed or flaky."""

    location: str
    feature: str
    name: str
    status: str
    duration: float
    tdd_issue: int | None
    error_type: str
    message: str
    message_cut: bool
    flaky: bool
    attempts: tuple[Attempt, ...]
    captured: str | None = None  # the tail of what behave captured (None: none, or withheld)
    captured_withheld: bool = False


@dataclass(frozen=True)
class WorkerView:
    """A worker's life (``run.workers``): where the timeline marks a crash or a restart."""

    slot: int
    worker: int | None
    started: float | None
    ended: float | None
    end: str
    cause: str


@dataclass
class Digest:
    """The bounded part of one JSON run report that the HTML report draws."""

    source: str = ""  # the shard file it came from, in a merged report
    run: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskView] = field(default_factory=list)
    listed: list[ScenarioView] = field(default_factory=list)
    per_feature: dict[str, Counter[str]] = field(default_factory=dict)
    not_run: list[dict[str, Any]] = field(default_factory=list)
    workers: list[WorkerView] = field(default_factory=list)
    flaky: int = 0
    has_flaky: bool = False  # the data knows about reruns (issue 14): show the flaky count

    @classmethod
    def of(
        cls, items: Iterable[tuple[str, Any]], budget: Budget | None = None, source: str = ""
    ) -> Digest:
        digest = cls(source=source)
        budget = budget or Budget()
        for section, item in items:
            if not isinstance(item, Mapping):
                continue
            if section == "run":
                digest._add_run(item)
            elif section == "scenarios":
                digest._add_scenario(item, budget)
            elif section == "tasks":
                digest._add_task(item, budget)
            else:
                digest.not_run.append(dict(item))
        return digest

    @property
    def counts(self) -> dict[str, int]:
        counts = self.run.get("counts")
        if not isinstance(counts, Mapping):
            return {}
        return {key: value for key, value in counts.items() if isinstance(value, int)}

    def _add_run(self, run: Mapping[str, Any]) -> None:
        self.run = dict(run)
        if isinstance(self.counts.get("flaky"), int):
            self.has_flaky = True
        workers = run.get("workers")
        for entry in workers if isinstance(workers, list) else ():
            if isinstance(entry, Mapping) and _whole(entry, "slot") is not None:
                self.workers.append(
                    WorkerView(
                        slot=_whole(entry, "slot") or 0,
                        worker=_whole(entry, "worker"),
                        started=_number(entry, "started"),
                        ended=_number(entry, "ended"),
                        end=_text(entry, "end"),
                        cause=_text(entry, "cause"),
                    )
                )

    def _add_scenario(self, item: Mapping[str, Any], budget: Budget) -> None:
        status = _status(item)
        feature = _text(item, "feature") or _text(item, "location").rsplit(":", 1)[0]
        self.per_feature.setdefault(feature, Counter())[status] += 1
        flaky = item.get("flaky") is True
        self.has_flaky = self.has_flaky or "flaky" in item or "attempts" in item
        self.flaky += flaky
        if status not in LISTED and not flaky:
            return
        message = _text(item, "message")
        whole = budget.take("messages", message)
        captured = _text(item, "captured") or None
        withheld = captured is not None and not budget.take("tails", captured)
        self.listed.append(
            ScenarioView(
                location=_text(item, "location"),
                feature=feature,
                name=_text(item, "name"),
                status=status,
                duration=_number(item, "duration") or 0.0,
                tdd_issue=_whole(item, "tdd_issue"),
                error_type=_text(item, "error_type"),
                message=message if whole else short(message),
                message_cut=not whole and short(message) != message,
                flaky=flaky,
                attempts=_attempts(item.get("attempts"), budget),
                captured=None if withheld else captured,
                captured_withheld=withheld,
            )
        )

    def _add_task(self, item: Mapping[str, Any], budget: Budget) -> None:
        slot, worker = _whole(item, "slot"), _whole(item, "worker")
        raw_lines = item.get("lines")
        lines = (
            tuple(n for n in raw_lines if isinstance(n, int)) if isinstance(raw_lines, list) else ()
        )
        output = item.get("output")
        streams = []
        for name in ("stdout", "stderr"):
            stream = output.get(name) if isinstance(output, Mapping) else None
            if isinstance(stream, Mapping):
                streams.append(_stream(name, stream, budget))
        self.tasks.append(
            TaskView(
                path=_text(item, "path"),
                lines=lines,
                lane=slot if slot is not None else worker,
                by_slot=slot is not None,
                worker=worker,
                started=_number(item, "started"),
                duration=max(_number(item, "duration") or 0.0, 0.0),
                status=_status(item),
                error=_text(item, "error"),
                streams=tuple(streams),
                rerun=item.get("rerun") is True,
            )
        )


def _attempts(raw: object, budget: Budget) -> tuple[Attempt, ...]:
    if not isinstance(raw, list):
        return ()
    attempts = []
    for entry in raw:
        if isinstance(entry, Mapping):
            message = _text(entry, "message")
            attempts.append(
                Attempt(
                    status=_status(entry),
                    duration=_number(entry, "duration") or 0.0,
                    message=message if budget.take("messages", message) else short(message),
                    worker=_whole(entry, "worker"),
                )
            )
    return tuple(attempts)


def _stream(name: str, stream: Mapping[str, Any], budget: Budget) -> StreamView:
    raw_tail = stream.get("tail")
    tail = raw_tail if isinstance(raw_tail, str) else None
    withheld = tail is not None and bool(tail) and not budget.take("tails", tail)
    return StreamView(
        name=name,
        written=_whole(stream, "written") or 0,
        kept=_whole(stream, "kept") or 0,
        dropped=_whole(stream, "dropped") or 0,
        truncated=stream.get("truncated") is True,
        spill_path=_text(stream, "spill_path"),
        tail=None if withheld else tail,
        tail_withheld=withheld,
    )


def items_of(document: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """A document (the dict ``--json`` writes) as ``(section, item)`` pairs, in file order."""
    yield "run", document.get("run")
    for section in SECTIONS:
        items = document.get(section)
        for item in items if isinstance(items, list) else ():
            yield section, item


def read_items(path: str) -> Iterator[tuple[str, Any]]:
    """The items of a JSON report file, one at a time when it has our one-item-a-line layout.

    Memory then holds one item (a task's output tail is at most ``--show-output`` per stream),
    not the file; a file in any other layout is parsed whole. Raises ``ValueError`` for a file
    that is not a JSON object, ``OSError`` for one that cannot be read.
    """
    with open(path, "rb") as file:
        one_item_a_line = streamable(file)
        file.seek(0)
        if one_item_a_line:
            yield from _stream_items(file)
            return
        document = json.load(file)
        if not isinstance(document, Mapping):
            raise ValueError("not a JSON object")
        yield from items_of(document)


def _section_start(line: bytes) -> tuple[str, bool] | None:
    """``  "tasks": [`` (the section, not yet closed) or ``  "tasks": [],`` (empty, closed)."""
    text = line.strip().rstrip(b",")
    for section in SECTIONS:
        key = f'"{section}": ['.encode()
        if text in (key, key + b"]"):
            return section, text.endswith(b"]")
    return None


def _is_item(line: bytes) -> bool:
    text = line.strip().rstrip(b",")
    return text.startswith(b"{") and text.endswith(b"}") and len(text) > 1


def streamable(file: Iterable[bytes]) -> bool:
    """Whether the file is laid out as our JSON view writes it (a first pass, nothing parsed).

    ``{head  "scenarios": [  item,  item  ],  "tasks": [ ... ]  ...}``, one item a line; a tool
    that re-indents the file spreads each item over several lines.
    """
    sections = 0
    inside = False
    for line in file:
        if inside:
            if line.strip() in (b"]", b"],"):
                inside = False
            elif not _is_item(line):
                return False
            continue
        start = _section_start(line)
        if start is not None:
            sections += 1
            inside = not start[1]
    return sections == len(SECTIONS) and not inside


def _stream_items(file: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    head: list[bytes] = []
    section = ""
    for line in file:
        start = _section_start(line)
        if start is not None:
            if not section:  # the end of the head: schema, version, run
                top = json.loads(b"".join(head).rstrip().rstrip(b",") + b"}")
                yield "run", top.get("run") if isinstance(top, Mapping) else None
            section = start[0]
        elif not section:
            head.append(line)
        elif _is_item(line):
            yield section, json.loads(line.strip().rstrip(b","))
