"""The text stream over a sink (what ``sys.stdout`` is replaced with): ``print`` stays in C."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
import weakref
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from behave_bounded.capture.sink import _TEXT_CHUNK, BoundedSink
from behave_bounded.results import Keep

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

    from behave_bounded.capture.fd import FdCapture
    from behave_bounded.capture.spill import Spill


class _FdOrdered(io.RawIOBase):
    """Where the text stream of a captured fd writes: after what the fd's pipe already holds."""

    def __init__(self, capture: FdCapture) -> None:
        super().__init__()
        self._capture = capture
        self.name = f"<{capture.sink.name}>"

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._capture.fd  # really where bytes written to that fd go: the same sink

    def write(self, b: ReadableBuffer) -> int:
        return self._capture.write_in_order(b)


class _BinaryFront(io.RawIOBase):
    """The ``.buffer`` of a :class:`BoundedTextIO`: bytes written here come after pending text.

    (A plain TextIOWrapper lets ``sys.stdout.buffer.write`` overtake text still waiting in the
    wrapper.) Closing it closes the text stream, as closing a real ``sys.stdout.buffer`` does.
    """

    def __init__(self, owner: BoundedTextIO, target: BoundedSink | _FdOrdered) -> None:
        super().__init__()
        self._owner = weakref.ref(owner)
        self._target = target
        self.name = target.name

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._target.fileno()

    def write(self, b: ReadableBuffer) -> int:
        owner = self._owner()
        if owner is not None and not owner.closed:
            with contextlib.suppress(Exception):
                owner.flush()
        return self._target.write(b) or 0

    def close(self) -> None:
        super().close()
        owner = self._owner()
        if owner is not None:
            owner.close()

    def __del__(self) -> None:
        """Collected is not closed: IOBase's finalizer would call :meth:`close`, which closes
        the text stream (``sys.stdout`` itself) for every thread still writing to it."""


#: Makes a stream's one ``.buffer`` when threads ask for it at once (see :attr:`buffer`).
_FRONT_LOCK = threading.Lock()


class BoundedTextIO(io.TextIOWrapper):
    """A text stream (what sys.stdout is replaced with) over a BoundedSink; the per-print path
    stays in C.

    The C TextIOWrapper gathers up to 256 KiB of text, encodes it into one new ``bytes`` and hands
    that straight to the sink, which keeps the object itself in its tail: one Python call and no
    extra copy per 256 KiB. (A BufferedWriter in between would cost a copy and hide the object.)
    Errors are ``backslashreplace``: text that cannot be encoded (a lone surrogate) is written as
    its escape instead of raising into the test. ``encoding`` is what the stream reports and
    encodes with; the kept text is always decoded as UTF-8. (One huge ``str`` is encoded whole
    by the C wrapper, as by any text file, before the sink keeps slices of it.)
    """

    sink: BoundedSink
    #: Shadows TextIOWrapper's ``closed`` property, which the C ``write`` of a subclass looks up
    #: on every call (down to the Python sink): a plain attribute halves the cost of a ``print``.
    #: :meth:`close` sets it on the instance.
    closed = False

    def __init__(
        self,
        name: str,
        limit: int | None,
        keep: Keep = Keep.BOTH,
        spill: Spill | None = None,
        encoding: str = "utf-8",
    ) -> None:
        sink = BoundedSink(name, limit, keep, spill)
        self._setup(sink, sink, encoding)

    @classmethod
    def over_fd_capture(
        cls, capture: FdCapture, encoding: str = "utf-8", *, line_buffering: bool = False
    ) -> BoundedTextIO:
        """A stream feeding ``capture.sink`` in order with the fd; ``fileno()`` is that fd.

        ``line_buffering=True`` is what CPython's own ``sys.stderr`` does.
        """
        stream = cls.__new__(cls)
        stream._setup(capture.sink, _FdOrdered(capture), encoding, line_buffering)
        return stream

    def _setup(
        self,
        sink: BoundedSink,
        target: BoundedSink | _FdOrdered,
        encoding: str,
        line_buffering: bool = False,
    ) -> None:
        # (typeshed wants a buffered object; TextIOWrapper only needs write, flush and close)
        buffer: Any = target
        io.TextIOWrapper.__init__(
            self,
            buffer,
            encoding=encoding,
            errors="backslashreplace",
            newline="\n",
            line_buffering=line_buffering,
        )
        self._CHUNK_SIZE = _TEXT_CHUNK
        self.sink = sink
        self._target = target
        self._front: _BinaryFront | None = None  # made when asked for: most streams never are
        setattr(self, "mode", "w")  # noqa: B010  (as open() does; typeshed calls it read-only)

    @property
    def buffer(self) -> BinaryIO:
        """Binary side of the stream; see :class:`_BinaryFront`. One object for the stream's
        life, as a real ``sys.stdout.buffer`` is, also when threads first ask at once."""
        front = self._front
        if front is None:
            with _FRONT_LOCK:
                if self._front is None:
                    self._front = _BinaryFront(self, self._target)
                front = self._front
        return cast("BinaryIO", front)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.closed = True

    def getvalue(self) -> str:
        """Flush, then the sink's kept text."""
        if not self.closed:
            with contextlib.suppress(Exception):
                self.flush()
        return self.sink.getvalue()


def _flush_streams_on(fd: int) -> None:
    """Flush ``sys.stdout``/``sys.stderr`` if they write to ``fd``, so nothing stays buffered."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None and stream.fileno() == fd:
                stream.flush()
