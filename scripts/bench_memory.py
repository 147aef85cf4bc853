"""Part 2 of the benchmark: memory flatness, worker and parent, however much a feature prints."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench_support import (
    LIMIT,
    Figure,
    GiB,
    MiB,
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
    repeat,
    runner_args,
    size_name,
)


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
