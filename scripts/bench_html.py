"""Part 6 of the benchmark: the HTML report's size and build time."""

from __future__ import annotations

import gc
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench_support import (
    MB,
    Figure,
    MiB,
    Row,
    Table,
    progress,
    ratio,
)

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
