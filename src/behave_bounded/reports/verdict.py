"""Counts and the verdict line: what every report's last word is made of.

The verdict line ``scenarios: P passed, F failed, S skipped`` is computed here and nowhere
else, from counts keyed by status (:data:`COUNT_KEYS`), so the console, the JSON report, the
JUnit report and a merge of shard reports can never disagree about a run. A run that failed
for a reason outside its scenarios (``after_all``, a report it could not write, a lost run,
a signal) says so after them: ``scenarios: 12 passed, 0 failed, 0 skipped; run failed:
after_all failed in worker 1``, so the line never reads as a pass when the run failed.
"""

from __future__ import annotations

import re
import signal
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from behave_bounded.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE
from behave_bounded.results import RunResult, ScenarioResult, Status, TaskResult

#: Keys of ``run.counts``: one per status, and how many of them never ran.
COUNT_KEYS = (*(status.value for status in Status), "not_run")
#: The key of ``run.counts`` of a run with ``--reruns``: scenarios that passed on a rerun
#: (also counted as passed). Only there, so a report without it says reruns were off.
FLAKY = "flaky"
#: Worst first: a feature's status is the first of these any of its scenarios has.
_ORDER = (
    Status.ERRORED,
    Status.FAILED,
    Status.XPASSED,
    Status.UNDEFINED,
    Status.PASSED,
    Status.XFAILED,
    Status.SKIPPED,
)


def feature_status(scenarios: Iterable[ScenarioResult]) -> Status:
    """The worst status among a feature's scenarios (skipped when it has none)."""
    return worst(s.status for s in scenarios)


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of some statuses, in the order a feature's status is decided (skipped: none)."""
    present = set(statuses)
    return next((status for status in _ORDER if status in present), Status.SKIPPED)


class Counts:
    """Scenario outcomes of a report or a merge: the single source of the verdict line.

    :data:`FLAKY` is counted once it is known, i.e. added, even 0 times (``add(FLAKY, 0)``:
    a run with reruns that had no flaky scenario); it is no part of the verdict.
    """

    def __init__(self) -> None:
        self._n: Counter[str] = Counter()

    def add(self, key: str, n: int = 1) -> None:
        self._n[key] += n

    def update(self, other: Counts) -> None:
        self._n.update(other._n)

    def as_dict(self) -> dict[str, int]:
        counts = {key: self._n[key] for key in COUNT_KEYS}
        if FLAKY in self._n:
            counts[FLAKY] = self._n[FLAKY]
        return counts

    def verdict(self, failure: str = "") -> str:
        return verdict_line(self.as_dict(), failure)


def verdict_numbers(counts: Mapping[str, int]) -> tuple[int, int, int]:
    """(passed, failed, skipped) as the console's verdict counts them."""
    passed = counts.get("passed", 0) + counts.get("xfailed", 0)
    failed = sum(counts.get(status.value, 0) for status in Status if status.fails_run)
    return passed, failed, counts.get("skipped", 0)


def verdict_line(counts: Mapping[str, int], failure: str = "") -> str:
    """``scenarios: P passed, F failed, S skipped``, then ``; run failed: FAILURE`` if any."""
    passed, failed, skipped = verdict_numbers(counts)
    line = f"scenarios: {passed} passed, {failed} failed, {skipped} skipped"
    return f"{line}; {RUN_FAILED}{failure}" if failure else line


#: What follows the counts of the verdict line when the run failed outside its scenarios.
RUN_FAILED = "run failed: "
#: Most reasons the verdict line names; the rest are counted (each is in the summary above).
MAX_REASONS = 3
#: Longest reason the verdict line quotes (the summary above has the whole text).
MAX_REASON_CHARS = 160


def run_failure(run: RunResult) -> str:
    """Why the run failed outside its scenarios, for the verdict line; "" when it did not.

    One short reason each: the signal that interrupted it, the worker that could not start,
    the crashes that lost it, the workers whose ``after_all`` failed, each report that could
    not be written. At most :data:`MAX_REASONS` are named, the rest counted.
    """
    reasons: list[str] = []
    if run.interrupted_by:
        reasons.append(f"interrupted by {signal.Signals(run.interrupted_by).name}")
    if run.setup_error:
        reasons.append(_first_line(run.setup_error))
    if run.lost:
        reasons.append(run.stopped_early or "too many workers crashed")
    if run.teardown_errors:
        reasons.append(_after_all(run.teardown_errors))
    reasons += [_first_line(error) for error in run.report_errors]
    return join_reasons(reasons)


def join_reasons(reasons: Sequence[str]) -> str:
    """Reasons joined with "; ", at most :data:`MAX_REASONS` of them, then how many more."""
    shown = "; ".join(reasons[:MAX_REASONS])
    more = len(reasons) - MAX_REASONS
    return f"{shown}; and {more} more" if more > 0 else shown


def _first_line(text: str) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 3] + "..."


_WORKER = re.compile(r"worker (\d+): (cleanup after all features)?")


def _after_all(errors: Sequence[str]) -> str:
    """``after_all failed in worker 1`` (``in workers 1, 2``; a cleanup registered for the whole
    run: ``cleanup after all features failed in worker 1``): the details are in the summary.
    An error of no worker (``after_all_workers``, which runs in the runner) is its first line,
    which names its file, line and reason."""
    kinds: dict[str, list[str]] = {}
    others: list[str] = []
    for error in errors:
        match = _WORKER.match(error)
        if match is None:
            others.append(_first_line(error))
        else:
            kinds.setdefault(match[2] or "after_all", []).append(match[1])
    return "; ".join(
        [
            *(
                f"{kind} failed in worker{'s' if len(ids) > 1 else ''} {', '.join(ids)}"
                for kind, ids in kinds.items()
            ),
            *others,
        ]
    )


def task_status(result: TaskResult) -> Status:
    """A (finalized) task's status: errored when it died as a whole, else its worst scenario's.

    With reruns, the worst of its final scenarios: a rerun may have made good what its first
    run's error (a crash, a timeout) cost (:meth:`~behave_bounded.results.TaskResult.runs`
    gives each run with its own status).
    """
    if result.reruns:
        return feature_status(result.scenarios)
    return Status.ERRORED if result.error else feature_status(result.scenarios)


def exit_code(run: RunResult, failed: int) -> int:
    """0 passed, 1 failed, 2 could not start, 130/143 interrupted (documented in README)."""
    if run.interrupted_by:
        return EXIT_SIGINT if run.interrupted_by == 2 else EXIT_SIGTERM
    if run.setup_error:
        return EXIT_USAGE
    if failed or run.teardown_errors or run.report_errors or run.lost:
        return EXIT_FAILED
    return EXIT_OK
