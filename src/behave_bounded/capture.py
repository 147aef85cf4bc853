"""Bounded capture of a task's stdout and stderr.

The old runner kept each worker's output in :class:`io.StringIO` and shipped all of it to the
parent, so a test printing gigabytes took the run down. Here every stream is held by a
:class:`BoundedSink`: the first quarter of the limit (the head, where the setup and the first
error usually are) and a ring with the last three quarters (the tail, where the failure is),
optionally with the full stream spilled to a size-capped file. Python-level writes reach the
sink through a C :class:`io.TextIOWrapper`, so ``print`` stays in C and the Python sink runs
once per 256 KiB; fd-level writes (child processes, ``os.write``, C code) reach it through a
pipe drained by a thread (:class:`FdCapture`).
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import fcntl
import io
import os
import re
import select
import sys
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Final, cast

from behave_bounded.results import CapturedStream, Keep, StreamStats

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

__all__ = [
    "SENTINEL_RE",
    "BoundedSink",
    "BoundedTextIO",
    "FdCapture",
    "Keep",
    "Spill",
    "TaskCapture",
    "format_sentinel",
]

#: Storage is made of blocks of this size, allocated on first use: no growth ever copies.
_BLOCK: Final = 64 * 1024
#: Text the C TextIOWrapper gathers before encoding it and passing it on: one Python-level
#: call to the sink per 256 KiB (at 64 KiB, the call was a quarter of the cost of a chunk).
_TEXT_CHUNK: Final = 256 * 1024
#: Largest immutable chunk the tail keeps by reference rather than copying (memory slack): a
#: whole encoded text chunk.
_REF_MAX: Final = _TEXT_CHUNK
#: One read from a capture pipe (a reused buffer: reading never allocates).
_READ_SIZE: Final = 128 * 1024
#: Kernel buffer asked for capture pipes, so writers block less often.
_PIPE_SIZE: Final = 1024 * 1024
#: At stop, what is read at most from a pipe another process keeps filling.
_FINAL_DRAIN: Final = 4 * _PIPE_SIZE
#: Slices a ``str`` handed to a sink is encoded in, so that it is never encoded whole.
_TEXT_SLICE: Final = 1024 * 1024
#: How long stop() waits for the drain thread; it finishes in milliseconds unless wedged.
_STOP_TIMEOUT: Final = 30.0
_CONTINUATION = range(0x80, 0xC0)


#: Matches the line :func:`format_sentinel` writes where output was cut.
SENTINEL_RE: Final[re.Pattern[str]] = re.compile(
    r"\[behave-bounded: (?P<stream>[^\s:\]]+) truncated: (?P<written>\d+) bytes written, "
    r"(?P<kept>\d+) kept, (?P<dropped>\d+) dropped; full output: (?P<path>[^\n]*)\]"
)


def format_sentinel(stream: str, written: int, kept: int, spill_path: str | None) -> str:
    """The one line that says, inside the kept text, how much was cut and where the rest is."""
    where = "none" if spill_path is None else _one_line(spill_path)
    return (
        f"[behave-bounded: {stream} truncated: {written} bytes written, {kept} kept, "
        f"{written - kept} dropped; full output: {where}]"
    )


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r")


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


class _Blocks:
    """Bytes stored in lazily allocated fixed blocks: memory is the capacity, never more."""

    __slots__ = ("_blocks", "_capacity")

    def __init__(self, capacity: int | None) -> None:
        self._blocks: list[bytearray] = []
        self._capacity = capacity

    def put(self, offset: int, data: memoryview) -> None:
        """Copy ``data`` to ``[offset, offset + len(data))``; offsets grow without gaps."""
        blocks = self._blocks
        done, size = 0, len(data)
        while done < size:
            index, start = divmod(offset + done, _BLOCK)
            if index == len(blocks):
                room = _BLOCK if self._capacity is None else self._capacity - index * _BLOCK
                blocks.append(bytearray(min(_BLOCK, room)))
            block = blocks[index]
            step = min(size - done, len(block) - start)
            block[start : start + step] = data[done : done + step]
            done += step

    def chunks(self, start: int, end: int) -> Iterator[memoryview]:
        """Views of the stored bytes in ``[start, end)``, block by block."""
        while start < end:
            index, offset = divmod(start, _BLOCK)
            block = self._blocks[index]
            step = min(end - start, len(block) - offset)
            yield memoryview(block)[offset : offset + step]
            start += step

    def read(self, start: int, end: int) -> bytes:
        return b"".join(self.chunks(start, end))


def _split_suffix(head: bytes) -> int:
    """How many bytes at the end of ``head`` are an unfinished UTF-8 character."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    decoder.decode(head[-3:], False)  # a pending sequence is at most 3 bytes and starts a char
    return len(decoder.getstate()[0])


