"""Steps for features/bounded_buffer.feature: bounded capture of a task's output.

Every phrase starts with "a bounded sink", "the bounded sink", "a bounded text stream",
"the bounded text stream" or "the capture", because other step modules share this directory.
Whatever redirects fds 1 and 2 starts and stops inside one step (in try/finally), so a failing
assertion never leaves behave's own output redirected.
"""

from __future__ import annotations

import codecs
import gc
import io
import json
import os
import random
import stat
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

import memray
from behave import given, then, when
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st

import behave_bounded
from behave_bounded.capture import (
    SENTINEL_RE,
    BoundedSink,
    BoundedTextIO,
    FdCapture,
    Keep,
    Spill,
    TaskCapture,
    format_sentinel,
)
from behave_bounded.capture.text import _BinaryFront

GIB = 2**30
UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def size(text: str) -> int | None:
    """'16', '1 MiB', '5000 bytes' or 'unlimited' (None)."""
    if text == "unlimited":
        return None
    number, _, unit = text.partition(" ")
    return int(number) * UNITS[unit or "bytes"]


def numbered_lines(total: int) -> bytes:
    """``total`` bytes of 10-byte numbered lines: every position says where it came from."""
    return b"".join(b"%09d\n" % i for i in range(total // 10))


def python_env() -> dict[str, str]:
    """The environment for a child Python that must import this checkout's behave_bounded."""
    source = os.path.dirname(os.path.dirname(os.path.abspath(behave_bounded.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    return env


def heap_peak(action: Any) -> int:
    """Peak heap (bytes) memray sees while ``action()`` runs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "heap.bin")
        with memray.Tracker(path):
            action()
        return int(memray.FileReader(path).metadata.peak_memory)


# --- the property --------------------------------------------------------------------------


def caps(limit: int | None, keep: Keep) -> tuple[int | None, int]:
    """Head and tail capacity as the brief defines them: both = 1/4 head, 3/4 tail."""
    if limit is None:
        return None, 0
    if keep is Keep.HEAD:
        return limit, 0
    if keep is Keep.TAIL:
        return 0, limit
    return limit // 4, limit - limit // 4


def expected_kept(data: bytes, limit: int, keep: Keep) -> tuple[bytes, bytes]:
    """Prefix and suffix a correct sink keeps of a truncated stream.

    The prefix loses what a UTF-8 decoder fed the whole prefix still waits for (a character cut
    in two); the suffix loses at most 3 leading continuation bytes (the rest of such one).
    """
    head_cap, tail_cap = caps(limit, keep)
    assert head_cap is not None
    head = data[:head_cap]
    tail = data[len(data) - tail_cap :] if tail_cap else b""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    decoder.decode(head, False)
    head = head[: len(head) - len(decoder.getstate()[0])]
    lead = 0
    while lead < min(3, len(tail)) and 0x80 <= tail[lead] <= 0xBF:
        lead += 1
    return head, tail[lead:]


def deliver(chunk: bytes, how: str) -> Any:
    if how == "bytearray":
        return bytearray(chunk)
    if how == "memoryview":
        return memoryview(b"<" + chunk + b">")[1:-1]  # a slice of a larger object
    return chunk


utf8_chunks = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\ufffd"), max_size=40
).map(str.encode)
big_chunks = st.builds(  # crossing the sink's 64 KiB blocks and its by-reference limit
    lambda n, seed: random.Random(seed).randbytes(n),  # noqa: S311  (test data, not secrets)
    st.integers(20_000, 300_000),
    st.integers(0, 2**32),
)
any_chunks = st.one_of(
    st.binary(max_size=64), utf8_chunks, st.binary(min_size=200, max_size=1500), big_chunks
)
deliveries = st.sampled_from(["bytes", "bytearray", "memoryview"])
write_plans = st.one_of(
    st.tuples(st.just(True), st.lists(st.tuples(utf8_chunks, deliveries), max_size=30)),
    st.tuples(st.just(False), st.lists(st.tuples(any_chunks, deliveries), max_size=30)),
)


@settings(
    max_examples=600,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@hypothesis_given(
    plan=write_plans,
    limit=st.one_of(st.none(), st.integers(0, 400), st.integers(60_000, 400_000)),
    keep=st.sampled_from(list(Keep)),
)
def check_head_and_tail(
    plan: tuple[bool, list[tuple[bytes, str]]], limit: int | None, keep: Keep
) -> None:
    text_only, writes = plan
    sink = BoundedSink("stdout", limit, keep)
    for chunk, how in writes:
        assert sink.write(deliver(chunk, how)) == len(chunk)
    data = b"".join(chunk for chunk, _ in writes)
    stats = sink.stats()
    head, tail = sink.kept_bytes()
    text = sink.getvalue()
    assert stats.written == len(data)
    assert stats.kept == len(head) + len(tail)
    assert stats.dropped == stats.written - stats.kept
    if limit is None or len(data) <= limit:
        assert head + tail == data
        assert not stats.truncated
        assert text == data.decode("utf-8", "replace")
        return
    assert stats.kept <= limit
    assert (head, tail) == expected_kept(data, limit, keep)
    head_text = head.decode("utf-8", "replace")
    separator = "\n" if head_text and not head_text.endswith("\n") else ""
    sentinel = format_sentinel("stdout", len(data), stats.kept, None)
    assert text == f"{head_text}{separator}{sentinel}\n{tail.decode('utf-8', 'replace')}"
    match = SENTINEL_RE.search(text)
    assert match is not None
    assert int(match["written"]) == len(data)
    assert int(match["kept"]) == stats.kept
    assert int(match["dropped"]) == len(data) - stats.kept
    if text_only:  # valid UTF-8 in: a U+FFFD out could only be a character cut in two
        assert "\ufffd" not in text, text


@then("the bounded sink keeps the head and tail of any sequence of writes")
def step_property(context: Any) -> None:
    check_head_and_tail()


# --- sinks and text streams ----------------------------------------------------------------


@given("a bounded sink fed through {route} with limit {limit}")
def step_sink_route(context: Any, route: str, limit: str) -> None:
    if route == "the sink itself":
        sink = BoundedSink("stdout", size(limit))
        context.bounded_write = sink.write
    elif route == "a text stream's buffer":
        stream = BoundedTextIO("stdout", size(limit))
        sink = stream.sink
        context.bounded_stream = stream
        context.bounded_write = stream.buffer.write
    else:
        raise ValueError(route)
    context.bounded_sink = sink


@when("the bounded sink receives one 1 GiB bytes object while memray tracks the heap")
def step_one_gib(context: Any) -> None:
    big = [b"x" * GIB]  # allocated before tracking: only what the write allocates counts
    returned: list[int] = []
    context.bounded_peak = heap_peak(lambda: returned.append(context.bounded_write(big[0])))
    big.clear()
    assert returned == [GIB]


@then("the bounded sink's peak heap during the write was below {bound}")
def step_peak_below(context: Any, bound: str) -> None:
    limit = size(bound)
    assert limit is not None
    assert context.bounded_peak < limit, f"peak heap {context.bounded_peak} >= {limit}"


@then("the bounded sink's peak heap during the write was at least {bound}")
def step_peak_at_least(context: Any, bound: str) -> None:
    limit = size(bound)
    assert limit is not None
    assert context.bounded_peak >= limit, f"peak heap {context.bounded_peak} < {limit}"


@then("the bounded sink counted {written:d} bytes written and {kept:d} kept")
def step_counted(context: Any, written: int, kept: int) -> None:
    stats = context.bounded_sink.stats()
    assert (stats.written, stats.kept) == (written, kept), stats


@given('a bounded sink named "{name}" with limit {limit} keeping {keep:w}')
def step_named_sink(context: Any, name: str, limit: str, keep: str) -> None:
    context.bounded_sink = BoundedSink(name, size(limit), Keep(keep))


@given(
    'a bounded sink named "{name}" with limit {limit:d} keeping {keep:w}, '
    "spilling at most {cap:d} bytes to a new directory"
)
def step_spilling_sink(context: Any, name: str, limit: int, keep: str, cap: int) -> None:
    tmp = tempfile.TemporaryDirectory()
    context.add_cleanup(tmp.cleanup)
    context.bounded_spill_root = tmp.name
    directory = os.path.join(tmp.name, "made", "private")  # parents are created too
    spill = Spill.create(directory, "task-stdout-", cap, stream=name)
    assert spill is not None
    context.bounded_spill = spill
    context.bounded_sink = BoundedSink(name, limit, Keep(keep), spill)


@when('the bounded sink is written the text "{text}"')
def step_write_text(context: Any, text: str) -> None:
    data = text.encode()
    assert context.bounded_sink.write(data) == len(data)


@when("the bounded sink receives {total:d} bytes of numbered lines")
def step_numbered(context: Any, total: int) -> None:
    data = numbered_lines(total)
    context.bounded_data = data
    for start in range(0, len(data), 333):  # uneven pieces, crossing every boundary
        context.bounded_sink.write(data[start : start + 333])


@when("the bounded sink is closed")
def step_close_sink(context: Any) -> None:
    context.bounded_sink.close()


# --- writers on several threads --------------------------------------------------------------

#: Records per piece, and how often: 9 bytes (one record) up to both sides of the 256 KiB
#: by-reference limit (29,127 records are 262,143 bytes, kept by reference; 29,128 are 262,152,
#: copied). Mostly small pieces: many writes, each evicting a few older pieces of the tail.
PIECE_RECORDS = (1, 7, 100, 1000, 7281, 29127, 29128)
PIECE_WEIGHTS = (4, 4, 4, 4, 2, 1, 1)


def thread_pieces(thread: int, count: int) -> list[tuple[bytes, str]]:
    """``count`` pieces of whole 9-byte records ``b"T.NNNNNN\\n"`` naming (thread, piece), each
    with how it is delivered: as ``bytes`` (the sink's lock-protected fast path) or as a
    bytearray or memoryview (its copying path)."""
    rng = random.Random(thread)  # noqa: S311  (test data, not secrets)
    pieces = []
    for number in range(count):
        records = rng.choices(PIECE_RECORDS, PIECE_WEIGHTS)[0]
        data = b"%d.%06d\n" % (thread, number) * records
        pieces.append((data, rng.choice(["bytes", "bytes", "bytes", "bytearray", "memoryview"])))
    return pieces


@when(
    "{threads:d} threads write {count:d} pieces each into the bounded sink at once, "
    "switching threads every microsecond"
)
def step_threads_write(context: Any, threads: int, count: int) -> None:
    sink = context.bounded_sink
    plans = [thread_pieces(thread, count) for thread in range(threads)]
    start = threading.Barrier(threads)
    problems: list[str] = []

    def writer(plan: list[tuple[bytes, str]]) -> None:
        start.wait()
        for data, how in plan:
            answer = sink.write(deliver(data, how))
            if answer != len(data):
                problems.append(f"write of {len(data)} bytes returned {answer}")

    workers = [threading.Thread(target=writer, args=(plan,), daemon=True) for plan in plans]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # a thread switch inside nearly every write
    try:
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 60
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
    finally:
        sys.setswitchinterval(interval)
    stuck = sum(worker.is_alive() for worker in workers)
    assert not stuck, f"{stuck} writer thread(s) still in the sink after 60 s"
    assert not problems, problems[:5]
    context.bounded_plans = plans


@then("the bounded sink counted every byte of every thread and kept exactly {limit}")
def step_threads_counted(context: Any, limit: str) -> None:
    total = sum(len(data) for plan in context.bounded_plans for data, _ in plan)
    stats = context.bounded_sink.stats()
    head, tail = context.bounded_sink.kept_bytes()
    assert stats.written == total, (stats, total)
    assert stats.kept == size(limit), stats
    assert (len(head), len(tail)) == (stats.kept // 4, stats.kept - stats.kept // 4), stats


@then("every write the bounded sink kept is whole and in its thread's order")
def step_threads_whole(context: Any) -> None:
    records_of = {
        (thread, number): len(data) // 9
        for thread, plan in enumerate(context.bounded_plans)
        for number, (data, _) in enumerate(plan)
    }
    for part in context.bounded_sink.kept_bytes():  # the head ends and the tail starts mid-record
        runs: list[list[Any]] = []  # [piece, records seen in a row]
        for record in part.split(b"\n")[1:-1]:
            thread, _, number = record.partition(b".")
            piece = (int(thread), int(number))
            if runs and runs[-1][0] == piece:
                runs[-1][1] += 1
            else:
                runs.append([piece, 1])
        last: dict[int, int] = {}
        for index, (piece, seen) in enumerate(runs):
            thread, number = piece
            assert number > last.get(thread, -1), f"piece {piece} out of order or torn"
            last[thread] = number
            if 0 < index < len(runs) - 1:  # neither cut by the head's end nor the tail's start
                assert seen == records_of[piece], f"piece {piece}: {seen} of {records_of[piece]}"


@then("the bounded sink's text is exactly:")
def step_text_exactly(context: Any) -> None:
    assert context.bounded_sink.getvalue() == context.text, repr(context.bounded_sink.getvalue())


@then(
    'the bounded sink\'s sentinel says stream "{stream}", {written:d} written, {kept:d} kept, '
    "{dropped:d} dropped"
)
def step_sentinel_counts(context: Any, stream: str, written: int, kept: int, dropped: int) -> None:
    text = context.bounded_sink.getvalue()
    matches = list(SENTINEL_RE.finditer(text))
    assert len(matches) == 1, text
    found = matches[0]
    assert found["stream"] == stream
    assert (int(found["written"]), int(found["kept"]), int(found["dropped"])) == (
        written,
        kept,
        dropped,
    )
    line = next(line for line in text.splitlines() if SENTINEL_RE.search(line))
    assert SENTINEL_RE.fullmatch(line), line  # the sentinel is a line of its own
    assert context.bounded_sink.stats().kept == kept


@then('the bounded sink\'s sentinel says full output "{path}"')
def step_sentinel_path(context: Any, path: str) -> None:
    found = SENTINEL_RE.search(context.bounded_sink.getvalue())
    assert found is not None
    assert found["path"] == path


@then("the bounded sink's sentinel names the spill file")
def step_sentinel_names_spill(context: Any) -> None:
    found = SENTINEL_RE.search(context.bounded_sink.getvalue())
    assert found is not None
    assert found["path"] == context.bounded_spill.path
    assert context.bounded_sink.stats().spill_path == context.bounded_spill.path


@then(
    "the bounded sink's spill file holds the first {cap:d} bytes of the stream "
    "and then a sentinel line"
)
def step_spill_content(context: Any, cap: int) -> None:
    with open(context.bounded_spill.path, "rb") as spilled:
        content = spilled.read()
    data = context.bounded_data
    assert content[:cap] == data[:cap]
    rest = content[cap:].decode()
    assert rest.endswith("\n") and rest.count("\n") == 1, rest
    found = SENTINEL_RE.fullmatch(rest[:-1])
    assert found is not None, rest
    assert (int(found["written"]), int(found["kept"])) == (len(data), cap)
    assert found["path"] == "none"


@then("the bounded sink's spill file is private: mode 0600 in a directory of mode 0700")
def step_spill_private(context: Any) -> None:
    path = context.bounded_spill.path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    leaf = os.path.dirname(path)
    for directory in (leaf, os.path.dirname(leaf)):
        assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700, directory


@given("a bounded text stream with limit {limit}")
def step_text_stream(context: Any, limit: str) -> None:
    context.bounded_stream = BoundedTextIO("stdout", size(limit))


@when(
    "{threads:d} threads ask the bounded text stream for its buffer at once and write through"
    " it, switching threads every microsecond"
)
def step_threads_buffer(context: Any, threads: int) -> None:
    """The race of the first ``sys.stdout.buffer.write`` from many threads (a suite's writer
    threads right after a barrier): each must get the one buffer, none may close the stream."""
    stream = context.bounded_stream
    start = threading.Barrier(threads)
    fronts: list[Any] = []
    problems: list[str] = []

    def writer(number: int) -> None:
        start.wait()
        try:
            front = stream.buffer
            fronts.append(front)
            front.write(f"thread {number:02d}\n".encode())
            stream.write(f"text {number:02d}\n")
        except Exception as error:  # what a test thread would have raised
            problems.append(f"thread {number}: {error!r}")

    workers = [threading.Thread(target=writer, args=(n,), daemon=True) for n in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # a thread switch inside nearly every line of Python
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    finally:
        sys.setswitchinterval(interval)
    gc.collect()  # a second front, if one was made, is collected now
    assert not problems, problems[:5]
    context.bounded_fronts = fronts


@then("every thread got the same buffer and the bounded text stream is still open")
def step_one_buffer(context: Any) -> None:
    stream = context.bounded_stream
    assert len({id(front) for front in context.bounded_fronts}) == 1, "several .buffer objects"
    assert not stream.closed, "the text stream was closed"
    stream.write("still open\n")
    value = stream.getvalue()
    assert value.endswith("still open\n"), value[-200:]
    assert value.count("thread ") == len(context.bounded_fronts) == value.count("text "), value


@then("a second front made for the bounded text stream and dropped leaves the stream open")
def step_dropped_front(context: Any) -> None:
    stream = context.bounded_stream
    extra = _BinaryFront(stream, stream._target)
    del extra
    gc.collect()
    assert not stream.closed, "collecting a second front closed the text stream"


@when("the bounded text stream gets text, invalid UTF-8 through its buffer and a lone surrogate")
def step_text_stream_mixed(context: Any) -> None:
    stream = context.bounded_stream
    stream.write("before ")
    stream.buffer.write(b"\xff\xfe")
    stream.write(" after \udc80 end\n")  # unencodable: must not raise into the test
    stream.flush()


@then("the bounded text stream's value has one U+FFFD per invalid byte and the escaped surrogate")
def step_text_stream_value(context: Any) -> None:
    value = context.bounded_stream.getvalue()
    assert value == "before \ufffd\ufffd after \\udc80 end\n", repr(value)


# --- spill fallbacks, in a fresh process (the warning is once per process) ------------------

UNWRITABLE_SPILL = """
import json, tempfile
from behave_bounded.capture import BoundedSink, Spill
with tempfile.NamedTemporaryFile() as plain:
    directory = plain.name + "/spill"  # under a regular file: ENOTDIR, even for root
    first = Spill.create(directory, "stdout-", 1000, stream="stdout")
    second = Spill.create(directory, "stderr-", 1000, stream="stderr")
    sink = BoundedSink("stdout", 10, spill=first)
    sink.write(b"x" * 100)
    sink.close()
    print(json.dumps({"directory": directory, "spills": [first, second] == [None, None],
                      "text": sink.getvalue()}))
"""

FULL_DISK_SPILL = """
import json, os
from behave_bounded.capture import BoundedSink, Spill
first = Spill(os.open("/dev/full", os.O_WRONLY), "/dev/full", 10**6, stream="stdout")
sink = BoundedSink("stdout", 10, spill=first)
sink.write(b"x" * 100)
sink.write(b"y" * 100)
second = Spill(os.open("/dev/full", os.O_WRONLY), "/dev/full", 10**6, stream="stderr")
second.write(b"z" * 10)
second.close()
sink.close()
stats = sink.stats()
print(json.dumps({"directory": "/dev/full", "written": stats.written, "kept": stats.kept,
                  "text": sink.getvalue()}))
"""


def run_python(context: Any, code: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=python_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    context.bounded_child = json.loads(result.stdout)
    context.bounded_child_stderr = result.stderr


@when("the capture tries twice to spill under a regular file, in a fresh Python process")
def step_spill_unwritable(context: Any) -> None:
    run_python(context, UNWRITABLE_SPILL)
    assert context.bounded_child["spills"] is True


@when("the capture spills twice to /dev/full, in a fresh Python process")
def step_spill_full(context: Any) -> None:
    run_python(context, FULL_DISK_SPILL)


def check_one_warning(context: Any, target: str, reason: str) -> None:
    lines = context.bounded_child_stderr.splitlines()
    expected = (
        f"behave-bounded: warning: cannot spill output to {target}: {reason}; "
        "keeping truncated output only"
    )
    assert lines == [expected], lines


@then("the capture process warned exactly once that it cannot spill to that directory")
def step_one_warning_directory(context: Any) -> None:
    check_one_warning(context, context.bounded_child["directory"], os.strerror(20))  # ENOTDIR


@then("the capture process warned exactly once that it cannot spill to /dev/full")
def step_one_warning_full(context: Any) -> None:
    check_one_warning(context, "/dev/full", os.strerror(28))  # ENOSPC


@then('the capture process kept truncated output saying "full output: none"')
def step_child_truncated(context: Any) -> None:
    text = context.bounded_child["text"]
    found = SENTINEL_RE.search(text)
    assert found is not None, text
    assert found["path"] == "none"
    assert (int(found["written"]), int(found["kept"])) == (100, 10)


@then("the capture process still kept the truncated output")
def step_child_kept(context: Any) -> None:
    child = context.bounded_child
    assert (child["written"], child["kept"]) == (200, 10)
    assert child["text"].startswith("xx\n[behave-bounded: stdout truncated: 200 bytes written")
    assert child["text"].endswith("y" * 8)


# --- FdCapture ----------------------------------------------------------------------------

WRITE_64_MIB = "import os\nos.write(1, b'x' * 64 * 2**20)"
WRITE_FOREVER = "import os\nwhile True:\n    os.write(1, b'y' * 65536)"


@when("the capture of fd 1 runs a child process that writes 64 MiB to fd 1")
def step_child_64(context: Any) -> None:
    capture = FdCapture(1, context.bounded_sink)

    def run() -> None:
        capture.start()
        try:
            subprocess.run([sys.executable, "-c", WRITE_64_MIB], check=True, timeout=120)
        finally:
            capture.stop()

    context.bounded_peak = heap_peak(run)


@then("the capture's peak heap stayed below {bound}")
def step_capture_peak(context: Any, bound: str) -> None:
    limit = size(bound)
    assert limit is not None
    assert context.bounded_peak < limit, f"peak heap {context.bounded_peak} >= {limit}"


@when("the capture of fd 1 is stopped while a process it started keeps writing to fd 1")
def step_grandchild(context: Any) -> None:
    sink = context.bounded_sink
    capture = FdCapture(1, sink)
    context.bounded_capture = capture
    capture.start()
    writer = None
    try:
        writer = subprocess.Popen([sys.executable, "-c", WRITE_FOREVER])
        deadline = time.monotonic() + 20
        while sink.stats().written < 4 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.01)  # until it really writes into the pipe
    finally:
        stopper = threading.Thread(target=capture.stop, daemon=True)
        started = time.monotonic()
        stopper.start()
        stopper.join(timeout=30)
        context.bounded_stop_seconds = time.monotonic() - started
        context.bounded_stop_returned = not stopper.is_alive()
        if writer is not None:
            context.bounded_writer_running = writer.poll() is None
            context.bounded_after_stop = sink.stats().written
            time.sleep(0.5)
            context.bounded_later = sink.stats().written
            writer.kill()
            writer.wait(timeout=30)
        stopper.join(timeout=30)  # if stop() hung, the kill above has released it


@then("the capture's stop() returned within {seconds:d} seconds, the writer still running")
def step_stop_prompt(context: Any, seconds: int) -> None:
    assert context.bounded_stop_returned, "stop() did not return while the writer ran"
    assert context.bounded_stop_seconds < seconds, context.bounded_stop_seconds
    assert context.bounded_writer_running, "the writer had stopped: nothing was tested"


@then("the bounded sink counted nothing after the capture stopped")
def step_nothing_after(context: Any) -> None:
    assert context.bounded_sink.stats().written > 0
    assert context.bounded_later == context.bounded_after_stop


@then("the capture's discarding thread ended once the writer was killed")
def step_discarder_ended(context: Any) -> None:
    thread = context.bounded_capture._thread
    assert thread is not None
    thread.join(timeout=10)
    assert not thread.is_alive()


def refused(action: Any, state: str) -> None:
    """``action()`` must raise RuntimeError naming the state it was refused in."""
    try:
        action()
    except RuntimeError as error:
        message = str(error)
    else:
        raise AssertionError(f"{action} did not raise")
    assert f"state {state!r}" in message, message


@then("the capture of fd 1 refuses to stop before it started")
def step_refuse_stop(context: Any) -> None:
    refused(FdCapture(1, context.bounded_sink).stop, "initialized")


@then("the capture of fd 1 refuses to start twice or stop twice")
def step_refuse_twice(context: Any) -> None:
    capture = FdCapture(1, context.bounded_sink)
    capture.start()
    try:
        refused(capture.start, "started")
    finally:
        capture.stop()
    refused(capture.stop, "done")


# --- TaskCapture --------------------------------------------------------------------------


def run_task(context: Any, task: Any, limit: int = 2**20, spill_dir: str | None = None) -> None:
    """Run ``task()`` under a TaskCapture (started and stopped here) and keep what it saw."""
    before = (sys.stdout, sys.stderr)
    capture = TaskCapture(limit, Keep.BOTH, spill_dir, 2**20, "features/demo.feature:3")
    capture.start()
    context.bounded_spill_paths = dict(capture.spill_paths)
    try:
        task()
    finally:
        context.bounded_out, context.bounded_err = capture.stop()
    context.bounded_restored = sys.stdout is before[0] and sys.stderr is before[1]


@when("the capture runs a task that writes to stdout and stderr in every way")
def step_task_every_way(context: Any) -> None:
    def task() -> None:
        probe = sys.stdout
        context.bounded_probe = {
            "encoding": probe.encoding,
            "errors": probe.errors,
            "isatty": probe.isatty(),
            "fileno": probe.fileno(),
            "buffer fileno": probe.buffer.fileno(),
            "stderr fileno": sys.stderr.fileno(),
        }
        print("one")
        sys.stdout.flush()
        os.write(1, b"two\n")
        sys.stdout.buffer.write(b"three\n")
        subprocess.run([sys.executable, "-c", "import os; os.write(1, b'four\\n')"], check=True)
        sys.stdout.writelines(["fi", "ve\n"])
        print("err one", file=sys.stderr)
        os.write(2, b"err two\n")

    run_task(context, task)


@when('the capture runs a task that prints "before" and closes sys.stdout')
def step_task_closes(context: Any) -> None:
    def task() -> None:
        print("before")
        sys.stdout.close()

    run_task(context, task)


@when("the capture runs a task that replaces sys.stdout with a StringIO")
def step_task_replaces(context: Any) -> None:
    def task() -> None:
        print("before")
        sys.stdout = io.StringIO()
        print("into the StringIO")

    run_task(context, task)


@when('the capture runs a task that forks a child which prints "{text}"')
def step_task_forks(context: Any, text: str) -> None:
    def task() -> None:
        print("from the parent", flush=True)
        pid = os.fork()
        if pid == 0:  # the child: its sys.stdout is a copy of the parent's captured stream
            try:
                print(text)
                sys.stdout.flush()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    run_task(context, task)


@when("the capture runs a task printing {total:d} bytes with limit {limit:d} and a spill directory")
def step_task_spills(context: Any, total: int, limit: int) -> None:
    tmp = tempfile.TemporaryDirectory()
    context.add_cleanup(tmp.cleanup)
    data = numbered_lines(total).decode()
    context.bounded_data = data

    def task() -> None:
        for line in data.splitlines(keepends=True):
            print(line, end="")

    run_task(context, task, limit=limit, spill_dir=os.path.join(tmp.name, "spill"))


@then("the capture's stdout text is exactly:")
def step_task_stdout(context: Any) -> None:
    assert context.bounded_out.text == context.text + "\n", repr(context.bounded_out.text)


@then("the capture's stderr text is exactly:")
def step_task_stderr(context: Any) -> None:
    assert context.bounded_err.text == context.text + "\n", repr(context.bounded_err.text)


@then("the capture restored sys.stdout and sys.stderr")
def step_task_restored(context: Any) -> None:
    assert context.bounded_restored


@then("the capture's sys.stdout looked like a real stdout on fd 1")
def step_task_probe(context: Any) -> None:
    assert context.bounded_probe == {
        "encoding": "utf-8",
        "errors": "backslashreplace",
        "isatty": False,
        "fileno": 1,
        "buffer fileno": 1,
        "stderr fileno": 2,
    }, context.bounded_probe


@then(
    "the capture's stdout sentinel names a file of its own in the spill directory, not the one "
    "it spilled into while the task ran"
)
def step_task_sentinel(context: Any) -> None:
    current = context.bounded_spill_paths["stdout"]
    assert current is not None
    assert context.bounded_spill_paths["stderr"] is not None
    kept = context.bounded_out.stats.spill_path
    assert kept is not None and kept != current, (kept, current)
    assert os.path.dirname(kept) == os.path.dirname(current), (kept, current)
    assert oct(os.stat(kept).st_mode & 0o777) == "0o600"
    found = SENTINEL_RE.search(context.bounded_out.text)
    assert found is not None, context.bounded_out.text
    assert found["path"] == kept
    assert int(found["written"]) == len(context.bounded_data)
    assert not os.path.exists(current), "the task's spill file of the worker was left behind"


@then("the capture's stdout spill file holds all {total:d} bytes")
def step_task_spill_file(context: Any, total: int) -> None:
    with open(context.bounded_out.stats.spill_path, encoding="utf-8") as spilled:
        content = spilled.read()
    assert len(content) == total
    assert content == context.bounded_data
