"""One run from settings to exit code: collect, pre-import, supervise, report.

Both faces of the runner call :func:`execute`: the ``behave-bounded`` command line and
``behave --runner behave_bounded:ParallelRunner``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from behave_bounded import artifacts, run_hooks
from behave_bounded.artifacts import RunDirectory
from behave_bounded.collect import FeatureInfo, behave_configuration, collect
from behave_bounded.config import Settings
from behave_bounded.errors import EXIT_OK, CollectionError, UsageError
from behave_bounded.finalize import Finalizer, skipped_results
from behave_bounded.preimport import preimport
from behave_bounded.reports.console import ConsoleReport
from behave_bounded.reports.files import ReportFiles
from behave_bounded.reports.formatters import (
    BehaveFormatters,
    UndefinedSnippets,
    formatters_configured,
)
from behave_bounded.reports.html import HtmlReport
from behave_bounded.reports.json import JsonReport
from behave_bounded.reports.junit import JUnitReport
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.replay import print_snippets, render_records
from behave_bounded.results import RunResult, Status, Task, TaskResult
from behave_bounded.schedule import (
    DurationStore,
    last_failed_locations,
    make_tasks,
    order_seed,
    select_locations,
    shard_with_plan,
)
from behave_bounded.supervisor import Supervisor, WorkerOptions
from behave_bounded.tdd import validate_tags
from behave_bounded.worker import RecordMode

#: The JSON report of the latest run, in the artifact directory: what --last-failed reads.
LAST_RUN = "last-run.json"


def warn(message: str) -> None:
    """Warnings go to the parent's stderr, one line each."""
    sys.stderr.write(f"behave-bounded: warning: {message}\n")
    sys.stderr.flush()


def execute(settings: Settings, stream: TextIO | None = None, config: Any = None) -> int:
    """Run the suite the settings describe; returns the exit code (see errors.EXIT_*)."""
    stream = sys.stdout if stream is None else stream
    config = config if config is not None else behave_configuration(settings.behave_args)
    if print_behave_information(config):
        return EXIT_OK
    started = time.time()
    features = collect(config)
    problems = validate_tags(s for info in features for s in info.scenarios)
    if problems:  # before any worker starts: a typo in a tag must not cost a CI run
        raise CollectionError(problems)
    artifacts_ok = artifacts.prepare(settings.artifacts, warn)
    durations = _durations(settings.artifacts, artifacts_ok)
    if settings.last_failed:
        features = _last_failed(features, settings.artifacts, stream)
    features, plan = _shard(features, settings, durations, stream)
    # behave's formatters show features none of whose scenarios is selected: run them too.
    run_unselected = formatters_configured(config)
    seed = order_seed(settings.random_order, settings.random_seed)  # None: longest first
    tasks, serial = make_tasks(
        features,
        settings.scheme,
        durations,
        settings.serial_tag,
        run_unselected=run_unselected,
        seed=seed,
    )
    workers = settings.worker_count(len(tasks)) if tasks else (1 if serial else 0)
    finalizer = Finalizer({info.path: info for info in features}, tdd_strict=settings.tdd_strict)
    files = _report_files(settings, record_last_run=artifacts_ok)
    run_dir = _run_directory(settings, artifacts_ok)
    spill_dir = run_dir.path if run_dir is not None else None
    behave_views = _behave_formatters(config, features, [*tasks, *serial], spill_dir)
    report = ConsoleReport(
        stream,
        settings.show_output,
        workers=workers,
        max_output=settings.max_output,
        render=lambda result: render_records(result.records, config, _shown_of(result)),
        quiet=behave_views is not None and behave_views.writes_stdout,
        spill_dir=spill_dir,
        random_seed=seed,
    )
    snippets = UndefinedSnippets()
    report.start_progress(len(tasks) + len(serial))
    run = RunResult()

    def on_result(result: TaskResult) -> TaskResult:
        result = finalizer.finalize(result)
        shown = report.task_finished(result)  # output dropped once shown
        # The report files want the bounded text of failing features.
        files.add(replace(shown, stdout=result.stdout, stderr=result.stderr), result.started)
        if behave_views is not None:
            behave_views.add(result)
        snippets.add(result)
        _discard_needless_spills(result, settings.show_output)
        return replace(shown, records=b"", snippets=())

    for result in skipped_results(features, settings.scheme, run_unselected=run_unselected):
        run.results.append(on_result(result))
    if tasks or serial:
        phases = [(tasks, workers), (serial, 1)]  # @serial features: alone, after the rest
        _supervise(
            settings,
            phases,
            on_result,
            run,
            WorkerOptions(
                run_id=uuid.uuid4().hex,
                records=RecordMode.ALL if behave_views is not None else RecordMode.FAILING,
                step_definitions=behave_views is not None and behave_views.needs_step_definitions,
                on_step_definitions=behave_views.step_definitions if behave_views else None,
            ),
            config=config,
            stop_on_failure=bool(config.stop),
            spill_dir=spill_dir,
            no_spill=_no_spill_reason(settings, artifacts_ok, spill_dir),
        )
        durations.record(run.results)
        if artifacts_ok and durations.save():
            warn(durations.warning)
    if behave_views is not None:
        behave_views.close(run.never_ran + run.interrupted)
        run.report_errors.extend(behave_views.errors)
    if config.show_snippets:
        print_snippets(snippets.in_order(), colored=config.has_colored_mode())
    _close_report_files(
        files, settings, run, started=started, workers=workers, plan=plan, random_seed=seed
    )
    if run_dir is not None:
        run_dir.close()
    return report.summary(run)


def _run_directory(settings: Settings, artifacts_ok: bool) -> RunDirectory | None:
    """This run's directory for spill files, locked for the run's life (the kernel releases
    the lock however the run ends), so no other run prunes it meanwhile."""
    if not (settings.spill and artifacts_ok):
        return None
    return RunDirectory.create(settings.artifacts, warn)


