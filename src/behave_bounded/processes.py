"""The processes a feature starts, found and ended however they detach (Linux).

A step can leave processes behind that escape the worker's process group: ``Popen(...,
start_new_session=True)``, a double fork with ``setsid``, a daemon. Killing the group misses
them; the kernel's parent links do not, as long as the process that should outlive them is
their *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): an orphan is then re-parented to
the nearest subreaper among its ancestors instead of to init, so every process a step started
stays a descendant of its worker until it is reaped. The worker is such a subreaper, and so is
the runner while it supervises, for the descendants of a worker it had to kill.

:class:`Descendants` marks what exists at one moment (a worker: once ``before_all`` has run)
and later ends what was born since, with the process trees under it. A process is known by
its pid *and* its start time (field 22 of ``/proc/PID/stat``, clock ticks after boot), so a
pid reused by an unrelated process is never mistaken for one of ours; the signal goes through
a pidfd opened before the start time is checked, so the check and the signal see the same
process. Only the processes found are reaped (``waitpid`` on each pid, never ``-1``), so
``Popen`` and ``multiprocessing`` objects keep their children's exit status.

:func:`end_with_parent` ends a worker and its descendants when the runner dies, however it
dies (SIGKILL too): a thread waits on a pidfd of the runner. Not a parent-death signal: a
fatal one (SIGKILL, an unhandled SIGTERM) ends the worker before it can end anything, and a
handler the worker installed would be visible to the tests (``signal.getsignal``) and
replaceable by them. Its known limit: step code that holds the GIL in C for good keeps the
thread from running until it lets go.

Elsewhere than Linux (no ``/proc``, no subreapers) nothing is found and nothing is ended here:
the supervisor still kills each worker's process group, which ends the processes that did not
detach from it.
"""

from __future__ import annotations

import ctypes
import functools
import os
import select
import signal
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
PROC = "/proc"
#: How long ending a set of processes may take (a process stuck in the kernel, in state D,
#: does not die of SIGKILL until it leaves it): after that the rest is left alone.
END_TIMEOUT = 5.0
#: How often the parent-death watcher checks where no pidfd can be opened (Linux < 5.3).
PARENT_POLL = 0.5
_REAP_PAUSE = 0.005


@dataclass(frozen=True)
class ProcessInfo:
    """One process as ``/proc/PID/stat`` describes it."""

    pid: int
    ppid: int
    start: int  # clock ticks after boot: with the pid, the process's identity
    state: str  # R, S, D, Z (zombie), ...
    name: str  # the command name (comm), at most 15 characters

    @property
    def identity(self) -> tuple[int, int]:
        return (self.pid, self.start)

    @property
    def alive(self) -> bool:
        return self.state not in ("Z", "X")


def read_process(pid: int) -> ProcessInfo | None:
    """The process ``pid`` now, or None when it is gone (or ``/proc`` cannot be read)."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as stat:
            text = stat.read().decode("utf-8", "replace")
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split at the last ")"
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    try:
        return ProcessInfo(
            pid=pid,
            ppid=int(fields[1]),
            start=int(fields[19]),
            state=fields[0],
            name=head.partition("(")[2],
        )
    except (IndexError, ValueError):  # pragma: no cover - a kernel that writes another format
        return None


def process_table() -> dict[int, ProcessInfo]:
    """Every process of the machine by pid ({} where ``/proc`` cannot be read)."""
    try:
        entries = [entry.name for entry in os.scandir(PROC) if entry.name.isdigit()]
    except OSError:  # pragma: no cover - not Linux: nothing is found
        return {}
    table = {}
    for name in entries:
        info = read_process(int(name))
        if info is not None:
            table[info.pid] = info
    return table


def descendants_of(
    root: int,
    table: dict[int, ProcessInfo],
    *,
    keep: Collection[tuple[int, int]] = (),
    spare: Collection[int] = (),
) -> list[ProcessInfo]:
    """The processes below ``root``, parents first, except the trees of the kept ones.

    ``keep``: identities (pid, start time) whose process and descendants are left out;
    ``spare``: pids left out the same way (processes the caller owns otherwise, its workers).
    """
    children: dict[int, list[ProcessInfo]] = {}
    for info in table.values():
        children.setdefault(info.ppid, []).append(info)
    found: list[ProcessInfo] = []
    level = [root]
    while level:
        below = []
        for pid in level:
            for child in children.get(pid, ()):
                if child.identity in keep or child.pid in spare:
                    continue
                found.append(child)
                below.append(child.pid)
        level = below
    return found


@functools.cache
def _libc() -> Any:
    """The C library the interpreter is linked with (``CDLL(None)``: no ``ldconfig`` run, as
    ``ctypes.util.find_library`` does each time, at a fork and some milliseconds each)."""
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: Any = 0) -> int:
    """``prctl(2)`` through libc; -1 where there is no such call."""
    try:
        return int(_libc().prctl(option, value, 0, 0, 0))
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return -1


def subreaper() -> bool:
    """Whether this process is a child subreaper now."""
    flag = ctypes.c_int(0)
    return _prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag)) == 0 and bool(flag.value)


def set_subreaper(on: bool) -> bool:
    """Make this process a child subreaper (or no longer one); False where that is impossible."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0) == 0


