"""Which tasks run, in which order, on which CI job: durations, longest-first order, shards.

Longest-first (LPT) order keeps one slow feature from starting last and stretching the run's
wall time; the order needs each feature's duration, so every run records what it measured in
``ARTIFACTS/durations.json`` and the next run reads it. Features never measured are
estimated from their number of selected scenarios. Everything here is deterministic: ties
are broken by path or collection order, never by ``hash()``, so every CI job computes the
same shards from the same inputs. ``--random-order`` replaces longest first with a shuffle of
collection order by a seed (:func:`shuffled`), so that order dependencies between tests show
and a failing order can be run again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, TypeGuard

from behave_bounded.atomic import write_atomically
from behave_bounded.collect import FeatureInfo, ScenarioInfo
from behave_bounded.errors import UsageError
from behave_bounded.plan import ShardPlan
from behave_bounded.results import Scheme, Status, Task, TaskResult

#: Seconds per scenario assumed when no feature has a recorded duration yet. Its value only
#: matters relative to recorded durations; with none recorded, every feature is estimated
#: with it, so the order is by scenario count alone.
DEFAULT_SECONDS_PER_SCENARIO = 1.0
#: Weight of the newest measurement in the moving average of a feature's duration.
ALPHA = 0.5
#: A durations file larger than this is not read (it cannot hold MAX_ENTRIES sane entries).
MAX_FILE_BYTES = 32 * 2**20
#: Longest duration the file may hold for one feature (about 30 years): a sanity bound.
MAX_SECONDS = 1e9

_LOCATION = re.compile(r"(.+):(\d+)", re.ASCII | re.DOTALL)
_STATUSES = frozenset(status.value for status in Status)


@dataclass(frozen=True)
class Entry:
    """What is known about one feature: its duration, for how many scenarios, when seen."""

    seconds: float
    scenarios: int
    seen: int  # the run counter of the run that last measured it


class CorruptFile(ValueError):
    """The durations file exists but cannot be used; the reason is the message."""


def _median(values: list[float]) -> float:
    """The median (``statistics`` costs a few milliseconds of start-up for this one call)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_seconds(value: Any) -> bool:
    """A JSON number of seconds we can use (NaN and infinity compare false)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and 0 <= value <= MAX_SECONDS


def _entry(value: Any, run: int) -> Entry:
    """One validated entry of the file; anything else makes the file corrupt."""
    if not isinstance(value, dict) or set(value) != {"seconds", "scenarios", "seen"}:
        raise CorruptFile("an entry is not {seconds, scenarios, seen}")
    seconds, scenarios, seen = value["seconds"], value["scenarios"], value["seen"]
    if not (_is_seconds(seconds) and _is_int(scenarios) and _is_int(seen) and seen <= run):
        raise CorruptFile(f"invalid entry {value!r:.200}")
    return Entry(float(seconds), scenarios, seen)


def _read_file(path: Path) -> tuple[int, dict[str, Entry]] | None:
    """(run counter, entries) of the file, None when it does not exist; CorruptFile else."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CorruptFile(f"cannot read it: {error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CorruptFile(f"larger than {MAX_FILE_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise CorruptFile(f"not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("version") != DurationStore.VERSION:
        raise CorruptFile(f"not a version {DurationStore.VERSION} durations file")
    run, features = data.get("run"), data.get("features")
    if not _is_int(run) or not isinstance(features, dict):
        raise CorruptFile("no run counter or no features")
    return run, {str(path): _entry(value, run) for path, value in features.items()}


class DurationStore:
    """Durations of features measured by earlier runs, kept in ``ARTIFACTS/durations.json``.

    Update rule: an exponential moving average (weight :data:`ALPHA` for the newest run) when
    the run measured the same number of scenarios as the recorded value, else the newest
    value alone. The average keeps one slow run (a loaded CI machine) from reordering the
    next run, yet follows a real change within a few runs; a different scenario count means
    different work (tags, lines, edits), so the old value says nothing about the new one.

    Bound: at most ``max_entries`` features (default :attr:`MAX_ENTRIES`); when over, the
    entries whose last measurement is oldest (by run counter, ties by path) are dropped, so
    deleted or renamed features age out. The file is written atomically (a temporary file in
    the same directory, then ``os.replace``); entries written meanwhile by a concurrent run
    (another shard sharing the directory) are kept, except for the features both measured.

    Keys are feature paths exactly as collection spells them (relative to the working
    directory). Call :meth:`record` as results arrive (or once with all of them), then
    :meth:`save` once.
    """

    MAX_ENTRIES: ClassVar[int] = 20_000
    VERSION: ClassVar[int] = 1
    FILE_NAME: ClassVar[str] = "durations.json"

    def __init__(
        self,
        path: str,
        entries: dict[str, Entry] | None = None,
        run: int = 0,
        max_entries: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.max_entries = self.MAX_ENTRIES if max_entries is None else max_entries
        self.warning = ""  # why the file was not read or not written; "" when it was
        self._entries = dict(entries or {})
        self._run = run + 1  # this run's counter: one more than the newest in the file
        self._measured: dict[str, tuple[float, int]] = {}  # this run: seconds, scenarios
        self._rate: float | None = None

    @classmethod
    def load(cls, artifacts_dir: str, max_entries: int | None = None) -> DurationStore:
        """The store of ``artifacts_dir``; empty when the file is missing or corrupt."""
        path = os.path.join(artifacts_dir, cls.FILE_NAME)
        try:
            found = _read_file(Path(path))
        except CorruptFile as error:
            store = cls(path, max_entries=max_entries)
            store.warning = f"ignoring the durations file {path}: {error}"
            return store
        run, entries = found if found else (0, {})
        return cls(path, entries, run, max_entries)

    def __len__(self) -> int:
        return len(self._entries.keys() | self._measured.keys())

    def entry(self, path: str) -> Entry | None:
        """The recorded entry of a feature, this run's measurement merged in."""
        old = self._entries.get(path)
        if path not in self._measured:
            return old
        seconds, scenarios = self._measured[path]
        if old is not None and old.scenarios == scenarios:
            seconds = ALPHA * seconds + (1 - ALPHA) * old.seconds
        return Entry(seconds, scenarios, self._run)

    def get(self, path: str) -> float | None:
        """Recorded seconds of a feature, or None when it was never measured."""
        found = self.entry(path)
        return None if found is None else found.seconds

    def record(self, results: Iterable[TaskResult]) -> None:
        """Add this run's measurements; tasks of one feature (scheme scenario) are summed."""
        for result in results:
            self.add(result)

    def add(self, result: TaskResult) -> None:
        """Add one finished task's measurement (as it finishes: nothing else is kept of it)."""
        duration = result.duration
        if not (math.isfinite(duration) and duration >= 0):
            return
        path = result.task.path
        seconds, scenarios = self._measured.get(path, (0.0, 0))
        self._measured[path] = (seconds + duration, scenarios + result.task.scenario_count)
        self._rate = None

    def seconds_per_scenario(self) -> float:
        """Median seconds per scenario of the recorded features (robust to one huge one)."""
        if self._rate is None:
            rates = [
                found.seconds / found.scenarios
                for found in map(self.entry, self._entries.keys() | self._measured.keys())
                if found is not None and found.scenarios > 0
            ]
            self._rate = _median(rates) if rates else DEFAULT_SECONDS_PER_SCENARIO
        return self._rate

    def _merged(self) -> tuple[int, dict[str, Entry]]:
        """The file's current content (another run may have saved) with this run's on top."""
        run, entries = self._run, dict(self._entries)
        with contextlib.suppress(CorruptFile):
            found = _read_file(self.path)
            if found:
                run, entries = max(run, found[0]), found[1]
        for path in self._measured:
            measured = self.entry(path)
            if measured is not None:
                entries[path] = replace(measured, seen=run)
        return run, _bounded(entries, self.max_entries)

    def save(self) -> str:
        """Write the file atomically; returns (and keeps in ``warning``) why it failed, or ""."""
        run, entries = self._merged()
        try:
            _write_file(self.path, run, entries)
        except OSError as error:
            self.warning = f"cannot save durations to {self.path}: {error}"
            return self.warning
        return ""


def _write_file(path: Path, run: int, entries: dict[str, Entry]) -> None:
    """The durations file, written atomically (its directory created 0700 when missing)."""
    features = {
        feature: {"seconds": e.seconds, "scenarios": e.scenarios, "seen": e.seen}
        for feature, e in sorted(entries.items())
    }
    document = {"version": DurationStore.VERSION, "run": run, "features": features}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(document, separators=(",", ":"))
    write_atomically(str(path), lambda out: out.write(text), private=True)


def merge_duration_files(out: str, inputs: Sequence[str]) -> tuple[int, list[str]]:
    """Merge the durations files of one run's CI jobs into ``out``: (features, problems).

    Every job of a sharded run restored the same file and measured only its own features, so
    for each feature the entry seen by the newest run counter is the newest measurement; the
    result is what one unsharded run would have saved. Each missing or corrupt input is a
    problem (``PATH: reason``); the others are still merged. Nothing is written when no
    input could be read. Bounded like every durations file (:attr:`DurationStore.MAX_ENTRIES`).
    """
    problems: list[str] = []
    run, merged, read = 0, dict[str, Entry](), 0
    for name in inputs:
        try:
            found = _read_file(Path(name))
        except CorruptFile as error:
            problems.append(f"{name}: {error}")
            continue
        if found is None:
            problems.append(f"{name}: no such file")
            continue
        read += 1
        run = max(run, found[0])
        for feature, entry in found[1].items():
            if feature not in merged or entry.seen > merged[feature].seen:
                merged[feature] = entry
    if not read:
        return 0, problems
    entries = _bounded(merged, DurationStore.MAX_ENTRIES)
    try:
        _write_file(Path(out), run, entries)
    except OSError as error:
        problems.append(f"{out}: cannot write: {error}")
        return 0, problems
    return len(entries), problems


def _bounded(entries: dict[str, Entry], limit: int) -> dict[str, Entry]:
    """At most ``limit`` entries: the most recently seen, ties kept by path order."""
    if len(entries) <= limit:
        return entries
    ranked = sorted(entries.items(), key=lambda item: (-item[1].seen, item[0]))
    return dict(ranked[: max(limit, 0)])


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
) -> tuple[list[Task], list[Task]]:
    """(parallel tasks, serial tasks), each longest first; only selected scenarios run.

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


# -- last failed ----------------------------------------------------------------------------


def _failing(report_path: str, data: Any) -> list[str]:
    """Locations whose status fails the run, in report order; UsageError if malformed."""
    scenarios = data.get("scenarios") if isinstance(data, dict) else None
    if not isinstance(scenarios, list):
        raise UsageError(f"corrupt previous report {report_path}: no 'scenarios' list")
    failing: dict[str, None] = {}  # in report order, each location once
    for item in scenarios:
        location = item.get("location") if isinstance(item, dict) else None
        status = item.get("status") if isinstance(item, dict) else None
        if not isinstance(location, str) or not _LOCATION.fullmatch(location):
            raise UsageError(f"corrupt previous report {report_path}: bad location {item!r:.200}")
        if not isinstance(status, str) or status not in _STATUSES:
            raise UsageError(f"corrupt previous report {report_path}: bad status {item!r:.200}")
        if Status(status).fails_run:
            failing[location] = None
    return list(failing)


def last_failed_locations(report_path: str) -> list[str] | None:
    """The failing ``path:line`` locations of the previous run; None without a report."""
    try:
        text = Path(report_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read the previous report {report_path}: {error}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UsageError(f"corrupt previous report {report_path}: {error}") from None
    return _failing(report_path, data)


def _wanted_lines(locations: Sequence[str]) -> dict[str, set[int]]:
    """Lines wanted per absolute path (reports and collection may spell paths differently)."""
    wanted: dict[str, set[int]] = {}
    for location in locations:
        match = _LOCATION.fullmatch(location)
        if match:
            wanted.setdefault(os.path.abspath(match[1]), set()).add(int(match[2]))
    return wanted


def select_locations(
    features: Sequence[FeatureInfo], locations: Sequence[str]
) -> list[FeatureInfo]:
    """The features holding any of the locations, narrowed to exactly those scenarios.

    A location that no longer names a scenario (file or line gone) is ignored; a scenario the
    current selection (tags, names) excludes stays unselected, as behave would skip it.
    """
    wanted = _wanted_lines(locations)
    narrowed: list[FeatureInfo] = []
    for feature in features:
        lines = wanted.get(os.path.abspath(feature.path), set())
        hits = [s for s in feature.scenarios if _line(s) in lines]
        if not hits:
            continue
        scenarios = tuple(
            replace(s, selected=s.selected and _line(s) in lines) for s in feature.scenarios
        )
        narrowed.append(
            replace(feature, lines=tuple(sorted(map(_line, hits))), scenarios=scenarios)
        )
    return narrowed
