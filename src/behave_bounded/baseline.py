"""What a worker puts back after every task: working directory, environment, resource limits,
file descriptors 1 and 2.

Plain behave runs every feature in one process; a worker runs many too, but which ones share a
worker depends on timing. So what one feature changes in its process must not reach the next
(a step's ``os.chdir("/")`` would make the next feature's path unreadable, a lowered
``RLIMIT_NOFILE`` would keep the worker from capturing it, an ``os.environ`` entry would
change its outcome). The worker takes a :class:`Baseline` once ``before_all`` has run (what it
set up is meant for every feature) and restores it after each task; each kind of change gets
one warning line naming the task and what changed: the names of environment variables, never
their values, which may be secrets (at most :data:`MAX_NAMES` of them, then "and N more").

What cannot be put back from inside the process makes the worker retire after the task, so
that a fresh worker, forked from the runner, starts from the runner's state: a hard resource
limit lowered (raising it again needs a privilege a worker does not rely on, so this does not
depend on who runs the suite), fd 1 or 2 closed or replaced for good (nothing is left to
restore it from), a working directory that no longer exists.

:class:`Isolation` is what the worker calls at the end of each task: the baseline and the
processes that existed when it was taken (:mod:`behave_bounded.processes`), which the task's
own processes do not outlive.

The environment is what ``os.environ`` holds (changes made with C's ``setenv`` or
``os.putenv`` alone are not seen, as Python itself does not see them).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from typing import Any

from behave_bounded.processes import Descendants, describe_ended

#: Environment variable names a warning lists per kind of change; the rest are counted.
MAX_NAMES = 10
#: Every resource limit by its name (one name per limit: RLIMIT_OFILE is RLIMIT_NOFILE's alias).
_LIMITS = sorted(
    {
        getattr(resource, name): name
        for name in sorted(dir(resource), reverse=True)
        if name.startswith("RLIMIT_")
    }.items(),
    key=lambda limit: limit[1],
)
_STREAMS = ((1, "standard output"), (2, "standard error"))
_RETIRED = "the worker is retired after it"


@dataclass(frozen=True)
class Drift:
    """What a task changed in its worker: one warning per kind, and why the worker retires."""

    warnings: tuple[str, ...] = ()
    retire: str = ""  # why the worker cannot go on ('' when everything was put back)

    def __add__(self, other: Drift) -> Drift:
        return Drift(self.warnings + other.warnings, self.retire or other.retire)


def _names(names: list[str]) -> str:
    more = f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
    return ", ".join(names[:MAX_NAMES]) + more


def _limit(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else str(value)


def _pair(limits: tuple[int, int]) -> str:
    return f"{_limit(limits[0])}/{_limit(limits[1])}"


def _below(value: int, than: int) -> bool:
    """``value < than`` with RLIM_INFINITY (-1) as the largest limit."""
    if value in (than, resource.RLIM_INFINITY):
        return False
    return than == resource.RLIM_INFINITY or value < than


def _file_identity(fd: int) -> tuple[int, int] | None:
    """(device, inode) of what ``fd`` refers to; None when it is closed."""
    try:
        status = os.fstat(fd)
    except OSError:
        return None
    return (status.st_dev, status.st_ino)


def _raw_environ() -> dict[Any, Any] | None:
    """A copy of ``os.environ``'s own store (CPython keeps the encoded pairs in ``_data``)."""
    data = getattr(os.environ, "_data", None)
    return dict(data) if isinstance(data, dict) else None


def _working_directory() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # it was removed under us
        return None


