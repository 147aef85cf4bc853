"""Bounded capture of a task's stdout and stderr.

The old runner kept each worker's output in :class:`io.StringIO` and shipped all of it to the
parent, so a test printing gigabytes took the run down. Here every stream is held by a
:class:`BoundedSink`: the first quarter of the limit (the head, where the setup and the first
error usually are) and a ring with the last three quarters (the tail, where the failure is),
optionally with the full stream spilled to a size-capped file. Python-level writes reach the
sink through a C :class:`io.TextIOWrapper`, so ``print`` stays in C and the Python sink runs
once per 256 KiB; fd-level writes (child processes, ``os.write``, C code) reach it through a
pipe drained by a thread (:class:`FdCapture`).

One module per noun: ``sentinel`` (the truncation line), ``spill`` (spill files and their one
warning), ``sink`` (:class:`BoundedSink`), ``text`` (:class:`BoundedTextIO`), ``fd``
(:class:`FdCapture`) and ``task`` (:class:`TaskCapture`, a worker's capture for its life).
"""

from behave_bounded.capture.fd import FdCapture
from behave_bounded.capture.sentinel import SENTINEL_RE, format_sentinel
from behave_bounded.capture.sink import BoundedSink
from behave_bounded.capture.spill import Spill, spill_name, warn_through, write_private
from behave_bounded.capture.task import TaskCapture
from behave_bounded.capture.text import BoundedTextIO
from behave_bounded.results import Keep

__all__ = [
    "SENTINEL_RE",
    "BoundedSink",
    "BoundedTextIO",
    "FdCapture",
    "Keep",
    "Spill",
    "TaskCapture",
    "format_sentinel",
    "spill_name",
    "warn_through",
    "write_private",
]
