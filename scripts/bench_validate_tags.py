#!/usr/bin/env python3
"""How long ``behave-bounded validate-tags`` takes on a large suite (it runs in pre-commit).

Generates FILES feature files (a plain scenario, a TDD-tagged one, a budget-tagged one and a
two-row outline each: 5 scenarios per file) in a temporary directory, runs
``python -m behave_bounded validate-tags DIR`` RUNS times and prints the median and the
min/max wall time of the whole command, interpreter start-up included.

    python scripts/bench_validate_tags.py [--files 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FEATURE = """\
@tdd_issue @tdd_issue_{number}
Feature: generated feature {number}

  Scenario: plain {number}
    Given a step
    When another step
    Then a third step

  @tdd_expected_fail
  Scenario: reproduces issue {number}
    Given a step
    Then it fails

  @memory_budget_64MiB @smoke
  Scenario: stays within 64 MiB
    Given a step

  Scenario Outline: outline {number} with <value>
    Given a step with <value>

    @xfail
    Examples:
      | value |
      | one   |
      | two   |
"""


def generate(directory: Path, files: int) -> None:
    for number in range(files):
        sub = directory / f"group_{number // 100:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"feature_{number:04d}.feature").write_text(
            FEATURE.format(number=number), encoding="utf-8"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-validate-tags-") as name:
        directory = Path(name) / "features"
        directory.mkdir()
        generate(directory, args.files)
        command = [sys.executable, "-m", "behave_bounded", "validate-tags", str(directory)]
        times: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - started)
            expected = f"{args.files} feature files, {5 * args.files} scenarios, no problems"
            if done.returncode != 0 or expected not in done.stdout:
                print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
                print(f"unexpected result (exit code {done.returncode})", file=sys.stderr)
                return 1
    print(
        f"validate-tags on {args.files} feature files ({5 * args.files} scenarios), "
        f"{args.runs} runs: median {statistics.median(times):.3f} s, "
        f"min {min(times):.3f} s, max {max(times):.3f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
