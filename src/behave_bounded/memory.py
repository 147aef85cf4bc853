"""Memory budgets with memray: ``@memory_budget_*`` tags, the budget check, budgeted scenarios.

memray is optional (``pip install 'behave-bounded[memory]'``): this module imports it only
inside the functions that need it, so importing the module never fails.

What the numbers mean:

* **peak heap** (:attr:`MemoryBudget.peak_heap`, :func:`measure_peak`, ``peak_heap``):
  memray's high-water mark of the bytes allocated *while tracking* and not yet freed, summed
  over all threads of the process (``malloc``/``calloc``/``realloc``/``mmap``...; Python
  objects count through pymalloc's arenas). Memory allocated before tracking started is not
  counted, even if it is freed inside the block. Allocated is not resident: ``bytes(n)``
  (``calloc``) counts ``n`` at once although its pages are only resident once touched.
* **peak resident growth** (:attr:`MemoryBudget.peak_rss_growth`): the largest resident set
  size of the process during the block minus its resident size when the block started, from
  the kernel's exact high-water mark (``VmHWM``) on Linux or memray's RSS samples elsewhere
  (see :mod:`behave_bounded.resident`). It is what the out-of-memory killer looks at: memory
  mapped by C code, fragmented arenas, touched pages; what the process held before the block
  (an earlier feature's leftovers) is not charged to it.

A whole child process is measured by :mod:`behave_bounded.child_memory` (test helpers).

Tags: ``@memory_budget_<SIZE>`` judges both figures against SIZE, ``@memory_budget_heap_<SIZE>``
and ``@memory_budget_rss_<SIZE>`` judge one (:data:`BUDGET_TAG_RE`; the smallest of each kind
wins). :func:`run_within_budget` applies them to behave's scenarios inside a worker.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from behave_bounded.config import parse_size
from behave_bounded.resident import ResidentGrowth
from behave_bounded.results import MemoryFigures, Status

T = TypeVar("T")

#: ``memory_budget_<SIZE>`` (heap and resident), ``memory_budget_heap_<SIZE>``,
#: ``memory_budget_rss_<SIZE>``; ``size`` is validated by :func:`~behave_bounded.config.parse_size`.
BUDGET_TAG_RE = re.compile(r"memory_budget_(?:(?P<kind>heap|rss)_)?(?P<size>.+)")
#: The valid tag forms, as error messages name them.
BUDGET_FORMS = ("@memory_budget_<SIZE>", "@memory_budget_heap_<SIZE>", "@memory_budget_rss_<SIZE>")
MEMRAY_EXTRA = "pip install 'behave-bounded[memory]'"
#: Allocation sites listed when a budget is exceeded (as pytest-memray's ``limit_memory``).
TOP_SITES = 5


@dataclass(frozen=True)
class Budget:
    """What a block may use, in bytes: ``heap`` (peak heap), ``rss`` (peak resident growth).

    ``None`` leaves that figure unjudged (it is still measured); at least one is set.
    """

    heap: int | None = None
    rss: int | None = None

    def __post_init__(self) -> None:
        if self.heap is None and self.rss is None:
            raise ValueError("a memory budget needs a heap or a resident limit, or both")
        for limit in (self.heap, self.rss):
            if limit is not None and limit <= 0:
                raise ValueError(f"a memory budget must be greater than 0, not {limit}")

    @classmethod
    def both(cls, size: int) -> Budget:
        """The budget of ``@memory_budget_<SIZE>``: heap and resident growth, the same size."""
        return cls(heap=size, rss=size)


def budget_from_tags(tags: Iterable[str]) -> Budget | None:
    """The budget the ``@memory_budget_*`` tags of ``tags`` set (``None``: no budget).

    The smallest size of each kind wins. Invalid sizes are ignored here: ``validate-tags``
    reports them before the run.
    """
    heap: list[int] = []
    rss: list[int] = []
    for tag in tags:
        match = BUDGET_TAG_RE.fullmatch(tag)
        if match is None:
            continue
        try:
            size = parse_size(match["size"])
        except ValueError:
            continue
        if match["kind"] != "rss":
            heap.append(size)
        if match["kind"] != "heap":
            rss.append(size)
    if not heap and not rss:
        return None
    return Budget(heap=min(heap, default=None), rss=min(rss, default=None))


@functools.cache
def memray_available() -> bool:
    """Whether ``import memray`` works (memray is an optional extra; Linux and macOS only)."""
    try:
        import memray  # noqa: F401, PLC0415 - optional dependency, probed lazily
    except ImportError:
        return False
    return True


def format_size(size: float) -> str:
    """``130.0 MiB``: binary units, one decimal (bytes below 1 KiB)."""
    if abs(size) < 1024:
        return f"{int(size)} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if abs(size) < 1024:
            return f"{size:.1f} {unit}"
    return f"{size / 1024:.1f} TiB"


def _display_path(path: str) -> str:
    if path.startswith("<"):
        return path  # "<frozen importlib._bootstrap>", "<string>", ...
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@dataclass(frozen=True)
class AllocationSite:
    """Memory alive at the peak, summed by the innermost Python frame that allocated it."""

    path: str
    line: int
    function: str
    size: int
    allocations: int

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        count = "allocation" if self.allocations == 1 else "allocations"
        return f"{where}  {format_size(self.size)}  ({self.allocations} {count} in {self.function})"


def _top_sites(reader: Any, count: int = TOP_SITES) -> tuple[AllocationSite, ...]:
    """The ``count`` largest sites of the high-water mark (all threads merged).

    A site is the innermost Python frame, as in pytest-memray: an allocation made inside a
    library shows the library's line, not the step that called it.
    """
    sites: dict[tuple[str, int, str], list[int]] = {}
    for record in reader.get_high_watermark_allocation_records(merge_threads=True):
        frames = record.stack_trace(max_stacks=1)
        function, path, line = frames[0] if frames else ("?", "<no Python frame>", 0)
        totals = sites.setdefault((_display_path(path), int(line), function), [0, 0])
        totals[0] += int(record.size)
        totals[1] += int(record.n_allocations)
    ranked = sorted(sites.items(), key=lambda item: (-item[1][0], item[0]))
    return tuple(
        AllocationSite(path, line, function, size, allocations)
        for (path, line, function), (size, allocations) in ranked[:count]
    )


class MemoryBudget:
    """Measures a block's peak heap and peak resident growth and, on exit, checks its budget.

    memray's ``Tracker`` records the heap (and RSS samples) into a file in a fresh
    ``tempfile.TemporaryDirectory`` (never a guessable name), removed on exit; ``resident``
    (a :class:`~behave_bounded.resident.ResidentGrowth`, by default the kernel's mark where it
    works) measures the resident growth. The tracker starts before the resident measure and
    stops after it, so memray's own start-up and file writing are not charged to the block.

    ``__exit__`` raises the :meth:`check` AssertionError when the block itself raised nothing
    (a scenario that already failed keeps its own error); ``check_on_exit=False`` leaves the
    check to the caller. The capture uses memray's aggregated format, so the temp file stays
    small however many allocations the block makes. Only one memray Tracker can be active in
    a process: a block under ``memray run`` or inside another budget raises RuntimeError.
    """

    def __init__(
        self,
        budget: Budget,
        label: str = "",
        *,
        check_on_exit: bool = True,
        resident: ResidentGrowth | None = None,
    ) -> None:
        self.budget = budget
        self.label = label
        self.check_on_exit = check_on_exit
        self.resident = resident if resident is not None else ResidentGrowth()
        self.peak_heap = 0
        self.peak_rss_growth = 0
        self.sites: tuple[AllocationSite, ...] = ()  # filled only when the budget is exceeded
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self._tracker: Any = None
        self._capture = ""

    def __enter__(self) -> MemoryBudget:
        try:
            import memray  # noqa: PLC0415 - optional dependency
        except ImportError as error:
            raise ImportError(f"a memory budget needs memray: {MEMRAY_EXTRA} ({error})") from None

        self._directory = tempfile.TemporaryDirectory(prefix="behave-bounded-memray-")
        self._capture = os.path.join(self._directory.name, "capture.bin")
        tracker = memray.Tracker(
            self._capture, file_format=memray.FileFormat.AGGREGATED_ALLOCATIONS
        )
        try:
            tracker.__enter__()
        except RuntimeError as error:
            self._directory.cleanup()
            raise RuntimeError(
                f"cannot check the memory budget of {self.label or 'this block'}: {error}"
            ) from None
        self._tracker = tracker
        self.resident.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        import memray  # noqa: PLC0415 - optional dependency

        assert self._directory is not None, "MemoryBudget exited without entering"
        try:
            self.resident.stop()
            self._tracker.__exit__(None, None, None)
            reader = memray.FileReader(self._capture)
            try:
                self.peak_heap = int(reader.metadata.peak_memory)
                samples = (int(snapshot.rss) for snapshot in reader.get_memory_snapshots())
                self.peak_rss_growth = self.resident.growth(samples)
                if self.exceeded:
                    self.sites = _top_sites(reader)
            finally:
                reader.close()
        finally:
            self._tracker = None
            self._directory.cleanup()
        if exc_type is None and self.check_on_exit:
            self.check()

    @property
    def rss_source(self) -> str:
        """``"VmHWM"`` or ``"memray samples"``: where the resident growth came from."""
        return self.resident.source

    def _judged(self) -> list[tuple[str, int, int | None]]:
        return [
            ("peak heap", self.peak_heap, self.budget.heap),
            ("peak resident growth", self.peak_rss_growth, self.budget.rss),
        ]

    @property
    def exceeded(self) -> bool:
        return any(limit is not None and value > limit for _, value, limit in self._judged())

    def figures(self) -> MemoryFigures:
        """Both figures and the budget, for the scenario's result (and ``--json``)."""
        return MemoryFigures(
            peak_heap=self.peak_heap,
            peak_rss_growth=self.peak_rss_growth,
            heap_budget=self.budget.heap,
            rss_budget=self.budget.rss,
            rss_source=self.rss_source,
        )

    def message(self) -> str:
        """``peak resident growth X > budget Y (peak heap Z)`` and the largest heap sites.

        Every figure over its budget comes first (``; `` between two), the others follow in
        parentheses; then the :data:`TOP_SITES` largest sites at the heap's high-water mark.
        """
        over: list[str] = []
        within: list[str] = []
        for name, value, limit in self._judged():
            if limit is not None and value > limit:
                over.append(f"{name} {format_size(value)} > budget {format_size(limit)}")
            else:
                within.append(f"{name} {format_size(value)}")
        head = "; ".join(over) or "within budget"
        if within:
            head += f" ({', '.join(within)})"
        sites = (f"  {rank}. {site}" for rank, site in enumerate(self.sites, 1))
        return "\n".join([head, *sites])

    def check(self) -> None:
        """Raise AssertionError (figures vs budget, largest sites) if the budget was exceeded."""
        if self.exceeded:
            raise AssertionError(self.message())


