"""Which tasks run, in which order, on which CI job: tasks, longest-first order, shards.

Longest-first (LPT) order keeps one slow feature from starting last and stretching the run's
wall time; the order needs each feature's duration, which the durations store
(:mod:`behave_bounded.durations`) keeps from run to run. Features never measured are
estimated from their number of selected scenarios. Everything here is deterministic: ties
are broken by path or collection order, never by ``hash()``, so every CI job computes the
same shards from the same inputs. ``--random-order`` replaces longest first with a shuffle of
collection order by a seed (:func:`shuffled`), so that order dependencies between tests show
and a failing order can be run again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from behave_bounded.collect import FeatureInfo, ScenarioInfo
from behave_bounded.durations import DurationStore
from behave_bounded.errors import UsageError
from behave_bounded.plan import ShardPlan
from behave_bounded.results import Scheme, Task

# -- estimates and tasks --------------------------------------------------------------------


def estimate(feature: FeatureInfo, durations: DurationStore) -> float:
    """Expected seconds for the feature's selected scenarios.

    A recorded duration is scaled when the selection now holds another number of scenarios
    (``--last-failed`` narrows a feature, an edit adds scenarios); a feature never measured
    costs the median seconds per scenario of the recorded ones (or
    :data:`DEFAULT_SECONDS_PER_SCENARIO`) times its selected scenarios.
    """
    count = len(feature.selected)
    recorded = durations.entry(feature.path)
    if recorded is None:
        return durations.seconds_per_scenario() * count
    if recorded.scenarios and count != recorded.scenarios:
        return recorded.seconds * count / recorded.scenarios
    return recorded.seconds


def _line(scenario: ScenarioInfo) -> int:
    """The scenario's (or outline row's) line: behave selects exactly it by this line."""
    return int(scenario.location.rsplit(":", 1)[1])


def _units(
    feature: FeatureInfo, scheme: Scheme, tag: str, seconds: float
) -> list[tuple[tuple[int, ...], int, bool, float]]:
    """(lines, scenario count, serial, estimate) of each task the feature becomes."""
    selected = feature.selected
    if scheme is Scheme.FEATURE:
        serial = any(tag in s.tags for s in selected)
        return [(feature.lines, len(selected), serial, seconds)]
    share = seconds / len(selected)
    return [((_line(s),), 1, tag in s.tags, share) for s in selected]


def make_tasks(
    features: Sequence[FeatureInfo],
    scheme: Scheme,
    durations: DurationStore,
    serial_tag: str = "serial",
    *,
    run_unselected: bool = False,
    seed: int | None = None,
    longest_first: bool = True,
) -> tuple[list[Task], list[Task]]:
    """(parallel tasks, serial tasks), each longest first (in collection order with
    ``longest_first=False``); only selected scenarios run.

    Indexes follow collection order (file order, then scenario order), so a task's index does
    not change when durations do; ties in the order are broken by that index as well. The
    scheme is a :class:`Scheme` (config parses the text once); anything else is refused.
    ``run_unselected`` also makes a task of each feature with no selected scenario: behave's
    formatters show such features (as skipped), so a worker runs them as plain behave does.
    With a ``seed`` (``--random-order``) each list is :func:`shuffled` instead: the serial
    tasks still come after the parallel ones, as separate lists.
    """
    if not isinstance(scheme, Scheme):
        expected = ", ".join(member.value for member in Scheme)
        raise UsageError(f"unknown scheme {scheme!r}: expected a Scheme ({expected})")
    tag = serial_tag.removeprefix("@")
    parallel: list[tuple[float, Task]] = []
    serial: list[tuple[float, Task]] = []
    for feature in features:
        if not feature.selected:
            if run_unselected:
                index = len(parallel) + len(serial)
                parallel.append((0.0, Task(index=index, path=feature.path, lines=feature.lines)))
            continue
        for lines, count, is_serial, seconds in _units(
            feature, scheme, tag, estimate(feature, durations)
        ):
            index = len(parallel) + len(serial)
            task = Task(
                index=index,
                path=feature.path,
                lines=lines,
                scenario_count=count,
                part=scheme is Scheme.SCENARIO,
            )
            (serial if is_serial else parallel).append((seconds, task))
    if seed is not None:
        draws = random.Random(seed)  # noqa: S311 - an order to reproduce, not a secret
        return shuffled([t for _, t in parallel], draws), shuffled([t for _, t in serial], draws)
    if not longest_first:
        return [t for _, t in parallel], [t for _, t in serial]
    return _longest_first(parallel), _longest_first(serial)


def _longest_first(weighted: list[tuple[float, Task]]) -> list[Task]:
    return [task for _, task in sorted(weighted, key=lambda item: (-item[0], item[1].index))]


#: Seeds drawn for ``--random-order`` without ``--random-seed`` are below this (as
#: pytest-randomly's): short enough to copy from a log.
SEED_RANGE = 2**32


def order_seed(random_order: bool, seed: int | None) -> int | None:
    """The seed of this run's order: the one given, a fresh one for ``--random-order``
    alone, None (longest first) without it."""
    if not random_order:
        return None
    if seed is not None:
        return seed
    import secrets  # noqa: PLC0415 - only a --random-order run draws a seed

    return secrets.randbelow(SEED_RANGE)


def shuffled(tasks: Sequence[Task], draws: random.Random) -> list[Task]:
    """The tasks in collection order, shuffled (Fisher-Yates) by ``draws``.

    From collection order, not from longest first, so the order depends on the seed and the
    suite only, never on the durations a machine recorded. Only ``random()`` is drawn:
    Python keeps its sequence for an integer seed across versions (``shuffle`` and
    ``randrange`` may change), so a seed printed by one CI machine reproduces the order on
    another Python. The bias of ``int(random() * n)`` is below 2**-40 for any suite.
    """
    order = sorted(tasks, key=lambda task: task.index)
    for last in range(len(order) - 1, 0, -1):
        other = int(draws.random() * (last + 1))
        order[last], order[other] = order[other], order[last]
    return order


def repeat_tasks(
    tasks: Sequence[Task], serial: Sequence[Task], times: int
) -> tuple[list[Task], list[Task]]:
    """``--repeat N``: both lists of :func:`make_tasks` with every task N times, run 1 of all
    of them first, then run 2, ...; so the runs of one feature spread over the run and the
    workers. Run r of a task has the index ``index + (r - 1) * T`` (T tasks in both lists,
    numbered 0 to T - 1 together), so indexes stay unique. ``times`` 1: unchanged.
    """
    if times <= 1:
        return list(tasks), list(serial)
    span = len(tasks) + len(serial)

    def repeated(some: Sequence[Task]) -> list[Task]:
        return [
            replace(task, index=task.index + (run - 1) * span, repeat=run)
            for run in range(1, times + 1)
            for task in some
        ]

    return repeated(tasks), repeated(serial)


# -- shards ---------------------------------------------------------------------------------


def shard(
    features: Sequence[FeatureInfo], k: int, n: int, durations: DurationStore
) -> list[FeatureInfo]:
    """Shard K of N: greedy LPT bins by estimated duration, in collection order.

    Deterministic on every machine given the same features and durations: features are
    placed longest first, ties by path then collection position; each goes to the bin with
    the smallest total, ties to the lowest bin. The largest bin is then at most
    ``total / N + longest feature``.
    """
    return shard_with_plan(features, k, n, durations)[0]


def shard_with_plan(
    features: Sequence[FeatureInfo], k: int, n: int, durations: DurationStore
) -> tuple[list[FeatureInfo], ShardPlan]:
    """Shard K of N (see :func:`shard`) and the plan it belongs to, for its reports."""
    if not 1 <= k <= n:
        raise ValueError("expected K/N with 1 <= K <= N")
    weights = [estimate(feature, durations) for feature in features]
    order = sorted(range(len(features)), key=lambda i: (-weights[i], features[i].path, i))
    totals = [0.0] * n
    bins = [0] * len(features)
    for position in order:
        target = min(range(n), key=lambda b: (totals[b], b))
        bins[position] = target
        totals[target] += weights[position]
    selections = [(_label(feature), tuple(map(_line, feature.selected))) for feature in features]
    plan = ShardPlan.of(selections, bins, k, n)
    return [feature for feature, b in zip(features, bins, strict=True) if b == k - 1], plan


def _label(feature: FeatureInfo) -> str:
    """A feature as the console names it: its path and the lines given (a task's label)."""
    return feature.path + "".join(f":{line}" for line in feature.lines)