def _split_prefix(tail: bytes) -> int:
    """How many bytes at the start of ``tail`` continue a character cut off before it."""
    count = 0
    while count < min(3, len(tail)) and tail[count] in _CONTINUATION:
        count += 1
    return count


class BoundedSink(io.RawIOBase):
    """Binary sink keeping the head and a tail ring of everything written, within `limit` bytes.

    ``limit=None`` keeps everything: the old unbounded behaviour, on purpose, as the baseline the
    regression tests prove the memory bug against. Writes are counted exactly and never raise.
    The head is copied into 64 KiB blocks; the tail is a queue of immutable pieces: small
    ``bytes`` are kept by reference, anything else is copied in 64 KiB slices of the caller's
    buffer (a 1 GiB write costs no 1 GiB copy). Memory stays within the limit plus one piece
    (at most 256 KiB, :data:`_REF_MAX`).

    Slots, because the hot path of :meth:`write` reads eight attributes and sets three once
    per text chunk: in the instance dict of an ``io.RawIOBase`` subclass CPython 3.11 finds them
    without its specialised fast paths, which cost almost half of the call (0.9 against 0.5 µs).
    """

    __slots__ = (
        "_by_reference",
        "_final_spill",
        "_head",
        "_head_cap",
        "_head_fill",
        "_head_full",
        "_lock",
        "_piece_max",
        "_settled",
        "_skip",
        "_tail",
        "_tail_cap",
        "_tail_len",
        "_written",
        "keep",
        "limit",
        "name",
        "spill",
    )

    def __init__(
        self, name: str, limit: int | None, keep: Keep = Keep.BOTH, spill: Spill | None = None
    ) -> None:
        super().__init__()
        self.name = name
        self.limit = None if limit is None else max(0, limit)
        self.keep = keep if type(keep) is Keep else Keep(keep)
        self.spill = spill
        self._lock = threading.Lock()
        self._written = 0
        if self.limit is None:
            self._head_cap: int | None = None
            self._tail_cap = 0
        elif self.keep is Keep.HEAD:
            self._head_cap, self._tail_cap = self.limit, 0
        elif self.keep is Keep.TAIL:
            self._head_cap, self._tail_cap = 0, self.limit
        else:
            quarter = self.limit // 4
            self._head_cap, self._tail_cap = quarter, self.limit - quarter
        self._head = _Blocks(self._head_cap)
        self._head_fill = 0
        self._head_full = self._head_cap == 0
        # Whether a small ``bytes`` may go to the tail as is: head full, tail kept, no spill.
        self._by_reference = self._head_full and self._tail_cap > 0 and spill is None
        self._piece_max = min(_REF_MAX, self._tail_cap)
        # The tail: whole immutable pieces, the oldest one partly dropped (``_skip`` bytes).
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_len = 0
        self._skip = 0
        self._settled = False  # settle_spill() said where the full stream is
        self._final_spill: str | None = None

    def writable(self) -> bool:
        return True

    def write(self, b: ReadableBuffer) -> int:
        """Count, spill and keep ``b``; return its size. Never raises into the caller."""
        if type(b) is bytes and self._by_reference and len(b) <= self._piece_max:
            # The hot path: a chunk a TextIOWrapper just encoded. Immutable, so the tail keeps
            # the object itself instead of a copy. (No context managers, no calls: this runs
            # once per 256 KiB of output and the benchmark feels every tenth of a microsecond.)
            size = len(b)
            lock = self._lock
            lock.acquire()
            try:
                self._written += size
                tail = self._tail
                tail.append(b)
                excess = self._tail_len + size - self._tail_cap
                if excess <= 0:
                    self._tail_len += size
                else:  # same as _evict(): skip ``excess`` more bytes, pop what is all skipped
                    skip = self._skip + excess
                    first = len(tail[0])
                    while skip >= first:
                        tail.popleft()
                        skip -= first
                        first = len(tail[0])
                    self._skip = skip
                    self._tail_len = self._tail_cap
            except Exception:  # noqa: S110  (a write must never break a printing test)
                pass
            finally:
                lock.release()
            return size
        if isinstance(b, str):  # not a buffer; tolerated rather than raised on
            return self._write_text(b)
        try:
            view = _byte_view(b)
        except Exception:  # not bytes-like: nothing to count
            return 0
        with view:
            size = view.nbytes
            with self._lock:
                self._written += size
                with contextlib.suppress(Exception):  # a write must never break a printing test
                    if self.spill is not None:
                        self.spill.write(view)
                    if self._head_full and type(b) is bytes and size <= self._piece_max:
                        self._push(b)
                    else:
                        self._keep(view)
        return size

    def _write_text(self, text: str) -> int:
        size = 0
        for start in range(0, len(text), _TEXT_SLICE):
            size += self.write(text[start : start + _TEXT_SLICE].encode("utf-8", "surrogatepass"))
        return size

    def _keep(self, view: memoryview) -> None:
        """Copy what the head and tail keep of ``view``, in slices (never the whole of it)."""
        if not self._head_full:
            room = len(view) if self._head_cap is None else self._head_cap - self._head_fill
            take = min(room, len(view))
            self._head.put(self._head_fill, view[:take])
            self._head_fill += take
            self._head_full = self._head_fill == self._head_cap
            self._by_reference = self._head_full and self._tail_cap > 0 and self.spill is None
            view = view[take:]
        cap = self._tail_cap
        size = len(view)
        if size == 0 or cap == 0:
            return
        if size >= cap:  # drop the old tail first: never old tail and new tail at once
            self._tail.clear()
            self._tail_len = self._skip = 0
            view = view[size - cap :]
        for start in range(0, len(view), _BLOCK):
            self._push(bytes(view[start : start + _BLOCK]))

    def _push(self, piece: bytes) -> None:
        """Append a piece to the tail and drop its oldest bytes beyond the tail's capacity."""
        self._tail.append(piece)
        self._tail_len += len(piece)
        self._evict()

    def _evict(self) -> None:
        """Drop the oldest tail bytes beyond the capacity: skip into the first piece, and pop
        the pieces that are skipped whole."""
        excess = self._tail_len - self._tail_cap
        if excess <= 0:
            return
        tail = self._tail
        skip = self._skip + excess
        while skip >= len(tail[0]):
            skip -= len(tail.popleft())
        self._skip = skip
        self._tail_len = self._tail_cap

    def _tail_bytes(self) -> bytes:
        pieces: list[bytes | memoryview] = [*self._tail]
        if pieces and self._skip:
            pieces[0] = memoryview(pieces[0])[self._skip :]
        return b"".join(pieces)

    def _cuts(self) -> tuple[int, int]:
        """Bytes dropped at the end of the head and the start of the tail, so that no UTF-8
        character is cut in two (none if nothing was dropped: then head and tail touch)."""
        if self._written == self._head_fill + self._tail_len:
            return 0, 0
        head_end = self._head.read(max(0, self._head_fill - 3), self._head_fill)
        tail_start = b""
        skip = self._skip
        for piece in self._tail:  # the first 3 bytes of the tail, across (maybe tiny) pieces
            tail_start += piece[skip : skip + 3 - len(tail_start)]
            skip = 0
            if len(tail_start) == 3:
                break
        return _split_suffix(head_end), _split_prefix(tail_start)

    def _kept_parts(self) -> tuple[bytes, bytes, bool]:
        """Head and tail as kept (a UTF-8 character cut in two is dropped), and whether cut."""
        head_cut, tail_cut = self._cuts()
        head = self._head.read(0, self._head_fill - head_cut)
        tail = self._tail_bytes()[tail_cut:]
        return head, tail, self._written > self._head_fill + self._tail_len

    def _kept(self) -> int:
        head_cut, tail_cut = self._cuts()
        return self._head_fill - head_cut + self._tail_len - tail_cut

    def kept_bytes(self) -> tuple[bytes, bytes]:
        """The kept head and tail as bytes (without the sentinel), for inspection and tests."""
        with self._lock:
            head, tail, _ = self._kept_parts()
        return head, tail

    def stats(self) -> StreamStats:
        """Exact count of bytes written and kept, and where the full stream went."""
        with self._lock:
            return StreamStats(self.name, self._written, self._kept(), self._spill_path())

    def _spill_path(self) -> str | None:
        """The spill file, unless writing it failed: then it does not hold the full output."""
        if self._settled:
            return self._final_spill
        if self.spill is None or self.spill.failed:
            return None
        return self.spill.path

    def settle_spill(self, path: str | None) -> None:
        """Where the full stream is from now on: a spill file kept under its own name, or
        nowhere (the worker's spill file was emptied for the next task)."""
        with self._lock:
            self._settled = True
            self._final_spill = path

    def getvalue(self) -> str:
        """The kept text; where bytes were dropped, a sentinel line says how many and why."""
        if not self._written:  # most captures: nothing written
            return ""
        return self.captured().text

    def captured(self) -> CapturedStream:
        """Kept text and statistics, taken together so they agree."""
        if not self._written:  # the usual case of a capture: nothing was written
            return CapturedStream("", StreamStats(self.name, 0, 0, self._spill_path()))
        with self._lock:
            head, tail, truncated = self._kept_parts()
            stats = StreamStats(self.name, self._written, len(head) + len(tail), self._spill_path())
        if not truncated:  # head and tail are contiguous: a character may span them
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            return CapturedStream(decoder.decode(head) + decoder.decode(tail, True), stats)
        head_text = head.decode("utf-8", "replace")
        separator = "\n" if head_text and not head_text.endswith("\n") else ""
        line = format_sentinel(self.name, stats.written, stats.kept, stats.spill_path)
        text = f"{head_text}{separator}{line}\n{tail.decode('utf-8', 'replace')}"
        return CapturedStream(text, stats)

    def close(self) -> None:
        """Close the sink and finish its spill's part; the kept text stays readable."""
        super().close()
        if self.spill is not None:
            self.spill.finish()


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
        """Binary side of the stream; see :class:`_BinaryFront`."""
        if self._front is None:
            self._front = _BinaryFront(self, self._target)
        return cast("BinaryIO", self._front)

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


