"""Features released in collection order, whatever order their tasks finish in, held bounded.

behave's formatters write features in the order plain behave runs them (collection order),
but workers finish them in any order (longest first, several at once). :class:`InOrder`
holds what arrives early until every earlier feature is complete, then releases it. What it
holds is bytes (a task's pickled records): at most ``memory_limit`` of them stay in memory,
the rest go to one private temporary file (``mkstemp`` semantics: mode 0600, removed when
closed) and are read back when their turn comes. So the parent's memory for waiting results
is bounded, however skewed the schedule.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Generic, TypeVar

#: Default bytes of waiting records kept in memory before they are spilled to a file.
MEMORY_LIMIT = 32 * 2**20

T = TypeVar("T")


@dataclass(slots=True)
class _Held(Generic[T]):
    """One waiting piece: its key (which task), its bytes in memory or in the spill file."""

    key: T
    data: bytes | None
    offset: int = 0
    size: int = 0


class InOrder(Generic[T]):
    """Releases each path's pieces once all of them arrived and every earlier path's did.

    ``expected`` says how many pieces (tasks) each path (feature file) has; ``paths`` is the
    collection order. :meth:`add` returns what became releasable, oldest path first;
    :meth:`give_up` says a path's missing pieces will never come (never ran, interrupted).
    """

    def __init__(
        self,
        paths: Sequence[str],
        expected: Mapping[str, int],
        *,
        memory_limit: int = MEMORY_LIMIT,
        spill_dir: str | None = None,
    ) -> None:
        self._paths = list(dict.fromkeys(paths))
        self._missing = {path: max(expected.get(path, 0), 0) for path in self._paths}
        self._held: dict[str, list[_Held[T]]] = {}
        self._next = 0
        self.memory_limit = memory_limit
        self.in_memory = 0
        self.peak_in_memory = 0
        self._spill_dir = spill_dir
        self._spill: IO[bytes] | None = None
        self._spilled = 0  # pieces in the spill file not yet released
        self.spilled_total = 0

    def add(
        self, path: str, key: T, data: bytes, *, counts: bool = True
    ) -> list[tuple[str, list[tuple[T, bytes]]]]:
        """Hold one piece of ``path``; return the paths that are now complete, in order.

        ``counts`` False: a piece beyond the expected ones (a rerun of a task), added before
        the task's own piece, which counts.
        """
        piece = _Held(key, data, size=len(data))
        if self.in_memory + len(data) > self.memory_limit and data:
            self._to_file(piece)
        else:
            self.in_memory += len(data)
            self.peak_in_memory = max(self.peak_in_memory, self.in_memory)
        self._held.setdefault(path, []).append(piece)
        if path in self._missing and counts:
            self._missing[path] -= 1
        return self._release()

    def give_up(self, path: str) -> list[tuple[str, list[tuple[T, bytes]]]]:
        """``path``'s missing pieces will never come: release it with what it has."""
        if path in self._missing:
            self._missing[path] = 0
        return self._release()

    def rest(self) -> Iterator[tuple[str, list[tuple[T, bytes]]]]:
        """At the end: every path not released yet, in order, with what arrived of it."""
        for path in self._paths[self._next :]:
            self._missing[path] = 0
        yield from self._release()

    def _release(self) -> list[tuple[str, list[tuple[T, bytes]]]]:
        ready = []
        while self._next < len(self._paths) and self._missing[self._paths[self._next]] <= 0:
            path = self._paths[self._next]
            self._next += 1
            ready.append((path, [(p.key, self._read(p)) for p in self._held.pop(path, [])]))
        return ready

    def _to_file(self, piece: _Held[T]) -> None:
        if self._spill is None:  # closed by close(): it lives as long as the run waits
            self._spill = tempfile.TemporaryFile(  # noqa: SIM115
                prefix="behave-bounded-held-", dir=self._spill_dir
            )
        if piece.data is None:
            raise RuntimeError("a held piece went to the spill file twice")
        self._spill.seek(0, os.SEEK_END)
        piece.offset = self._spill.tell()
        self._spill.write(piece.data)
        piece.data = None
        self._spilled += 1
        self.spilled_total += 1

    def _read(self, piece: _Held[T]) -> bytes:
        if piece.data is not None:
            self.in_memory -= piece.size
            return piece.data
        if self._spill is None:
            raise RuntimeError("a held piece's spill file is gone")
        self._spill.seek(piece.offset)
        data = self._spill.read(piece.size)
        self._spilled -= 1
        if self._spilled == 0:  # nothing waits in the file: give its space back
            self._spill.truncate(0)
        return data

    def close(self) -> None:
        if self._spill is not None:
            with contextlib.suppress(OSError):
                self._spill.close()
            self._spill = None
