"""The console: a line per finished feature, bounded failure output, the summary, the verdict.

The verdict line ``scenarios: P passed, F failed, S skipped`` is always the last line the run
prints, because CI systems and people read it there; everything else is printed before it.
What the console shows is bounded: at most ``--show-output`` of each failing feature's
output, and at most :data:`MAX_LISTED` scenarios or features per list in the summary.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TextIO

from behave_bounded.capture import SENTINEL_RE, format_sentinel, write_private
from behave_bounded.reports.pass_rates import PassRates
from behave_bounded.reports.verdict import (
    exit_code,
    feature_status,
    run_failure,
    verdict_line,
    verdict_numbers,
)
from behave_bounded.results import (
    Attempt,
    RunResult,
    ScenarioResult,
    Status,
    TaskResult,
)
from behave_bounded.tdd import WARNING_PREFIX, is_lenient_xpass, issue_number

#: Longest list of scenarios or features the summary prints; the rest are counted.
MAX_LISTED = 100
#: A stream that reaches this share of --max-output is reported, even when nothing was cut.
NEAR_LIMIT = 0.8
_BREAKDOWN = (
    Status.PASSED,
    Status.FAILED,
    Status.ERRORED,
    Status.SKIPPED,
    Status.UNDEFINED,
    Status.XFAILED,
    Status.XPASSED,
)


class Tally:
    """What the summary says about the finished tasks, without keeping them: the count of
    each status and the first :data:`MAX_LISTED` lines of each list (the rest counted)."""

    def __init__(self) -> None:
        self.counts: Counter[Status] = Counter()
        self.problems = _Listing()
        self.expected = _Listing()
        self.flaky = _Listing()

    def add(self, result: TaskResult) -> None:
        for scenario in result.scenarios:
            self.counts[scenario.status] += 1
            if scenario.status.fails_run:
                self.problems.add(
                    f"{scenario.status.value:9} {scenario.location}  {scenario.name}"
                    + _first_line(scenario.message)
                    + _attempts(scenario)
                    + (f"  (run {result.task.repeat})" if result.task.repeat else "")
                )
            elif scenario.status is Status.XFAILED:
                self.expected.add(f"{scenario.location}  {scenario.name}{_issue(scenario.tags)}")
            if scenario.flaky:
                self.flaky.add(
                    f"{scenario.location}  {scenario.name}  -- attempts: "
                    + ", ".join(_attempt(attempt) for attempt in scenario.attempts)
                )


class _Listing:
    """At most :data:`MAX_LISTED` lines, and how many more there were."""

    __slots__ = ("lines", "more")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.more = 0

    def add(self, line: str) -> None:
        if len(self.lines) < MAX_LISTED:
            self.lines.append(line)
        else:
            self.more += 1


def tail_text(text: str, limit: int, spill_path: str | None) -> str:
    """The last ``limit`` bytes of ``text`` (tail first: the end is where the error is)."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    shown = data[len(data) - limit :].decode("utf-8", "ignore")
    where = f"; they are in {spill_path}" if spill_path else ""
    return f"[behave-bounded: {len(data) - limit} bytes above not shown{where}]\n{shown}"


