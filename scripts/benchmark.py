#!/usr/bin/env python3
"""The benchmark of behave-bounded: six parts, one Markdown table each (run by `nox -s bench`).

A measurement, not a test: it prints every table with a ratio against the reference named in
each row, writes them to ``.behave-bounded/benchmark.md``, and ends with the list of missed
targets. Exit code 0 even when targets are missed; 1 only when something could not be measured.

1. capture throughput: BoundedTextIO vs io.StringIO vs a text file on os.devnull;
2. memory flatness: peak RSS of worker and parent when one feature prints up to 4 GiB;
3. end-to-end wall time: behave, behave-bounded -j 1 / -j 2, behavex, file order vs LPT;
4. overhead: start-up on an empty and a 1-scenario suite, 2,000 one-scenario features;
5. preflight: ``validate-tags`` on 1,000 feature files;
6. the HTML report: page size and build time for 1,000 and 10,000 features.

How processes are measured. Every command of parts 2-5 runs with a wall clock
(``time.perf_counter``) around ``subprocess.run``. The commands that are Python modules
(``behave``, ``behave_bounded``) run through :data:`PROBE`, a ``python -c`` wrapper that runs
the module in its own process (``runpy``) and, at exit, reports that process's own peak RSS
(``VmHWM``, the kernel's high-water mark of this process only) and the largest peak RSS among
the processes it reaped (``RUSAGE_CHILDREN`` ``ru_maxrss``: for the runner, its largest
worker). ``/usr/bin/time -f %M`` and ``os.wait4`` were not used: on Linux both report the
maximum over the process *and its reaped descendants*, i.e. the worker's figure, not the
parent's. behavex runs without the probe (its wall time is all we compare).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TextIO

from behave_bounded.capture import BoundedTextIO, Keep
from behave_bounded.reports.digest import Budget, Digest, read_items
from behave_bounded.reports.html import write_html
from behave_bounded.reports.json import JsonReport
from behave_bounded.reports.meta import RunMeta
from behave_bounded.results import (
    CapturedStream,
    ScenarioResult,
    Status,
    StreamStats,
    Task,
    TaskResult,
)

MiB = 2**20
GiB = 2**30
MB = 10**6
LIMIT = 10 * MiB  # the runner's default --max-output, per stream per feature
PROBE_ENV = "BEHAVE_BOUNDED_BENCH_PROBE"
#: Runs a module as ``python -m MODULE ARGS`` would, then writes the peak RSS (KiB) of this
#: process alone and of its largest reaped child, and this process's own CPU seconds. Forked
#: workers inherit the atexit hook, hence the pid check; the environment variable is removed
#: so no grandchild sees it.
PROBE = f"""
import atexit, json, os, resource, runpy, sys
out = os.environ.pop({PROBE_ENV!r})
pid = os.getpid()
def report():
    if os.getpid() != pid:
        return
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    with open(out, "w") as file:
        json.dump({{"own_kib": own, "children_kib": children, "own_cpu": cpu}}, file)
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""
#: A measured command that runs longer than this is stuck: the benchmark cannot measure it.
COMMAND_TIMEOUT = 900
#: Variables that would change what the measured commands do (CI caps, coverage of
#: subprocesses, behave's capture policy; BEHAVE_BOUNDED_* too): the benchmark measures defaults.
SCRUBBED_ENV = ("CI_MAX_PROCESSES", "COVERAGE_PROCESS_START", "BEHAVE_STORE_CAPTURED_ALWAYS")

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
        digits = {"MB/s": 0, "MiB": 1, "ms": 3}.get(self.unit, 3 if value < 10 else 2)
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
    """One run of one command: wall seconds, peak RSS of the process and of its largest child."""

    wall: float
    own_mib: float
    children_mib: float
    own_cpu: float = 0.0  # CPU seconds of the process itself (the runner's parent)


def clean_env() -> dict[str, str]:
    """The environment without our own settings and without what would slow the commands."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in SCRUBBED_ENV and not key.startswith("BEHAVE_BOUNDED_")
    }


def run_command(command: Sequence[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds of one command (stdout discarded); MeasurementError when it fails."""
    with tempfile.TemporaryFile() as errors:
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
        if done.returncode != 0:
            errors.seek(max(0, errors.seek(0, os.SEEK_END) - 2000))
            tail = errors.read().decode(errors="replace")
            raise MeasurementError(
                f"{' '.join(command[-6:])} exited with {done.returncode}:\n{tail}"
            )
    return wall


