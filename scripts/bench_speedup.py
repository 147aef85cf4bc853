#!/usr/bin/env python3
"""Wall time of a CPU-bound suite with ``-j 1`` and ``-j 2`` (a measurement, not a test).

Generates 40 features whose single step burns CPU, runs the runner on them several times
with each job count, and prints the median wall times and the speed-up. Usage:

    python scripts/bench_speedup.py [--features 40] [--burn-ms 250] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = """
import time
from behave import step

@step("it burns {ms:d} ms of CPU")
def burn(context, ms):
    end = time.process_time() + ms / 1000
    while time.process_time() < end:
        pass
"""


def make_suite(root: Path, features: int, burn_ms: int) -> None:
    (root / "features" / "steps").mkdir(parents=True)
    (root / "features" / "steps" / "cpu.py").write_text(STEPS)
    for number in range(features):
        (root / "features" / f"cpu_{number:03d}.feature").write_text(
            f"Feature: cpu {number}\n  Scenario: burns\n    Given it burns {burn_ms} ms of CPU\n"
        )


def wall_time(root: Path, jobs: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "behave_bounded", "-j", str(jobs)],
        cwd=root,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=40)
    parser.add_argument("--burn-ms", type=int, default=250)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bb-speedup-") as directory:
        root = Path(directory)
        make_suite(root, args.features, args.burn_ms)
        times = {jobs: [wall_time(root, jobs) for _ in range(args.runs)] for jobs in (1, 2)}
    medians = {jobs: statistics.median(values) for jobs, values in times.items()}
    print("| jobs | median wall s | runs |\n|---|---|---|")
    for jobs, values in times.items():
        print(f"| {jobs} | {medians[jobs]:.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print(f"speed-up -j 2 vs -j 1: {medians[1] / medians[2]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
