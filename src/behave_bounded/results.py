"""The small, frozen records that cross process boundaries, and the enums every side shares.

Every module of the package may import this one; it imports nothing of ours. Each record
has bounded fields: text fields are cut by whoever builds them (the worker keeps at most
the capture limit per stream, error messages are clipped by :func:`clip`), so pickling a
result never moves an unbounded amount of data between processes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

#: Longest error message a scenario result carries; longer ones keep head and tail.
MAX_MESSAGE_CHARS = 4096
#: Longest captured output (behave's capture) a failing scenario's result carries: its tail.
MAX_CAPTURED_CHARS = 64 * 1024
#: Longest message an earlier attempt of a rerun scenario keeps (``--reruns``).
MAX_ATTEMPT_MESSAGE_CHARS = 1024
#: Warnings one task's result carries at most (the rest are counted in one more), and the
#: longest one (longer ones keep head and tail).
MAX_WARNINGS = 16
MAX_WARNING_CHARS = 1024


class Status(enum.StrEnum):
    """Outcome of one scenario as the runner reports it (a superset of behave's)."""

    PASSED = "passed"
    FAILED = "failed"
    ERRORED = "errored"
    SKIPPED = "skipped"
    UNDEFINED = "undefined"
    XFAILED = "xfailed"
    XPASSED = "xpassed"

    @property
    def fails_run(self) -> bool:
        """Whether this outcome makes the run fail (exit code 1)."""
        return self in _FAILING


_FAILING = frozenset({Status.FAILED, Status.ERRORED, Status.UNDEFINED, Status.XPASSED})


class Keep(enum.StrEnum):
    """Which part of a stream longer than the limit is kept (``--keep``)."""

    HEAD = "head"
    TAIL = "tail"
    BOTH = "both"  # a quarter of the limit for the head, three quarters for the tail


class Scheme(enum.StrEnum):
    """What one task sent to a worker is (``--scheme``): a feature file or one scenario."""

    FEATURE = "feature"
    SCENARIO = "scenario"


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Keep the head and the tail of ``text`` so that it is at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    marker = f"\n[... {len(text) - limit} characters cut ...]\n"
    head = (limit - len(marker)) // 4
    tail = limit - len(marker) - head
    return text[:head] + marker + text[len(text) - tail :]


def bounded_warnings(warnings: list[str]) -> tuple[str, ...]:
    """At most :data:`MAX_WARNINGS` warnings of at most :data:`MAX_WARNING_CHARS` each."""
    kept = [clip(warning, MAX_WARNING_CHARS) for warning in warnings[:MAX_WARNINGS]]
    if len(warnings) > MAX_WARNINGS:
        kept[-1] = f"... and {len(warnings) - MAX_WARNINGS + 1} more warnings about this task"
    return tuple(kept)


@dataclass(frozen=True)
class StreamStats:
    """What happened to one captured stream (stdout or stderr) of one task."""

    name: str
    written: int = 0
    kept: int = 0
    spill_path: str | None = None

    @property
    def dropped(self) -> int:
        return self.written - self.kept

    @property
    def truncated(self) -> bool:
        return self.dropped > 0


@dataclass(frozen=True)
class CapturedStream:
    """The kept text of a stream (at most the capture limit) and its statistics."""

    text: str
    stats: StreamStats


@dataclass(frozen=True)
class MemoryFigures:
    """What the memory budget of a scenario measured (bytes), recorded when it had one."""

    peak_heap: int  # memray's high-water mark of the bytes allocated during the scenario
    peak_rss_growth: int  # the largest resident set size during it minus the one at its start
    heap_budget: int | None  # None: the scenario's budget does not judge the heap
    rss_budget: int | None  # None: it does not judge resident memory
    rss_source: str  # "VmHWM" (the kernel's exact peak) or "memray samples" (every 10 ms)


@dataclass(frozen=True)
class Attempt:
    """One run of a scenario that ``--reruns`` ran more than once: how it went, on which worker."""

    status: Status
    duration: float
    message: str  # at most MAX_ATTEMPT_MESSAGE_CHARS (head and tail)
    error_type: str
    worker: int  # the worker process's serial number
    slot: int  # its slot (w0, w1...)

    @classmethod
    def of(cls, scenario: ScenarioResult, worker: int, slot: int) -> Attempt:
        return cls(
            scenario.status,
            scenario.duration,
            clip(scenario.message, MAX_ATTEMPT_MESSAGE_CHARS),
            scenario.error_type,
            worker,
            slot,
        )


@dataclass(frozen=True)
class ScenarioResult:
    """One executed (or skipped) scenario; an outline row counts as one scenario."""

    location: str  # "path:line", path relative to the working directory
    name: str
    status: Status
    duration: float = 0.0
    message: str = ""
    tags: tuple[str, ...] = ()
    #: Class name of the exception that failed the scenario ("AssertionError", ...), or "".
    #: TDD tags invert only failures by assertion; anything else stays an error.
    error_type: str = ""
    #: What behave captured of a scenario that failed (stdout, stderr, log; its report), the
    #: last :data:`MAX_CAPTURED_CHARS` at most; "" for a scenario that passed.
    captured: str = ""
    #: Set only for a scenario that ran under a ``@memory_budget_*`` tag and was measured.
    memory: MemoryFigures | None = None
    #: Every run of a scenario that ``--reruns`` ran again, in order, the last one being this
    #: result; () for a scenario that ran once. At most 1 + --reruns entries.
    attempts: tuple[Attempt, ...] = ()

    @property
    def flaky(self) -> bool:
        """It passed on a rerun after an attempt that failed the run."""
        return self.status is Status.PASSED and any(
            attempt.status.fails_run for attempt in self.attempts[:-1]
        )

    @property
    def final_run(self) -> int:
        """Which run of its task gave this result (0: the first): its last attempt that ran
        (a rerun whose worker died before it began the scenario does not count)."""
        ran = [n for n, attempt in enumerate(self.attempts) if attempt.status is not Status.SKIPPED]
        return ran[-1] if ran else max(len(self.attempts) - 1, 0)

    @property
    def first_run(self) -> ScenarioResult:
        """This scenario as its task's first run left it (itself when it ran once)."""
        if not self.attempts:
            return self
        first = self.attempts[0]
        return replace(
            self,
            status=first.status,
            duration=first.duration,
            message=first.message,
            error_type=first.error_type,
            captured="",
            attempts=(),
        )


@dataclass(frozen=True)
class Task:
    """A unit of work sent to a worker: one feature file, optionally narrowed to lines."""

    index: int
    path: str
    lines: tuple[int, ...] = ()
    scenario_count: int = 0
    #: One scenario of a feature cut up by ``--scheme scenario``: its other scenarios belong
    #: to other tasks, so this task reports only the scenarios on ``lines``.
    part: bool = False
    #: 1 for a task's first run; 2, 3... for a rerun of its failed scenarios (``--reruns``).
    attempt: int = 1
    #: Which run of ``--repeat N`` this is (1 to N); 0 without ``--repeat``.
    repeat: int = 0

    @property
    def label(self) -> str:
        if not self.lines:
            return self.path
        return self.path + "".join(f":{line}" for line in self.lines)


@dataclass(frozen=True)
class TaskResult:
    """Everything a worker reports about one task; ``report`` is behave's bounded output."""

    task: Task
    scenarios: tuple[ScenarioResult, ...]
    duration: float
    stdout: CapturedStream
    stderr: CapturedStream
    worker: int = 0  # the serial number of the worker process that ran it
    slot: int = 0  # the worker's slot (w0, w1...): the lane it ran in, kept across restarts
    error: str = ""  # why the task as a whole errored (crash, timeout, hook error)
    feature_failed: bool = False  # behave's own verdict (hook errors, cleanup errors, ...)
    #: Errors of behave's hooks outside every scenario (``before_feature``, ``after_feature``,
    #: a rule's): the finalized task counts each as an errored entry of the feature.
    hook_errors: tuple[str, ...] = ()
    started: float = 0.0  # epoch seconds when the task began (reports show the schedule)
    #: behave's view of the task's features, pickled (``record.FeatureRecord``s): what the
    #: parent replays into formatters. Bounded by --max-output; b"" when not asked for.
    records: bytes = b""
    #: behave's snippets for the task's undefined steps (each at most a few lines).
    snippets: tuple[str, ...] = ()
    #: A task that died (``error``): the line of the scenario that was running then (0: none
    #: was); ``scenarios`` are those that had finished, ``records`` their recorded events.
    running: int = 0
    #: What the task left behind in its worker and the worker put back or could not
    #: (:mod:`behave_bounded.baseline`), processes it left running: one line each, bounded
    #: by :func:`bounded_warnings`; the console prints them as warnings.
    warnings: tuple[str, ...] = ()
    #: The reruns of this task's failed scenarios (``--reruns``), each finalized with its own
    #: scenarios, in the order they ran; then ``scenarios`` are the final ones (with their
    #: ``attempts``) and every other field is this task's first run. At most --reruns runs.
    reruns: tuple[TaskResult, ...] = ()

    def runs(self) -> tuple[TaskResult, ...]:
        """Each run of the task as a plain result with its own scenarios: the first, then
        each rerun (only the first without reruns)."""
        if not self.reruns:
            return (self,)
        first = replace(self, scenarios=tuple(s.first_run for s in self.scenarios), reruns=())
        return (first, *self.reruns)


@dataclass(frozen=True)
class WorkerLife:
    """One worker process's life: its slot (the lane it worked in), when, and how it ended
    (``exited``, ``retired``, ``crashed``, ``timed out``, ``interrupted``, ``stopped``)."""

    slot: int
    worker: int
    started: float
    ended: float
    end: str
    cause: str = ""


@dataclass
class RunResult:
    """The run as the parent saw it; mutable because the supervisor fills it as events arrive.

    Finished tasks are not kept here: each goes to the reports as it finishes (the console's
    summary keeps counts and a bounded list, see :class:`behave_bounded.reports.console.Tally`).
    """

    never_ran: list[Task] = field(default_factory=list)  # not started: abort, --stop, signal
    interrupted: list[Task] = field(default_factory=list)  # running when the run was stopped
    teardown_errors: list[str] = field(default_factory=list)  # after_all failures, per worker
    report_errors: list[str] = field(default_factory=list)  # a report that could not be written
    workers: list[WorkerLife] = field(default_factory=list)  # at most jobs + restarts of them
    setup_error: str = ""  # a worker could not start: the run ends with exit code 2
    stopped_early: str = ""  # why scheduling stopped early, for the summary
    lost: bool = False  # the features that never ran count as failing (too many crashes)
    interrupted_by: int = 0  # signal number when interrupted
    wall_time: float = 0.0
