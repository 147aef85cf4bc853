"""A shard plan: which features a sharded run split over N CI jobs, and which went where.

Every job of a sharded run plans the split itself (``--shard K/N``), from its own checkout and
its own ``durations.json``. Jobs that planned from different inputs split differently, and their
shards overlap and leave gaps: a feature runs twice, another never. So each shard report
carries its plan (:meth:`ShardPlan.as_json`): a fingerprint of the collected features (paths
and selected scenarios), a fingerprint of the partition (N and every feature's shard), and every
shard's feature paths, so that a merge that misses a shard can name the features it lost.
:class:`PlanCheck` is that merge's check: one plan, each shard once, no feature in two shards,
none in no shard.

Pure data and hashing: nothing here imports behave or runs anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

#: Version of the ``plan`` object in reports; a change of meaning raises it.
PLAN_VERSION = 1
#: Most features one problem line names; the rest are counted.
MAX_NAMED = 10


@dataclass(frozen=True)
class ShardPlan:
    """Shard ``k`` of ``n``: the fingerprints of the plan and every shard's feature paths."""

    k: int
    n: int
    features: str  # sha256 of the collected features: paths and selected scenario lines
    partition: str  # sha256 of N and the shard of every feature
    #: The features of shard 1 .. N in collection order, each named as the console names it
    #: (its path, and the lines given on the command line: ``features/a.feature:12``).
    shards: tuple[tuple[str, ...], ...]

    @classmethod
    def of(
        cls,
        selections: Sequence[tuple[str, tuple[int, ...]]],
        bins: Sequence[int],
        k: int,
        n: int,
    ) -> ShardPlan:
        """The plan of features ``(label, selected scenario lines)`` placed in ``bins`` (0-based).

        The fingerprints do not depend on the order of collection (sorted by label).
        """
        features = hashlib.sha256()
        partition = hashlib.sha256(f"{n}\n".encode())
        for (label, lines), shard in sorted(zip(selections, bins, strict=True)):
            features.update(f"{label}\0{','.join(map(str, lines))}\n".encode(errors="replace"))
            partition.update(f"{label}\0{shard + 1}\n".encode(errors="replace"))
        shards = tuple(
            tuple(label for (label, _), b in zip(selections, bins, strict=True) if b == number)
            for number in range(n)
        )
        return cls(k, n, features.hexdigest(), partition.hexdigest(), shards)

    @property
    def mine(self) -> tuple[str, ...]:
        return self.shards[self.k - 1]

    def as_json(self) -> dict[str, object]:
        """The ``plan`` of a shard report's ``run`` (JSON) and run-suite property (JUnit)."""
        return {
            "version": PLAN_VERSION,
            "shard": self.k,
            "of": self.n,
            "features": self.features,
            "partition": self.partition,
            "feature_count": sum(len(shard) for shard in self.shards),
            "shards": [list(shard) for shard in self.shards],
        }

    @classmethod
    def from_json(cls, value: Any) -> ShardPlan:
        """A plan read back from a report; ValueError saying what is wrong with it."""
        if not isinstance(value, Mapping):
            raise ValueError("run.plan is not an object")
        if value.get("version") != PLAN_VERSION:
            raise ValueError(f"run.plan has the unknown version {value.get('version')!r}")
        k, n, shards = value.get("shard"), value.get("of"), value.get("shards")
        if not (_whole(k) and _whole(n) and 1 <= k <= n):
            raise ValueError(f"run.plan names no shard K of N (shard {k!r} of {n!r})")
        if not isinstance(shards, list) or len(shards) != n:
            raise ValueError(f"run.plan does not list the features of its {n} shards")
        if not all(isinstance(s, list) and all(isinstance(p, str) for p in s) for s in shards):
            raise ValueError("run.plan lists something other than feature paths")
        for key in ("features", "partition"):
            if not isinstance(value.get(key), str):
                raise ValueError(f"run.plan.{key} is not a fingerprint")
        return cls(k, n, value["features"], value["partition"], tuple(map(tuple, shards)))


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def named(paths: Iterable[str], limit: int = MAX_NAMED) -> str:
    """At most ``limit`` paths, comma-separated, then how many more."""
    listed = list(paths)
    shown = ", ".join(listed[:limit])
    more = len(listed) - limit
    return f"{shown} and {more} more" if more > 0 else shown


