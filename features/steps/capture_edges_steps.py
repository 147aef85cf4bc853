"""In-process checks of the capture module's edges: odd arguments, misuse, bad directories."""

from __future__ import annotations

import array
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from behave import then

from behave_bounded.capture import BoundedSink, BoundedTextIO, Keep, Spill, TaskCapture


def sink() -> BoundedSink:
    return BoundedSink("stdout", 1024, Keep.BOTH)


@then('a sink counts a str of "{text}" as {size:d} bytes')
def sink_str(context, text, size):
    target = sink()
    assert target.write(text) == size
    assert target.stats().written == size
    assert target.getvalue() == text


@then("a sink counts a non-contiguous view of {size:d} bytes as {counted:d} bytes")
def sink_strided(context, size, counted):
    target = sink()
    view = memoryview(bytes(range(256)) * (size // 256 + 1))[:size][::2]
    assert not view.c_contiguous
    assert target.write(view) == counted
    assert target.stats().written == counted


@then("a sink counts a contiguous view of {count:d} two-byte items as {size:d} bytes")
def sink_items(context, count, size):
    target = sink()
    items = array.array("H", range(count))
    assert target.write(memoryview(items)) == size
    assert target.stats().written == size


@then("a sink takes an int without raising and counts nothing")
def sink_int(context):
    target = sink()
    assert target.write(42) == 0  # type: ignore[arg-type]
    assert target.stats().written == 0


@then("a bounded text stream says it is writable")
def text_writable(context):
    stream = BoundedTextIO("stdout", 1024)
    assert stream.writable()
    assert not stream.isatty()


@then("a spill into a directory that is a regular file is refused with one warning")
def spill_into_file(context):
    """In a fresh interpreter: the spill warning is given once per process."""
    with tempfile.TemporaryDirectory() as directory:
        blocker = Path(directory) / "blocker"
        blocker.write_text("a file")
        code = (
            "from behave_bounded.capture import Spill\n"
            f"assert Spill.create({str(blocker)!r}, 'x-', 1024) is None\n"
            f"assert Spill.create({str(blocker)!r}, 'y-', 1024) is None\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False
        )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cannot spill output to") == 1, done.stderr


@then('a spill into "{relative}" makes every level private')
def spill_levels(context, relative):
    with tempfile.TemporaryDirectory() as directory:
        target = os.path.join(directory, relative)
        spill = Spill.create(target, "z-", 1024)
        assert spill is not None
        spill.close()
        for level in (Path(directory) / "a", Path(directory) / "a" / "b"):
            assert stat.S_IMODE(level.stat().st_mode) == 0o700, oct(level.stat().st_mode)


@then("closing a spill twice is harmless")
def spill_twice(context):
    with tempfile.TemporaryDirectory() as directory:
        spill = Spill.create(directory, "t-", 1024)
        assert spill is not None
        spill.write(b"x" * 10)
        spill.close()
        spill.close()
        assert Path(spill.path).read_bytes() == b"x" * 10


@then("stopping a task capture that never started raises a RuntimeError naming the state")
def capture_misuse(context):
    capture = TaskCapture(1024, Keep.BOTH, None, 1024, "misused")
    try:
        capture.stop()
    except RuntimeError as error:
        assert "cannot stop() in state 'initialized'" in str(error), error
    else:
        raise AssertionError("stop() before start() was accepted")
