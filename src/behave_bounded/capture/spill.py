"""Spill files: the full stream also written to a capped private file, and the one warning a
failed spill gives (never from inside a write)."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from behave_bounded.capture.sentinel import format_sentinel

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


class _Once:
    """Process-wide "said it already" flag, so a broken spill directory warns once, not per task."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False

    def first(self) -> bool:
        with self._lock:
            first, self._done = not self._done, True
            return first


_SPILL_WARNING = _Once()


def _to_stderr(message: str) -> None:
    stream = sys.__stderr__
    if stream is None:
        return
    with contextlib.suppress(Exception):
        stream.write(message + "\n")
        stream.flush()


#: Where the capture's own warnings go: the process's real stderr, unless a worker, whose
#: stderr is captured, sends them to the parent instead (:func:`warn_through`).
_WARN: list[Callable[[str], None]] = [_to_stderr]


def warn_through(deliver: Callable[[str], None]) -> None:
    """Give the capture's warnings (one line each, without the newline) to ``deliver``."""
    _WARN[0] = deliver


def _warn_spill(target: str, reason: str) -> None:
    """Tell the user (once per process) that output is only truncated, not spilled."""
    if not _SPILL_WARNING.first():
        return
    _WARN[0](
        f"behave-bounded: warning: cannot spill output to {target}: {reason}; "
        "keeping truncated output only"
    )


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _byte_view(data: ReadableBuffer) -> memoryview:
    """A flat unsigned-byte view of ``data`` (no copy unless it is not contiguous)."""
    view = memoryview(data)
    if view.format == "B" and view.ndim == 1:
        return view
    if view.c_contiguous:
        return view.cast("B")
    return memoryview(view.tobytes())  # non-contiguous views are rare and never large in practice


def _make_private_dirs(path: str) -> None:
    """``os.makedirs`` that creates every missing level with mode 0700, not only the leaf."""
    head, tail = os.path.split(path)
    if not tail:
        head, tail = os.path.split(head)
    if head and tail and not os.path.exists(head):
        _make_private_dirs(head)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


