"""Memory budgets with memray: ``@memory_budget_*`` scenarios and child-process measures.

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
* **peak RSS** (``ChildMemory.peak_rss``): the kernel's maximum resident set size of the child
  process (``wait4`` rusage), i.e. everything resident: interpreter, libraries, the heap and
  memray's own bookkeeping. ``ProcessMemory.sampled_peak_rss`` is the largest of memray's RSS
  samples (one every 10 ms), so it can miss a short spike.

Tags: ``@memory_budget_<SIZE>`` judges both figures against SIZE, ``@memory_budget_heap_<SIZE>``
and ``@memory_budget_rss_<SIZE>`` judge one (:data:`BUDGET_TAG_RE`; the smallest of each kind
wins). :func:`run_within_budget` applies them to behave's scenarios inside a worker.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from behave_bounded.config import parse_size
from behave_bounded.resident import ResidentGrowth
from behave_bounded.results import MemoryFigures, Status

T = TypeVar("T")

MEMORY_BUDGET_PREFIX = "memory_budget_"
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
            return True
        return failed

    run_scenario.__wrapped__ = run  # type: ignore[attr-defined]
    return run_scenario


# -- a child process under `memray run` -----------------------------------------------------


@dataclass(frozen=True)
class ProcessMemory:
    """One process of the measured tree, from its memray capture file."""

    pid: int
    #: memray's high-water mark of this process; a forked child counts only what it allocated
    #: after the fork (pages inherited from the parent are not allocations of the child).
    peak_heap: int
    #: Largest RSS sample memray took (every 10 ms), ``None`` without a sample.
    sampled_peak_rss: int | None
    total_allocations: int
    #: memray's first RSS sample, taken when tracking started; ``None`` without a sample.
    start_rss: int | None = None


@dataclass(frozen=True)
class ChildMemory:
    """What :func:`run_under_memray` measured; ``processes[0]`` is the child itself."""

    returncode: int
    #: memray's high-water mark of the child's heap (``processes[0].peak_heap``).
    peak_heap: int
    #: The kernel's maximum RSS of the child (not of its children), ``None`` if unknown.
    peak_rss: int | None
    processes: tuple[ProcessMemory, ...]
    #: Capture files that could not be read (a process killed mid-write), with the reason.
    unreadable: tuple[str, ...]
    stdout: str  # the last ``output_limit`` bytes, decoded
    stderr: str
    duration: float

    @property
    def peak_rss_growth(self) -> int | None:
        """The child's peak RSS (the kernel's, else memray's samples) minus its first sample.

        The first sample is taken when ``memray run`` starts tracking, before the child's own
        code is imported; ``None`` when memray took no sample.
        """
        own = self.processes[0]
        peak = self.peak_rss if self.peak_rss is not None else own.sampled_peak_rss
        return None if peak is None or own.start_rss is None else max(0, peak - own.start_rss)

    @property
    def children(self) -> tuple[ProcessMemory, ...]:
        """The forked descendants (``follow_fork=True``), sorted by pid."""
        return self.processes[1:]

    @property
    def max_child_heap(self) -> int:
        """The largest peak heap of any forked descendant (0 when none was tracked)."""
        return max((process.peak_heap for process in self.children), default=0)


def _read_capture(path: Path) -> ProcessMemory:
    import memray  # noqa: PLC0415 - optional dependency

    reader = memray.FileReader(path)
    try:
        metadata = reader.metadata
        first: int | None = None
        peak: int | None = None
        for snapshot in reader.get_memory_snapshots():  # one pass: a long run has many
            rss = int(snapshot.rss)
            first = rss if first is None else first
            peak = rss if peak is None else max(peak, rss)
        return ProcessMemory(
            pid=int(metadata.pid),
            peak_heap=int(metadata.peak_memory),
            sampled_peak_rss=peak,
            total_allocations=int(metadata.total_allocations),
            start_rss=first,
        )
    finally:
        reader.close()


def _tail(path: Path, limit: int) -> str:
    with open(path, "rb") as stream:
        stream.seek(max(0, path.stat().st_size - limit))
        return stream.read().decode("utf-8", "replace")


def _wait(pid: int, timeout: float) -> tuple[int, int | None]:
    """Reap ``pid`` with ``wait4`` (exit code, max RSS in bytes); kill its group on timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped == pid:
            scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB
            return os.waitstatus_to_exitcode(status), int(usage.ru_maxrss) * scale or None
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            raise TimeoutError(f"the process under memray did not end within {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


#: Runs ``ARGV`` as a child of a fresh, small interpreter and writes the child's rusage peak RSS
#: (KiB) to ``OUT``: ``python -c LAUNCHER OUT ARGV...``. On Linux a process forked from a big
#: one reports the big one's resident set as its own peak (the kernel keeps the high-water mark
#: of the memory it had before exec), so a test process that grew would make every child look
#: big; forked from this launcher, the child's peak is its own. SIGINT and SIGTERM are passed
#: on, and the launcher ends as the child did.
LAUNCHER = """\
import json, os, signal, sys
out, argv = sys.argv[1], sys.argv[2:]
child = os.fork()
if child == 0:
    os.execvp(argv[0], argv)
for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, lambda number, frame: os.kill(child, number))
_, status, usage = os.wait4(child, 0)
with open(out, "w") as stream:
    json.dump({"ru_maxrss": usage.ru_maxrss}, stream)
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def launched(argv: Sequence[str], rusage_file: str) -> list[str]:
    """``argv`` run through :data:`LAUNCHER`, its peak RSS written to ``rusage_file``."""
    return [sys.executable, "-c", LAUNCHER, rusage_file, *argv]


def launched_peak_rss(rusage_file: str) -> int | None:
    """The peak RSS (bytes) :data:`LAUNCHER` recorded, or None if the child left no record."""
    try:
        with open(rusage_file, encoding="utf-8") as stream:
            kib = int(json.load(stream)["ru_maxrss"])
    except (OSError, ValueError, KeyError):
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB
    return kib * scale or None


def run_under_memray(
    argv: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    *,
    follow_fork: bool = True,
    output_limit: int = 64 * 2**10,
) -> ChildMemory:
    """Run ``python -m memray run ... ARGV`` and measure it; ``argv`` is what follows ``python``.

    ``argv`` is ``["-m", "module", ...]``, ``["-c", "code", ...]`` or ``["script.py", ...]``.
    With ``follow_fork`` every process the child forks (``multiprocessing`` "fork" workers)
    gets its own capture file and :class:`ProcessMemory`; spawned or exec'd processes are not
    followed. Following forks needs memray's streaming format, whose capture files grow with
    the number of allocations (they live in a TemporaryDirectory, deleted before returning);
    without it the aggregated format keeps the file small. The child runs in its own session,
    killed as a group once the child has ended (no forked process outlives the measure) or on
    timeout (TimeoutError). Output goes to files; only the last ``output_limit`` bytes of
    each stream are returned.
    """
    with tempfile.TemporaryDirectory(prefix="behave-bounded-memray-run-") as name:
        directory = Path(name)
        capture = directory / "capture.bin"
        flags = ["--follow-fork"] if follow_fork else ["--aggregate"]
        command = [sys.executable, "-m", "memray", "run", "-q", "-o", str(capture), *flags]
        started = time.monotonic()
        with open(directory / "stdout", "wb") as out, open(directory / "stderr", "wb") as err:
            process = subprocess.Popen(  # noqa: S603 - argv is the caller's own command
                launched([*command, *argv], str(directory / "rusage.json")),
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            returncode, _ = _wait(process.pid, timeout)  # the launcher's figure: see LAUNCHER
        except TimeoutError:
            process.returncode = -signal.SIGKILL  # reaped by _wait: Popen must not wait again
            raise
        process.returncode = returncode
        peak_rss = launched_peak_rss(str(directory / "rusage.json"))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # forked processes that outlived the child
        duration = time.monotonic() - started
        processes: list[ProcessMemory] = []
        unreadable: list[str] = []
        for path in sorted(directory.glob("capture.bin*"), key=_capture_order):
            try:
                processes.append(_read_capture(path))
            except OSError as error:
                unreadable.append(f"{path.name}: {error}")
        if not processes:
            problems = "; ".join(unreadable) or "no capture file"
            raise RuntimeError(
                f"memray captured nothing of the child (exit code {returncode}): {problems}\n"
                + _tail(directory / "stderr", output_limit)
            )
        return ChildMemory(
            returncode=returncode,
            peak_heap=processes[0].peak_heap,
            peak_rss=peak_rss,
            processes=tuple(processes),
            unreadable=tuple(unreadable),
            stdout=_tail(directory / "stdout", output_limit),
            stderr=_tail(directory / "stderr", output_limit),
            duration=duration,
        )


def _capture_order(path: Path) -> tuple[int, int]:
    """``capture.bin`` (the child) first, then ``capture.bin.<pid>`` by pid."""
    suffix = path.name.rpartition(".")[2]
    return (1, int(suffix)) if suffix.isdigit() else (0, 0)
