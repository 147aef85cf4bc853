"""What every part of the benchmark shares: figures, rows and tables; measuring a command; suites.

How processes are measured. Every command runs with a wall clock (``time.perf_counter``)
around ``subprocess.run``. The commands that are Python modules (``behave``,
``behave_bounded``) run through :data:`PROBE`, a ``python -c`` wrapper that runs the module in
its own process (``runpy``) and, at exit, reports that process's own peak RSS (``VmHWM``, the
kernel's high-water mark of this process only) and the largest peak RSS among the processes it
reaped (``RUSAGE_CHILDREN`` ``ru_maxrss``: for the runner, its largest worker).
``/usr/bin/time -f %M`` and ``os.wait4`` were not used: on Linux both report the maximum over
the process *and its reaped descendants*, i.e. the worker's figure, not the parent's.

CPU. The probe also reports the process's own CPU seconds (``RUSAGE_SELF``) and those of every
child it reaped (``RUSAGE_CHILDREN`` ``ru_utime + ru_stime``: for the runner, its workers, which
it reaps). behavex runs without the probe: its CPU is the benchmark's own ``RUSAGE_CHILDREN``
delta around ``subprocess.run``, which :func:`run_command` takes for every command (the whole
reaped process tree, so it cross-checks the probe's sum).

Environment. Every command runs with :func:`clean_env`: without our own settings and without
``PYTHONDONTWRITEBYTECODE``. A machine (or CI image) that sets it makes Python compile every
module of an editable install again on every start, which nearly triples start-up; an
installed package has its ``.pyc`` files. Parts that time start-up run each command once first
(the warm-up writes the ``.pyc`` files).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MiB = 2**20
GiB = 2**30
MB = 10**6
LIMIT = 10 * MiB  # the runner's default --max-output, per stream per feature
PROBE_ENV = "BEHAVE_BOUNDED_BENCH_PROBE"
#: Runs a module as ``python -m MODULE ARGS`` would, then writes the peak RSS (KiB) of this
#: process alone and of its largest reaped child, the CPU seconds of this process and of its
#: reaped children, and how often this process renamed a file over each name (``os.replace``,
#: how the runner writes its run data atomically). Forked workers inherit the atexit hook,
#: hence the pid check; the environment variable is removed so no grandchild sees it.
PROBE = f"""
import atexit, json, os, resource, runpy, sys
out = os.environ.pop({PROBE_ENV!r})
pid = os.getpid()
replaced = {{}}
rename = os.replace
def counted_replace(source, destination, *args, **kwargs):
    name = os.path.basename(os.fsdecode(destination))
    replaced[name] = replaced.get(name, 0) + 1
    return rename(source, destination, *args, **kwargs)
os.replace = counted_replace
def report():
    if os.getpid() != pid:
        return
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(out, "w") as file:
        json.dump(
            {{
                "own_kib": own,
                "children_kib": children.ru_maxrss,
                "own_cpu": usage.ru_utime + usage.ru_stime,
                "children_cpu": children.ru_utime + children.ru_stime,
                "replaced": replaced,
            }},
            file,
        )
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
#: A measured command that runs longer than this is stuck: the benchmark cannot measure it.
COMMAND_TIMEOUT = 900
#: Variables that would change what the measured commands do (CI caps, coverage of
#: subprocesses, behave's capture policy; BEHAVE_BOUNDED_* too; no .pyc files, see the module's
#: docstring): the benchmark measures defaults.
SCRUBBED_ENV = (
    "CI_MAX_PROCESSES",
    "COVERAGE_PROCESS_START",
    "BEHAVE_STORE_CAPTURED_ALWAYS",
    "PYTHONDONTWRITEBYTECODE",
)

STEPS = '''\
import sys
import time

from behave import step

LINES = [f"{i:08d} " + "abcdefghij" * 9 + "\\n" for i in range(10_000)]  # distinct, 100 B


def write_lines(size):
    """Write about size bytes as 100-byte lines cycled from a pool of distinct strings."""
    write = sys.stdout.write
    rounds, rest = divmod(size, 100 * len(LINES))
    for _ in range(rounds):
        for line in LINES:
            write(line)
    for line in LINES[: rest // 100]:
        write(line)
    sys.stdout.flush()


@step("a passing step")
def passing(context):
    pass


@step("it burns {ms:d} ms of CPU")
def burn(context, ms):
    end = time.process_time() + ms / 1000
    while time.process_time() < end:
        for _ in range(1000):
            pass


@step("it sleeps {ms:d} ms")
def sleep(context, ms):
    time.sleep(ms / 1000)


@step("it prints {size:d} bytes")
def prints(context, size):
    write_lines(size)
'''


class MeasurementError(RuntimeError):
    """A command could not be measured (it failed, or reported nothing)."""


