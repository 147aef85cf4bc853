"""The bounded sink: head and tail of everything written, within a limit, counted exactly."""

from __future__ import annotations

import codecs
import collections
import contextlib
import io
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from behave_bounded.capture.sentinel import _split_prefix, _split_suffix, format_sentinel
from behave_bounded.capture.spill import Spill, _byte_view
from behave_bounded.results import CapturedStream, Keep, StreamStats

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

#: Storage is made of blocks of this size, allocated on first use: no growth ever copies.
_BLOCK: Final = 64 * 1024
#: Text the C TextIOWrapper gathers before encoding it and passing it on: one Python-level
#: call to the sink per 256 KiB (at 64 KiB, the call was a quarter of the cost of a chunk).
_TEXT_CHUNK: Final = 256 * 1024
#: Largest immutable chunk the tail keeps by reference rather than copying (memory slack): a
#: whole encoded text chunk.
_REF_MAX: Final = _TEXT_CHUNK


#: Slices a ``str`` handed to a sink is encoded in, so that it is never encoded whole.
_TEXT_SLICE: Final = 1024 * 1024


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