def _spill_prefix(label: str, stream: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._")[-80:] or "task"
    return f"{safe}-{stream}-"


def write_private(directory: str, label: str, kind: str, text: str) -> str:
    """``text`` in a new private file (``mkstemp``, 0600) of a spill directory; its path."""
    fd, path = tempfile.mkstemp(prefix=_spill_prefix(label, kind), suffix=".log", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as file:
        file.write(text)
    return path


def _quiet_flush(stream: Any) -> None:
    with contextlib.suppress(Exception):
        if stream is not None and not stream.closed:
            stream.flush()


class TaskCapture:
    """Everything captured in a worker: fd 1/2 and sys.stdout/sys.stderr, bounded, per task.

    ``sys.stdout``/``sys.stderr`` become :class:`BoundedTextIO` streams over the same sinks the
    fd pipes drain into, so ``print``, ``sys.stdout.buffer.write``, ``os.write(1, ...)`` and child
    processes all land in one bounded stream per fd, in flush order.

    Set up once per worker (pipes, drain threads, streams, spill files), it serves one task
    after the other: :meth:`begin` gives the next task fresh sinks (and puts back a replaced
    ``sys.stdout`` or a closed fd 1), :meth:`end` returns what the task wrote. Lifecycle,
    checked: ``initialized`` -> ``started`` (:meth:`start` begins the first part, labelled
    ``label``) -> ``done`` (:meth:`stop` ends the current part and restores everything).
    Between :meth:`end` and :meth:`begin` what arrives is counted, not kept.
    """

    def __init__(
        self, limit: int | None, keep: Keep, spill_dir: str | None, max_spill: int, label: str
    ) -> None:
        self.limit = limit
        self.keep = Keep(keep)
        self.spill_dir = spill_dir
        self.max_spill = max_spill
        self.label = label
        self.spill_paths: dict[str, str | None] = {"stdout": None, "stderr": None}
        self._state = "initialized"
        self._spills: dict[str, Spill | None] = {"stdout": None, "stderr": None}
        self._sinks: list[BoundedSink] = []
        self._captures: list[FdCapture] = []
        self._parked: list[BoundedSink] = []  # one per capture, fed between parts
        self._streams: list[BoundedTextIO] = []
        self._saved: tuple[Any, Any] = (None, None)
        self._segment = ""  # the label of the part being captured ("" between parts)

    def _assert_state(self, operation: str, states: tuple[str, ...]) -> None:
        if self._state not in states:
            raise RuntimeError(
                f"TaskCapture({self.label!r}): cannot {operation}() in state "
                f"{self._state!r}; expected one of {states!r}"
            )

    def start(self, *, spill: bool = True) -> None:
        """Create the spills, redirect fds 1 and 2, replace sys.stdout and sys.stderr, and
        begin the first part (``spill=False``: it is not spilled)."""
        self._assert_state("start", ("initialized",))
        for name in ("stdout", "stderr"):
            if self.spill_dir is not None:
                path = os.path.join(self.spill_dir, spill_name(self.label, name))
                self._spills[name] = Spill.at(path, self.max_spill, stream=name)
            found = self._spills[name]
            self.spill_paths[name] = None if found is None else found.path
        _quiet_flush(sys.stdout)
        _quiet_flush(sys.stderr)
        try:
            for fd, name in ((1, "stdout"), (2, "stderr")):
                parked = BoundedSink(name, 0, self.keep)  # counts what comes between parts
                capture = FdCapture(fd, parked)
                capture.start()
                self._captures.append(capture)
                self._parked.append(parked)
        except BaseException:
            for capture in self._captures:
                capture.stop()
            self._close_spills()
            self._state = "done"
            raise
        self._streams = [self._stream(capture) for capture in self._captures]
        self._saved = (sys.stdout, sys.stderr)
        self._state = "started"
        self.begin(self.label, spill=spill)

    @staticmethod
    def _stream(capture: FdCapture) -> BoundedTextIO:
        return BoundedTextIO.over_fd_capture(capture, line_buffering=capture.fd == 2)

    def begin(self, label: str, *, spill: bool = True) -> None:
        """A new part (a task): fresh sinks, the streams and fds 1/2 put back if a test moved
        them (the fds are checked with one ``fstat`` each)."""
        self._assert_state("begin", ("started",))
        if self._segment:
            raise RuntimeError(f"TaskCapture: begin({label!r}) while {self._segment!r} runs")
        self._segment = label
        self._sinks = []
        for index, capture in enumerate(self._captures):
            name = ("stdout", "stderr")[index]
            found = self._spills[name] if spill else None
            if found is not None:
                found.reset()
            sink = BoundedSink(name, self.limit, self.keep, found)
            self._sinks.append(sink)
            capture.reattach()
            capture.switch(sink)
            stream = self._streams[index]
            if stream.closed:  # a test closed it: a new one, as the next feature expects
                stream = self._streams[index] = self._stream(capture)
            stream.sink = sink
        sys.stdout, sys.stderr = self._streams

    def end(self, keep_longer_than: int | None = None) -> tuple[CapturedStream, CapturedStream]:
        """End the part: what it wrote, stdout and stderr. A spill file stays (renamed, named
        in the text) when its stream was cut, or is longer than ``keep_longer_than`` (a failing
        task's output beyond what the console shows); otherwise it is emptied for the next."""
        self._assert_state("end", ("started",))
        if not self._segment:
            raise RuntimeError("TaskCapture: end() with no part begun")
        for stream in (*self._streams, sys.stdout, sys.stderr):
            _quiet_flush(stream)
        for capture, parked in zip(self._captures, self._parked, strict=True):
            capture.switch(parked)
            capture.reattach()  # a test closed or replaced fd 1/2: put the pipe back
        captured = [self._finish(sink, keep_longer_than) for sink in self._sinks]
        self._segment = ""
        self._sinks = []
        return captured[0], captured[1]

    def _finish(self, sink: BoundedSink, keep_longer_than: int | None) -> CapturedStream:
        spill = sink.spill
        if spill is not None:
            spill.finish()
            stats = sink.stats()
            longer = keep_longer_than is not None and stats.written > keep_longer_than
            if spill.written and not spill.failed and (stats.truncated or longer):
                prefix = _spill_prefix(self._segment, sink.name)
                sink.settle_spill(spill.keep_as(os.path.dirname(spill.path), prefix))
            else:
                sink.settle_spill(None)  # emptied at the next begin: nothing to point to
            sink.spill = None
        captured = sink.captured()
        sink.close()
        return captured

    def stop(self) -> tuple[CapturedStream, CapturedStream]:
        """End the current part and restore everything (even a closed or replaced sys.stdout)."""
        self._assert_state("stop", ("started",))
        try:
            out, err = self.end() if self._segment else (_EMPTY_OUT, _EMPTY_ERR)
        finally:
            self._state = "done"
            sys.stdout, sys.stderr = self._saved
            self._saved = (None, None)
            with contextlib.ExitStack() as stops:  # every capture stops even if one fails
                for capture in self._captures:
                    stops.callback(capture.stop)
            self._close_spills()
        return out, err

    def _close_spills(self) -> None:
        for name, found in self._spills.items():
            if found is not None:
                found.close()
                with contextlib.suppress(OSError):  # the file of no part that must stay
                    if not found.written:
                        os.unlink(found.path)
                        self.spill_paths[name] = None


def spill_name(label: str, stream: str) -> str:
    """The file a worker spills ``stream`` into while a task runs: fixed, so the parent knows
    where to read a dead worker's output without being told."""
    return _spill_prefix(label, stream) + "current.log"


_EMPTY_OUT = CapturedStream("", StreamStats("stdout"))
_EMPTY_ERR = CapturedStream("", StreamStats("stderr"))