# -- figures, rows, tables ------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """Several runs of one quantity: the median is reported, with the min-max spread."""

    values: tuple[float, ...]
    unit: str
    derived: bool = False  # computed from other figures: no spread of its own

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def _fmt(self, value: float) -> str:
        digits = {"MB/s": 0, "MiB": 1, "KiB": 2, "ms": 3, "B": 0, "per run": 0}.get(
            self.unit, 3 if value < 10 else 2
        )
        return f"{value:.{digits}f}"

    def cell(self) -> str:
        return f"{self._fmt(self.median)} {self.unit}"

    def spread(self) -> str:
        if self.derived:
            return "derived"
        low, high = min(self.values), max(self.values)
        return f"{self._fmt(low)}-{self._fmt(high)} ({len(self.values)})"


@dataclass(frozen=True)
class Row:
    """One measured (or skipped) figure, its reference, and the target it is checked against."""

    label: str
    figure: Figure | None
    reference: str = "(reference)"
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Table:
    """One part's table; the ratio column's header says how the ratio is computed."""

    title: str
    ratio_header: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: What this part could not measure (the rows say "not measured"); fails the benchmark.
    unmeasured: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"### {self.title}",
            "",
            f"| measurement | median | min-max (runs) | reference | {self.ratio_header} "
            "| target | verdict |",
            "|---|---:|---:|---|---:|---|---|",
        ]
        for row in self.rows:
            median = row.figure.cell() if row.figure else row.note or "not measured"
            spread = row.figure.spread() if row.figure else ""
            ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
            if row.figure and row.reference == "(reference)":
                ratio = "1.00x"
            verdict = {True: "met", False: "**MISSED**", None: ""}[row.met]
            if row.target and row.met is None:
                verdict = "not checked"
            lines.append(
                f"| {row.label} | {median} | {spread} | {row.reference} | {ratio} "
                f"| {row.target} | {verdict} |"
            )
        lines.extend(["", *(f"- {note}" for note in self.notes)])
        return "\n".join(lines).rstrip() + "\n"

    def missed(self) -> list[str]:
        """Every target this table missed or could not check, as one line each."""
        found = []
        for row in self.rows:
            if row.target and row.met is not True:
                measured = row.figure.cell() if row.figure else "not measured"
                ratio = f", {row.ratio:.2f}x {row.reference}" if row.ratio is not None else ""
                state = "missed" if row.met is False else "could not be checked"
                found.append(
                    f"{self.title}: {row.label}: target {row.target} {state} "
                    f"(measured {measured}{ratio})"
                )
        return found


def ratio(value: Figure | None, reference: Figure | None, *, invert: bool = False) -> float | None:
    """value / reference on medians (reference / value with ``invert``: a speed-up)."""
    if value is None or reference is None or not value.median or not reference.median:
        return None
    return reference.median / value.median if invert else value.median / reference.median


# -- measuring commands ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One run of one command through the probe: wall seconds, peak RSS of the process and of
    its largest child, CPU seconds, run data files renamed into place."""

    wall: float
    own_mib: float
    children_mib: float
    own_cpu: float = 0.0  # CPU seconds of the process itself (the runner's parent)
    children_cpu: float = 0.0  # CPU seconds of the children it reaped (the runner's workers)
    tree_cpu: float = 0.0  # the benchmark's RUSAGE_CHILDREN delta around the whole command
    replaced: dict[str, int] = field(default_factory=dict)  # file name -> os.replace calls

    @property
    def cpu(self) -> float:
        """The command's whole CPU as the probe saw it: the process and its reaped children."""
        return self.own_cpu + self.children_cpu


