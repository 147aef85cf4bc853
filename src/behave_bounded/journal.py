"""A worker's progress through its task, kept where the parent can still read it after a crash.

A worker killed mid-feature (SIGKILL, a segfault, ``--timeout``) takes its memory with it. So
that a crash costs only the scenario that was running, the worker writes into a
:class:`Journal` as it goes: which scenario started, and each finished scenario's result (and,
when the parent replays behave's formatters, its recorded events). The journal is an anonymous
shared mapping the parent creates before it forks the worker: writing to it is a memory copy,
no system call and no message, and the parent reads it only when the worker is gone.

Bounded: the mapping has a fixed size (:data:`SIZE`); an entry that does not fit is not
written and the journal says it is full, so the parent knows which results it does not have.
The kernel only backs the pages that were written.

It also settles who runs a task queued in a worker's pipe: the worker :meth:`Journal.claim`s it
when it begins it, the parent may :meth:`Journal.revoke` it before that (to give it to an idle
worker), under one lock shared by both, so a task is never run twice nor lost.
"""

from __future__ import annotations

import mmap
import multiprocessing
import struct
import time
from dataclasses import dataclass

#: Bytes of one worker's journal (virtual; only written pages use memory).
SIZE = 16 * 2**20
# committed bytes, task number (index + 1; 0 when none), running scenario line (0: none), full,
# when the task began (time.monotonic(): one clock for every process of the machine), and the
# number of a queued task the parent took back (0: none)
_HEADER = struct.Struct("<QQqQdQ")
_LENGTH = struct.Struct("<Q")


@dataclass(frozen=True)
class JournalRead:
    """What the parent found in a dead worker's journal for its task."""

    entries: tuple[bytes, ...]
    running: int  # line of the scenario that was running (0: none was)
    full: bool  # entries were dropped: the journal had no room for them


class Journal:
    """One worker's journal: the worker writes, the parent reads after the worker ended."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._map = mmap.mmap(-1, size)  # MAP_SHARED | MAP_ANONYMOUS: shared across fork
        # Who begins a queued task: the worker (claim) or the parent taking it back (revoke).
        self._claim = multiprocessing.get_context("fork").Lock()
        self._task = 0
        self._used = _HEADER.size
        self._running = 0
        self._full = False
        self._began = 0.0

    # -- the worker's side
    def claim(self, task_index: int) -> bool:
        """Begin task ``task_index`` unless the parent took it back first (False then)."""
        with self._claim:
            if _HEADER.unpack_from(self._map, 0)[5] == task_index + 1:
                return False
            self.begin(task_index)
            return True

    def begin(self, task_index: int) -> None:
        """A new task: forget the previous one's entries."""
        self._task = task_index + 1
        self._used = _HEADER.size
        self._running = 0
        self._full = False
        self._began = time.monotonic()
        self._commit()

    def running(self, line: int) -> None:
        """The scenario at ``line`` has started (0: the one that ran has finished)."""
        self._running = line
        self._commit()

    def append(self, entry: bytes) -> bool:
        """Keep one finished scenario's entry; False (and full) when it does not fit."""
        end = self._used + _LENGTH.size + len(entry)
        if end > self.size or self._full:
            self._full = True
            self._commit()
            return False
        _LENGTH.pack_into(self._map, self._used, len(entry))
        self._map[self._used + _LENGTH.size : end] = entry
        self._used = end
        self._commit()  # only now does the entry count: a half-written one never does
        return True

    def _commit(self) -> None:
        revoked = _HEADER.unpack_from(self._map, 0)[5]
        _HEADER.pack_into(
            self._map,
            0,
            self._used,
            self._task,
            self._running,
            int(self._full),
            self._began,
            revoked,
        )

    # -- the parent's side
    def current(self) -> tuple[int, float]:
        """(index of the task the worker began last, when it began); (-1, 0.0) before any."""
        _, task, _, _, began, _ = _HEADER.unpack_from(self._map, 0)
        return task - 1, began

    def revoke(self, task_index: int) -> bool:
        """Take back a queued task the worker has not begun; False if it has begun it."""
        with self._claim:
            values = list(_HEADER.unpack_from(self._map, 0))
            if values[1] == task_index + 1:
                return False
            values[5] = task_index + 1
            _HEADER.pack_into(self._map, 0, *values)
            return True

    def read(self, task_index: int) -> JournalRead:
        """The entries the worker committed for task ``task_index`` (none for another task)."""
        used, task, running, full, _, _ = _HEADER.unpack_from(self._map, 0)
        if task != task_index + 1 or not _HEADER.size <= used <= self.size:
            return JournalRead((), 0, False)
        entries: list[bytes] = []
        offset = _HEADER.size
        while offset + _LENGTH.size <= used:
            (length,) = _LENGTH.unpack_from(self._map, offset)
            start = offset + _LENGTH.size
            if start + length > used:
                break
            entries.append(bytes(self._map[start : start + length]))
            offset = start + length
        return JournalRead(tuple(entries), running, bool(full))

    def close(self) -> None:
        self._map.close()
