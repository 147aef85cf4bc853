"""File-descriptor capture: fd 1 or 2 redirected into a pipe a thread drains into a sink, so
output of child processes, ``os.write`` and C code is bounded too."""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import threading
from typing import TYPE_CHECKING, Final

from behave_bounded.capture.sink import BoundedSink
from behave_bounded.capture.spill import _byte_view
from behave_bounded.capture.text import _flush_streams_on

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: One read from a capture pipe (a reused buffer: reading never allocates).
_READ_SIZE: Final = 128 * 1024
#: Kernel buffer asked for capture pipes, so writers block less often.
_PIPE_SIZE: Final = 1024 * 1024
#: At stop, what is read at most from a pipe another process keeps filling.
_FINAL_DRAIN: Final = 4 * _PIPE_SIZE


#: How long stop() waits for the drain thread; it finishes in milliseconds unless wedged.
_STOP_TIMEOUT: Final = 30.0


class _Forks:
    """Counts forks, so a forked child's captured stream knows its drain thread is not there."""

    generation = 0

    @classmethod
    def child(cls) -> None:
        cls.generation += 1


os.register_at_fork(after_in_child=_Forks.child)


def _write_fd(fd: int, b: ReadableBuffer) -> int:
    """Write all of ``b`` to ``fd`` (a forked child's output goes to the parent's pipe)."""
    with _byte_view(b) as view:
        done = 0
        with contextlib.suppress(OSError):
            while done < len(view):
                done += os.write(fd, view[done:])
        return view.nbytes


def _grow_pipe(fd: int) -> None:
    """A bigger pipe buffer (Linux): fewer wake-ups of the drain thread, fewer blocked writers."""
    setsize: int | None = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setsize, _PIPE_SIZE)