def clean_env() -> dict[str, str]:
    """The environment without our own settings and without what would slow the commands."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED_ENV and not key.startswith("BEHAVE_BOUNDED_")
    }


def reaped_cpu() -> float:
    """CPU seconds of every child this process has reaped so far (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(command: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of its reaped process tree) of one command, stdout discarded;
    MeasurementError when it fails."""
    with tempfile.TemporaryFile() as errors:
        cpu = reaped_cpu()
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                cwd=cwd,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                check=False,
                timeout=COMMAND_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            raise MeasurementError(f"{command[-1]}: no exit after {COMMAND_TIMEOUT} s") from None
        wall = time.perf_counter() - started
        cpu = reaped_cpu() - cpu
        if done.returncode != 0:
            errors.seek(max(0, errors.seek(0, os.SEEK_END) - 2000))
            tail = errors.read().decode(errors="replace")
            raise MeasurementError(
                f"{' '.join(command[-6:])} exited with {done.returncode}:\n{tail}"
            )
    return wall, cpu


def probe(module: str, args: Sequence[str], cwd: Path) -> Sample:
    """Run ``python -m module args`` through :data:`PROBE`: wall time, peak RSS and CPU."""
    with tempfile.TemporaryDirectory(prefix="bb-probe-") as directory:
        report = Path(directory) / "rss.json"
        env = {**clean_env(), PROBE_ENV: str(report)}
        wall, tree_cpu = run_command([sys.executable, "-c", PROBE, module, *args], cwd, env)
        try:
            data = json.loads(report.read_text())
        except (OSError, ValueError) as error:
            raise MeasurementError(f"{module} {' '.join(args)}: no RSS report: {error}") from None
    return Sample(
        wall,
        data["own_kib"] / 1024,
        data["children_kib"] / 1024,
        data["own_cpu"],
        data["children_cpu"],
        tree_cpu,
        data["replaced"],
    )


def repeat(runs: int, measure: Callable[[], Sample]) -> list[Sample]:
    return [measure() for _ in range(runs)]


def wall_of(samples: Sequence[Sample]) -> Figure:
    return Figure(tuple(s.wall for s in samples), "s")


def own_of(samples: Sequence[Sample]) -> Figure:
    return Figure(tuple(s.own_mib for s in samples), "MiB")


def children_of(samples: Sequence[Sample]) -> Figure:
    return Figure(tuple(s.children_mib for s in samples), "MiB")


def load_note() -> str:
    """The machine may be shared: the load average says how much to trust wall times."""
    one, five, _ = os.getloadavg()
    return f"load average when this part ended: {one:.2f} (1 min), {five:.2f} (5 min)"


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def size_name(size: int) -> str:
    return f"{size // GiB} GiB" if size >= GiB else f"{size // MiB} MiB"


# -- generated suites -----------------------------------------------------------------------


def make_suite(root: Path, features: dict[str, str], steps: str = STEPS) -> Path:
    """A behave project under ``root``: the steps (the shared ones by default) and the given
    feature files."""
    directory = root / "features" / "steps"
    directory.mkdir(parents=True)
    (directory / "steps.py").write_text(steps, encoding="utf-8")
    for name, text in features.items():
        (root / "features" / name).write_text(text, encoding="utf-8")
    return root


def feature(name: str, *steps: str) -> str:
    body = "".join(
        f"    Given {step}\n" if i == 0 else f"    And {step}\n" for i, step in enumerate(steps)
    )
    return f"Feature: {name}\n\n  Scenario: {name}\n{body}"


def runner_args(artifacts: Path, *extra: str) -> list[str]:
    return ["--artifacts", str(artifacts), *extra]


def behavex_run(root: Path) -> tuple[float, float]:
    """behavex, 2 processes by feature, its output folder in a temporary directory: (wall
    seconds, CPU seconds of its whole process tree)."""
    with tempfile.TemporaryDirectory(prefix="bb-behavex-") as output:
        command = [
            *(sys.executable, "-m", "behavex", "-o", output),
            *("--parallel-processes", "2", "--parallel-scheme", "feature", "features"),
        ]
        return run_command(command, root, clean_env())


def behavex_wall(root: Path) -> float:
    return behavex_run(root)[0]


# -- suites of one-step features, commands in interleaved rounds (part 4) ----------------------

#: Worker processes of the runner (and of behavex) in the overhead part: this machine's 2 CPUs.
JOBS = "2"
#: A step that does nothing: only behave's and the runner's own work is left to measure.
PASSING_STEPS = """\
from behave import step


@step("a passing step")
def passing(context):
    pass
"""


def one_step_suite(root: Path, count: int) -> Path:
    """``count`` one-scenario, one-step features under ``root/suite-COUNT`` (made once)."""
    suite = root / f"suite-{count}"
    if not suite.exists():
        progress(f"overhead: writing {count} feature files")
        features = {f"f{n:05d}.feature": feature(f"f{n}", "a passing step") for n in range(count)}
        make_suite(suite, features, PASSING_STEPS)
    return suite


def behavex_sample(root: Path) -> Sample:
    """behavex as in part 3; no probe, so no RSS: its CPU is the benchmark's own reaped-child
    delta (the whole process tree), kept as ``children_cpu`` so that ``Sample.cpu`` is it."""
    wall, cpu = behavex_run(root)
    return Sample(wall, 0.0, 0.0, children_cpu=cpu, tree_cpu=cpu)


def interleaved(
    commands: dict[str, Callable[[], Sample]],
    runs: int,
    what: str,
    *,
    warm_up: bool = True,
    optional: Sequence[str] = (),
    failures: list[str] | None = None,
) -> dict[str, list[Sample]]:
    """Every command once as a warm-up (``.pyc`` files, the durations store), then ``runs``
    rounds of every command in turn (A B C A B C): a burst of load hits all of them alike.

    A command named in ``optional`` that cannot be measured is dropped (its error goes to
    ``failures``); any other failure ends the part.
    """
    samples: dict[str, list[Sample]] = {key: [] for key in commands}
    active = dict(commands)
    rounds = [("warm-up", False)] if warm_up else []
    rounds += [(f"run {number + 1} of {runs}", True) for number in range(runs)]
    for label, kept in rounds:
        progress(f"overhead: {what}: {label}")
        for key, command in list(active.items()):
            try:
                sample = command()
            except MeasurementError as error:
                if key not in optional or failures is None:
                    raise
                failures.append(f"{key}: {error}".replace("\n", " "))
                del active[key]
                continue
            if kept:
                samples[key].append(sample)
    return samples
