"""The durations store: how long each feature took, recorded by every run for the next.

Longest-first order and shards need each feature's duration: every run records what it
measured in ``ARTIFACTS/durations.json`` (a moving average per feature, bounded in entries
and in size) and the next run reads it; the CI jobs of a sharded run merge theirs with
``merge-durations``. A file that cannot be read is a warning, never a failed run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeGuard

from behave_bounded.atomic import write_atomically
from behave_bounded.results import TaskResult

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


def _signature(path: Path) -> tuple[int, int, int, int] | None:
    """What identifies one version of the file: a save replaces it by a new inode."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns


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
        #: The version of the file ``entries`` were read from: unchanged at :meth:`save`, it
        #: need not be read again (a run of thousands of features would pay for it).
        self._read_version: tuple[int, int, int, int] | None = None

    @classmethod
    def load(cls, artifacts_dir: str, max_entries: int | None = None) -> DurationStore:
        """The store of ``artifacts_dir``; empty when the file is missing or corrupt."""
        path = os.path.join(artifacts_dir, cls.FILE_NAME)
        version = _signature(Path(path))
        try:
            found = _read_file(Path(path))
        except CorruptFile as error:
            store = cls(path, max_entries=max_entries)
            store.warning = f"ignoring the durations file {path}: {error}"
            return store
        run, entries = found if found else (0, {})
        store = cls(path, entries, run, max_entries)
        store._read_version = version if found else None
        return store

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
        version = _signature(self.path)
        if version is not None and version != self._read_version:  # saved by someone else
            with contextlib.suppress(CorruptFile):
                found = _read_file(self.path)
                if found:
                    run, entries = max(run, found[0]), found[1]
        for path in self._measured:
            measured = self.entry(path)
            if measured is not None:
                entries[path] = Entry(measured.seconds, measured.scenarios, run)
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