def probe(module: str, args: Sequence[str], cwd: Path) -> Sample:
    """Run ``python -m module args`` through :data:`PROBE`: wall time and peak RSS figures."""
    with tempfile.TemporaryDirectory(prefix="bb-probe-") as directory:
        report = Path(directory) / "rss.json"
        env = {**clean_env(), PROBE_ENV: str(report)}
        wall = run_command([sys.executable, "-c", PROBE, module, *args], cwd, env)
        try:
            data = json.loads(report.read_text())
        except (OSError, ValueError) as error:
            raise MeasurementError(f"{module} {' '.join(args)}: no RSS report: {error}") from None
    return Sample(wall, data["own_kib"] / 1024, data["children_kib"] / 1024, data["own_cpu"])


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


def make_suite(root: Path, features: dict[str, str]) -> Path:
    """A behave project under ``root``: the shared steps and the given feature files."""
    steps = root / "features" / "steps"
    steps.mkdir(parents=True)
    (steps / "steps.py").write_text(STEPS, encoding="utf-8")
    for name, text in features.items():
        (root / "features" / name).write_text(text, encoding="utf-8")
    return root


def feature(name: str, *steps: str) -> str:
    body = "".join(
        f"    Given {step}\n" if i == 0 else f"    And {step}\n" for i, step in enumerate(steps)
    )
    return f"Feature: {name}\n\n  Scenario: {name}\n{body}"


# -- part 1: capture throughput -------------------------------------------------------------

CHUNK = 64 * 1024
LINE_POOL = 10_000


def line_pool() -> list[str]:
    """Distinct 100-character lines: writing one object again and again flatters StringIO."""
    return [f"{i:08d} " + "abcdefghij" * 9 + "\n" for i in range(LINE_POOL)]


def chunk_pool() -> list[str]:
    """16 distinct 64 KiB chunks made of distinct lines."""
    lines = line_pool()
    per_chunk = CHUNK // 100
    chunks = []
    for start in range(0, 16 * per_chunk, per_chunk):
        text = "".join(lines[start : start + per_chunk])
        chunks.append((text + "x" * CHUNK)[: CHUNK - 1] + "\n")
    return chunks


