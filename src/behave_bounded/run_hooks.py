"""Once-per-run hooks: ``before_all_workers(config)`` and ``after_all_workers(config)``.

behavex's names, in the suite's ``environment.py``, run once per run in the runner's own
process: ``before_all_workers`` before any worker is forked, so what it sets up (environment
variables, files, a server process) is inherited by every worker; ``after_all_workers`` once
every worker has ended, also after a failure, a lost run or an interrupt. ``config`` is
behave's :class:`~behave.configuration.Configuration` of the run (a copy whose ``userdata``
also holds ``behave_bounded.worker_count`` and ``behave_bounded.run_id``).

Loading ``environment.py`` here must not change what the workers do, so:

- it is executed in the runner only when its text names one of the two hooks (or imports
  ``*``); a suite without them is not touched;
- it is executed as behave's ``Runner.load_hooks`` does (``exec_file``, under behave's own
  ``sys.path`` additions, removed afterwards), and no step module is loaded;
- a hook that changes the working directory has it put back (with a warning).

What it imports stays imported in the runner and is shared by the forked workers, as a
``--preimport`` is. What its top level does to behave (a step defined in it, a step matcher, a
registered type) each worker's own loading of it does again, alike: behave ignores a step
registered twice from the same place.

Bounds. A hook runs in the main thread under ``--timeout`` (none: unbounded), with SIGALRM,
SIGINT and SIGTERM turned into an exception raised where the hook is: a hanging hook is
abandoned there (its ``finally`` blocks run), the run goes on to report. A thread could not be
stopped at all, and forking the workers from a process running it would copy its locks.
Honest limit: code that never returns to the interpreter (C code holding the GIL, a blocking
call that C retries on ``EINTR`` by itself) cannot be interrupted; a hook that swallows the
exception gets it again every second. What a hook prints through ``sys.stdout`` and
``sys.stderr`` is kept (head and tail, :data:`OUTPUT_LIMIT`) and shown only when it fails,
as ``before_all``'s; what its child processes write to fds 1 and 2 goes to the runner's own
(capturing the fds would mean a drain thread across the workers' fork, and a server the hook
started would lose its stdout when the hook returned). The processes the hooks start live
until ``after_all_workers`` has run; those still running then are ended (one warning).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from behave.runner import Runner
from behave.runner_util import exec_file
from behave.userdata import UserData

from behave_bounded.capture import BoundedTextIO, Keep
from behave_bounded.processes import Descendants, describe_ended
from behave_bounded.results import MAX_MESSAGE_CHARS, RunResult, clip
from behave_bounded.session import describe, where

BEFORE = "before_all_workers"
AFTER = "after_all_workers"
#: Bytes kept of what a hook prints, per stream (head and tail); the summary shows at most
#: MAX_MESSAGE_CHARS characters of it, as of before_all's output.
OUTPUT_LIMIT = 4 * MAX_MESSAGE_CHARS
#: After the timeout, the hook is interrupted again this often until it gives up.
REPEAT_INTERRUPT = 1.0
_SIGNALS = (signal.SIGALRM, signal.SIGINT, signal.SIGTERM)


class HookStopped(BaseException):
    """Raised inside a hook by the timer or a signal; a BaseException, so that ``except
    Exception`` in the hook does not swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass
class _Guard:
    """The signal handlers while a hook runs. While it runs (``armed``), the timer and
    SIGINT/SIGTERM raise :class:`HookStopped` where the hook is; a signal that comes when it
    has returned is only remembered, so the run still stops."""

    armed: bool = False
    timed_out: bool = False
    interrupted_by: int = 0

    def __call__(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGALRM:
            self.timed_out = self.timed_out or self.armed
        else:
            self.interrupted_by = self.interrupted_by or signum
        if self.armed:  # pragma: no branch - else: a signal just after the hook returned
            raise HookStopped(signum)


def names_hooks(path: str) -> bool:
    """Whether ``environment.py`` may define a run hook: it names one, or imports ``*``."""
    try:
        with open(path, "rb") as source:  # bytes, as Python reads source (a coding cookie)
            text = source.read()
    except OSError:  # pragma: no cover - a file isfile() just saw: unreadable, or gone since
        return False  # the workers load it and report what is wrong with it
    if BEFORE.encode() in text or AFTER.encode() in text:
        return True
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):  # the workers report it, as plain behave would
        return False
    return any(
        isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names)
        for node in ast.walk(tree)
    )


@dataclass(frozen=True)
class Outcome:
    """How a guarded call ended: its error (``path:line: reason``, then what it printed) or
    '', and the signal (SIGINT, SIGTERM) that came meanwhile, or 0."""

    error: str = ""
    interrupted_by: int = 0


