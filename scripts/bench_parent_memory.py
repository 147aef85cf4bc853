"""Part 4e/4f of the benchmark: the parent's memory per finished feature, and the run data files."""

from __future__ import annotations

import gc
import shutil
import tempfile
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

from bench_support import (
    JOBS,
    Figure,
    Row,
    Sample,
    Table,
    interleaved,
    one_step_suite,
    own_of,
    probe,
    progress,
    ratio,
)

from behave_bounded.durations import DurationStore
from behave_bounded.results import CapturedStream, StreamStats, Task, TaskResult

#: Suite sizes of the parent's memory rows: the growth per feature is measured between them.
MEMORY_SIZES = (10_000, 50_000)
PARENT_TARGET_KIB = 1.0
#: The run data files of the runner (in its artifact directory).
RUN_DATA = (DurationStore.FILE_NAME, "last-failed.json")
KiB = 1024


# -- 4e, 4f: the parent's memory and the run data files --------------------------------------


def store_peak(count: int) -> int:
    """Peak traced bytes of a durations store that records ``count`` finished features and
    saves them, as the runner's parent does with a fresh artifact directory."""
    empty = CapturedStream("", StreamStats("stdout"))
    with tempfile.TemporaryDirectory(prefix="bb-bench-store-") as directory:
        store = DurationStore.load(directory)
        gc.collect()
        tracemalloc.start()
        for number in range(count):
            task = Task(number, f"features/f{number:05d}.feature", (), 1)
            store.add(TaskResult(task, (), 0.001, empty, empty))
        store.save()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


#: (suite size, file name) -> the file's size in bytes after each run (-1: not written).
FileSizes = dict[tuple[int, str], list[int]]


def memory_samples(root: Path, runs: int) -> tuple[dict[str, list[Sample]], FileSizes]:
    """The runner at 10,000 and 50,000 features on a fresh artifact directory each run (so its
    durations store holds exactly this run's features), and plain behave at 50,000; the sizes
    of the run data files each run of the runner left."""
    small, large = MEMORY_SIZES
    sizes: FileSizes = {(count, name): [] for count in MEMORY_SIZES for name in RUN_DATA}

    def ours(count: int) -> Sample:
        artifacts = root / f"artifacts-{count}"
        shutil.rmtree(artifacts, ignore_errors=True)
        args = ["--artifacts", str(artifacts), "-j", JOBS, "features"]
        sample = probe("behave_bounded", args, one_step_suite(root, count))
        for name in RUN_DATA:
            path = artifacts / name
            sizes[count, name].append(path.stat().st_size if path.exists() else -1)
        shutil.rmtree(artifacts, ignore_errors=True)
        return sample

    commands: dict[str, Callable[[], Sample]] = {
        "ours_small": lambda: ours(small),
        "ours_large": lambda: ours(large),
        "behave_large": lambda: probe("behave", ["features"], one_step_suite(root, large)),
    }
    return interleaved(commands, runs, "parent memory", warm_up=False), sizes