def measure_peak(fn: Callable[[], T]) -> tuple[T, int]:
    """``fn()`` and the peak heap (bytes) it allocated, measured with memray."""
    with MemoryBudget(Budget(heap=sys.maxsize), "measure_peak", check_on_exit=False) as budget:
        value = fn()
    return value, budget.peak_heap


# -- behave's scenarios under a budget ------------------------------------------------------

#: Where :func:`run_within_budget` leaves its :class:`BudgetOutcome` on behave's scenario.
OUTCOME_ATTRIBUTE = "_behave_bounded_budget"


@dataclass(frozen=True)
class BudgetOutcome:
    """What a scenario's budget decided, kept on behave's scenario until its result is built.

    ``status`` is FAILED (over budget: an AssertionError), ERRORED (it could not be measured:
    ``message`` says why) or None (within budget); ``figures`` is None when nothing was measured.
    """

    status: Status | None
    message: str
    figures: MemoryFigures | None


def budget_outcome(scenario: Any) -> BudgetOutcome | None:
    """The outcome :func:`run_within_budget` left on ``scenario`` (None: it had no budget)."""
    outcome = getattr(scenario, OUTCOME_ATTRIBUTE, None)
    return outcome if isinstance(outcome, BudgetOutcome) else None


def _fail_in_behave(scenario: Any, message: str) -> None:
    """Mark behave's own scenario failed by AssertionError: its formatters and reporters (run
    from the recorded model) then show the budget's failure as the runner counts it."""
    from behave.model_type import Status as BehaveStatus  # noqa: PLC0415 - behave is loaded

    error = AssertionError(message)
    scenario.set_status(BehaveStatus.failed)
    scenario.error_message = message
    scenario.exception = error
    scenario.exc_traceback = None


