"""A child process run under ``memray run``, measured: its heap, its RSS, its forked workers.

Test helpers (the features measure the runner and generated suites with them), kept apart from
the budgets of :mod:`behave_bounded.memory`. memray is imported only inside the functions
that need it.

* **peak heap** (``ProcessMemory.peak_heap``, ``ChildMemory.peak_heap``): memray's high-water
  mark of the bytes a process allocated while tracked and had not freed.
* **peak RSS** (``ChildMemory.peak_rss``): the kernel's maximum resident set size of the child
  process (``wait4`` rusage), i.e. everything resident: interpreter, libraries, the heap and
  memray's own bookkeeping. ``ProcessMemory.sampled_peak_rss`` is the largest of memray's RSS
  samples (one every 10 ms), so it can miss a short spike; ``ChildMemory.peak_rss_growth`` is
  the peak RSS minus memray's first sample.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessMemory:
    """One process of the measured tree, from its memray capture file."""

    pid: int
    #: memray's high-water mark of this process; a forked child counts only what it allocated
    #: after the fork (pages inherited from the parent are not allocations of the child).
    peak_heap: int
    #: Largest RSS sample memray took (every 10 ms), ``None`` without a sample.
    sampled_peak_rss: int | None
    total_allocations: int
    #: memray's first RSS sample, taken when tracking started; ``None`` without a sample.
    start_rss: int | None = None


@dataclass(frozen=True)
class ChildMemory:
    """What :func:`run_under_memray` measured; ``processes[0]`` is the child itself."""

    returncode: int
    #: memray's high-water mark of the child's heap (``processes[0].peak_heap``).
    peak_heap: int
    #: The kernel's maximum RSS of the child (not of its children), ``None`` if unknown.
    peak_rss: int | None
    processes: tuple[ProcessMemory, ...]
    #: Capture files that could not be read (a process killed mid-write), with the reason.
    unreadable: tuple[str, ...]
    stdout: str  # the last ``output_limit`` bytes, decoded
    stderr: str
    duration: float

    @property
    def peak_rss_growth(self) -> int | None:
        """The child's peak RSS (the kernel's, else memray's samples) minus its first sample.

        The first sample is taken when ``memray run`` starts tracking, before the child's own
        code is imported; ``None`` when memray took no sample.
        """
        own = self.processes[0]
        peak = self.peak_rss if self.peak_rss is not None else own.sampled_peak_rss
        return None if peak is None or own.start_rss is None else max(0, peak - own.start_rss)

    @property
    def children(self) -> tuple[ProcessMemory, ...]:
        """The forked descendants (``follow_fork=True``), sorted by pid."""
        return self.processes[1:]

    @property
    def max_child_heap(self) -> int:
        """The largest peak heap of any forked descendant (0 when none was tracked)."""
        return max((process.peak_heap for process in self.children), default=0)


def _read_capture(path: Path) -> ProcessMemory:
    import memray  # noqa: PLC0415 - optional dependency

    reader = memray.FileReader(path)
    try:
        metadata = reader.metadata
        first: int | None = None
        peak: int | None = None
        for snapshot in reader.get_memory_snapshots():  # one pass: a long run has many
            rss = int(snapshot.rss)
            first = rss if first is None else first
            peak = rss if peak is None else max(peak, rss)
        return ProcessMemory(
            pid=int(metadata.pid),
            peak_heap=int(metadata.peak_memory),
            sampled_peak_rss=peak,
            total_allocations=int(metadata.total_allocations),
            start_rss=first,
        )
    finally:
        reader.close()


def _tail(path: Path, limit: int) -> str:
    with open(path, "rb") as stream:
        stream.seek(max(0, path.stat().st_size - limit))
        return stream.read().decode("utf-8", "replace")


def _wait(pid: int, timeout: float) -> tuple[int, int | None]:
    """Reap ``pid`` with ``wait4`` (exit code, max RSS in bytes); kill its group on timeout."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped == pid:
            scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB
            return os.waitstatus_to_exitcode(status), int(usage.ru_maxrss) * scale or None
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            raise TimeoutError(f"the process under memray did not end within {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


#: Runs ``ARGV`` as a child of a fresh, small interpreter and writes the child's rusage peak RSS
#: (KiB) to ``OUT``: ``python -c LAUNCHER OUT ARGV...``. On Linux a process forked from a big
#: one reports the big one's resident set as its own peak (the kernel keeps the high-water mark
#: of the memory it had before exec), so a test process that grew would make every child look
#: big; forked from this launcher, the child's peak is its own. SIGINT and SIGTERM are passed
#: on, and the launcher ends as the child did.
LAUNCHER = """\
import json, os, signal, sys
out, argv = sys.argv[1], sys.argv[2:]
child = os.fork()
if child == 0:
    os.execvp(argv[0], argv)
for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, lambda number, frame: os.kill(child, number))
_, status, usage = os.wait4(child, 0)
with open(out, "w") as stream:
    json.dump({"ru_maxrss": usage.ru_maxrss}, stream)
code = os.waitstatus_to_exitcode(status)
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def launched(argv: Sequence[str], rusage_file: str) -> list[str]:
    """``argv`` run through :data:`LAUNCHER`, its peak RSS written to ``rusage_file``."""
    return [sys.executable, "-c", LAUNCHER, rusage_file, *argv]


def launched_peak_rss(rusage_file: str) -> int | None:
    """The peak RSS (bytes) :data:`LAUNCHER` recorded, or None if the child left no record."""
    try:
        with open(rusage_file, encoding="utf-8") as stream:
            kib = int(json.load(stream)["ru_maxrss"])
    except (OSError, ValueError, KeyError):
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # Linux reports KiB
    return kib * scale or None


def run_under_memray(
    argv: Sequence[str],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    *,
    follow_fork: bool = True,
    output_limit: int = 64 * 2**10,
) -> ChildMemory:
    """Run ``python -m memray run ... ARGV`` and measure it; ``argv`` is what follows ``python``.

    ``argv`` is ``["-m", "module", ...]``, ``["-c", "code", ...]`` or ``["script.py", ...]``.
    With ``follow_fork`` every process the child forks (``multiprocessing`` "fork" workers)
    gets its own capture file and :class:`ProcessMemory`; spawned or exec'd processes are not
    followed. Following forks needs memray's streaming format, whose capture files grow with
    the number of allocations (they live in a TemporaryDirectory, deleted before returning);
    without it the aggregated format keeps the file small. The child runs in its own session,
    killed as a group once the child has ended (no forked process outlives the measure) or on
    timeout (TimeoutError). Output goes to files; only the last ``output_limit`` bytes of
    each stream are returned.
    """
    with tempfile.TemporaryDirectory(prefix="behave-bounded-memray-run-") as name:
        directory = Path(name)
        capture = directory / "capture.bin"
        flags = ["--follow-fork"] if follow_fork else ["--aggregate"]
        command = [sys.executable, "-m", "memray", "run", "-q", "-o", str(capture), *flags]
        started = time.monotonic()
        with open(directory / "stdout", "wb") as out, open(directory / "stderr", "wb") as err:
            process = subprocess.Popen(  # noqa: S603 - argv is the caller's own command
                launched([*command, *argv], str(directory / "rusage.json")),
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        try:
            returncode, _ = _wait(process.pid, timeout)  # the launcher's figure: see LAUNCHER
        except TimeoutError:
            process.returncode = -signal.SIGKILL  # reaped by _wait: Popen must not wait again
            raise
        process.returncode = returncode
        peak_rss = launched_peak_rss(str(directory / "rusage.json"))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # forked processes that outlived the child
        duration = time.monotonic() - started
        processes: list[ProcessMemory] = []
        unreadable: list[str] = []
        for path in sorted(directory.glob("capture.bin*"), key=_capture_order):
            try:
                processes.append(_read_capture(path))
            except OSError as error:
                unreadable.append(f"{path.name}: {error}")
        if not processes:
            problems = "; ".join(unreadable) or "no capture file"
            raise RuntimeError(
                f"memray captured nothing of the child (exit code {returncode}): {problems}\n"
                + _tail(directory / "stderr", output_limit)
            )
        return ChildMemory(
            returncode=returncode,
            peak_heap=processes[0].peak_heap,
            peak_rss=peak_rss,
            processes=tuple(processes),
            unreadable=tuple(unreadable),
            stdout=_tail(directory / "stdout", output_limit),
            stderr=_tail(directory / "stderr", output_limit),
            duration=duration,
        )


def _capture_order(path: Path) -> tuple[int, int]:
    """``capture.bin`` (the child) first, then ``capture.bin.<pid>`` by pid."""
    suffix = path.name.rpartition(".")[2]
    return (1, int(suffix)) if suffix.isdigit() else (0, 0)
