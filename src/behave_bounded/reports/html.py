"""``--html PATH``: the run report people look at, a view of the JSON run report.

The page is drawn from a JSON run-report document (schema ``behave-bounded/run-report``,
version 1; see :mod:`behave_bounded.reports.json`) and nothing else: in a run,
:class:`HtmlReport` keeps a private JSON report next to PATH and draws the page from it when
the run closes (also after an interrupt or a lost run: the JSON says it is partial, and the
page says so first); ``merge-reports OUT --html`` draws one page from shard JSON reports, a
lane group per shard. One self-contained file, written atomically: inline CSS, an inline SVG
timeline drawn here, no script, no external resource of any kind, sections in ``<details>``.

What the page shows is :mod:`~behave_bounded.reports.page`'s; what it keeps of the JSON report,
:mod:`~behave_bounded.reports.digest`'s: its size grows with the number of scenarios, not with
their output.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from behave_bounded.atomic import Staged, stage, temp_file, write_atomically
from behave_bounded.errors import UsageError
from behave_bounded.reports.digest import Budget, Digest, items_of, read_items
from behave_bounded.reports.json import JsonReport
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.page import render
from behave_bounded.results import Task, TaskResult


def render_document(document: Mapping[str, Any], out: TextIO) -> None:
    """The page of one JSON run-report document (the dict ``--json`` writes)."""
    budget = Budget()
    render(out, [Digest.of(items_of(document), budget)], budget=budget)


def write_html(
    path: str,
    digests: Sequence[Digest],
    run: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
) -> None:
    """Write the page at ``path`` atomically (all of it or nothing)."""
    write_atomically(path, lambda out: render(out, digests, run, budget))


class HtmlReport:
    """--html PATH: the page of this run, drawn from a private JSON report when the run closes.

    The JSON report (the same data ``--json`` writes, with the same ``--show-output`` tails)
    is streamed to private part files next to PATH as the run goes; :meth:`stage` (after
    :meth:`seal`) assembles it into a private temporary file, reads it back item by item into a
    bounded digest, writes the page beside PATH and removes the JSON; the commit renames the
    page into place (:class:`~behave_bounded.reports.files.ReportFiles` does all three).
    """

    def __init__(self, path: str, show_output: int = 64 * 1024, *, reruns: bool = False) -> None:
        self.path = path
        try:  # the JSON's part files are named after a hidden file: probe PATH's own directory
            probe, fd = temp_file(path, ".probe")
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            raise UsageError(
                f"--html {path}: cannot write the report: {error.strerror or error}"
            ) from None
        directory, name = os.path.split(os.path.abspath(path))
        # Never written itself: its part files and staged files are named after it.
        self._json = JsonReport(
            os.path.join(directory, f".{name}.json"), show_output, private=True, reruns=reruns
        )

    def add(self, result: TaskResult, started: float | None = None) -> None:
        self._json.add(result, started)

    def seal(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        self._json.seal(meta, never_ran, interrupted)

    def stage(self, meta: RunMeta) -> Staged:
        """The page with ``meta``'s verdict beside PATH, to commit (after :meth:`seal`)."""
        staged_json = self._json.stage(meta)
        try:
            budget = Budget()
            digest = Digest.of(read_items(staged_json.temp), budget)
        finally:
            staged_json.discard()
        return stage(self.path, lambda out: render(out, [digest], budget=budget))

    def discard(self) -> None:
        self._json.discard()
