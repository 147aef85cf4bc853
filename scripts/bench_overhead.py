"""Part 4 of the benchmark: what the runner costs per feature and at start-up (issue 12's targets).

Thousands of one-step features that do nothing are the runner's worst case: behave's own work
per feature is a few tenths of a millisecond, so whatever the runner adds per feature shows.

- 4a/4b: plain serial ``behave`` against ``behave-bounded -j 2`` on 2,000 and 10,000 features
  (and behavex on 2,000), wall time and CPU: the speed-up, and the runner's CPU per feature
  beyond behave's;
- 4c: what replaying behave's json formatter in the parent costs per feature;
- 4d (``bench_start_up``): start-up on a one-feature suite, and ``--help``, ``--version``,
  ``validate-tags``;
- 4e/4f (``bench_parent_memory``): the parent's peak RSS at 10,000 and 50,000 features, hence
  its growth per finished feature, against the durations store's own entry (measured with
  tracemalloc); the run data files the 10,000-feature run leaves, and how often each is
  written.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_parent_memory import MEMORY_SIZES, memory_samples, memory_table, run_data_table
from bench_start_up import start_up_table
from bench_support import (
    JOBS,
    Figure,
    Row,
    Sample,
    Table,
    behavex_sample,
    interleaved,
    one_step_suite,
    probe,
    ratio,
    wall_of,
)

#: Suite sizes of the speed and CPU rows; behavex and the formatter replay run on the first.
SPEED_SIZES = (2_000, 10_000)
SPEED_UP_TARGET = 1.3
SPEED_UP_GOAL = 1.8
CPU_TARGET_MS = 0.1


def cpu_of(samples: Sequence[Sample]) -> Figure:
    return Figure(tuple(s.cpu for s in samples), "s")


def per_feature_ms(
    values: Sequence[Sample], references: Sequence[Sample], count: int, of: str
) -> Figure:
    """(value - reference) / count in ms, pair by pair (run i of one against run i of the other)."""
    pairs = zip(values, references, strict=True)
    return Figure(tuple((getattr(v, of) - getattr(r, of)) / count * 1000 for v, r in pairs), "ms")


# -- 4a, 4b, 4c: thousands of one-step features ---------------------------------------------


def speed_samples(root: Path, runs: int, failures: list[str]) -> dict[int, dict[str, list[Sample]]]:
    """plain behave, behave-bounded -j 2 (and behavex, and -f json) per suite size."""
    found = {}
    for count in SPEED_SIZES:
        suite = one_step_suite(root, count)
        commands: dict[str, Callable[[], Sample]] = {
            "behave": lambda s=suite: probe("behave", ["features"], s),
            "ours": lambda s=suite: probe("behave_bounded", ["-j", JOBS, "features"], s),
        }
        if count == SPEED_SIZES[0]:
            json_args = ["-j", JOBS, "-f", "json", "-o", str(suite / "out.json"), "features"]
            commands["ours_json"] = lambda s=suite, a=json_args: probe("behave_bounded", a, s)
            commands["behavex"] = lambda s=suite: behavex_sample(s)
        found[count] = interleaved(
            commands, runs, f"{count} features", optional=["behavex"], failures=failures
        )
    return found


def wall_table(speed: dict[int, dict[str, list[Sample]]], runs: int) -> Table:
    table = Table("4a. Overhead: one-step features, wall time", "speed-up (ref s / s)")
    for count, samples in speed.items():
        plain, ours = wall_of(samples["behave"]), wall_of(samples["ours"])
        speed_up = ratio(ours, plain, invert=True)
        table.rows += [
            Row(f"{count:,} features: plain behave (serial)", plain),
            Row(
                f"{count:,} features: behave-bounded -j {JOBS}",
                ours,
                "plain behave",
                speed_up,
                f">= {SPEED_UP_TARGET}x",
                speed_up is not None and speed_up >= SPEED_UP_TARGET,
            ),
        ]
        if "behavex" in samples:
            behavex = wall_of(samples["behavex"]) if samples["behavex"] else None
            table.rows.append(
                Row(
                    f"{count:,} features: behavex --parallel-processes {JOBS} "
                    "--parallel-scheme feature",
                    behavex,
                    "plain behave",
                    ratio(behavex, plain, invert=True),
                )
            )
    table.notes += [
        f"speed-up = median wall of plain behave / median wall of the row; target "
        f">= {SPEED_UP_TARGET}x, the goal beyond it {SPEED_UP_GOAL}x, and the physical limit "
        f"{JOBS}.0x ({JOBS} workers on {os.cpu_count()} CPUs).",
        "one-scenario features with one step that does nothing (plain behave's own work is "
        "all there is). plain behave runs with its default formatter, the runner with its "
        "default console, both with stdout to /dev/null; behavex writes its reports to a "
        "temporary directory.",
        f"medians of {runs} runs, interleaved (every command of a suite in turn, then again) "
        "after one warm-up run of each command, which also leaves the runner's durations "
        "store: the measured runs are what a second run of the suite sees.",
        "PYTHONDONTWRITEBYTECODE is removed from the commands' environment (this machine "
        "sets it; without .pyc files every start compiles the editable install again): "
        "installed packages have their .pyc files.",
    ]
    return table


def cpu_table(speed: dict[int, dict[str, list[Sample]]]) -> Table:
    table = Table("4b. Overhead: one-step features, CPU", "CPU / ref CPU")
    cross_check: dict[str, list[float]] = {"behave": [], "ours": []}
    for count, samples in speed.items():
        plain, ours = samples["behave"], samples["ours"]
        plain_cpu, ours_cpu = cpu_of(plain), cpu_of(ours)
        parent = Figure(tuple(s.own_cpu for s in ours), "s")
        overhead = per_feature_ms(ours, plain, count, "cpu")
        plain_per = Figure(tuple(s.cpu / count * 1000 for s in plain), "ms")
        table.rows += [
            Row(f"{count:,} features: plain behave", plain_cpu),
            Row(
                f"{count:,} features: behave-bounded -j {JOBS}, parent + workers",
                ours_cpu,
                "plain behave",
                ratio(ours_cpu, plain_cpu),
            ),
            Row(
                f"{count:,} features: behave-bounded -j {JOBS}, of which the parent",
                parent,
                "plain behave",
                ratio(parent, plain_cpu),
            ),
        ]
        if samples.get("behavex"):
            behavex = cpu_of(samples["behavex"])
            table.rows.append(
                Row(
                    f"{count:,} features: behavex (process tree)",
                    behavex,
                    "plain behave",
                    ratio(behavex, plain_cpu),
                )
            )
        table.rows += [
            Row(f"{count:,} features: plain behave, CPU per feature", plain_per),
            Row(
                f"{count:,} features: runner's CPU per feature beyond plain behave's",
                overhead,
                "plain behave per feature",
                ratio(overhead, plain_per),
                f"<= {CPU_TARGET_MS} ms",
                overhead.median <= CPU_TARGET_MS,
            ),
        ]
        for key in cross_check:
            cross_check[key] += [(s.tree_cpu - s.cpu) * 1000 for s in samples[key]]
    table.notes += [
        "CPU = user + system seconds of the measured process and of every child it reaped "
        "(the probe reads RUSAGE_SELF and RUSAGE_CHILDREN at exit): for the runner its parent "
        "and its workers, collection and reports included; for plain behave its one process. "
        "behavex runs without the probe: its CPU is the benchmark's own RUSAGE_CHILDREN delta "
        "around the command, i.e. its whole reaped process tree.",
        "CPU per feature beyond plain behave's = (runner's CPU - plain behave's CPU) / "
        "features, run by run (run i against run i), median over the runs.",
        "cross-check of the probe: the benchmark's own RUSAGE_CHILDREN delta around each "
        "command exceeds the probe's figure by a median of "
        f"{statistics.median(cross_check['behave']):.1f} ms for plain behave and "
        f"{statistics.median(cross_check['ours']):.1f} ms for the runner: what runs after "
        "the probe has read its figures (the interpreter's exit), not counted in the rows.",
    ]
    return table


def replay_table(speed: dict[int, dict[str, list[Sample]]]) -> Table:
    count = SPEED_SIZES[0]
    samples = speed[count]
    ours, with_json = samples["ours"], samples["ours_json"]
    table = Table(
        f"4c. Overhead: behave's json formatter replayed, {count:,} features", "time / ref time"
    )
    wall, json_wall = wall_of(ours), wall_of(with_json)
    cpu, json_cpu = cpu_of(ours), cpu_of(with_json)
    table.rows += [
        Row(f"behave-bounded -j {JOBS}: wall", wall),
        Row(
            f"behave-bounded -j {JOBS} -f json -o out.json: wall",
            json_wall,
            f"-j {JOBS}",
            ratio(json_wall, wall),
        ),
        Row(f"behave-bounded -j {JOBS}: CPU", cpu),
        Row(
            f"behave-bounded -j {JOBS} -f json -o out.json: CPU",
            json_cpu,
            f"-j {JOBS}",
            ratio(json_cpu, cpu),
        ),
        Row("json replay per feature: wall", per_feature_ms(with_json, ours, count, "wall"), ""),
        Row("json replay per feature: CPU", per_feature_ms(with_json, ours, count, "cpu"), ""),
    ]
    table.notes.append(
        "replay per feature = (the -f json run - the plain -j 2 run) / features, run by run. "
        "With a formatter on the command line the runner prints no per-feature console "
        "lines, so this is the replay (and the workers' recording of behave's model) minus "
        "the console's per-feature lines."
    )
    return table


# -- the part ---------------------------------------------------------------------------------


def part_overhead(runs: int) -> list[Table]:
    """Part 4: issue 12's per-feature and start-up targets."""
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bb-bench-overhead-") as directory:
        root = Path(directory)
        speed = speed_samples(root, runs, failures)
        start_up = start_up_table(root, runs)
        memory, sizes = memory_samples(root, runs)
        tables = [wall_table(speed, runs), cpu_table(speed), replay_table(speed), start_up]
        plain_small = speed[MEMORY_SIZES[0]]["behave"]
        tables += [memory_table(plain_small, memory), run_data_table(sizes, memory)]
    tables[0].unmeasured += failures
    return tables
