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

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from behave_bounded.atomic import temp_file, write_atomically
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
    goes to a private temporary file next to PATH as the run goes; :meth:`close` writes it,
    reads it back item by item into a bounded digest, writes PATH atomically and removes it.
    """

    def __init__(self, path: str, show_output: int = 64 * 1024) -> None:
        self.path = path
        try:
            self._json_path, fd = temp_file(path, ".json")
            os.close(fd)
        except OSError as error:
            raise UsageError(
                f"--html {path}: cannot write the report: {error.strerror or error}"
            ) from None
        self._json = JsonReport(self._json_path, show_output)

    def add(self, result: TaskResult, started: float | None = None) -> None:
        self._json.add(result, started)

    def close(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """Write PATH from the run's JSON report (also when the run was cut short)."""
        try:
            self._json.close(meta, never_ran, interrupted)
            budget = Budget()
            digest = Digest.of(read_items(self._json_path), budget)
            write_html(self.path, [digest], budget=budget)
        finally:
            self._remove_json()

    def _remove_json(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._json_path)