class Progress:
    """The live line: done/total features, scenario counts so far, elapsed time and ETA.

    tqdm draws it (small, pure Python, no dependencies of its own, and it keeps the line
    below what is printed through :meth:`write`); it is used only on a terminal.
    """

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        from tqdm import tqdm  # noqa: PLC0415 - a terminal only: --help, CI logs never load it

        self.bar = tqdm(
            total=total,
            file=stream,
            unit="feature",
            dynamic_ncols=True,
            leave=False,
            mininterval=0.0,  # redraw at every finished feature: it is one short line
            bar_format="{n_fmt}/{total_fmt} features {bar}{postfix} [{elapsed}, ETA {remaining}]",
        )

    def write(self, text: str) -> None:
        self.bar.write(text, file=self.stream)

    def advance(self, seen: Counter[Status]) -> None:
        failed = seen[Status.FAILED] + seen[Status.UNDEFINED] + seen[Status.XPASSED]
        self.bar.set_postfix_str(
            f"{seen[Status.PASSED] + seen[Status.XFAILED]} passed, {failed} failed, "
            f"{seen[Status.ERRORED]} errored",
            refresh=False,
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


class ConsoleReport:
    """Prints results as they arrive and the summary at the end."""

    def __init__(
        self,
        stream: TextIO,
        show_output: int,
        *,
        workers: int = 0,
        max_output: int | None = None,
        errors: TextIO | None = None,
        render: Callable[[TaskResult], str] | None = None,
        quiet: bool = False,
        spill_dir: str | None = None,
        random_seed: int | None = None,
        reruns: bool = False,
        pass_rates: PassRates | None = None,
    ) -> None:
        """``render`` turns a failing task's records into behave's report of it; ``quiet``:
        a behave formatter writes to the console, so the per-feature lines stay out of its
        way (the summary still comes last); ``spill_dir`` keeps a report longer than
        ``show_output`` whole, in a private file the console names; ``random_seed``: the
        seed of a ``--random-order`` run, named first and before the verdict (a run killed
        before its summary has still shown it); ``reruns``: the summary counts and lists
        flaky scenarios; ``pass_rates`` (``--repeat``): the summary lists each scenario's
        pass rate."""
        self.reruns = reruns
        self.pass_rates = pass_rates
        self.stream = stream
        self.random_seed = random_seed
        self.render = render
        self.quiet = quiet
        self.spill_dir = spill_dir
        self.show_output = show_output
        self.workers = workers
        self.max_output = max_output
        self.errors = sys.stderr if errors is None else errors
        self.truncated_streams = 0
        self.progress: Progress | None = None
        self.tally = Tally()

    def print(self, text: str = "") -> None:
        if self.progress is not None:
            self.progress.write(text)
            return
        self.stream.write(text + "\n")
        self.stream.flush()

    def start_progress(self, total: int) -> None:
        """On a terminal, a live progress line under the per-feature lines."""
        self._random_order()
        if total and self.stream.isatty() and not self.quiet:
            self.progress = Progress(self.stream, total)

    def task_finished(self, result: TaskResult) -> None:
        """Print the feature's line (and its output when it failed); count it for the summary.

        ``result`` is finalized (:class:`~behave_bounded.finalize.Finalizer`).
        """
        scenarios = result.scenarios
        status = feature_status(scenarios)
        if result.error and not result.reruns:  # with reruns, its final scenarios say
            status = Status.ERRORED
        # The unselected rest of a feature cut into scenarios: its tasks have their lines.
        leftover = result.task.part and not result.task.scenario_count
        if not self.quiet and not leftover:
            duration = sum(run.duration for run in result.runs())
            self.print(f"{result.task.label}  {status.value}  {duration:.2f}s{_note(result)}")
        self.tally.add(result)
        if self.progress is not None and result.task.scenario_count:
            self.progress.advance(self.tally.counts)
        self._warn_about_output(result)
        for warning in result.warnings:  # what the task left behind in its worker
            self._warn(warning)
        for scenario in scenarios:
            if is_lenient_xpass(scenario):
                self._warn(f"{scenario.location}: {scenario.message[len(WARNING_PREFIX) :]}")
        if not self.quiet and result.reruns:
            for run, decided in _deciding_runs(result):
                self._show_output(run, feature_status(decided), decided)
        elif (status.fails_run or result.error) and not self.quiet:
            self._show_output(result, status)

    def _warn_about_output(self, result: TaskResult) -> None:
        """One warning per stream that was cut, or that came within 80 % of the limit."""
        for run in result.runs():
            self._warn_about_run(run)

    def _warn_about_run(self, result: TaskResult) -> None:
        if result.error:  # a dead worker's streams were read back from its spill files
            return
        for stream in (result.stdout, result.stderr):
            stats = stream.stats
            spill = stats.spill_path or "none"
            if stats.truncated:
                self.truncated_streams += 1
                self._warn(
                    f"{result.task.label}: {stats.name} truncated: {stats.written} bytes written, "
                    f"{stats.kept} kept, {stats.dropped} dropped; full output: {spill}"
                )
            elif self.max_output and stats.written >= NEAR_LIMIT * self.max_output:
                self._warn(
                    f"{result.task.label}: {stats.name} reached {stats.written} bytes, "
                    f"{100 * stats.written // self.max_output}% of --max-output {self.max_output}"
                )

    def _warn(self, message: str) -> None:
        self.errors.write(f"behave-bounded: warning: {message}\n")
        self.errors.flush()

    def _show_output(
        self,
        result: TaskResult,
        status: Status,
        decided: tuple[ScenarioResult, ...] | None = None,
    ) -> None:
        """A failing run's output: behave's report of its failing scenarios (``decided``: the
        failing scenarios whose last attempt this run was, with reruns), then its streams."""
        attempt = f", attempt {result.task.attempt}" if decided is not None else ""
        header = f"---- {result.task.label}: {status.value} (worker {result.worker}{attempt})"
        if result.error:
            header += f": {result.error}"
        self.print(header)
        report = self._behave_report(
            result if decided is None else replace(result, scenarios=decided)
        )
        if report:
            kept = self._keep_whole(result, report)
            self.print(tail_text(report, self.show_output, kept).rstrip("\n"))
        for stream in (result.stdout, result.stderr):
            if not stream.text:
                continue
            stats = stream.stats
            self.print(f"---- {stats.name} of {result.task.label}")
            shown = tail_text(stream.text, self.show_output, stats.spill_path)
            if stats.truncated and not SENTINEL_RE.search(shown):
                # The cut lies outside the part shown: say it where the reader looks first.
                self.print(format_sentinel(stats.name, stats.written, stats.kept, stats.spill_path))
            self.print(shown.rstrip("\n"))
        self.print(f"---- end of {result.task.label}")

    def _keep_whole(self, result: TaskResult, report: str) -> str | None:
        """A report longer than the console shows goes whole to the run's spill directory."""
        if self.spill_dir is None or len(report.encode("utf-8", "replace")) <= self.show_output:
            return None
        try:
            return write_private(self.spill_dir, result.task.label, "report", report)
        except OSError as error:
            self._warn(f"cannot keep the report of {result.task.label}: {error}")
            return None

    def _behave_report(self, result: TaskResult) -> str:
        """behave's (plain) report of the feature, made from its records; '' without them."""
        if self.render is None or not result.records:
            return ""
        try:
            return self.render(result)
        except Exception as error:  # the report is a view: its failure costs no result
            return f"[behave-bounded: cannot show behave's report of it: {error}]"

    def summary(self, run: RunResult) -> int:
        """Print the summary and the verdict line (last); return the exit code."""
        if self.progress is not None:
            self.progress.close()
            self.progress = None
        counts = self.tally.counts
        not_run = run.never_ran + run.interrupted
        not_run_scenarios = sum(task.scenario_count for task in not_run)
        self.print()
        self.print("=" * 25 + " behave-bounded summary " + "=" * 25)
        self._list("failing scenarios", self.tally.problems.lines, self.tally.problems.more)
        self._list(
            "expected failures (xfailed)", self.tally.expected.lines, self.tally.expected.more
        )
        self._list(
            "flaky scenarios (passed on a rerun)", self.tally.flaky.lines, self.tally.flaky.more
        )
        if self.pass_rates is not None:
            self._list(
                f"pass rates over {self.pass_rates.times} runs (--repeat), failing ones first",
                (entry.line() for entry in self.pass_rates.ordered()),
            )
        self._list("features that did not finish (interrupted)", (t.label for t in run.interrupted))
        self._list("features that never ran", (t.label for t in run.never_ran))
        self._errors(run)
        if run.stopped_early:
            self.print(f"run stopped early: {run.stopped_early}")
        breakdown = ", ".join(f"{counts[status]} {status.value}" for status in _BREAKDOWN)
        if self.reruns:
            breakdown += f", {len(self.tally.flaky.lines) + self.tally.flaky.more} flaky"
        if not_run_scenarios:
            breakdown += f", {not_run_scenarios} not run"
        self.print(f"scenarios by status: {breakdown}")
        if self.truncated_streams:
            self.print(f"output truncated in {self.truncated_streams} stream(s) (see warnings)")
        self.print(f"wall time {run.wall_time:.2f} s, {self.workers} worker(s)")
        self._random_order()
        verdict_counts = {status.value: n for status, n in counts.items()}
        # Results that can no longer come count as failed when the run was lost, else skipped.
        not_run_as = Status.ERRORED if run.lost or run.setup_error else Status.SKIPPED
        verdict_counts[not_run_as.value] = counts[not_run_as] + not_run_scenarios
        self.stream.flush()
        self.print(verdict_line(verdict_counts, run_failure(run)))
        return exit_code(run, verdict_numbers(verdict_counts)[1])

    def _random_order(self) -> None:
        if self.random_seed is not None:  # what reproduces the order: copy it from the log
            self.print(f"random order: --random-seed {self.random_seed}")

    def _errors(self, run: RunResult) -> None:
        """Errors of the run outside any scenario: in the summary; the grave ones on stderr too."""
        for error in run.teardown_errors:
            self.print(f"error: {error}")
        # A report the user asked for that is missing, or a worker that could not start: one
        # line on stderr, the whole text (what before_all printed) in the summary.
        for error in [*run.report_errors, *([run.setup_error] if run.setup_error else [])]:
            self.print(f"error: {error}")
            line = error.split("\n", 1)[0]
            print(f"behave-bounded: error: {line}", file=self.errors, flush=True)

    def _list(self, title: str, lines: Iterable[str], more: int = 0) -> None:
        items = list(_bounded(lines, more))
        if not items:
            return
        self.print(f"{title}:")
        for item in items:
            self.print(f"  {item}")


def _bounded(lines: Iterable[str], more: int = 0) -> Iterable[str]:
    """The first :data:`MAX_LISTED` lines, then how many more (``more`` already counted)."""
    extra = more
    for number, line in enumerate(lines):
        if number < MAX_LISTED:
            yield line
        else:
            extra += 1
    if extra:
        yield f"... and {extra} more"


def _note(result: TaskResult) -> str:
    """What the per-feature line adds: a task's reruns, a run of --repeat."""
    notes = []
    if result.task.repeat:
        notes.append(f"run {result.task.repeat}")
    if result.reruns:
        flaky = sum(scenario.flaky for scenario in result.scenarios)
        notes.append(f"{len(result.reruns)} rerun(s), {flaky} flaky")
    return f"  ({'; '.join(notes)})" if notes else ""


def _attempts(scenario: ScenarioResult) -> str:
    """``  (3 attempts)`` for a failing scenario that ran more than once (--reruns)."""
    ran = sum(attempt.status is not Status.SKIPPED for attempt in scenario.attempts)
    return f"  ({ran} attempts)" if ran > 1 else ""


def _attempt(attempt: Attempt) -> str:
    return f"{attempt.status.value} (w{attempt.slot})"


def _deciding_runs(
    result: TaskResult,
) -> Iterable[tuple[TaskResult, tuple[ScenarioResult, ...]]]:
    """Each run of a rerun task with the failing scenarios whose result it decided."""
    runs = result.runs()
    decided: dict[int, list[ScenarioResult]] = {}
    for scenario in result.scenarios:
        if scenario.status.fails_run:
            decided.setdefault(scenario.final_run, []).append(scenario)
    for number, scenarios in sorted(decided.items()):
        yield runs[number], tuple(scenarios)


def _issue(tags: Iterable[str]) -> str:
    number = issue_number(tags)
    return f"  (issue #{number})" if number is not None else ""


def _first_line(message: str) -> str:
    """The line that says what happened: a traceback's last line, else the first line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if lines[0].startswith("Traceback (most recent call last)") else lines[0]
    return f"  -- {line[:200]}"
