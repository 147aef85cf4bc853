"""Steps of features/isolation.feature and features/process_tree.feature.

isolation.feature runs the runner with runner_steps' steps (a generated suite, the runner as a
subprocess); the steps here read what such a run printed and left in the process table.
process_tree.feature checks ``behave_bounded.processes`` and ``baseline`` in this process, on
processes its steps start (and end, whatever happens: cleanups kill what is left).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

from behave import given, then, when
from suite_support import marked_processes, suite_dir

from behave_bounded.baseline import Baseline
from behave_bounded.processes import (
    Descendants,
    ProcessInfo,
    descendants_of,
    end_descendants,
    end_with_parent,
    has_children,
    kill,
    process_table,
    read_process,
    reap,
    set_subreaper,
    subreaper,
)
from behave_bounded.results import bounded_warnings


@then('stderr does not contain "{text}"')
def stderr_lacks(context, text):
    assert text not in context.stderr, f"{text!r} in stderr:\n{context.stderr[-3000:]}"


@then('the output or stderr does not contain "{text}"')
def output_and_stderr_lack(context, text):
    for name, stream in (("stdout", context.stdout), ("stderr", context.stderr)):
        assert text not in stream, f"{text!r} in {name}:\n{stream[-3000:]}"


@then('the process in "{name}" is found in the process table by the run\'s marker')
def found_by_marker(context, name):
    """The check "no process of the run is left" relies on: it must see this process."""
    pid = int((suite_dir(context) / name).read_text())
    found = marked_processes(context.marker)
    assert pid in found, f"process {pid} is not found by the marker; found: {found}"


# -- In this process: behave_bounded.processes and behave_bounded.baseline on real processes ----

#: A chain: each process starts the next (argv[1] more of them), writes its pid, and sleeps.
CHAIN = (
    "import os, subprocess, sys, time\n"
    "left = int(sys.argv[1]) - 1\n"
    "if left:\n"
    "    subprocess.Popen([sys.executable, '-c', sys.argv[2], str(left), sys.argv[2]])\n"
    "time.sleep(300)\n"
)


def _running(pid: int) -> bool:
    info = read_process(pid)
    return info is not None and info.alive


def _wait_for_chain(context, length: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        chain = _chain(context)
        if len(chain) == length:
            context.chain = chain
            return
        assert time.monotonic() < deadline, f"{len(chain)} of {length} processes started"
        time.sleep(0.01)


def _chain(context) -> list[ProcessInfo]:
    """The chain's processes now: below the first one, found in /proc."""
    first = read_process(context.chain_root.pid)
    if first is None:
        return []
    return [first, *descendants_of(first.pid, process_table())]


def _start_chain(context, length: int) -> None:
    context.chain_root = subprocess.Popen([sys.executable, "-c", CHAIN, str(length), CHAIN])
    context.add_cleanup(_end_chain, context)
    _wait_for_chain(context, length)


def _end_chain(context) -> None:
    """Cleanup: whatever the scenario left of the chain."""
    for info in getattr(context, "chain", ()):
        kill(info)
    with contextlib.suppress(subprocess.TimeoutExpired):
        context.chain_root.wait(5)


def _subreaper(context, on: bool) -> None:
    before = subreaper()
    context.add_cleanup(set_subreaper, before)
    assert set_subreaper(on), "prctl(PR_SET_CHILD_SUBREAPER) was refused"


@given("this process is a child subreaper")
def become_subreaper(context):
    _subreaper(context, True)


@given("this process is a child subreaper that marked its descendants")
def subreaper_marked(context):
    _subreaper(context, True)
    context.descendants = Descendants()
    context.descendants.mark()


@given("it marked its descendants")
def marked(context):
    context.descendants = Descendants()
    context.descendants.mark()


@given("it has started a chain of {length:d} processes, each the parent of the next")
@when("it starts a chain of {length:d} processes, each the parent of the next")
def start_chain(context, length):
    _start_chain(context, length)


@when("it ends the processes born since the mark")
def end_new(context):
    context.ended = context.descendants.end_new()


@when("it ends the processes born since the mark with no time left")
def end_new_no_time(context):
    context.ended = end_descendants(keep=context.descendants.kept, timeout=0)


@when("it ends all its descendants")
def end_all(context):
    context.ended = context.descendants.end_all()


@then("the {length:d} processes of the chain were ended, and none is left, not even as a zombie")
def chain_ended(context, length):
    chain = {info.identity for info in context.chain}
    assert len(chain) == length, context.chain
    assert {info.identity for info in context.ended} == chain, (context.ended, context.chain)
    left = [info for info in context.chain if read_process(info.pid) is not None]
    assert not left, f"left in the process table: {left}"


