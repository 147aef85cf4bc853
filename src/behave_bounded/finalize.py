"""One finalized record per task: the only place that decides what a result is.

A worker reports what behave saw; the parent finalizes it once, here: TDD tags invert
expected failures (:func:`~behave_bounded.tdd.classify`), a task whose worker died or timed
out is expanded into its scenarios, and scenarios no worker will report (not selected) become
skipped results. Every view (the console, ``--json``, ``--junit-xml``, the durations store,
behave's formatters) reads the finalized record and decides nothing of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from behave_bounded.collect import FeatureInfo
from behave_bounded.results import CapturedStream, ScenarioResult, Status, StreamStats, TaskResult
from behave_bounded.tdd import classify


class Finalizer:
    """Turns what a worker reported into the record every view reads."""

    def __init__(self, features: Mapping[str, FeatureInfo], *, tdd_strict: bool = True) -> None:
        self.features = features
        self.tdd_strict = tdd_strict

    def finalize(self, result: TaskResult) -> TaskResult:
        """The task with its scenarios as the run counts them."""
        return replace(result, scenarios=self.scenarios_of(result))

    def scenarios_of(self, result: TaskResult) -> tuple[ScenarioResult, ...]:
        """TDD tags applied; a task that died before reporting lists its scenarios as errored."""
        if result.scenarios or not result.error:
            return tuple(classify(s, self.tdd_strict) for s in result.scenarios)
        info = self.features[result.task.path]
        lines = set(result.task.lines) if result.task.part else set()
        return tuple(
            ScenarioResult(
                s.location,
                s.name,
                Status.ERRORED if s.selected else Status.SKIPPED,
                0.0,
                result.error if s.selected else "",
                s.tags,
            )
            for s in info.scenarios
            if not lines or int(s.location.rsplit(":", 1)[1]) in lines
        )


def skipped_results(
    features: Iterable[FeatureInfo], scheme: str, *, run_unselected: bool = False
) -> list[TaskResult]:
    """Scenarios no worker will report, as skipped results (behave counts them as skipped).

    Features with no selected scenario are not sent to a worker (unless ``run_unselected``:
    behave's formatters show them). With ``--scheme scenario`` each task reports only its
    own scenario, so the unselected scenarios of the other features are reported here too.
    """
    empty = CapturedStream("", StreamStats("stdout"))
    results = []
    for info in features:
        skipped = info.scenarios if not info.selected and not run_unselected else ()
        if info.selected and scheme == "scenario":
            skipped = tuple(s for s in info.scenarios if not s.selected)
        if not skipped:
            continue
        task = replace(info.task(0), part=bool(info.selected), scenario_count=0)
        results.append(
            TaskResult(
                task=task,
                scenarios=tuple(
                    ScenarioResult(s.location, s.name, Status.SKIPPED, 0.0, "", s.tags)
                    for s in skipped
                ),
                duration=0.0,
                stdout=empty,
                stderr=replace(empty, stats=StreamStats("stderr")),
            )
        )
    return results