@dataclass(frozen=True)
class Baseline:
    """The state of the worker process once ``before_all`` has run."""

    cwd: str | None
    environ: dict[str, str]
    limits: dict[str, tuple[int, int]]
    streams: dict[int, tuple[int, int] | None]
    #: The environment as ``os.environ`` stores it (bytes): compared in one C-level dict
    #: comparison after every task, instead of decoding every variable (most tasks change
    #: nothing). None where ``os.environ`` has no such store.
    raw_environ: dict[Any, Any] | None = None

    @classmethod
    def take(cls) -> Baseline:
        limits = {}
        for number, name in _LIMITS:
            try:
                limits[name] = resource.getrlimit(number)
            except (OSError, ValueError):  # pragma: no cover - a limit this kernel lacks
                continue
        return cls(
            cwd=_working_directory(),
            environ=dict(os.environ),
            limits=limits,
            streams={fd: _file_identity(fd) for fd, _ in _STREAMS},
            raw_environ=_raw_environ(),
        )

    def restore_limits(self, label: str) -> Drift:
        """Put the resource limits back first: ending the task's processes and reporting it
        need file descriptors, memory and processes a lowered limit may deny."""
        changed: list[str] = []
        warnings: list[str] = []
        retire = ""
        for number, name in _LIMITS:
            if name not in self.limits:  # pragma: no cover - see take()
                continue
            soft, hard = base = self.limits[name]
            now = resource.getrlimit(number)
            if now == base:
                continue
            shown = f"{name} from {_pair(base)} to {_pair(now)}"
            if _below(now[1], hard):  # only a privilege raises a hard limit: retire instead
                retire = f"{label} lowered the hard limit {name}"
                warnings.append(
                    f"{label} lowered the hard limit of {shown} (soft/hard), which a worker "
                    f"does not raise again: {_RETIRED}"
                )
                soft, hard = (now[1] if _below(now[1], soft) else soft), now[1]
            else:
                changed.append(shown)
            try:
                resource.setrlimit(number, (soft, hard))
            except (OSError, ValueError) as error:  # pragma: no cover - refused by the kernel
                retire = retire or f"{label}: {name} cannot be restored"
                warnings.append(f"{label}: {name} cannot be restored ({error}): {_RETIRED}")
        if changed:
            listed = ", ".join(changed)
            summary = f"{label} changed the resource limits (soft/hard) {listed} (restored)"
            warnings.insert(0, summary)
        return Drift(tuple(warnings), retire)

    def restore(self, label: str) -> Drift:
        """Put the working directory and the environment back; check fds 1 and 2."""
        return self._restore_cwd(label) + self._restore_environ(label) + self._check_streams(label)

    def _restore_cwd(self, label: str) -> Drift:
        now = _working_directory()
        if now == self.cwd or self.cwd is None:
            return Drift()
        where = now if now is not None else "a directory that was removed"
        try:
            os.chdir(self.cwd)
        except OSError as error:
            return Drift(
                (
                    f"{label} changed the working directory to {where}; the worker cannot return "
                    f"to {self.cwd} ({error.strerror or error}): {_RETIRED}",
                ),
                f"{label} left a working directory the worker cannot leave",
            )
        restored = f"(restored to {self.cwd})"
        return Drift((f"{label} changed the working directory to {where} {restored}",))

    def _restore_environ(self, label: str) -> Drift:
        if self.raw_environ is not None and _raw_environ() == self.raw_environ:
            return Drift()
        base, now = self.environ, dict(os.environ)
        added = sorted(now.keys() - base.keys())
        removed = sorted(base.keys() - now.keys())
        changed = sorted(name for name in base.keys() & now.keys() if base[name] != now[name])
        if not (added or removed or changed):
            return Drift()
        for name in added:
            del os.environ[name]
        for name in removed + changed:
            os.environ[name] = base[name]
        kinds = [
            f"{kind} {_names(names)}"
            for kind, names in (("added", added), ("changed", changed), ("removed", removed))
            if names
        ]
        return Drift((f"{label} changed the environment (restored): {'; '.join(kinds)}",))

    def _check_streams(self, label: str) -> Drift:
        lost = [
            f"{name} (fd {fd})"
            for fd, name in _STREAMS
            if self.streams[fd] is not None and _file_identity(fd) != self.streams[fd]
        ]
        if not lost:
            return Drift()
        what = " and ".join(lost)
        return Drift(
            (f"{label} closed or replaced the worker's {what} for good: {_RETIRED}",),
            f"{label} closed the worker's {what}",
        )


@dataclass(frozen=True)
class Isolation:
    """What keeps one task from reaching the next: the worker's state once ``before_all``
    ran, and the processes that existed then."""

    baseline: Baseline
    descendants: Descendants

    def task_ended(self, label: str) -> Drift:
        """While the task's capture still runs: limits back, the task's processes ended.

        Limits first: finding and ending processes needs file descriptors. The processes end
        before the capture stops, so none of them is still writing into it.
        """
        drift = self.baseline.restore_limits(label)
        ended = self.descendants.end_new()
        if ended:
            drift += Drift((describe_ended(label, ended),))
        return drift

    def captured(self, label: str) -> Drift:
        """Once the capture gave fds 1 and 2 back: working directory, environment, fds."""
        return self.baseline.restore(label)
