"""Part 4 of the benchmark: overhead against plain behave."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_support import (
    Figure,
    Row,
    Sample,
    Table,
    children_of,
    feature,
    make_suite,
    own_of,
    probe,
    progress,
    ratio,
    runner_args,
    wall_of,
)


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
