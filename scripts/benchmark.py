#!/usr/bin/env python3
"""The benchmark of behave-bounded: six parts, one Markdown table each (run by `nox -s bench`).

A measurement, not a test: it prints every table with a ratio against the reference named in
each row, writes them to ``.behave-bounded/benchmark.md``, and ends with the list of missed
targets. Exit code 0 even when targets are missed; 1 only when something could not be measured.

1. capture throughput: BoundedTextIO vs io.StringIO vs a text file on os.devnull
   (``bench_capture``);
2. memory flatness: peak RSS of worker and parent when one feature prints up to 4 GiB
   (``bench_memory``);
3. end-to-end wall time: behave, behave-bounded -j 1 / -j 2, behavex, file order vs LPT
   (``bench_e2e``);
4. overhead: thousands of one-step features against plain behave (and behavex), wall and CPU;
   start-up; the parent's memory per feature; run data files; formatter replay
   (``bench_overhead``);
5. preflight: ``validate-tags`` on 1,000 feature files (``bench_preflight``);
6. the HTML report: page size and build time for 1,000 and 10,000 features (``bench_html``).

How commands are measured (wall clock, the probe for peak RSS and CPU, the environment they
run in) is said in ``bench_support``, which every part shares.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from bench_capture import part_capture
from bench_e2e import part_e2e
from bench_html import part_html
from bench_memory import part_memory
from bench_overhead import part_overhead
from bench_preflight import part_preflight
from bench_support import GiB, MeasurementError, MiB, Table, load_note, progress


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
            "itself, and RUSAGE_CHILDREN ru_maxrss for its largest reaped child; CPU: "
            "RUSAGE_SELF + RUSAGE_CHILDREN (see scripts/bench_support.py); median and min-max "
            "of the runs; commands run without PYTHONDONTWRITEBYTECODE.",
            "",
        ]
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 run; smaller parts 1 and 2")
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
        4: lambda: part_overhead(runs),
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