@then("the {length:d} processes of the chain are still running")
def chain_running(context, length):
    assert len(context.chain) == length
    assert not context.ended, f"ended: {context.ended}"
    assert all(_running(info.pid) for info in context.chain), _chain(context)


@then("the first process of the chain was signalled")
def first_signalled(context):
    assert context.chain[0].identity in {info.identity for info in context.ended}, context.ended


@then("no process of the chain is left")
def chain_gone(context):
    left = [info for info in context.chain if read_process(info.pid) is not None]
    assert not left, f"left in the process table: {left}"


@given("this process has started a process that sleeps")
def start_sleeper(context):
    context.sleeper = subprocess.Popen(["sleep", "300"])
    context.add_cleanup(context.sleeper.kill)
    info = read_process(context.sleeper.pid)
    assert info is not None and info.alive, info
    context.sleeper_info = info


@then("a process with its pid but another start time is not signalled, and the sleeper runs on")
def other_start_time(context):
    impostor = dataclasses.replace(context.sleeper_info, start=context.sleeper_info.start + 1)
    assert kill(impostor) is False
    time.sleep(0.05)
    assert context.sleeper.poll() is None, "the sleeper was signalled"


@then("without a file descriptor left to check it with, the sleeper is not signalled either")
def no_descriptor_left(context):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowest_free = os.dup(0)  # a new descriptor takes the lowest free number
    os.close(lowest_free)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))  # no descriptor is left
    try:
        signalled = kill(context.sleeper_info)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert signalled is False
    assert context.sleeper.poll() is None, "the sleeper was signalled"


@when("the sleeper is killed and reaped")
def kill_and_reap(context):
    assert kill(context.sleeper_info) is True
    assert reap([context.sleeper.pid], time.monotonic() + 5) == 1
    assert read_process(context.sleeper.pid) is None


@then("signalling it again does nothing")
def signal_again(context):
    assert kill(context.sleeper_info) is False


@then("reaping a process that is not its child returns at once")
def reap_not_child(context):
    started = time.monotonic()
    assert reap([os.getppid()], started + 30) == 0
    assert time.monotonic() - started < 10, "reap waited for a process that is not a child"


@then("reaping the sleeper with no time left returns without it")
def reap_no_time(context):
    assert reap([context.sleeper.pid], time.monotonic()) == 0
    assert context.sleeper.poll() is None


@then("this process has no child left")
def no_child(context):
    assert not has_children(), "a child is left"


@given("this process {state} a child subreaper")
def subreaper_state(context, state):
    _subreaper(context, state == "is")


@when("a supervisor adopts this process's descendants and releases them")
def adopt_release(context):
    descendants = Descendants()
    assert descendants.adopt(), "could not become a subreaper"
    assert subreaper(), "adopt() did not make this process a subreaper"
    descendants.release()


@then("this process {state} a child subreaper")
def subreaper_is(context, state):
    assert subreaper() is (state == "is"), f"subreaper: {subreaper()}"


@then("watching a process that has ended says the parent is gone")
def watch_ended(context):
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert end_with_parent(gone.pid) is False


@then("watching a living process that is not this one's parent says the parent is gone")
def watch_other(context):
    other = subprocess.Popen(["sleep", "300"])
    context.add_cleanup(other.wait)
    context.add_cleanup(other.kill)
    assert end_with_parent(other.pid) is False


@given("a baseline taken in a temporary directory")
def baseline_in_temporary(context):
    context.home = os.getcwd()
    context.add_cleanup(os.chdir, context.home)
    context.doomed = tempfile.mkdtemp(prefix="bb-doomed-")
    context.add_cleanup(shutil.rmtree, context.doomed, True)
    os.chdir(context.doomed)
    context.baseline = Baseline.take()


@when("the directory is removed and the baseline restored")
def remove_and_restore(context):
    os.rmdir(context.doomed)
    try:
        context.drift = context.baseline.restore("features/x.feature")
    finally:
        os.chdir(context.home)


@then("the warning says the worker cannot return there and is retired")
def cannot_return(context):
    (warning,) = context.drift.warnings
    assert warning.startswith(
        "features/x.feature changed the working directory to a directory that was removed; "
        f"the worker cannot return to {context.doomed} ("
    ), warning
    assert warning.endswith(": the worker is retired after it"), warning
    assert context.drift.retire, context.drift


@when("a task leaves {count:d} warnings")
def many_warnings(context, count):
    context.warnings = bounded_warnings([f"warning {number}" for number in range(count)])


@then('its result carries {count:d}, the last saying "{text}"')
def warnings_carried(context, count, text):
    assert len(context.warnings) == count, context.warnings
    assert context.warnings[-1] == text, context.warnings[-1]
    assert context.warnings[: count - 1] == tuple(f"warning {n}" for n in range(count - 1))