def _shard(
    features: list[FeatureInfo], settings: Settings, durations: DurationStore, stream: TextIO
) -> tuple[list[FeatureInfo], Mapping[str, object] | None]:
    """This machine's shard of the features and the plan its reports carry (all of them and
    no plan without ``--shard``); the first line says which shard and from where."""
    if settings.shard is None:
        return features, None
    k, n = settings.shard
    mine, plan = shard_with_plan(features, k, n, durations)
    origin = f" ({settings.shard_origin})" if settings.shard_origin else ""
    stream.write(f"shard {k}/{n}{origin}: {len(mine)} of {len(features)} feature file(s)\n")
    return mine, plan.as_json()


def print_behave_information(config: Any) -> bool:
    """behave's options that print something and run nothing: ``--format help``,
    ``--tags-help``, ``--lang-list``, ``--lang-help LANG``; True when one was given."""
    import behave.__main__ as behave_main  # noqa: PLC0415 - behave's own printers

    if config.tags_help:
        behave_main.print_tags_help(config)
    elif config.lang == "help" or config.lang_list:
        behave_main.print_language_list()
    elif config.lang_help:
        behave_main.print_language_help(config.lang_help)
    elif "help" in (config.format or ()):
        behave_main.print_formatters()
    else:
        return False
    return True


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


def _no_spill_reason(settings: Settings, artifacts_ok: bool, spill_dir: str | None) -> str:
    """Why a dead worker's output cannot be read back from a spill file."""
    if settings.spill and spill_dir is None:
        return f"the artifact directory {settings.artifacts} could not be used"
    return "spilling is off (--no-spill)"


def _durations(artifacts: str, usable: bool) -> DurationStore:
    """The recorded durations; an empty store, never saved, without an artifact directory."""
    if not usable:
        return DurationStore(os.path.join(artifacts, DurationStore.FILE_NAME))
    durations = DurationStore.load(artifacts)
    if durations.warning:
        warn(durations.warning)
    return durations


def _supervise(
    settings: Settings,
    phases: list[tuple[list[Task], int]],
    on_result: Callable[[TaskResult], TaskResult],
    run: RunResult,
    options: WorkerOptions,
    *,
    config: Any,
    stop_on_failure: bool,
    spill_dir: str | None,
    no_spill: str,
) -> None:
    """Run the phases in order (the parallel tasks, then the @serial ones on one worker),
    between the suite's once-per-run hooks (before_all_workers, after_all_workers), which
    run in this process; --preimport once before_all_workers has set the environment up."""
    identity = {"worker_count": str(phases[0][1]), "run_id": options.run_id}
    with run_hooks.around(
        run, config, timeout=settings.timeout, userdata=identity, warn=warn
    ) as workers_may_start:
        if workers_may_start:
            preimport(settings.preimport, settings.preimport_timeout, warn)
        for phase_tasks, phase_workers in phases:
            if not phase_tasks:
                continue
            if run.stopped_early or run.setup_error:
                run.never_ran.extend(phase_tasks)
                continue
            supervisor = Supervisor(
                settings,
                phase_workers,
                on_result,
                spill_dir,
                options,
                stop_on_failure=stop_on_failure,
                no_spill=no_spill,
            )
            _merge(run, supervisor.execute(phase_tasks))


def _last_failed(features: list[FeatureInfo], artifacts: str, stream: TextIO) -> list[FeatureInfo]:
    """--last-failed: only the scenarios that failed or errored in the previous run."""
    locations = last_failed_locations(os.path.join(artifacts, LAST_RUN))
    if locations is None:
        stream.write("--last-failed: no previous run recorded; running everything\n")
        return features
    if not locations:
        stream.write("--last-failed: the previous run had no failures; nothing to rerun\n")
        return []
    stream.write(f"--last-failed: rerunning {len(locations)} scenario(s) of the previous run\n")
    return select_locations(features, locations)


def _merge(run: RunResult, phase: RunResult) -> None:
    run.results.extend(phase.results)
    run.never_ran.extend(phase.never_ran)
    run.interrupted.extend(phase.interrupted)
    run.teardown_errors.extend(phase.teardown_errors)
    run.report_errors.extend(phase.report_errors)
    run.workers.extend(phase.workers)
    run.setup_error = run.setup_error or phase.setup_error
    run.stopped_early = run.stopped_early or phase.stopped_early
    run.lost = run.lost or phase.lost
    run.interrupted_by = run.interrupted_by or phase.interrupted_by
    run.wall_time += phase.wall_time


def _report_files(settings: Settings, *, record_last_run: bool) -> ReportFiles:
    """--json, --junit-xml, --html, and the last run's JSON report in the artifact directory."""
    files = ReportFiles(warn)
    _check_report_paths(
        ("--json", settings.json), ("--junit-xml", settings.junit_xml), ("--html", settings.html)
    )
    if settings.json:
        files.append(JsonReport(settings.json, settings.show_output))
    if settings.junit_xml:
        files.append(JUnitReport(settings.junit_xml, settings.show_output))
    if settings.html:  # a view of the JSON report: it keeps a private one next to its path
        files.append(HtmlReport(settings.html, settings.show_output))
    if record_last_run:  # a convenience, not a report asked for: failing it is a warning
        path = os.path.join(settings.artifacts, LAST_RUN)
        try:
            files.append(JsonReport(path, settings.show_output, private=True), required=False)
        except (OSError, UsageError) as error:
            warn(f"cannot record this run for --last-failed in {settings.artifacts}: {error}")
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
) -> None:
    """Close every report file; one that cannot be written is a report error (exit 1)."""
    ended = time.time()

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