def kill(process: ProcessInfo) -> bool:
    """SIGKILL ``process`` if it is still the same process (pid and start time); True if sent."""
    try:
        handle: int | None = os.pidfd_open(process.pid)
    except ProcessLookupError:
        return False
    except (OSError, AttributeError):  # no pidfd (Linux < 5.3, not Linux) or no descriptor
        handle = None  # left: check, then signal
    try:
        now = read_process(process.pid)
        if now is None or now.start != process.start:
            return False
        if handle is None:  # pragma: no cover - Linux < 5.3 (ENOSYS); EMFILE fails the check
            os.kill(process.pid, signal.SIGKILL)
        else:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
        return True
    except (ProcessLookupError, PermissionError):  # pragma: no cover - reaped by its parent
        return False  # between the check and the signal; or another user's (setuid) process
    finally:
        if handle is not None:
            os.close(handle)


def reap(pids: Iterable[int], deadline: float) -> int:
    """Wait for each of these children of ours to end (until ``deadline``); how many were."""
    reaped = 0
    for pid in pids:
        while True:
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours, or someone else reaped it
                break
            if done:
                reaped += 1
                break
            if time.monotonic() >= deadline:
                return reaped
            time.sleep(_REAP_PAUSE)
    return reaped


def has_children() -> bool:
    """Whether this process has any child, living or zombie (one system call, nothing reaped)."""
    if not hasattr(os, "waitid"):  # pragma: no cover - macOS: assume some, /proc tells
        return True
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def end_descendants(
    keep: Collection[tuple[int, int]] = (),
    spare: Collection[int] = (),
    timeout: float = END_TIMEOUT,
) -> list[ProcessInfo]:
    """SIGKILL every process below this one but the kept and spared trees, and reap them.

    Rounds until none is left (or ``timeout``; at least one round): a process whose parent
    was killed in a round is re-parented to this one (a subreaper) and reaped in the next, as
    is a child a process forked while its tree was being ended. Returns the living processes
    that were ended, in the order found.
    """
    root = os.getpid()
    ended: dict[tuple[int, int], ProcessInfo] = {}
    deadline = time.monotonic() + timeout
    while has_children():
        targets = descendants_of(root, process_table(), keep=keep, spare=spare)
        if not targets:
            break
        for target in targets:
            if target.alive and kill(target):
                ended.setdefault(target.identity, target)
        mine = [target.pid for target in targets if target.ppid == root]
        reap(mine, deadline)
        if time.monotonic() >= deadline:
            break
        if len(mine) < len(targets):  # the others are dying: re-parented to us next round
            time.sleep(_REAP_PAUSE)
    return list(ended.values())


class Descendants:
    """The processes this process started, directly or not, as their child subreaper.

    :meth:`adopt` makes it the subreaper and marks what exists; :meth:`end_new` ends what was
    born since :meth:`mark` (with the trees under them); :meth:`end_all` ends everything
    below it; :meth:`release` gives the subreaper setting back as it was.
    """

    def __init__(self) -> None:
        self.kept: frozenset[tuple[int, int]] = frozenset()
        self.adopted = False
        self._previous = False

    def adopt(self) -> bool:
        """Become a child subreaper and mark the processes that exist now; False where not
        supported (then orphans go to init, and only the process group is ended)."""
        self._previous = subreaper()
        self.adopted = set_subreaper(True)
        self.mark()
        return self.adopted

    def mark(self) -> None:
        """What exists now is kept: :meth:`end_new` ends only what is born after this."""
        table = process_table() if has_children() else {}
        self.kept = frozenset(info.identity for info in descendants_of(os.getpid(), table))

    def end_new(self, spare: Collection[int] = ()) -> list[ProcessInfo]:
        """End what was born since :meth:`mark`; the living ones ended."""
        return end_descendants(keep=self.kept, spare=spare)

    def end_all(self, spare: Collection[int] = ()) -> list[ProcessInfo]:
        """End everything below this process (the kept ones too); the living ones ended."""
        return end_descendants(spare=spare)

    def release(self) -> None:
        """No longer a subreaper, unless this process was one before :meth:`adopt`."""
        if self.adopted and not self._previous:
            set_subreaper(False)
        self.adopted = False


def describe_ended(
    label: str, ended: list[ProcessInfo], limit: int = 10, *, when: str = "when it ended"
) -> str:
    """One warning line: which processes ``label`` left running (at most ``limit`` named)."""
    names = [f"{process.name} (pid {process.pid})" for process in ended[:limit]]
    more = f" and {len(ended) - limit} more" if len(ended) > limit else ""
    count = "1 process" if len(ended) == 1 else f"{len(ended)} processes"
    return f"{label} left {count} running {when}, now killed: {', '.join(names)}{more}"


def end_with_parent(parent: int) -> bool:
    """When ``parent`` dies, end this process's descendants, then this process (a thread).

    Returns False when the parent is already gone (the caller exits at once).
    """
    try:
        handle: int | None = os.pidfd_open(parent)
    except ProcessLookupError:
        return False
    except (OSError, AttributeError):  # pragma: no cover - Linux < 5.3, not Linux: poll
        handle = None
    if os.getppid() != parent:  # it died before we looked (its pid may be another's now)
        if handle is not None:  # pragma: no branch - None only where there is no pidfd
            os.close(handle)
        return False
    threading.Thread(
        target=_watch_parent, args=(parent, handle), name="behave-bounded-lifeline", daemon=True
    ).start()
    return True


def _watch_parent(parent: int, handle: int | None) -> None:
    if handle is not None:
        poller = select.poll()
        poller.register(handle, select.POLLIN)
        while not poller.poll():  # pragma: no cover - poll() without a timeout returns events
            pass
    else:  # pragma: no cover - Linux < 5.3, or not Linux
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
    end_descendants()
    os._exit(1)