def memory_table(plain_small_runs: Sequence[Sample], samples: dict[str, list[Sample]]) -> Table:
    """4e; ``plain_small_runs``: plain behave's runs on the smaller suite (from part 4a)."""
    small, large = MEMORY_SIZES
    spread = large - small
    plain_small = own_of(plain_small_runs)
    plain_large = own_of(samples["behave_large"])
    ours_small, ours_large = own_of(samples["ours_small"]), own_of(samples["ours_large"])
    worker = Figure(tuple(s.children_mib for s in samples["ours_large"]), "MiB")

    def growth(low: Figure, high: Figure) -> Figure:
        return Figure(((high.median - low.median) * KiB / spread,), "KiB", derived=True)

    ours_growth, plain_growth = growth(ours_small, ours_large), growth(plain_small, plain_large)
    progress("overhead: the durations store's memory per feature (tracemalloc)")
    entry = Figure(((store_peak(large) - store_peak(small)) / KiB / spread,), "KiB", derived=True)
    allowed = PARENT_TARGET_KIB + entry.median
    table = Table("4e. Overhead: the parent's peak RSS", "RSS / ref RSS")
    table.rows += [
        Row(f"plain behave, {small:,} features", plain_small),
        Row(
            f"behave-bounded -j {JOBS} parent, {small:,} features",
            ours_small,
            f"plain behave, {small:,}",
            ratio(ours_small, plain_small),
        ),
        Row(f"plain behave, {large:,} features", plain_large),
        Row(
            f"behave-bounded -j {JOBS} parent, {large:,} features",
            ours_large,
            f"plain behave, {large:,}",
            ratio(ours_large, plain_large),
        ),
        Row(
            f"behave-bounded -j {JOBS} largest worker, {large:,} features",
            worker,
            f"plain behave, {large:,}",
            ratio(worker, plain_large),
        ),
        Row("plain behave: growth per feature", plain_growth),
        Row("durations store: its entry per feature", entry, ""),
        Row(
            "behave-bounded parent: growth per finished feature",
            ours_growth,
            "plain behave per feature",
            ratio(ours_growth, plain_growth),
            f"<= {allowed:.2f} KiB ({PARENT_TARGET_KIB:.0f} KiB + the store's entry)",
            ours_growth.median <= allowed,
        ),
    ]
    table.notes += [
        "peak RSS = VmHWM of the process itself (the runner's parent alone); largest worker = "
        "RUSAGE_CHILDREN ru_maxrss. The runner runs on a fresh artifact directory each run, so "
        f"its durations store holds exactly the features of the run; plain behave at {small:,} "
        "features is read from 4a's runs.",
        f"growth per feature = (median peak at {large:,} - median peak at {small:,}) / "
        f"{spread:,}. The durations store's entry is measured, not guessed: the same "
        "difference of tracemalloc peaks, in this process, of a DurationStore that records "
        f"{large:,} and {small:,} finished features and saves them (the parent's own store "
        "code: its measurement, the feature's path string, and its share of the save, which "
        f"writes at most {DurationStore.MAX_ENTRIES:,} entries).",
    ]
    return table


def run_data_table(sizes: FileSizes, samples: dict[str, list[Sample]]) -> Table:
    small, large = MEMORY_SIZES
    table = Table("4f. Overhead: run data files of passing runs", "size / ref size")
    durations_name, failed_name = RUN_DATA
    for (count, name), found in sizes.items():
        if any(size < 0 for size in found):
            table.unmeasured.append(f"{name}: not written by a {count:,}-feature run")
    durations = {
        count: Figure(tuple(s / 1000 for s in sizes[count, durations_name]), "KB")
        for count in MEMORY_SIZES
    }
    per_feature = Figure(tuple(s / small for s in sizes[small, durations_name]), "B")
    failed = Figure(tuple(float(s) for s in sizes[small, failed_name]), "B")
    table.rows += [
        Row(f"{durations_name}, {small:,} features", durations[small]),
        Row(f"{durations_name}, {small:,} features: per feature", per_feature, ""),
        Row(
            f"{durations_name}, {large:,} features (at most {DurationStore.MAX_ENTRIES:,} kept)",
            durations[large],
            f"{small:,} features",
            ratio(durations[large], durations[small]),
        ),
        Row(f"{failed_name}, {small:,} features (no failing scenario)", failed, ""),
    ]
    for name in RUN_DATA:
        for key, count in (("ours_small", small), ("ours_large", large)):
            writes = Figure(tuple(s.replaced.get(name, 0) for s in samples[key]), "per run")
            table.rows.append(
                Row(
                    f"{name}: writes (os.replace), {count:,} features",
                    writes,
                    "",
                    None,
                    "once per run",
                    all(value == 1 for value in writes.values),
                )
            )
    table.notes.append(
        "sizes read after each fresh-directory run of 4e; writes counted by the probe, which "
        "wraps os.replace in the parent (the runner writes both files atomically: a temporary "
        "file renamed over the name). last-failed.json holds only the failing scenarios: none "
        f"here. The durations store keeps the {DurationStore.MAX_ENTRIES:,} features seen "
        "last."
    )
    return table
