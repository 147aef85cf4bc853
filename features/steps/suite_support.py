"""Helpers the step files share: the generated suite, bounded reads, the run's processes.

Not a step file of its own (behave executes it like one, harmlessly: it defines no step). Step
files import it by name, because the steps directory is on ``sys.path`` while behave loads
them; a step file cannot import another step file without registering its steps twice.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from behave_bounded.config import CI_SHARD_VARIABLES

#: Bytes of the runner's output read back for assertions (the head and the tail).
READ_LIMIT = 4 * 2**20


def suite_dir(context) -> Path:
    if not hasattr(context, "suite"):
        holder = tempfile.TemporaryDirectory(prefix="bb-suite-")
        context.add_cleanup(holder.cleanup)
        context.suite = Path(holder.name)
        (context.suite / "features" / "steps").mkdir(parents=True)
        context.marker = f"bb-{os.getpid()}-{time.monotonic_ns()}"
    return context.suite


def runner_command(args: str, module: str = "behave_bounded") -> list[str]:
    return [sys.executable, "-m", module, *shlex.split(args)]


def runner_env(context, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a user's shell gives the runner: none of our settings, no CI shard."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEHAVE_BOUNDED_")}
    env.pop("CI_MAX_PROCESSES", None)
    for ci in CI_SHARD_VARIABLES:  # a CI running these features must not shard their suites
        env.pop(ci.index, None)
        env.pop(ci.total, None)
    env["BB_TEST_MARKER"] = context.marker
    env.update(getattr(context, "extra_env", {}))
    env.update(extra or {})
    return env


def write(context, relative: str, text: str) -> None:
    path = suite_dir(context) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def write_numbered_features(context, count: int, steps: str) -> None:
    """``count`` one-scenario features ``features/r_NN.feature`` whose scenario has ``steps``
    (step lines, each indented and ending in a newline)."""
    for number in range(count):
        write(
            context,
            f"features/r_{number:02d}.feature",
            f"Feature: records {number}\n  Scenario: records {number}\n{steps}",
        )


def read_bounded(path: Path) -> str:
    size = path.stat().st_size
    with open(path, "rb") as stream:
        if size <= READ_LIMIT:
            return stream.read().decode("utf-8", "replace")
        head = stream.read(READ_LIMIT // 2)
        stream.seek(size - READ_LIMIT // 2)
        return (head + b"\n[...test read limit...]\n" + stream.read()).decode("utf-8", "replace")


def marked_processes(marker: str) -> list[int]:
    """Living processes (not zombies) of the whole process table that carry the run's marker:
    in their environment (``BB_TEST_MARKER``, inherited from the runner) or, for a process
    that dropped its environment, anywhere in its command line."""
    needle = f"BB_TEST_MARKER={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        marked = needle in environ.split(b"\0") or marker.encode() in cmdline
        if marked and state != "Z":
            found.append(int(entry.name))
    return found


def kill_leftovers(context) -> None:
    for pid in marked_processes(context.marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