@dataclass
class RunHooks:
    """The run hooks of one suite, loaded from its ``environment.py``."""

    path: str  # environment.py, absolute
    base_dir: str
    config: Any  # the copy of behave's configuration handed to the hooks
    timeout: float | None
    warn: Callable[[str], None]
    hooks: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        config: Any,
        timeout: float | None,
        userdata: Mapping[str, str],
        warn: Callable[[str], None],
    ) -> RunHooks | None:
        """The suite's run hooks, not loaded yet; None on ``--dry-run`` (behave runs no hook
        then) or when ``environment.py`` does not name them."""
        if config.dry_run:
            return None
        base_dir = os.path.abspath(config.base_dir or Runner.DEFAULT_DIRECTORY)
        path = os.path.join(base_dir, config.environment_file)
        if not os.path.isfile(path) or not names_hooks(path):
            return None
        hook_config = copy.copy(config)
        hook_config.userdata = UserData(config.userdata or {})
        hook_config.userdata.update({f"behave_bounded.{k}": v for k, v in userdata.items()})
        return cls(path, base_dir, hook_config, timeout, warn)

    @property
    def shown_path(self) -> str:
        relative = os.path.relpath(self.path)
        return self.path if relative.startswith("..") else relative

    @contextlib.contextmanager
    def _as_behave_would(self) -> Iterator[None]:
        """sys.path as behave's runner sets it (its base directory, the working directory),
        and the working directory put back afterwards."""
        runner = Runner(self.config)
        cwd = os.getcwd()
        with runner.path_manager:
            runner.setup_paths()
            try:
                yield
            finally:
                if os.getcwd() != cwd:
                    moved = os.getcwd()
                    os.chdir(cwd)
                    self.warn(
                        f"{self.shown_path} changed the working directory to {moved} "
                        f"(restored to {cwd})"
                    )

    def load(self) -> Outcome:
        """Execute ``environment.py`` as behave's ``load_hooks`` does (bounded like a hook)."""
        namespace: dict[str, Any] = {}
        outcome = self._guarded("loading environment.py", lambda: exec_file(self.path, namespace))
        if outcome.error or outcome.interrupted_by:
            return outcome
        for name in (BEFORE, AFTER):
            hook = namespace.get(name)
            if hook is None:
                continue
            if not callable(hook):
                kind = type(hook).__name__
                return Outcome(f"{self.shown_path}: {name} is not a function but a {kind}")
            self.hooks[name] = hook
        return outcome

    def run(self, name: str) -> Outcome:
        """Run one hook, if the suite has it, with the configuration as its argument."""
        hook = self.hooks.get(name)
        if hook is None:
            return Outcome()
        return self._guarded(name, lambda: hook(self.config), hook)

    def _guarded(self, name: str, call: Callable[[], Any], hook: Any = None) -> Outcome:
        """Call under ``--timeout`` and the signals, with its output kept (see the module)."""
        stdout = BoundedTextIO("stdout", OUTPUT_LIMIT, Keep.BOTH)
        stderr = BoundedTextIO("stderr", OUTPUT_LIMIT, Keep.BOTH)
        guard = _Guard()
        previous = {signum: signal.signal(signum, guard) for signum in _SIGNALS}
        failure: BaseException | None = None
        try:
            with (
                self._as_behave_would(),
                contextlib.redirect_stdout(stdout),
                contextlib.redirect_stderr(stderr),
            ):
                guard.armed = True
                try:
                    if self.timeout is not None:
                        signal.setitimer(signal.ITIMER_REAL, self.timeout, REPEAT_INTERRUPT)
                    call()
                finally:
                    guard.armed = False
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as error:  # the hook's own, or HookStopped: reported, not raised
            failure = error
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if failure is None and not guard.timed_out:
            return Outcome(interrupted_by=guard.interrupted_by)
        message = self._describe(name, failure, guard.timed_out, hook)
        for stream in (stdout, stderr):
            text = stream.getvalue()
            if text.strip():
                message += f"\n---- {stream.sink.name} of {name}\n" + clip(text).rstrip("\n")
        return Outcome(message, guard.interrupted_by)

    def _describe(
        self, name: str, failure: BaseException | None, timed_out: bool, hook: Any
    ) -> str:
        """``path:line: reason``: the innermost line inside the suite's directory where it
        raised or was stopped (no traceback: the line and the exception say what happened)."""
        if failure is not None:
            place = where(failure, self.base_dir)
        else:  # it swallowed the interruption and returned: name the hook itself
            code = getattr(hook, "__code__", None)
            place = f"{self.shown_path}:{code.co_firstlineno if code is not None else 0}"
        if timed_out:
            reason = f"{name} did not finish within {self.timeout:g} s (--timeout)"
        elif isinstance(failure, HookStopped):
            reason = f"{name} was interrupted by {failure}"
        else:
            kind = "raised" if hook is None else "hook raised"
            reason = f"{name} {kind} {describe(failure or RuntimeError())}"
        return f"{place}: {reason}"


@contextlib.contextmanager
def around(
    run: RunResult,
    config: Any,
    *,
    timeout: float | None,
    userdata: Mapping[str, str],
    warn: Callable[[str], None],
) -> Iterator[bool]:
    """``before_all_workers`` on entering, ``after_all_workers`` on leaving however the body
    ends (also when loading or ``before_all_workers`` failed: it may clean up what was half
    set up, as behave runs ``after_all`` after a failed ``before_all``); yields whether the
    run may start its workers.

    A failing or hanging ``environment.py`` or ``before_all_workers`` is the run's
    ``setup_error`` (exit code 2: no worker starts, every feature is reported not run); a
    signal during either interrupts the run; a failing or hanging ``after_all_workers`` is a
    teardown error (exit code 1, named in the verdict line).
    """
    hooks = RunHooks.of(config, timeout, userdata, warn)
    if hooks is None:
        yield True
        return
    processes = Descendants()
    processes.adopt()  # the runner is the subreaper of what the hooks start
    try:
        before = hooks.load()
        if not (before.error or before.interrupted_by):
            before = hooks.run(BEFORE)
        if before.interrupted_by:
            run.interrupted_by = before.interrupted_by
            run.stopped_early = f"interrupted by {signal.Signals(before.interrupted_by).name}"
        elif before.error:
            run.setup_error = before.error
        try:
            yield not (run.setup_error or run.stopped_early)
        finally:
            after = hooks.run(AFTER)
            run.interrupted_by = run.interrupted_by or after.interrupted_by
            if after.error:
                run.teardown_errors.append(after.error)
    finally:
        ended = processes.end_new()
        processes.release()
        if ended:
            when = f"after {AFTER} had run"
            warn(describe_ended(f"{hooks.shown_path}'s run hooks", ended, when=when))