class FdCapture:
    """Redirects a file descriptor (1 or 2) into a pipe drained by a thread into a BoundedSink,
    so output of child processes, os.write and C code is bounded too.

    Lifecycle, checked loudly as pytest's capture does: ``initialized`` -> ``started`` ->
    ``done``. Writes through :meth:`write_in_order` (the replaced ``sys.stdout``) first take
    what is already in the pipe, so ``print`` + flush and ``os.write`` keep their order. In a
    child forked while capturing, they go to the fd itself, i.e. to the parent's pipe.
    """

    def __init__(self, fd: int, sink: BoundedSink) -> None:
        self.fd = fd
        self.sink = sink
        self._state = "initialized"
        self._lock = threading.Lock()  # one reader of the pipe at a time, and in order
        self._saved: int | None = None
        self._read_fd = -1
        self._wake_r = -1
        self._wake_w = -1
        self._pumping = False
        self._eof = False
        self._buffer = bytearray(0)
        self._drained = threading.Event()
        self._thread: threading.Thread | None = None
        self._generation = _Forks.generation
        self._write_fd = -1  # our own copy of the pipe's write end: to put the fd back
        self._pipe_id: tuple[int, int] = (0, 0)

    def __repr__(self) -> str:
        return f"<FdCapture fd={self.fd} state={self._state}>"

    def _assert_state(self, operation: str, states: tuple[str, ...]) -> None:
        if self._state not in states:
            raise RuntimeError(
                f"{self!r}: cannot {operation}() in state {self._state!r}; "
                f"expected one of {states!r}"
            )

    def start(self) -> None:
        """Point the fd at a fresh pipe and start draining it into the sink."""
        self._assert_state("start", ("initialized",))
        _flush_streams_on(self.fd)
        try:
            self._saved = os.dup(self.fd)
        except OSError:  # the fd was closed: stop() closes it again
            self._saved = None
        read_fd, write_fd = os.pipe()
        wake_r, wake_w = os.pipe()
        try:
            _grow_pipe(write_fd)
            os.set_blocking(read_fd, False)
            os.dup2(write_fd, self.fd)
        except BaseException:
            for fd in (read_fd, write_fd, wake_r, wake_w):
                os.close(fd)
            if self._saved is not None:
                os.close(self._saved)
            raise
        status = os.fstat(write_fd)
        self._pipe_id = (status.st_dev, status.st_ino)
        self._write_fd = write_fd  # kept (close-on-exec): the fd can be put back after a test
        self._read_fd, self._wake_r, self._wake_w = read_fd, wake_r, wake_w
        self._buffer = bytearray(_READ_SIZE)
        self._pumping = True
        self._thread = threading.Thread(
            target=self._drain, name=f"behave-bounded-drain-fd{self.fd}", daemon=True
        )
        self._state = "started"
        self._thread.start()

    def switch(self, sink: BoundedSink) -> BoundedSink:
        """From now on feed ``sink``; what the pipe holds (written before) goes to the old one.

        A write to the fd completes into the pipe before it returns, so everything the task
        wrote before it ended is in the old sink (at most :data:`_FINAL_DRAIN` more is read
        now: a writer that never stops cannot hold the switch).
        """
        with self._lock:
            if self._pumping and not self._eof:
                self._pump(_FINAL_DRAIN)
            old, self.sink = self.sink, sink
        return old

    def reattach(self) -> bool:
        """Point the fd at the pipe again if a test closed or replaced it; True if it did."""
        if self._state != "started" or self._write_fd < 0:
            return False
        try:
            status = os.fstat(self.fd)
            if (status.st_dev, status.st_ino) == self._pipe_id:
                return False
        except OSError:
            pass  # closed: put it back
        try:
            os.dup2(self._write_fd, self.fd)
        except OSError:
            return False
        return True

    def write_in_order(self, b: ReadableBuffer) -> int:
        """Write ``b`` to the sink after whatever the pipe already holds."""
        if _Forks.generation != self._generation:  # a forked child: no drain thread, maybe a
            return _write_fd(self.fd, b)  # lock copied while held; the parent reads the fd
        with self._lock:
            if self._pumping and not self._eof:
                self._pump(_PIPE_SIZE)
            return self.sink.write(b)

    def _pump(self, budget: int) -> bool:
        """Move what the pipe holds (up to ``budget``) into the sink; True at end of file."""
        view = memoryview(self._buffer)
        while budget > 0:
            try:
                size = os.readv(self._read_fd, [view])
            except BlockingIOError:
                return False
            except OSError:
                size = 0
            if size == 0:
                self._eof = True
                return True
            self.sink.write(view[:size])
            budget -= size
        return False

    def _drain(self) -> None:
        """The drain thread: pipe to sink until stop(), then a final drain, then discarding."""
        eof = False
        try:
            poller = select.poll()
            poller.register(self._read_fd, select.POLLIN)
            poller.register(self._wake_r, select.POLLIN)
            while True:
                ready = {fd for fd, _ in poller.poll()}
                if self._wake_r in ready:
                    break
                with self._lock:
                    if self._pump(_PIPE_SIZE):  # every writer is gone (the fd was closed
                        poller.unregister(self._read_fd)  # under us): wait for stop()
            with self._lock:
                eof = self._eof or self._pump(_FINAL_DRAIN)
                self._pumping = False
        finally:
            self._drained.set()
            with contextlib.suppress(OSError):
                os.close(self._wake_r)
        if not eof:
            self._discard()
        with contextlib.suppress(OSError):  # a test that closed every fd closed it already
            os.close(self._read_fd)

    def _discard(self) -> None:
        """Read and drop until every writer (some grandchild) is gone: no hang, no growth."""
        threading.current_thread().name = f"behave-bounded-discard-fd{self.fd}"
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        buffer = bytearray(_READ_SIZE)
        while True:
            poller.poll()
            try:
                if os.readv(self._read_fd, [buffer]) == 0:
                    return
            except BlockingIOError:
                continue
            except OSError:
                return

    def stop(self) -> None:
        """Restore the fd, take what was written so far, and return even if writers remain."""
        self._assert_state("stop", ("started",))
        _flush_streams_on(self.fd)
        if self._write_fd >= 0:  # our copy goes first: the pipe ends once its writers are gone
            with contextlib.suppress(OSError):  # a test may have closed it for us
                os.close(self._write_fd)
            self._write_fd = -1
        try:
            if self._saved is None:
                with contextlib.suppress(OSError):
                    os.close(self.fd)
            else:
                try:
                    os.dup2(self._saved, self.fd)
                except OSError:  # a test closed our copy: the fd stays closed (the worker sees
                    with contextlib.suppress(OSError):  # it and retires, see baseline.py)
                        os.close(self.fd)
                with contextlib.suppress(OSError):
                    os.close(self._saved)
        finally:
            self._saved = None
            self._state = "done"
            os.write(self._wake_w, b"\0")
            os.close(self._wake_w)
            self._drained.wait(_STOP_TIMEOUT)
