"""A worker's capture for its whole life, one part per task: the sinks, the streams, the fds."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Any

from behave_bounded.capture.fd import FdCapture
from behave_bounded.capture.sink import BoundedSink
from behave_bounded.capture.spill import Spill, _spill_prefix, spill_name
from behave_bounded.capture.text import BoundedTextIO
from behave_bounded.results import CapturedStream, Keep, StreamStats

if TYPE_CHECKING:
    pass


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


_EMPTY_OUT = CapturedStream("", StreamStats("stdout"))
_EMPTY_ERR = CapturedStream("", StreamStats("stderr"))
