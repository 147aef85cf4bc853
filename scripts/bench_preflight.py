"""Part 5 of the benchmark: ``validate-tags`` on 1,000 feature files."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_support import (
    Figure,
    Row,
    Table,
    make_suite,
    probe,
    progress,
    ratio,
    repeat,
    wall_of,
)

TAGGED_FEATURE = """\
@tdd_issue @tdd_issue_{n}
Feature: generated feature {n}

  Scenario: plain {n}
    Given a passing step

  @tdd_expected_fail
  Scenario: reproduces issue {n}
    Given a passing step

  @memory_budget_64MiB @smoke
  Scenario: stays within 64 MiB
    Given a passing step

  Scenario Outline: outline {n} with <value>
    Given a passing step

    @xfail
    Examples:
      | value |
      | one   |
      | two   |
"""


def part_preflight(files: int, runs: int) -> Table:
    """Part 5: validate-tags runs in pre-commit, so it must stay well under a second."""
    table = Table(f"5. Preflight: validate-tags on {files} feature files", "time / ref time")
    with tempfile.TemporaryDirectory(prefix="bb-bench-tags-") as directory:
        root = make_suite(
            Path(directory), {f"f{n:04d}.feature": TAGGED_FEATURE.format(n=n) for n in range(files)}
        )
        progress("preflight: validate-tags")
        samples = repeat(runs, lambda: probe("behave_bounded", ["validate-tags", "features"], root))
        progress("preflight: behave --dry-run on the same files")
        dry = repeat(runs, lambda: probe("behave", ["--dry-run", "-f", "null", "features"], root))
    wall, dry_wall = wall_of(samples), wall_of(dry)
    budget = Figure((1.0,), "s")
    table.rows += [
        Row("validate-tags", wall, "1 s budget", ratio(wall, budget), "< 1 s", wall.median < 1),
        Row(
            "plain behave --dry-run -f null (parse, no step runs)",
            dry_wall,
            "1 s budget",
            ratio(dry_wall, budget),
        ),
    ]
    table.notes.append(
        f"{5 * files} scenarios (a plain one, TDD-tagged, budget-tagged, a 2-row outline per "
        "file); whole command, interpreter start-up included."
    )
    return table