class Spill:
    """The full stream also written to a file, itself capped.

    The kept text names the file, so a truncated stream can still be read in full. Writing never
    raises: a full disk stops the spill and the warning is given when the spill is finished
    (never from inside a write, which may run while stderr itself is being captured).

    A worker's spill serves one task after the other: :meth:`finish` ends a task's part (the
    cap's sentinel), :meth:`keep_as` moves the file to a name of its own when it must stay,
    :meth:`reset` empties it for the next task. So a task costs no file created or deleted.

    A part whose write failed is given up when it is finished: it holds only a part, which nobody
    is told about (the sentinel says ``full output: none``), and keeping it would keep a full disk
    full. A file this class made for one stream (``owned``: :meth:`create`) is removed; a worker's
    fixed file (:meth:`at`) is emptied. Until then it stays, so a worker that dies first still
    leaves it (read back by the parent: all that is left of the task's output).
    """

    def __init__(
        self, fd: int, path: str, max_bytes: int, stream: str = "output", *, owned: bool = False
    ) -> None:
        self.path = path
        self._owned = owned
        self._fd: int | None = fd
        self._max = max(0, max_bytes)
        self._stream = stream
        self._offered = 0
        self._spilled = 0
        self._ends_line = True
        self._error: str | None = None
        self._given_up = False
        self._lock = threading.Lock()

    @classmethod
    def create(
        cls, directory: str, prefix: str, max_bytes: int, *, stream: str = "output"
    ) -> Spill | None:
        """A new private spill file in ``directory``, or None (after one warning) if impossible."""
        try:
            _make_private_dirs(directory)
            fd, path = tempfile.mkstemp(prefix=prefix, suffix=".log", dir=directory)
        except OSError as error:
            _warn_spill(directory, _reason(error))
            return None
        return cls(fd, path, max_bytes, stream, owned=True)

    @classmethod
    def at(cls, path: str, max_bytes: int, *, stream: str = "output") -> Spill | None:
        """A private spill file at a fixed ``path`` (in a private directory the run made)."""
        try:
            _make_private_dirs(os.path.dirname(path))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_TRUNC, 0o600)
        except OSError as error:
            _warn_spill(os.path.dirname(path), _reason(error))
            return None
        return cls(fd, path, max_bytes, stream)

    @property
    def failed(self) -> bool:
        """A write failed (disk full, file too large): the file holds only a part."""
        return self._error is not None

    @property
    def written(self) -> bool:
        """Whether anything reached the file since the last reset."""
        return self._offered > 0

    def write(self, data: ReadableBuffer) -> None:
        """Append to the file up to the cap; count the rest; never raise."""
        with contextlib.suppress(Exception), _byte_view(data) as view, self._lock:
            size = view.nbytes
            self._offered += size
            room = self._max - self._spilled
            if self._fd is None or self._error is not None or room <= 0 or size == 0:
                return
            part = view[:room] if size > room else view
            self._spilled += self._write_all(self._fd, part)

    def _write_all(self, fd: int, view: memoryview) -> int:
        done = 0
        try:
            while done < len(view):
                done += os.write(fd, view[done:])
        except OSError as error:
            self._error = _reason(error)
        if done:
            self._ends_line = view[done - 1] == 0x0A
        return done

    def finish(self) -> None:
        """End this task's part: the sentinel if the stream outgrew the cap; warn on failure."""
        with self._lock:
            if self._fd is not None and self._error is None and self._offered > self._spilled:
                line = format_sentinel(self._stream, self._offered, self._spilled, None)
                text = ("" if self._ends_line else "\n") + line + "\n"
                self._write_all(self._fd, memoryview(text.encode()))
            error = None if self._given_up else self._error
            if error is not None:  # a part only: it would keep a full disk full
                self._give_up_part()
        if error is not None:
            _warn_spill(self.path, error)

    def _give_up_part(self) -> None:
        """Remove (or empty) the part a failed write left; warned about once, not kept."""
        self._given_up = True
        self._offered = self._spilled = 0  # nothing of it stays (see _close_spills)
        with contextlib.suppress(OSError):
            if self._owned:
                os.unlink(self.path)
            elif self._fd is not None:
                os.ftruncate(self._fd, 0)
                os.lseek(self._fd, 0, os.SEEK_SET)

    def keep_as(self, directory: str, prefix: str) -> str | None:
        """Move the file to a new private name of its own (the stream's full output must stay);
        this spill goes on at its own path in a fresh file. The kept path, or None."""
        with self._lock:
            if self._fd is None:
                return None
            try:
                fd, kept = tempfile.mkstemp(prefix=prefix, suffix=".log", dir=directory)
                os.close(fd)
                os.replace(self.path, kept)  # atomic: the empty placeholder is replaced
                fresh = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as error:
                self._error = _reason(error)
                return None
            os.close(self._fd)
            self._fd = fresh
            self._zero()
            return kept

    def reset(self) -> None:
        """Empty the file for the next task (the disk space is given back at once)."""
        with self._lock:
            if self._fd is not None and (self._offered or self._error is not None):
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, 0)
                    os.lseek(self._fd, 0, os.SEEK_SET)
            self._zero()

    def _zero(self) -> None:
        self._offered = self._spilled = 0
        self._ends_line = True
        self._error = None
        self._given_up = False

    def close(self) -> None:
        """Finish the stream's part and close the file for good."""
        self.finish()
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def _spill_prefix(label: str, stream: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._")[-80:] or "task"
    return f"{safe}-{stream}-"


def write_private(directory: str, label: str, kind: str, text: str) -> str:
    """``text`` in a new private file (``mkstemp``, 0600) of a spill directory; its path."""
    fd, path = tempfile.mkstemp(prefix=_spill_prefix(label, kind), suffix=".log", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as file:
        file.write(text)
    return path


def spill_name(label: str, stream: str) -> str:
    """The file a worker spills ``stream`` into while a task runs: fixed, so the parent knows
    where to read a dead worker's output without being told."""
    return _spill_prefix(label, stream) + "current.log"
