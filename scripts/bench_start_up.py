"""Part 4d of the benchmark: start-up on a one-feature suite, and the runner's light commands."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench_support import (
    PASSING_STEPS,
    Figure,
    Row,
    Table,
    clean_env,
    feature,
    make_suite,
    progress,
    ratio,
    run_command,
)

START_UP_TARGET_MS = 60.0
#: Start-up commands take a tenth of a second: they run this many times per run.
START_UP_REPEAT = 5


# -- 4d: start-up -----------------------------------------------------------------------------


def start_up_commands(root: Path) -> tuple[dict[str, list[str]], Path]:
    suite = make_suite(
        root / "suite-1", {"one.feature": feature("one", "a passing step")}, PASSING_STEPS
    )
    python = sys.executable
    commands = {
        "python": [python, "-c", "pass"],
        "behave": [python, "-m", "behave", "features"],
        "ours": [python, "-m", "behave_bounded", "features"],
        "help": [python, "-m", "behave_bounded", "--help"],
        "version": [python, "-m", "behave_bounded", "--version"],
        "tags": [python, "-m", "behave_bounded", "validate-tags", "features"],
    }
    return commands, suite


def start_up_table(root: Path, runs: int) -> Table:
    commands, suite = start_up_commands(root)
    env = clean_env()
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in commands}
    repeats = START_UP_REPEAT * runs
    for command in commands.values():  # warm-up: .pyc files, the durations store
        run_command(command, suite, env)
    progress(f"overhead: start-up, {repeats} rounds of {len(commands)} commands")
    for _ in range(repeats):
        for key, command in commands.items():
            times[key].append(run_command(command, suite, env))
    walls = {key: Figure(tuple(w for w, _ in values), "s") for key, values in times.items()}
    pairs = list(zip(times["ours"], times["behave"], strict=True))
    over_wall = Figure(tuple((o[0] - b[0]) * 1000 for o, b in pairs), "ms")
    over_cpu = Figure(tuple((o[1] - b[1]) * 1000 for o, b in pairs), "ms")
    table = Table("4d. Overhead: start-up", "time / ref time")
    table.rows += [
        Row("python -c pass (the interpreter alone)", walls["python"]),
        Row("plain behave, 1 feature", walls["behave"]),
        Row(
            "behave-bounded, 1 feature",
            walls["ours"],
            "plain behave, 1 feature",
            ratio(walls["ours"], walls["behave"]),
        ),
        Row(
            "behave-bounded over plain behave, 1 feature: wall",
            over_wall,
            "",
            None,
            f"<= {START_UP_TARGET_MS:.0f} ms",
            over_wall.median <= START_UP_TARGET_MS,
        ),
        Row("behave-bounded over plain behave, 1 feature: CPU", over_cpu, ""),
    ]
    for key, label in (("help", "--help"), ("version", "--version"), ("tags", "validate-tags")):
        table.rows.append(
            Row(
                f"behave-bounded {label}",
                walls[key],
                "python -c pass",
                ratio(walls[key], walls["python"]),
            )
        )
    table.notes += [
        f"whole commands (python -m ...), interpreter start-up included, without the probe; "
        f"{repeats} interleaved rounds after a warm-up; the runner with its default -j "
        f"(auto: {os.cpu_count()} CPUs) on a one-feature suite; over plain behave = run by run "
        "(round i against round i), median over the rounds.",
        "CPU here is the benchmark's RUSAGE_CHILDREN delta around each command (the whole "
        "process tree).",
    ]
    return table