class PlanCheck:
    """Do the shard reports of a merge cover one plan exactly: each shard once, each feature once?

    Fed with each input's plan (none for a report of an unsharded run or another tool's file:
    those are merged unchecked). Memory: one entry per feature path of the plans seen (a plan
    lists each feature once), not one plan per input.
    """

    def __init__(self) -> None:
        self.first: tuple[str, ShardPlan] | None = None
        self.unplanned: list[tuple[str, frozenset[str]]] = []  # input -> its feature paths
        self.planned: dict[str, int] = {}  # feature -> its shard in the first plan naming it
        self.owners: dict[str, list[str]] = {}  # feature -> the inputs whose shard ran it
        self.shards: dict[int, str] = {}  # K of the first plan -> its input
        self.problems: list[str] = []
        self.differ = False

    def add(self, path: str, plan: ShardPlan) -> None:
        if self.first is None:
            self.first = (path, plan)
        first_path, first = self.first
        if (plan.features, plan.partition, plan.n) != (first.features, first.partition, first.n):
            self.differ = True
            self.problems.append(f"{path}: {_difference(plan, first)} {first_path}")
        elif plan.k in self.shards:
            again = f"shard {plan.k}/{plan.n} again (also {self.shards[plan.k]})"
            self.problems.append(f"{path}: {again}")
        else:
            self.shards[plan.k] = path
        for number, features in enumerate(plan.shards, start=1):
            for feature in features:
                self.planned.setdefault(feature, number)
        for feature in plan.mine:
            self.owners.setdefault(feature, []).append(path)

    def add_unplanned(self, path: str, features: Iterable[str]) -> None:
        """An input without a plan (an unsharded run, another tool's file): it must hold no
        feature of the plan, or those features ran twice."""
        self.unplanned.append((path, frozenset(features)))

    def check(self) -> list[str]:
        """Every problem: inputs of another plan, shards given twice or missing, overlaps, gaps."""
        if self.first is None:
            return []
        problems = list(self.problems)
        planned_paths = {_path_of(label) for label in self.planned}
        for path, features in self.unplanned:
            also = sorted(features & planned_paths)
            if also:
                problems.append(
                    f"{path}: no shard of the plan (a run without --shard?), yet it holds "
                    f"{len(also)} of its feature(s): {named(also)}"
                )
        first = self.first[1]
        if not self.differ:
            missing = [f"{k}/{first.n}" for k in range(1, first.n + 1) if k not in self.shards]
            if missing:
                shards = "shards" if len(missing) > 1 else "shard"
                problems.append(f"shard plan: no report of {shards} {named(missing)}")
        twice = {f: owners for f, owners in self.owners.items() if len(owners) > 1}
        if twice:
            listed = (f"{f} ({', '.join(owners)})" for f, owners in twice.items())
            problems.append(
                f"shard plan: {len(twice)} feature(s) in more than one shard report: "
                + named(listed)
            )
        gaps = [f for f in self.planned if f not in self.owners]
        if gaps:
            listed = (
                f if self.differ else f"{f} (shard {self.planned[f]}/{first.n})" for f in gaps
            )
            problems.append(
                f"shard plan: {len(gaps)} feature(s) of the plan in no shard report: "
                + named(listed)
            )
        return problems


def _path_of(label: str) -> str:
    """``features/a.feature:12:30`` -> ``features/a.feature`` (a label's path)."""
    path, _, lines = label.partition(".feature:")
    return f"{path}.feature" if lines and all(p.isdigit() for p in lines.split(":")) else label


def _difference(plan: ShardPlan, first: ShardPlan) -> str:
    """Why two plans differ, in words that say what to fix."""
    if plan.features != first.features:
        return (
            "planned from other features (another checkout, or another selection of scenarios) than"
        )
    if plan.n != first.n:
        return f"split into {plan.n} shards, not {first.n} as"
    return (
        "the same features split another way (planned from another durations.json: restore "
        "the same one in every job) than"
    )
