"""One run from settings to exit code: collect, pre-import, supervise, report.

Both faces of the runner call :func:`execute`: the ``behave-bounded`` command line and
``behave --runner behave_bounded:ParallelRunner``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from behave_bounded.collect import behave_configuration, collect
from behave_bounded.config import Settings
from behave_bounded.errors import CollectionError
from behave_bounded.pool import Supervisor
from behave_bounded.preimport import preimport
from behave_bounded.report import ConsoleReport, skipped_features
from behave_bounded.results import RunResult, TaskResult
from behave_bounded.tdd import validate_tags


def warn(message: str) -> None:
    """Warnings go to the parent's stderr, one line each."""
    sys.stderr.write(f"behave-bounded: warning: {message}\n")
    sys.stderr.flush()


def make_spill_dir(artifacts: str) -> str | None:
    """A private (0700) directory for this run's spill files, or None (with a warning)."""
    try:
        base = Path(artifacts)
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        return tempfile.mkdtemp(prefix="run-", dir=base)
    except OSError as error:
        warn(
            f"cannot use the artifact directory {artifacts}: {error}; keeping truncated output only"
        )
        return None


def remove_if_empty(directory: str | None) -> None:
    if directory:
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def execute(settings: Settings, stream: TextIO | None = None, config: Any = None) -> int:
    """Run the suite the settings describe; returns the exit code (see errors.EXIT_*)."""
    stream = sys.stdout if stream is None else stream
    config = config if config is not None else behave_configuration(settings.behave_args)
    features = collect(config)
    problems = validate_tags(s for info in features for s in info.scenarios)
    if problems:  # before any worker starts: a typo in a tag must not cost a CI run
        raise CollectionError(problems)
    to_run = [info for info in features if info.selected]
    tasks = [info.task(index) for index, info in enumerate(to_run)]
    workers = settings.worker_count(len(tasks))
    report = ConsoleReport(
        stream,
        {info.path: info for info in features},
        settings.show_output,
        workers=workers if tasks else 0,
        max_output=settings.max_output,
        tdd_strict=settings.tdd_strict,
    )
    run = RunResult()
    for result in skipped_features(info for info in features if not info.selected):
        run.results.append(report.task_finished(result))
    if tasks:
        preimport(settings.preimport, settings.preimport_timeout, warn)
        spill_dir = make_spill_dir(settings.artifacts) if settings.spill else None

        def on_result(result: TaskResult) -> TaskResult:
            shown = report.task_finished(result)
            _discard_needless_spills(result, settings.show_output)
            return shown

        supervisor = Supervisor(
            settings, workers, on_result, spill_dir, stop_on_failure=bool(config.stop)
        )
        supervised = supervisor.execute(tasks)
        supervised.results[:0] = run.results
        run = supervised
        remove_if_empty(spill_dir)
    return report.summary(run)


def _discard_needless_spills(result: TaskResult, show_output: int) -> None:
    """Keep a spill file only where it holds more than the console showed.

    That is: the stream was truncated, or its feature failed with more output than
    ``--show-output``, or the worker died (then the spill file is all there is).
    """
    if result.error:
        return
    failed = any(s.status.fails_run for s in result.scenarios)
    for stream in (result.stdout, result.stderr):
        stats = stream.stats
        needed = stats.truncated or (failed and stats.written > show_output)
        if stats.spill_path and not needed:
            with contextlib.suppress(OSError):
                os.unlink(stats.spill_path)
