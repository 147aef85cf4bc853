"""behave's own capture, made bounded inside a worker process.

Plain behave 1.3 holds a test's output three times over: ``CaptureController`` gives every
scenario and captured hook an ``io.StringIO``; ``LoggingCapture`` is a ``BufferingHandler``
whose ``flush`` does nothing, so it keeps every ``LogRecord`` of the scenario; and statements
store their captured text even when they pass (``BEHAVE_STORE_CAPTURED_ALWAYS`` defaults on),
so a feature keeps what all its steps printed until it ends. :func:`install` replaces the
first two with bounded sinks (the limit and policy of ``--max-output``/``--keep``) and stops
storing the output of passing steps, scenarios and hooks, unless the user set
``BEHAVE_STORE_CAPTURED_ALWAYS`` explicitly. ``--max-output unlimited`` installs nothing:
it is the original behaviour on purpose.

What a test can still observe: ``context.captured`` / ``scenario.captured`` of a passing
statement is empty (as with ``BEHAVE_STORE_CAPTURED_ALWAYS=off``), and captured text longer
than the limit carries the truncation sentinel where it was cut. Failing statements keep at
most the limit each until their feature ends (the formatter and ``--junit`` read them then).
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from typing import Any

import behave.capture
import behave.model_core
from behave.log_capture import LoggingCapture

from behave_bounded.capture import BoundedTextIO, Keep

#: Records kept for ``find_event``/``any_errors`` (behave's query API); the text is kept
#: separately, bounded in bytes.
RECENT_RECORDS = 1000
STORE_ENV = "BEHAVE_STORE_CAPTURED_ALWAYS"


class BoundedLoggingCapture(LoggingCapture):  # type: ignore[misc]
    """behave's log capture, formatting each record into a bounded text buffer as it comes."""

    limit: int | None = None
    keep: Keep = Keep.BOTH

    def __init__(self, config: Any, level: Any = None) -> None:
        super().__init__(config, level)
        self.clear_buffer()

    def clear_buffer(self) -> None:
        self.buffer: deque[logging.LogRecord] = deque(maxlen=RECENT_RECORDS)
        self._text: BoundedTextIO | None = None  # made at the first record: most log nothing
        self._records = 0

    truncate = clear_buffer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted: logging's own policy
            self.handleError(record)
            return
        if self._text is None:
            self._text = BoundedTextIO("log", self.limit, self.keep)
        self._text.write(("\n" if self._records else "") + text)
        self._records += 1
        self.buffer.append(record)

    def __bool__(self) -> bool:
        return self._records > 0

    def getvalue(self) -> str:
        return "" if self._text is None else self._text.getvalue()


def _bounded_text_factory(limit: int | None, keep: Keep) -> Callable[[], BoundedTextIO]:
    def make() -> BoundedTextIO:
        return BoundedTextIO("captured", limit, keep)

    return make


def install(
    limit: int | None,
    keep: Keep,
    *,
    store_passing: bool = False,
    environ: dict[str, str] | None = None,
) -> bool:
    """Bound behave's capture in this process; returns False when the limit is unlimited.

    ``store_passing`` keeps behave's storing of passing statements' output: its JUnit
    reporter (``--junit``) writes that output into the report, bounded per scenario.
    """
    if limit is None:
        return False
    environ = dict(os.environ) if environ is None else environ
    behave.capture.StringIO = _bounded_text_factory(limit, keep)
    BoundedLoggingCapture.limit = limit
    BoundedLoggingCapture.keep = keep
    behave.capture.LoggingCapture = BoundedLoggingCapture
    if STORE_ENV not in environ and not store_passing:
        # Read by every statement (step, scenario, feature) when it is parsed.
        behave.model_core.BasicStatement.STORE_CAPTURED_ON_SUCCESS = False
    return True


def bound_runner(runner: Any, *, environ: dict[str, str] | None = None) -> None:
    """The runner collects the output of every captured hook for its whole life: not on success."""
    environ = dict(os.environ) if environ is None else environ
    if STORE_ENV not in environ:
        runner.capture_sink.store_on_success = False
