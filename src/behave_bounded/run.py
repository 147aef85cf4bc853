"""One run from settings to exit code: collect, pre-import, supervise, report.

Both faces of the runner call :func:`execute`: the ``behave-bounded`` command line and
``behave --runner behave_bounded:ParallelRunner``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from behave_bounded import artifacts, run_hooks
from behave_bounded.artifacts import RunDirectory
from behave_bounded.collect import FeatureInfo, behave_configuration, collect
from behave_bounded.config import Settings
from behave_bounded.durations import DurationStore
from behave_bounded.errors import EXIT_OK, CollectionError
from behave_bounded.finalize import skipped_results
from behave_bounded.last_failed import LastFailed, last_failed_locations, select_locations
from behave_bounded.preimport import preimport
from behave_bounded.reports.formatters import (
    formatters_configured,
)
from behave_bounded.reruns import Rerun, Reruns
from behave_bounded.results import RunResult, Task, TaskResult
from behave_bounded.schedule import make_tasks, order_seed, repeat_tasks, shard_with_plan
from behave_bounded.session import RecordMode
from behave_bounded.supervisor import Supervisor, WorkerOptions
from behave_bounded.tdd import validate_tags
from behave_bounded.views import Views


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
        # One worker gains nothing from longest first: it keeps behave's order (--stop
        # stops where plain behave stops, features that rely on an earlier one still work).
        longest_first=settings.worker_count(2) > 1,
    )
    tasks, serial = repeat_tasks(tasks, serial, settings.repeat)
    workers = settings.worker_count(len(tasks)) if tasks else (1 if serial else 0)
    with contextlib.ExitStack() as cleanup:
        run_dir = _run_directory(settings, artifacts_ok)
        if run_dir is not None:  # released however the run ends (a bad report path too)
            cleanup.callback(run_dir.close)
        spill_dir = run_dir.path if run_dir is not None else None
        views = Views(
            settings,
            config,
            features,
            [*tasks, *serial],
            stream=stream,
            workers=workers,
            durations=durations,
            artifacts_ok=artifacts_ok,
            spill_dir=spill_dir,
            warn=warn,
            random_seed=seed,
        )
        run = RunResult()
        for result in skipped_results(features, settings.scheme, run_unselected=run_unselected):
            views.add(result)
        if tasks or serial:
            first_free = len(tasks) + len(serial)  # the index of the run's first rerun
            reruns = _reruns(
                settings, views, first_index=first_free, stop=bool(config.stop), spill_dir=spill_dir
            )
            _supervise(
                settings,
                [(tasks, workers), (serial, 1)],  # @serial features: alone, after the rest
                views.add if reruns is None else reruns.add,
                run,
                _worker_options(views),
                config=config,
                stop_on_failure=bool(config.stop),
                spill_dir=spill_dir,
                no_spill=_no_spill_reason(settings, artifacts_ok, spill_dir),
            )
            if reruns is not None:
                reruns.flush()
            if artifacts_ok and durations.save():
                warn(durations.warning)
        return views.close(run, started=started, plan=plan)


def _worker_options(views: Views) -> WorkerOptions:
    """What the workers record and send: behave's formatters need every task's records."""
    behave = views.behave
    return WorkerOptions(
        run_id=os.urandom(16).hex(),  # as random as uuid4 (uuid costs start-up time)
        records=RecordMode.ALL if behave is not None else RecordMode.FAILING,
        step_definitions=behave is not None and behave.needs_step_definitions,
        on_step_definitions=behave.step_definitions if behave is not None else None,
    )


def _reruns(
    settings: Settings, views: Views, *, first_index: int, stop: bool, spill_dir: str | None
) -> Reruns | None:
    """--reruns: the policy between the workers and the views (None without it)."""
    if not settings.reruns:
        return None
    return Reruns(
        settings.reruns,
        settings.reruns_delay,
        views.finalizer,
        views.deliver,
        first_index,
        stop=stop,
        spill_dir=spill_dir,
    )


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
    on_result: Callable[[TaskResult], TaskResult | Rerun],
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
    locations = last_failed_locations(os.path.join(artifacts, LastFailed.FILE_NAME))
    if locations is None:
        stream.write("--last-failed: no previous run recorded; running everything\n")
        return features
    if not locations:
        stream.write("--last-failed: the previous run had no failures; nothing to rerun\n")
        return []
    stream.write(f"--last-failed: rerunning {len(locations)} scenario(s) of the previous run\n")
    return select_locations(features, locations)


def _merge(run: RunResult, phase: RunResult) -> None:
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