def throughput(factory: Callable[[], TextIO], pool: list[str], total: int) -> float:
    """MB/s of writing ``total`` characters (ASCII, so bytes) from ``pool``, cycled."""
    per_round = sum(map(len, pool))
    rounds = max(1, total // per_round)
    stream = factory()
    gc.collect()
    write = stream.write
    started = time.perf_counter()
    for _ in range(rounds):
        for item in pool:
            write(item)
    stream.flush()
    elapsed = time.perf_counter() - started
    stream.close()
    del stream, write
    gc.collect()
    return rounds * per_round / elapsed / MB


def part_capture(total: int, runs: int) -> Table:
    """Part 1: the capture stream is on the path of every print of every test."""
    sinks: dict[str, Callable[[], TextIO]] = {
        "BoundedTextIO": lambda: BoundedTextIO("stdout", LIMIT, Keep.BOTH),
        "io.StringIO": io.StringIO,
        "devnull": lambda: open(os.devnull, "w", encoding="utf-8"),  # noqa: SIM115
    }
    shapes = {
        "64 KiB chunks": (chunk_pool(), "devnull", 0.8),
        "100 B lines": (line_pool(), "io.StringIO", 1.0),
    }
    table = Table(f"1. Capture throughput ({size_name(total)} per run)", "MB/s / ref MB/s")
    for shape, (pool, reference, goal) in shapes.items():
        values: dict[str, list[float]] = {name: [] for name in sinks}
        for run in range(runs):  # interleaved: a burst of load hits every sink alike
            progress(f"capture: {shape}, run {run + 1} of {runs}")
            for name, factory in sinks.items():
                values[name].append(throughput(factory, pool, total))
        speeds = {name: Figure(tuple(v), "MB/s") for name, v in values.items()}
        for name, speed in speeds.items():
            is_ref = name == reference
            value = ratio(speed, speeds[reference])
            checked = name == "BoundedTextIO"
            table.rows.append(
                Row(
                    f"{shape}: {name}",
                    speed,
                    "(reference)" if is_ref else f"{shape}: {reference}",
                    None if is_ref else value,
                    f">= {goal}x" if checked else "",
                    (value is not None and value >= goal) if checked else None,
                )
            )
    table.notes = [
        "BoundedTextIO(stdout, limit 10 MiB, keep both), no spill; MB = 10^6 bytes; every "
        "stream gets the same number of write() calls of the same distinct strings.",
        "io.StringIO keeps a reference to each string it is given and copies nothing until "
        "getvalue(), so its chunk figure is not a throughput: chunks are compared with devnull.",
    ]
    return table


# -- part 2: memory flatness ----------------------------------------------------------------


def runner_args(artifacts: Path, *extra: str) -> list[str]:
    return ["--artifacts", str(artifacts), *extra]


def measure_output_run(root: Path, size: int, bounded: bool, runs: int) -> list[Sample]:
    """The runner on a one-feature suite printing ``size`` bytes, artifacts wiped each run."""
    features = root / f"size-{size}"
    if not features.exists():
        make_suite(features, {"prints.feature": feature("prints", f"it prints {size} bytes")})
    artifacts = root / "artifacts"
    limit = [] if bounded else ["--max-output", "unlimited"]
    samples = []
    for _ in range(runs):
        args = runner_args(artifacts, "-j", "1", *limit, "--no-capture", "features")
        samples.append(probe("behave_bounded", args, features))
        shutil.rmtree(artifacts, ignore_errors=True)  # spill files of up to 1 GiB each
    return samples


def memory_rows(
    size: int,
    bounded: dict[int, list[Sample]],
    unlimited: list[Sample] | None,
    idle_parent: Figure,
    smallest: int,
) -> list[Row]:
    """Rows of one output size: bounded worker and parent, unlimited worker and parent."""
    name = size_name(size)
    worker, parent = children_of(bounded[size]), own_of(bounded[size])
    first = children_of(bounded[smallest])
    allowed = idle_parent.median + LIMIT / MiB + 16
    rows = [
        Row(
            f"{name}: worker, bounded",
            worker,
            f"worker, bounded, {size_name(smallest)}",
            ratio(worker, first),
        ),
        Row(
            f"{name}: parent, bounded",
            parent,
            "parent, empty suite",
            ratio(parent, idle_parent),
            f"every run <= {allowed:.1f} MiB (idle + 1 x 10 MiB + 16)",
            max(parent.values) <= allowed,
        ),
    ]
    if unlimited is None:
        note = "skipped (unlimited above 1 GiB: machine safety)"
        rows += [
            Row(f"{name}: worker, unlimited", None, "-", note=note),
            Row(f"{name}: parent, unlimited", None, "-", note=note),
        ]
        return rows
    u_worker, u_parent = children_of(unlimited), own_of(unlimited)
    rows += [
        Row(
            f"{name}: worker, unlimited",
            u_worker,
            f"{name}: worker, bounded",
            ratio(u_worker, worker),
        ),
        Row(
            f"{name}: parent, unlimited",
            u_parent,
            f"{name}: parent, bounded",
            ratio(u_parent, parent),
        ),
    ]
    return rows


def flatness_row(label: str, figures: list[Figure]) -> Row:
    """Largest minus smallest peak over every run of every size: the strictest reading."""
    values = [value for figure in figures for value in figure.values]
    spread = Figure((max(values) - min(values),), "MiB", derived=True)
    return Row(label, spread, "5 MiB allowance", spread.median / 5, "<= 5 MiB", spread.median <= 5)


def part_memory(sizes: Sequence[int], runs: int) -> Table:
    """Part 2: however much a feature prints, worker and parent memory must stay flat."""
    table = Table(
        "2. Memory flatness: one feature prints N bytes (-j 1, --no-capture)", "RSS / ref RSS"
    )
    with tempfile.TemporaryDirectory(prefix="bb-bench-memory-") as directory:
        root = Path(directory)
        progress("memory: empty suite (idle parent)")
        empty = make_suite(root / "empty", {"empty.feature": feature("empty", "a passing step")})
        idle = repeat(
            runs,
            lambda: probe(
                "behave_bounded",
                runner_args(root / "artifacts", "-t", "@nothing", "features"),
                empty,
            ),
        )
        idle_parent = own_of(idle)
        table.rows.append(Row("empty suite (-t @nothing): parent", idle_parent))
        bounded: dict[int, list[Sample]] = {}
        unlimited: dict[int, list[Sample]] = {}
        for size in sizes:
            progress(f"memory: {size_name(size)}, bounded")
            bounded[size] = measure_output_run(root, size, True, runs)
            if size <= GiB:
                progress(f"memory: {size_name(size)}, unlimited")
                unlimited[size] = measure_output_run(root, size, False, runs)
    for size in sizes:
        table.rows += memory_rows(size, bounded, unlimited.get(size), idle_parent, sizes[0])
    table.rows.append(
        flatness_row(
            "bounded worker: max - min over all sizes and runs",
            [children_of(bounded[s]) for s in sizes],
        )
    )
    table.rows.append(
        flatness_row(
            "bounded parent: max - min over all sizes and runs", [own_of(bounded[s]) for s in sizes]
        )
    )
    table.notes = [
        "worker = largest peak RSS among the runner's reaped children (RUSAGE_CHILDREN; one "
        "feature, one worker); parent = the runner process's own VmHWM. Default spill on "
        "(spill files capped at 1 GiB, in a temporary artifact directory).",
        "The step writes 100-byte distinct lines (sys.stdout.write); --no-capture turns off "
        "behave's per-scenario capture, so the text goes through the worker's stream.",
    ]
    return table


# -- part 3: end-to-end wall time -----------------------------------------------------------

#: (CPU ms, sleep ms, printed MiB) of the short features, in rotation.
SHORT_KINDS = ((250, 0, 0), (100, 150, 0), (100, 0, 3))
#: The long features come last in file order, the longest very last.
LONG_FEATURES = ((2000, 0, 0), (3000, 500, 0), (5000, 0, 0))
SHORT_COUNT = 45


def e2e_features() -> dict[str, str]:
    """48 one-scenario features, skewed: the long ones last, so file order ends badly."""
    plan = [SHORT_KINDS[i % len(SHORT_KINDS)] for i in range(SHORT_COUNT)] + list(LONG_FEATURES)
    features = {}
    for number, (burn, sleep, mib) in enumerate(plan):
        steps = [f"it burns {burn} ms of CPU"]
        if sleep:
            steps.append(f"it sleeps {sleep} ms")
        if mib:
            steps.append(f"it prints {mib * MiB} bytes")
        name = f"f{number:02d}"
        features[f"{name}.feature"] = feature(name, *steps)
    return features


def behavex_wall(root: Path) -> float:
    """behavex, 2 processes by feature, its output folder in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bb-behavex-") as output:
        command = [
            *(sys.executable, "-m", "behavex", "-o", output),
            *("--parallel-processes", "2", "--parallel-scheme", "feature", "features"),
        ]
        return run_command(command, root, clean_env())


def lpt_pair(root: Path, number: int) -> tuple[Sample, Sample]:
    """(-j 2 on a fresh artifact dir: file order, -j 2 again: durations recorded, LPT)."""
    artifacts = root / f"artifacts-lpt-{number}"
    args = runner_args(artifacts, "-j", "2", "features")
    fresh = probe("behave_bounded", args, root)
    if not (artifacts / "durations.json").is_file():
        raise MeasurementError(f"the first -j 2 run recorded no durations in {artifacts}")
    return fresh, probe("behave_bounded", args, root)


def e2e_walls(root: Path, runs: int, table: Table) -> dict[str, Figure]:
    """Wall times, one round of every command per run (interleaved: load hits all alike)."""
    keys = ("behave", "j1", "fresh", "lpt", "lpt_cpu", "bx")
    walls: dict[str, list[float]] = {key: [] for key in keys}
    behavex_ok = True
    for number in range(runs):
        progress(f"e2e: run {number + 1} of {runs}: behave, -j 1, -j 2 twice, behavex")
        walls["behave"].append(probe("behave", ["features"], root).wall)
        j1_args = runner_args(root / "artifacts-j1", "-j", "1", "features")
        walls["j1"].append(probe("behave_bounded", j1_args, root).wall)
        fresh, lpt = lpt_pair(root, number)
        walls["fresh"].append(fresh.wall)
        walls["lpt"].append(lpt.wall)
        walls["lpt_cpu"].append(lpt.own_cpu)
        if behavex_ok:
            try:
                walls["bx"].append(behavex_wall(root))
            except MeasurementError as error:
                behavex_ok = False
                table.unmeasured.append(f"behavex: {error}".replace("\n", " "))
    return {key: Figure(tuple(values), "s") for key, values in walls.items() if values}


def part_e2e(runs: int) -> Table:
    """Part 3: what a user waits for, against plain behave and behavex on the same files."""
    table = Table("3. End-to-end wall time: 48 features, skewed durations", "speed-up (ref s / s)")
    with tempfile.TemporaryDirectory(prefix="bb-bench-e2e-") as directory:
        walls = e2e_walls(make_suite(Path(directory), e2e_features()), runs, table)
    behave, lpt, fresh, behavex = walls["behave"], walls["lpt"], walls["fresh"], walls.get("bx")
    lpt_speedup = ratio(lpt, behave, invert=True)
    vs_behavex = ratio(lpt, behavex, invert=True)
    table.rows += [
        Row("plain behave, serial", behave),
        Row(
            "behave-bounded -j 1",
            walls["j1"],
            "plain behave",
            ratio(walls["j1"], behave, invert=True),
        ),
        Row(
            "behave-bounded -j 2, file order (fresh artifacts)",
            fresh,
            "plain behave",
            ratio(fresh, behave, invert=True),
        ),
        Row(
            "behave-bounded -j 2, LPT (durations recorded)",
            lpt,
            "plain behave",
            lpt_speedup,
            ">= 1.8x",
            lpt_speedup is not None and lpt_speedup >= 1.8,
        ),
        Row(
            "behavex --parallel-processes 2 --parallel-scheme feature",
            behavex,
            "plain behave",
            ratio(behavex, behave, invert=True),
        ),
        Row(
            "behave-bounded -j 2, LPT (durations recorded)",
            lpt,
            "behavex",
            vs_behavex,
            "> 1.0x (faster)",
            None if vs_behavex is None else vs_behavex > 1.0,
        ),
        Row(
            "behave-bounded -j 2, LPT (durations recorded)",
            lpt,
            "-j 2, file order",
            ratio(lpt, fresh, invert=True),
        ),
    ]
    serial = sum(b + s for b, s, _ in SHORT_KINDS) * SHORT_COUNT / len(SHORT_KINDS)
    serial += sum(b + s for b, s, _ in LONG_FEATURES)
    table.notes += [
        f"{SHORT_COUNT} short features (250 ms CPU; 100 ms CPU + 150 ms sleep; 100 ms CPU + "
        "3 MiB printed) then 3 long ones (2 s CPU; 3 s CPU + 0.5 s sleep; 5 s CPU), one "
        f"scenario each: {serial / 1000:.1f} s of steps in total (CPU burnt by process time, "
        "so a loaded machine stretches wall time, not work). Default capture everywhere.",
        "file order: each -j 2 pair starts on a fresh artifact directory (no durations.json: "
        "every feature is estimated alike, so file order); the second run of the pair reads "
        "the durations the first recorded and schedules longest first. Targets are checked "
        "on the second run: every run after the first is one.",
        "behavex writes its HTML/JSON reports to a temporary directory; that is part of its "
        "wall time, as it is of a user's.",
        f"CPU time of the runner's parent process in the LPT runs: {walls['lpt_cpu'].cell()} "
        f"(min-max {walls['lpt_cpu'].spread()}), on a machine with {os.cpu_count()} CPUs.",
    ]
    return table


# -- part 4: overhead -----------------------------------------------------------------------


def overhead_samples(root: Path, features: int, runs: int) -> dict[str, list[Sample]]:
    """Every command of part 4 once per run, interleaved."""
    one = make_suite(root / "one", {"one.feature": feature("one", "a passing step")})
    many = make_suite(
        root / "many",
        {f"f{n:04d}.feature": feature(f"f{n}", "a passing step") for n in range(features)},
    )
    bb_args = runner_args(root / "artifacts", "features")
    commands: dict[str, tuple[str, list[str], Path]] = {
        "empty_b": ("behave", ["-t", "@nothing", "features"], one),
        "empty_bb": ("behave_bounded", ["-t", "@nothing", *bb_args], one),
        "one_b": ("behave", ["features"], one),
        "one_bb": ("behave_bounded", bb_args, one),
        "many_b": ("behave", ["features"], many),
        "many_bb": ("behave_bounded", runner_args(root / "art-many", "-j", "2", "features"), many),
    }
    samples: dict[str, list[Sample]] = {key: [] for key in commands}
    for number in range(runs):
        progress(f"overhead: run {number + 1} of {runs}")
        for key, (module, args, cwd) in commands.items():
            samples[key].append(probe(module, args, cwd))
    return samples


def part_overhead(features: int, runs: int) -> list[Table]:
    """Part 4: start-up cost and the cost of scheduling one feature."""
    with tempfile.TemporaryDirectory(prefix="bb-bench-overhead-") as directory:
        samples = overhead_samples(Path(directory), features, runs)
    times = overhead_times(features, {key: wall_of(value) for key, value in samples.items()})
    own = {key: own_of(value) for key, value in samples.items()}
    workers = children_of(samples["many_bb"])
    memory = Table("4b. Overhead: peak RSS", "RSS / ref RSS")
    memory.rows += [
        Row("plain behave, empty suite", own["empty_b"]),
        Row(
            "behave-bounded parent, empty suite",
            own["empty_bb"],
            "plain behave, empty",
            ratio(own["empty_bb"], own["empty_b"]),
        ),
        Row(f"plain behave, {features} features", own["many_b"]),
        Row(
            f"behave-bounded -j 2 parent, {features} features",
            own["many_bb"],
            f"plain behave, {features}",
            ratio(own["many_bb"], own["many_b"]),
        ),
        Row(
            f"behave-bounded -j 2 largest worker, {features} features",
            workers,
            f"plain behave, {features}",
            ratio(workers, own["many_b"]),
        ),
    ]
    memory.notes.append("plain behave runs in one process: its own VmHWM is its whole peak.")
    return [times, memory]


def overhead_times(features: int, walls: dict[str, Figure]) -> Table:
    """Table 4a, and the per-feature scheduling overhead derived from the many-feature run."""
    table = Table("4a. Overhead: wall time", "time / ref time")
    many_b, many_bb = walls["many_b"], walls["many_bb"]
    per_feature = Figure(tuple(w / features * 1000 for w in many_b.values), "ms")
    overhead = Figure(
        tuple(
            (bb - b / 2) / features * 1000
            for bb, b in zip(many_bb.values, many_b.values, strict=True)
        ),
        "ms",
    )
    table.rows += [
        Row("plain behave, empty suite (-t @nothing)", walls["empty_b"]),
        Row(
            "behave-bounded, empty suite (-t @nothing)",
            walls["empty_bb"],
            "plain behave, empty",
            ratio(walls["empty_bb"], walls["empty_b"]),
        ),
        Row("plain behave, 1 scenario", walls["one_b"]),
        Row(
            "behave-bounded, 1 scenario",
            walls["one_bb"],
            "plain behave, 1 scenario",
            ratio(walls["one_bb"], walls["one_b"]),
        ),
        Row(f"plain behave, {features} one-scenario features", many_b),
        Row(
            f"behave-bounded -j 2, {features} one-scenario features",
            many_bb,
            f"plain behave, {features}",
            ratio(many_bb, many_b),
        ),
        Row("plain behave: wall per feature", per_feature),
        Row(
            "behave-bounded -j 2: scheduling overhead per feature",
            overhead,
            "plain behave per feature",
            ratio(overhead, per_feature),
        ),
    ]
    table.notes.append(
        "scheduling overhead per feature = (wall of behave-bounded -j 2 - wall of plain behave "
        f"/ 2) / {features}, per pair of runs: the wall time added to an ideal two-way split "
        "of plain behave's serial run (negative: the split wins more than the runner costs)."
    )
    return table


# -- part 5: preflight ----------------------------------------------------------------------

TAGGED_FEATURE = """\
@tdd_issue @tdd_issue_{n}
Feature: generated feature {n}

  Scenario: plain {n}
    Given a passing step

  @tdd_expected_fail
  Scenario: reproduces issue {n}
    Given a passing step

  @memory_budget_64MiB @smoke
  Scenario: stays within 64 MiB
    Given a passing step

  Scenario Outline: outline {n} with <value>
    Given a passing step

    @xfail
    Examples:
      | value |
      | one   |
      | two   |
"""


def part_preflight(files: int, runs: int) -> Table:
    """Part 5: validate-tags runs in pre-commit, so it must stay well under a second."""
    table = Table(f"5. Preflight: validate-tags on {files} feature files", "time / ref time")
    with tempfile.TemporaryDirectory(prefix="bb-bench-tags-") as directory:
        root = make_suite(
            Path(directory), {f"f{n:04d}.feature": TAGGED_FEATURE.format(n=n) for n in range(files)}
        )
        progress("preflight: validate-tags")
        samples = repeat(runs, lambda: probe("behave_bounded", ["validate-tags", "features"], root))
        progress("preflight: behave --dry-run on the same files")
        dry = repeat(runs, lambda: probe("behave", ["--dry-run", "-f", "null", "features"], root))
    wall, dry_wall = wall_of(samples), wall_of(dry)
    budget = Figure((1.0,), "s")
    table.rows += [
        Row("validate-tags", wall, "1 s budget", ratio(wall, budget), "< 1 s", wall.median < 1),
        Row(
            "plain behave --dry-run -f null (parse, no step runs)",
            dry_wall,
            "1 s budget",
            ratio(dry_wall, budget),
        ),
    ]
    table.notes.append(
        f"{5 * files} scenarios (a plain one, TDD-tagged, budget-tagged, a 2-row outline per "
        "file); whole command, interpreter start-up included."
    )
    return table


# -- part 6: the HTML report -----------------------------------------------------------------

HTML_SLOTS = 8
HTML_SCENARIOS = 3
HTML_FAILING_EVERY = 100  # 1 % of the features fail, each with 64 KiB of output per stream


def html_results(count: int) -> Iterator[TaskResult]:
    """A run's finished features: 3 scenarios each, on 8 slots, 1 % failing loudly."""
    clock = [1767225600.0] * HTML_SLOTS
    for number in range(count):
        path = f"features/area_{number // 100:03d}/feature_{number:05d}.feature"
        failing = number % HTML_FAILING_EVERY == 7
        slot = number % HTML_SLOTS
        duration = 0.2 + (number * 7919 % 1000) / 250
        scenarios = tuple(
            ScenarioResult(
                f"{path}:{3 + 4 * line}",
                f"scenario {line} of feature {number}",
                Status.FAILED if failing and line == 0 else Status.PASSED,
                duration / HTML_SCENARIOS,
                f"assertion failed in feature {number}" if failing and line == 0 else "",
            )
            for line in range(HTML_SCENARIOS)
        )
        text = f"{number:07d} output!\n" * (4096 if failing else 4)  # 64 KiB, or 64 bytes
        size = len(text)
        yield TaskResult(
            task=Task(number, path, (), HTML_SCENARIOS),
            scenarios=scenarios,
            duration=duration,
            stdout=CapturedStream(text, StreamStats("stdout", size, size, None)),
            stderr=CapturedStream(text, StreamStats("stderr", size, size, None)),
            worker=slot + 1,
            started=clock[slot],
        )
        clock[slot] += duration + 0.01


def html_build(json_path: Path, html_path: Path) -> float:
    """What --html does when a run closes, after its JSON report is written: seconds."""
    started = time.perf_counter()
    budget = Budget()
    write_html(str(html_path), [Digest.of(read_items(str(json_path)), budget)], budget=budget)
    return time.perf_counter() - started


def part_html(sizes: Sequence[int], runs: int) -> Table:
    """Part 6: the page's size and build time grow with the features, not with their output."""
    table = Table("6. HTML report: size and build time", "size / 10 MB")
    for count in sizes:
        with tempfile.TemporaryDirectory(prefix="bb-bench-html-") as directory:
            json_path, html_path = Path(directory, "run.json"), Path(directory, "run.html")
            progress(f"html: writing the JSON report of {count} features")
            report = JsonReport(str(json_path))
            for result in html_results(count):
                report.add(result, result.started)
            report.close(
                RunMeta.current(
                    started=1767225600.0, ended=1767225600.0 + count, jobs=HTML_SLOTS,
                    settings={}, argv=["benchmark"],
                )
            )  # fmt: skip
            progress(f"html: drawing the page of {count} features")
            seconds = [html_build(json_path, html_path) for _ in range(runs)]
            gc.collect()
            tracemalloc.start()
            html_build(json_path, html_path)
            peak = tracemalloc.get_traced_memory()[1] / MiB
            tracemalloc.stop()
            page = html_path.stat().st_size / MB
            json_size = json_path.stat().st_size / MB
        size = Figure((page,), "MB")
        limit = Figure((10.0,), "MB")
        table.rows += [
            Row(f"{count} features: build time", Figure(tuple(seconds), "s"), "", None),
            Row(
                f"{count} features: page size",
                size,
                "10 MB",
                ratio(size, limit),
                "< 10 MB" if count >= 10_000 else "",
                page < 10 if count >= 10_000 else None,
            ),
            Row(f"{count} features: JSON report read", Figure((json_size,), "MB"), "", None),
            Row(f"{count} features: peak heap while drawing", Figure((peak,), "MiB"), "", None),
        ]
    table.notes.append(
        f"{HTML_SCENARIOS} scenarios per feature on {HTML_SLOTS} worker slots; 1 % of the "
        "features fail with 64 KiB of output per stream (in the JSON report as tails); build "
        "time = reading the JSON report item by item, the digest and the atomic write of the "
        "page, as --html does when a run closes; heap peak measured with tracemalloc in one "
        "more run."
    )
    return table


# -- main -----------------------------------------------------------------------------------


def version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    git = shutil.which("git")
    if git is None:
        return "unknown"
    done = subprocess.run(
        [git, "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def header(options: argparse.Namespace) -> str:
    """Where and when: figures mean nothing without the machine and the load they ran on."""
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return "\n".join(
        [
            "## behave-bounded benchmark",
            "",
            f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- CPUs (os.cpu_count()): {os.cpu_count()}; Python {platform.python_version()} "
            f"({platform.python_implementation()}) on {platform.platform()}",
            f"- behave-bounded {version_of('behave-bounded')} (git {git_revision()}), "
            f"behave {version_of('behave')}, behavex {version_of('behavex')}, "
            f"memray {version_of('memray')}",
            f"- runs per figure: {options.runs}{' (--quick)' if options.quick else ''}; "
            f"load average at start (1/5/15 min): {load}",
            "- wall: time.perf_counter around subprocess.run; peak RSS: VmHWM of the process "
            "itself, and RUSAGE_CHILDREN ru_maxrss for its largest reaped child (see the "
            "script's docstring); median and min-max of the runs.",
            "",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, 1 run")
    parser.add_argument("--parts", default="1,2,3,4,5,6", help="comma-separated parts to run")
    parser.add_argument("--output", type=Path, default=Path(".behave-bounded/benchmark.md"))
    options = parser.parse_args(argv)
    if options.runs is None:
        options.runs = 1 if options.quick else 3
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        options.parts = {int(part) for part in options.parts.split(",") if part.strip()}
    except ValueError:
        parser.error("--parts takes numbers 1 to 6, comma-separated")
    if not options.parts or not options.parts <= {1, 2, 3, 4, 5, 6}:
        parser.error("--parts takes numbers 1 to 6, comma-separated")
    return options


def run_parts(options: argparse.Namespace) -> tuple[list[Table], list[str]]:
    """Every selected part; one that cannot measure is named and the others still run."""
    quick, runs = options.quick, options.runs
    parts: dict[int, Callable[[], list[Table]]] = {
        1: lambda: [part_capture(256 * MiB if quick else GiB, runs)],
        2: lambda: [
            part_memory([64 * MiB, 256 * MiB] if quick else [256 * MiB, GiB, 4 * GiB], runs)
        ],
        3: lambda: [part_e2e(runs)],
        4: lambda: part_overhead(500 if quick else 2000, runs),
        5: lambda: [part_preflight(1000, runs)],
        6: lambda: [part_html([1000, 10_000], runs)],
    }
    tables: list[Table] = []
    failures: list[str] = []
    for number in sorted(options.parts):
        try:
            new = parts[number]()
            for table in new:
                table.notes.append(load_note())
            tables += new
        except (MeasurementError, OSError) as error:
            failures.append(f"part {number}: {type(error).__name__}: {error}")
            progress(f"part {number} could not be measured: {error}")
    return tables, failures


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    text = header(options)
    tables, failures = run_parts(options)
    missed = [line for table in tables for line in table.missed()]
    failures += [f"{table.title}: {line}" for table in tables for line in table.unmeasured]
    sections = [text, *(table.render() for table in tables), "### Missed targets", ""]
    sections += [f"- {line}" for line in missed] or ["- none"]
    if failures:
        sections += ["", "### Could not measure", "", *(f"- {line}" for line in failures)]
    sections += ["", f"Benchmark wall time: {time.perf_counter() - started:.0f} s", ""]
    report = "\n".join(sections)
    print(report)
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(report, encoding="utf-8")
    progress(f"written to {options.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
