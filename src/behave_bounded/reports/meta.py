"""What a report says about the run as a whole: when, how, with what, and whether it finished."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from behave_bounded import __version__
from behave_bounded.config import Settings
from behave_bounded.results import WorkerLife


@dataclass(frozen=True)
class RunMeta:
    """What a report says about the run as a whole (``partial``: it did not finish)."""

    started: float
    ended: float
    jobs: int
    behave_bounded_version: str
    behave_version: str
    python_version: str
    settings: dict[str, object]
    argv: tuple[str, ...]
    partial: bool = False
    reason: str = ""
    #: The features that never ran count as failing (too many worker crashes).
    lost: bool = False
    #: Every worker process's life (slot, serial, start, end, how it ended): at most the
    #: jobs plus the restarts the run allows.
    workers: tuple[dict[str, object], ...] = ()
    #: Why the run failed outside its scenarios (after_all, a report, a lost run, a signal),
    #: "" when it did not: the verdict line's ``; run failed: ...`` (see reports.verdict).
    failure: str = ""
    #: The shard plan of a ``--shard`` run (:meth:`behave_bounded.plan.ShardPlan.as_json`).
    plan: Mapping[str, object] | None = None
    #: The seed of a ``--random-order`` run (None: longest first), to run that order again.
    random_seed: int | None = None
    #: Each scenario's pass rate under ``--repeat`` (:meth:`PassRates.as_json
    #: <behave_bounded.reports.pass_rates.PassRates.as_json>`); None without it.
    repeat: Mapping[str, object] | None = None

    @classmethod
    def current(
        cls,
        *,
        started: float,
        ended: float,
        jobs: int,
        settings: Settings | Mapping[str, object],
        argv: Sequence[str],
        partial: bool = False,
        reason: str = "",
        lost: bool = False,
        workers: Sequence[WorkerLife] = (),
        failure: str = "",
        plan: Mapping[str, object] | None = None,
        random_seed: int | None = None,
        repeat: Mapping[str, object] | None = None,
    ) -> RunMeta:
        """The metadata of a run of this process (versions filled in)."""
        return cls(
            started=started,
            ended=ended,
            jobs=jobs,
            behave_bounded_version=__version__,
            behave_version=behave_version(),
            python_version=platform.python_version(),
            settings=settings_summary(settings),
            argv=tuple(argv),
            partial=partial,
            reason=reason,
            lost=lost,
            workers=tuple(asdict(life) for life in workers),
            failure=failure,
            plan=plan,
            random_seed=random_seed,
            repeat=repeat,
        )

    @property
    def duration(self) -> float:
        return round(max(self.ended - self.started, 0.0), 3)

    @property
    def versions(self) -> dict[str, str]:
        return {
            "behave_bounded": self.behave_bounded_version,
            "behave": self.behave_version,
            "python": self.python_version,
        }


def settings_summary(settings: Settings | Mapping[str, object]) -> dict[str, object]:
    """Settings as JSON-friendly values (tuples become lists)."""
    raw = asdict(settings) if isinstance(settings, Settings) else dict(settings)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in raw.items()}


def behave_version() -> str:
    try:
        return importlib.metadata.version("behave")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - behave is a dependency
        return "unknown"
