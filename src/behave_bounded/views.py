"""Every view of a run's finished tasks, fed each task once, finalized, as it finishes.

The console, behave's own formatters (replayed), the report files (``--json``,
``--junit-xml``, ``--html``), behave's snippets for undefined steps, the durations store and
the record ``--last-failed`` reads. No view re-derives what another decided, and nothing of a
task is kept here once the views have it: the parent's memory does not grow with the suite
(the console keeps counts and a bounded list, each report its own bounded parts on disk).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from behave_bounded.collect import FeatureInfo
from behave_bounded.config import Settings
from behave_bounded.durations import DurationStore
from behave_bounded.errors import UsageError
from behave_bounded.finalize import Finalizer
from behave_bounded.last_failed import LastFailed
from behave_bounded.reports.console import ConsoleReport
from behave_bounded.reports.files import ReportFiles
from behave_bounded.reports.formatters import BehaveFormatters, UndefinedSnippets
from behave_bounded.reports.pass_rates import PassRates
from behave_bounded.reports.replay import print_snippets, render_records
from behave_bounded.results import RunResult, Status, Task, TaskResult


class Views:
    """The views of one run; :meth:`add` each finished task, :meth:`close` once at the end.

    ``warn`` takes the warnings of the conveniences (the last-failed record) that are no
    reports the user asked for.
    """

    def __init__(
        self,
        settings: Settings,
        config: Any,
        features: list[FeatureInfo],
        tasks: list[Task],
        *,
        stream: TextIO,
        workers: int,
        durations: DurationStore,
        artifacts_ok: bool,
        spill_dir: str | None,
        warn: Callable[[str], None],
        random_seed: int | None = None,
    ) -> None:
        self.settings = settings
        self.random_seed = random_seed  # of a --random-order run: the console and reports say it
        self.config = config
        self.workers = workers
        self.warn = warn
        self.durations = durations
        self.finalizer = Finalizer(
            {info.path: info for info in features}, tdd_strict=settings.tdd_strict
        )
        self.files = _report_files(settings)
        self.failures = LastFailed(settings.artifacts) if artifacts_ok else None
        # With --repeat, behave's formatters see each feature once: its first run.
        firsts = [task for task in tasks if task.repeat <= 1]
        self.behave = _behave_formatters(config, features, firsts, spill_dir)
        self.pass_rates = None
        if settings.repeat > 1:
            selected = {s.location for info in features for s in info.selected}
            self.pass_rates = PassRates(settings.repeat, selected)
        self.console = ConsoleReport(
            stream,
            settings.show_output,
            workers=workers,
            max_output=settings.max_output,
            render=lambda result: render_records(result.records, config, _shown_of(result)),
            quiet=self.behave is not None and self.behave.writes_stdout,
            spill_dir=spill_dir,
            random_seed=random_seed,
            reruns=settings.reruns > 0,
            pass_rates=self.pass_rates,
        )
        self.snippets = UndefinedSnippets()
        self.console.start_progress(len(tasks))

    def add(self, result: TaskResult) -> TaskResult:
        """Finalize a finished task and hand it to every view; the finalized result."""
        return self.deliver(self.finalizer.finalize(result))

    def deliver(self, result: TaskResult) -> TaskResult:
        """Hand a finalized task (with its reruns, if any) to every view, once; returns it."""
        self.console.task_finished(result)
        self.files.add(result, result.started)
        if self.behave is not None and result.task.repeat <= 1:
            self.behave.add(result)
        self.snippets.add(result)
        if result.task.repeat <= 1:  # a feature's duration is one run's
            self.durations.add(result)
        if self.failures is not None:
            self.failures.add(result)
        if self.pass_rates is not None:
            self.pass_rates.add(result)
        for run in result.runs():
            _discard_needless_spills(run, self.settings.show_output)
        return result

    def close(self, run: RunResult, *, started: float, plan: Mapping[str, object] | None) -> int:
        """Close every view (the console's verdict last); the run's exit code."""
        if self.behave is not None:
            self.behave.close(run.never_ran + run.interrupted)
            run.report_errors.extend(self.behave.errors)
        if self.config.show_snippets:
            print_snippets(self.snippets.in_order(), colored=self.config.has_colored_mode())
        _close_report_files(
            self.files,
            self.settings,
            run,
            started=started,
            workers=self.workers,
            plan=plan,
            random_seed=self.random_seed,
            repeat=self.pass_rates.as_json() if self.pass_rates is not None else None,
        )
        if self.failures is not None and (problem := self.failures.save()):
            self.warn(problem)  # a convenience for the next run, not a report asked for
        return self.console.summary(run)


def _behave_formatters(
    config: Any, features: list[FeatureInfo], tasks: list[Task], spill_dir: str | None
) -> BehaveFormatters | None:
    """The user's behave formatters and --junit; an outfile that cannot be opened is exit 2."""
    try:
        return BehaveFormatters.from_config(config, features, tasks, spill_dir)
    except OSError as error:
        where = f" {error.filename}" if error.filename else ""
        raise UsageError(f"-o/--outfile{where}: cannot open: {error.strerror or error}") from None


def _shown_of(result: TaskResult) -> Callable[[Any], bool]:
    """The scenarios of a failing task the console shows: those it ran (not the skipped)."""
    lines = {
        int(s.location.rsplit(":", 1)[1])
        for s in result.scenarios
        if s.status is not Status.SKIPPED
    }
    return lambda scenario: scenario.line in lines


def _report_files(settings: Settings) -> ReportFiles:
    """--json, --junit-xml and --html."""
    files = ReportFiles()
    _check_report_paths(
        ("--json", settings.json), ("--junit-xml", settings.junit_xml), ("--html", settings.html)
    )
    reruns = settings.reruns > 0  # the reports count flaky scenarios
    # Each report's module is loaded only when the report is asked for (start-up time).
    if settings.json:
        from behave_bounded.reports.json import JsonReport  # noqa: PLC0415

        files.append(JsonReport(settings.json, settings.show_output, reruns=reruns))
    if settings.junit_xml:
        from behave_bounded.reports.junit import JUnitReport  # noqa: PLC0415

        files.append(JUnitReport(settings.junit_xml, settings.show_output, reruns=reruns))
    if settings.html:  # a view of the JSON report: it keeps a private one next to its path
        from behave_bounded.reports.html import HtmlReport  # noqa: PLC0415

        files.append(HtmlReport(settings.html, settings.show_output, reruns=reruns))
    return files


def _check_report_paths(*options: tuple[str, str | None]) -> None:
    """Before anything runs: a report that cannot be written is a usage error, not a lost run."""
    given = [(flag, path) for flag, path in options if path]
    resolved = [os.path.realpath(path) for _, path in given]
    if len(set(resolved)) < len(resolved):
        flags = " and ".join(flag for flag, _ in given)
        raise UsageError(f"{flags} name the same file: {given[0][1]}")
    for flag, path in given:
        if os.path.isdir(path):
            raise UsageError(f"{flag} {path}: is a directory")
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"{flag} {path}: cannot create its directory: {error}") from None


def _close_report_files(
    files: ReportFiles,
    settings: Settings,
    run: RunResult,
    *,
    started: float,
    workers: int,
    plan: Mapping[str, object] | None,
    random_seed: int | None,
    repeat: Mapping[str, object] | None = None,
) -> None:
    """Close every report file; one that cannot be written is a report error (exit 1)."""
    if not files:
        return
    ended = time.time()
    from behave_bounded.reports.meta import RunMeta  # noqa: PLC0415 - only with report files

    def meta(failure: str) -> RunMeta:
        return RunMeta.current(
            started=started,
            ended=ended,
            jobs=workers,
            settings=settings,
            argv=sys.argv,
            # A signal may come while no feature runs (a hanging after_all): still partial.
            partial=bool(run.never_ran or run.interrupted or run.setup_error or run.interrupted_by),
            # One line: each feature that did not run repeats it (the setup error goes on with
            # what before_all printed; the summary shows that).
            reason=run.setup_error.split("\n", 1)[0] or run.stopped_early,
            lost=run.lost or bool(run.setup_error),
            failure=failure,
            plan=plan,
            workers=run.workers,
            random_seed=random_seed,
            repeat=repeat,
        )

    files.close(run, meta, run.never_ran, run.interrupted)


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