def run_within_budget(run: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Wrap behave's ``Scenario.run``: a ``@memory_budget_*`` scenario runs under a budget.

    Hooks of the scenario (``before_scenario``...) run inside it, as in behave. A scenario over
    its budget fails by AssertionError (figures vs budget and the largest allocation sites,
    also printed into the feature's report); the verdict is applied when its result is built
    (:func:`budget_outcome`), because behave has already decided its status by then.
    """

    def run_scenario(scenario: Any, runner: Any) -> bool:
        budget = budget_from_tags(str(tag) for tag in scenario.effective_tags)
        if budget is None:
            return run(scenario, runner)
        guard = MemoryBudget(budget, f"{scenario.location}", check_on_exit=False)
        try:
            guard.__enter__()
        except (RuntimeError, ImportError) as error:
            setattr(scenario, OUTCOME_ATTRIBUTE, BudgetOutcome(Status.ERRORED, str(error), None))
            return run(scenario, runner) or True
        try:
            failed = run(scenario, runner)
        finally:
            guard.__exit__(None, None, None)
        status, message = (Status.FAILED, guard.message()) if guard.exceeded else (None, "")
        setattr(scenario, OUTCOME_ATTRIBUTE, BudgetOutcome(status, message, guard.figures()))
        if message:
            print(message)  # into the feature's report, after behave's own lines
            _fail_in_behave(scenario, message)
            return True
        return failed

    run_scenario.__wrapped__ = run  # type: ignore[attr-defined]
    return run_scenario
