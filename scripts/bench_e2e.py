"""Part 3 of the benchmark: end-to-end wall time against behave and behavex."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from bench_support import (
    Figure,
    MeasurementError,
    MiB,
    Row,
    Sample,
    Table,
    behavex_wall,
    feature,
    make_suite,
    probe,
    progress,
    ratio,
    runner_args,
)

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
