"""One finalized record per task: the only place that decides what a result is.

A worker reports what behave saw; the parent finalizes it once, here: TDD tags invert
expected failures (:func:`~behave_bounded.tdd.classify`), a task whose worker died or timed
out is expanded into its scenarios, and scenarios no worker will report (not selected) become
skipped results. Every view (the console, ``--json``, ``--junit-xml``, the durations store,
behave's formatters) reads the finalized record and decides nothing of its own.
"""

from __future__ import annotations

import enum
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import replace

from behave_bounded.collect import FeatureInfo, ScenarioInfo
from behave_bounded.results import CapturedStream, ScenarioResult, Status, StreamStats, TaskResult
from behave_bounded.tdd import classify


class Fate(enum.Enum):
    """What became of a scenario of a task whose worker died (or timed out)."""

    FINISHED = "finished"  # its result was journaled before the worker died
    RUNNING = "running"  # it was running: the crash is its error
    AFTER = "after"  # it came after the one that was running: skipped, never started
    LOST = "lost"  # it ran before the crash, but its result did not reach the journal
    UNREACHED = "unreached"  # no scenario was running (a feature hook): it never ran
    UNSELECTED = "unselected"


def crash_fates(
    lines: Sequence[int], selected: Container[int], finished: Container[int], running: int
) -> dict[int, Fate]:
    """The fate of each scenario (by line, in run order) of a task that died.

    The one that was running is errored with the cause, those after it are skipped, those
    that finished keep their results; the journal lost none unless it was full.
    """
    fates: dict[int, Fate] = {}
    seen_running = False
    for line in lines:
        if line in finished:
            fates[line] = Fate.FINISHED
        elif line not in selected:
            fates[line] = Fate.UNSELECTED
        elif not running:
            fates[line] = Fate.UNREACHED
        elif line == running:
            fates[line] = Fate.RUNNING
            seen_running = True
        elif seen_running:
            fates[line] = Fate.AFTER
        else:
            fates[line] = Fate.LOST
    return fates


#: The fates that carry the crash: when no scenario has one, the crash is the feature's own.
ABSORBING = frozenset({Fate.RUNNING, Fate.LOST, Fate.UNREACHED})


def outside_scenarios(info: FeatureInfo, cause: str) -> ScenarioResult:
    """The entry of a crash outside every scenario (a feature hook, its cleanup): counted as
    errored, as pytest counts an error in a test's teardown, so the verdict shows it."""
    return ScenarioResult(
        location=f"{info.path}:{info.line}",
        name=f"{info.name or info.path} (outside its scenarios)",
        status=Status.ERRORED,
        message=cause,
    )


def fate_message(fate: Fate, cause: str) -> str:
    """The message of a scenario with this fate, from the cause of the crash."""
    if fate is Fate.AFTER:
        return f"not run: {cause} while an earlier scenario ran"
    if fate is Fate.LOST:
        return f"{cause}; this scenario had finished, but its result was lost (journal full)"
    return cause


class Finalizer:
    """Turns what a worker reported into the record every view reads."""

    def __init__(self, features: Mapping[str, FeatureInfo], *, tdd_strict: bool = True) -> None:
        self.features = features
        self.tdd_strict = tdd_strict

    def finalize(self, result: TaskResult) -> TaskResult:
        """The task with its scenarios as the run counts them.

        Runs 2 to N of ``--repeat`` leave out the scenarios no selection chose: the first run
        reports them (skipped), once, as a run without ``--repeat`` does.
        """
        scenarios = self.scenarios_of(result)
        if result.task.repeat > 1:
            info = self.features[result.task.path]
            unselected = {s.location for s in info.scenarios if not s.selected}
            scenarios = tuple(s for s in scenarios if s.location not in unselected)
        return replace(result, scenarios=scenarios)

    def scenarios_of(self, result: TaskResult) -> tuple[ScenarioResult, ...]:
        """TDD tags applied; a task that died lists every scenario by its :class:`Fate`."""
        if not result.error:
            classified = tuple(classify(s, self.tdd_strict) for s in result.scenarios)
            if not result.hook_errors:
                return classified
            # behave fails the run for a feature hook's error (its scenarios are untested):
            # one errored entry of the feature says so, as for a crash outside the scenarios.
            info = self.features[result.task.path]
            return (*classified, outside_scenarios(info, "\n".join(result.hook_errors)))
        info = self.features[result.task.path]
        collected, fates = self._fates(result)
        finished = {_line(s.location): s for s in result.scenarios}
        scenarios = []
        for info_scenario in collected:
            line = _line(info_scenario.location)
            fate = fates[line]
            if fate is Fate.FINISHED:
                scenarios.append(classify(finished[line], self.tdd_strict))
                continue
            errored = fate in (Fate.RUNNING, Fate.LOST, Fate.UNREACHED)
            scenarios.append(
                ScenarioResult(
                    info_scenario.location,
                    info_scenario.name,
                    Status.ERRORED if errored else Status.SKIPPED,
                    0.0,
                    fate_message(fate, result.error) if fate is not Fate.UNSELECTED else "",
                    info_scenario.tags,
                )
            )
        if not any(fate in ABSORBING for fate in fates.values()):
            scenarios.append(outside_scenarios(info, result.error))
        return tuple(scenarios)

    def never_started(self, result: TaskResult) -> frozenset[int]:
        """Lines of the selected scenarios a task that died never began (:data:`Fate.AFTER`):
        reported skipped, they may run on a rerun (``--reruns``)."""
        if not result.error:
            return frozenset()
        _, fates = self._fates(result)
        return frozenset(line for line, fate in fates.items() if fate is Fate.AFTER)

    def _fates(self, result: TaskResult) -> tuple[list[ScenarioInfo], dict[int, Fate]]:
        """The scenarios a task that died was given (in run order) and the fate of each."""
        info = self.features[result.task.path]
        lines = set(result.task.lines) if result.task.part else set()
        collected = [s for s in info.scenarios if not lines or _line(s.location) in lines]
        fates = crash_fates(
            [_line(s.location) for s in collected],
            {_line(s.location) for s in collected if s.selected},
            {_line(s.location) for s in result.scenarios},
            result.running,
        )
        return collected, fates


def _line(location: str) -> int:
    return int(location.rsplit(":", 1)[1])


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
