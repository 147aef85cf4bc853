"""The run's report files (``--json``, ``--junit-xml``, ``--html``): fed as features finish,
closed together under one verdict.

A report that cannot be written fails the run (exit code 1), and the verdict of every other
report says so, as the console's last line does: each file is staged whole beside its path
with the verdict known so far, and when staging one fails, the others are staged again with
the failure in their verdict, before any is renamed into place. (The record for
``--last-failed`` is no report: see :mod:`behave_bounded.last_failed`.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeAlias

from behave_bounded.reports.verdict import run_failure
from behave_bounded.results import RunResult, Task, TaskResult

if TYPE_CHECKING:  # a run without report files never imports them
    from behave_bounded.atomic import Staged
    from behave_bounded.reports.html import HtmlReport
    from behave_bounded.reports.json import JsonReport
    from behave_bounded.reports.junit import JUnitReport
    from behave_bounded.reports.meta import RunMeta

ReportFile: TypeAlias = "JsonReport | JUnitReport | HtmlReport"


@dataclass
class _Entry:
    report: ReportFile
    error: str = ""  # why it can no longer be written ("" while it can)


class ReportFiles:
    """The report files of one run."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, report: ReportFile) -> None:
        self._entries.append(_Entry(report))

    def add(self, result: TaskResult, started: float | None) -> None:
        """Hand a finished task to every report still writable; one that fails is dropped
        (its temporary files removed at once: a full disk is not kept full) and named at close."""
        for entry in self._writable():
            try:
                entry.report.add(result, started)
            except OSError as error:
                self._broken(entry, error)

    def close(
        self,
        run: RunResult,
        meta: Callable[[str], RunMeta],
        never_ran: Sequence[Task],
        interrupted: Sequence[Task],
    ) -> None:
        """Write every report; each one that cannot be written is added to ``run.report_errors``.

        ``meta(failure)`` is the run's metadata with ``failure`` (why the run failed outside
        its scenarios) for the verdict; it is asked again whenever a report fails to stage.
        """
        try:
            first = meta(run_failure(run))
            for entry in self._writable():
                try:
                    entry.report.seal(first, never_ran, interrupted)
                except OSError as error:  # pragma: no cover - buffered: a disk full of not_run
                    self._broken(entry, error)
            staged = self._stage_all(run, meta)
            for entry, file in staged:
                try:
                    file.commit()
                except OSError as error:  # pragma: no cover - a rename after staging beside it
                    self._broken(entry, error)
            for entry in self._entries:
                if entry.error:
                    self._report(run, entry)
        finally:
            for entry in self._entries:
                entry.report.discard()

    def _stage_all(
        self, run: RunResult, meta: Callable[[str], RunMeta]
    ) -> list[tuple[_Entry, Staged]]:
        """Stage every writable report with one verdict; again when one fails (at most once
        per report), so that every report that is written names every report that is not."""
        while True:
            failure = run_failure(_with_errors(run, self._errors()))
            current = meta(failure)
            staged: list[tuple[_Entry, Staged]] = []
            failed = False
            for entry in self._writable():
                try:
                    staged.append((entry, entry.report.stage(current)))
                except OSError as error:
                    self._broken(entry, error)
                    failed = True
            if not failed:
                return staged
            for _, file in staged:
                file.discard()

    def _writable(self) -> list[_Entry]:
        return [entry for entry in self._entries if not entry.error]

    def _errors(self) -> list[str]:
        return [_message(e) for e in self._entries if e.error]

    def _broken(self, entry: _Entry, error: OSError) -> None:
        entry.error = error.strerror or str(error)
        entry.report.discard()

    def _report(self, run: RunResult, entry: _Entry) -> None:
        run.report_errors.append(_message(entry))


def _message(entry: _Entry) -> str:
    return f"cannot write {entry.report.path}: {entry.error}"


def _with_errors(run: RunResult, errors: list[str]) -> RunResult:
    """``run`` as the verdict sees it once ``errors`` (reports not written) are added."""
    return replace(run, report_errors=[*run.report_errors, *errors]) if errors else run
