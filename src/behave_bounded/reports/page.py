"""The page of the HTML report: its sections, top to bottom, drawn from bounded digests.

:func:`render` writes one page for the digests of one run (or of a merge's shards): the verdict
and counts, the timeline (:mod:`~behave_bounded.reports.timeline`), the failing and errored
scenarios with their error and the tail of their output, xfailed and xpassed scenarios with
their issues, flaky scenarios with their attempts, the features that did not run, the 20
slowest features, every feature, and the settings and versions; each section a ``<details>``.
Everything shown of a run is escaped (:mod:`~behave_bounded.reports.markup`).
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from behave_bounded import __version__
from behave_bounded.reports import markup
from behave_bounded.reports.digest import (
    MESSAGE_BUDGET,
    TAIL_BUDGET,
    Budget,
    Digest,
    ScenarioView,
    StreamView,
    TaskView,
)
from behave_bounded.reports.json import SCHEMA, SCHEMA_VERSION
from behave_bounded.reports.markup import escape
from behave_bounded.reports.page_style import STYLE
from behave_bounded.reports.timeline import svg
from behave_bounded.reports.verdict import COUNT_KEYS, verdict_line, worst
from behave_bounded.results import Status

#: How many features the "slowest" table lists.
SLOWEST = 20
FAILING = ("failed", "errored", "undefined")


@dataclass
class _Page:
    """What one page draws: the run as a whole and the digests of its documents (shards)."""

    run: Mapping[str, Any]
    digests: Sequence[Digest]
    budget: Budget
    tasks: list[TaskView] = field(default_factory=list)
    listed: list[ScenarioView] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tasks = [task for digest in self.digests for task in digest.tasks]
        self.listed = [scenario for digest in self.digests for scenario in digest.listed]

    @property
    def counts(self) -> dict[str, int]:
        given = self.run.get("counts")
        if isinstance(given, Mapping):
            return {key: given[key] for key in COUNT_KEYS if isinstance(given.get(key), int)}
        counts: Counter[str] = Counter()
        for digest in self.digests:
            for per_status in digest.per_feature.values():
                counts.update(per_status)
        return {key: counts[key] for key in COUNT_KEYS}

    @property
    def verdict(self) -> str:
        given = self.run.get("verdict")
        return given if isinstance(given, str) and given else verdict_line(self.counts)

    @property
    def failed(self) -> bool:
        counts = self.counts
        return bool(self.run.get("lost")) or any(
            counts.get(status.value, 0) for status in Status if status.fails_run
        )


def _header(page: _Page) -> str:
    run = page.run
    counts = page.counts
    parts = [f'<header class="{"failed" if page.failed else "passed"}">']
    parts.append("<h1>behave-bounded run report</h1>")
    if run.get("partial") is True:
        reason = run.get("reason") if isinstance(run.get("reason"), str) else ""
        parts.append(
            '<p class="partial" id="partial">Partial run: this run did not finish'
            + (f": {escape(reason)}" if reason else "")
            + ". Features that did not run are listed below.</p>"
        )
    parts.append(f'<p class="verdict">{escape(page.verdict)}</p><div class="counts">')
    shown = [key for key in COUNT_KEYS if key != "not_run"]
    flaky = sum(digest.flaky for digest in page.digests)
    has_flaky = any(digest.has_flaky for digest in page.digests)
    numbers = {key: counts.get(key, 0) for key in shown}
    if has_flaky:  # the data knows about reruns: scenarios that passed only on a rerun
        numbers["flaky"] = flaky
    if counts.get("not_run"):
        numbers["not_run"] = counts["not_run"]
    for key, number in numbers.items():
        zero = " zero" if not number else ""
        label = key.replace("_", " ")
        parts.append(f'<span class="count s-{key}{zero}">{number} {escape(label)}</span>')
    parts.append("</div>")
    duration = markup.number_or_none(run.get("duration"))
    meta = [f"started {markup.when(run.get('started'))}"]
    if duration is not None:
        meta.append(f"wall time {markup.seconds(duration)}")
    jobs = run.get("jobs")
    if isinstance(jobs, int):
        meta.append(f"{jobs} job(s)")
    if len(page.digests) > 1:
        meta.append(f"merged from {len(page.digests)} shard report(s)")
    parts.append(f'<p class="meta">{escape(", ".join(meta))}</p></header>\n')
    return "".join(parts)


def _legend() -> str:
    entries = "".join(
        f'<span><span class="swatch s-{status.value}"></span>{status.value}</span>'
        for status in Status
    )
    marker = "<span>\u25bc crash, timeout or retirement: a new worker took the slot</span>"
    return f'<div class="legend">{entries}{marker}</div>'


def _timeline(page: _Page) -> str:
    by_slot = any(task.by_slot for task in page.tasks)
    lanes = "one lane per worker slot" if by_slot else "one lane per worker"
    body = (
        f'<p class="note">{lanes}; hover a bar for its feature, status and duration; each lane '
        "ends with the share of the run it sat idle.</p>" + svg(page.digests) + _legend()
    )
    return markup.details("Timeline", body, anchor="timeline")


def _stream(stream: StreamView) -> str:
    """A failing task's stream: what happened to it, its tail, where the rest is."""
    if not stream.written:
        return ""
    facts = f"{stream.written} bytes written, {stream.kept} kept"
    if stream.truncated:
        facts += f", {stream.dropped} dropped (truncated)"
    shown = len(stream.tail.encode("utf-8", "replace")) if stream.tail is not None else 0
    where = ""
    if stream.spill_path and (stream.truncated or shown < stream.written):
        where = f"; full output: <code>{escape(stream.spill_path)}</code>"
    head = f"<p><b>{stream.name}</b>: {escape(facts)}{where}</p>"
    if stream.tail_withheld:
        return head + (
            '<p class="note">Output not shown: this report shows at most '
            f"{TAIL_BUDGET // 2**20} MiB of output in all; the JSON report and the spill file "
            "have it.</p>"
        )
    if stream.tail is None:
        return head
    told = f"the last {shown} bytes" if shown < stream.kept else "all of it"
    return head + f'<p class="note">{told}:</p><pre class="tail">{escape(stream.tail)}</pre>'


def _message(scenario: ScenarioView) -> str:
    if not scenario.message:
        return ""
    kind = f"{scenario.error_type}: " if scenario.error_type else ""
    cut = ""
    if scenario.message_cut:
        cut = (
            f'<p class="note">First line only: this report shows at most '
            f"{MESSAGE_BUDGET // 2**20} MiB of messages in all; the JSON report has the rest.</p>"
        )
    return f'<pre class="message">{escape(kind + scenario.message)}</pre>{cut}'


def _captured(scenario: ScenarioView) -> str:
    """What behave captured of the failing scenario (its tail), as the console shows it."""
    if scenario.captured_withheld:
        return (
            '<p class="note">Captured output not shown: the report\'s output budget is spent.</p>'
        )
    if not scenario.captured:
        return ""
    return (
        '<p class="note">captured by behave (the last part):</p>'
        f'<pre class="tail captured">{escape(scenario.captured)}</pre>'
    )


def _scenario_item(scenario: ScenarioView) -> str:
    return (
        f"<li>{markup.badge(scenario.status)} <code>{escape(scenario.location)}</code> "
        f'<span class="name">{escape(scenario.name)}</span> '
        f'<span class="note">({markup.seconds(scenario.duration)})</span>'
        f"{_message(scenario)}{_captured(scenario)}</li>"
    )


def _failures(page: _Page) -> str:
    by_path: dict[str, tuple[list[TaskView], list[ScenarioView]]] = {}
    for scenario in page.listed:
        if scenario.status in FAILING:
            by_path.setdefault(scenario.feature, ([], []))[1].append(scenario)
    for task in page.tasks:
        if task.fails_run and (task.path in by_path or task.error):
            by_path.setdefault(task.path, ([], []))[0].append(task)
    if not by_path:
        return markup.details("Failing and errored scenarios (none)", "<p>Nothing failed.</p>")
    blocks = []
    for path, (tasks, scenarios) in by_path.items():
        status = worst(Status(s.status) for s in scenarios) if scenarios else Status.ERRORED
        inner = []
        for task in tasks:
            where = f"worker {task.worker}" if task.worker is not None else "no worker"
            line = f"<p><code>{escape(task.label)}</code>: {escape(task.status)}, {where}, "
            line += f"{markup.seconds(task.duration)}</p>"
            if task.error:
                line += f'<pre class="message">{escape(task.error)}</pre>'
            inner.append(line + "".join(_stream(stream) for stream in task.streams))
        if scenarios:
            inner.append("<ul>" + "".join(_scenario_item(s) for s in scenarios) + "</ul>")
        title = (
            f"{markup.badge(status.value)} <code>{escape(path)}</code> \u2014 "
            f"{len(scenarios)} failing scenario(s)"
        )
        blocks.append(markup.details(title, "".join(inner)))
    count = sum(len(scenarios) for _, scenarios in by_path.values())
    return markup.details(
        f"Failing and errored scenarios ({count}, in {len(by_path)} feature(s))",
        "".join(blocks),
        anchor="failures",
    )


def _expected(page: _Page) -> str:
    rows = [
        [
            f"<td>{markup.badge(s.status)}</td>",
            markup.td(f"#{s.tdd_issue}" if s.tdd_issue is not None else "(no issue)"),
            f"<td><code>{escape(s.location)}</code></td>",
            markup.td(s.name),
            f"<td>{escape(s.message)}</td>",
        ]
        for s in page.listed
        if s.status in ("xfailed", "xpassed")
    ]
    if not rows:
        return ""
    xpassed = sum(s.status == "xpassed" for s in page.listed)
    note = (
        '<p class="note">xfailed: an expected failure that failed, as it should. xpassed: an '
        "expected failure that passed, which fails the run: the bug appears fixed.</p>"
    )
    table = markup.table(("status", "issue", "location", "scenario", "message"), rows)
    title = f"Expected failures ({len(rows) - xpassed} xfailed, {xpassed} xpassed)"
    return markup.details(title, note + table, anchor="expected")


def _flaky(page: _Page) -> str:
    if not any(digest.has_flaky for digest in page.digests):
        return ""
    flaky = [s for s in page.listed if s.flaky]
    if not flaky:
        return markup.details(
            "Flaky scenarios (none)", "<p>No scenario needed a rerun to pass.</p>"
        )
    items = []
    for scenario in flaky:
        attempts = "".join(
            f"<li>attempt {number}: {markup.badge(a.status)} {markup.seconds(a.duration)}"
            + (f", worker {a.worker}" if a.worker is not None else "")
            + (f'<pre class="message">{escape(a.message)}</pre>' if a.message else "")
            + "</li>"
            for number, a in enumerate(scenario.attempts, 1)
        )
        items.append(
            f"<li>{markup.badge('flaky')} {markup.badge(scenario.status)} "
            f"<code>{escape(scenario.location)}</code> {escape(scenario.name)}"
            f"<ol>{attempts}</ol></li>"
        )
    return markup.details(f"Flaky scenarios ({len(flaky)})", "<ul>" + "".join(items) + "</ul>")


def _not_run(page: _Page) -> str:
    entries = [entry for digest in page.digests for entry in digest.not_run]
    if not entries:
        return ""
    rows = [
        [
            f"<td>{markup.badge(str(entry.get('status', 'skipped')))}</td>",
            f"<td><code>{escape(str(entry.get('path', '')))}</code></td>",
            markup.td(str(entry.get("scenarios", "")), number=True),
            markup.td(str(entry.get("reason", ""))),
        ]
        for entry in entries
    ]
    table = markup.table(("counted as", "feature", "scenarios", "why"), rows)
    return markup.details(f"Not run ({len(entries)} feature(s))", table, anchor="not-run")


@dataclass
class _Feature:
    path: str
    tasks: list[TaskView] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def duration(self) -> float:
        return sum(task.duration for task in self.tasks)

    @property
    def status(self) -> str:
        statuses = [Status(task.status) for task in self.tasks]
        return worst([*statuses, *(Status(s) for s in self.counts)]).value

    def row(self, start: float | None) -> list[str]:
        workers = sorted({t.worker for t in self.tasks if t.worker is not None and t.started})
        shown = ", ".join(map(str, workers[:3])) + (", ..." if len(workers) > 3 else "")
        starts = [t.started for t in self.tasks if t.started]
        offset = f"+{min(starts) - start:.2f} s" if starts and start else ""
        scenarios = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        return [
            f"<td>{markup.badge(self.status)}</td>",
            f"<td><code>{escape(self.path)}</code></td>",
            markup.td(scenarios),
            markup.td(shown, number=True),
            markup.td(offset, number=True),
            markup.td(markup.seconds(self.duration), number=True),
        ]


def _features(page: _Page) -> list[_Feature]:
    features: dict[str, _Feature] = {}
    for digest in page.digests:
        for task in digest.tasks:
            features.setdefault(task.path, _Feature(task.path)).tasks.append(task)
        for path, counts in digest.per_feature.items():
            features.setdefault(path, _Feature(path)).counts.update(counts)
    return list(features.values())


def _run_start(page: _Page) -> float | None:
    starts = [t.started for t in page.tasks if t.started]
    given = markup.number_or_none(page.run.get("started"))
    return min([*starts, given] if given else starts, default=None)


_FEATURE_HEAD = ("status", "feature", "scenarios", "worker(s)", "started", "time")


def _slowest(page: _Page, features: Sequence[_Feature]) -> str:
    slowest = sorted(features, key=lambda f: -f.duration)[:SLOWEST]
    if not slowest:
        return ""
    start = _run_start(page)
    table = markup.table(_FEATURE_HEAD, (feature.row(start) for feature in slowest))
    note = (
        '<p class="note">started: after the start of the run; time: the sum of its tasks\' '
        "durations (a feature that --scheme scenario split ran on several workers).</p>"
    )
    return markup.details(f"The {len(slowest)} slowest features", note + table, anchor="slowest")


def _all_features(page: _Page, features: Sequence[_Feature]) -> str:
    start = _run_start(page)
    table = markup.table(_FEATURE_HEAD, (feature.row(start) for feature in features))
    return markup.details(f"All features ({len(features)})", table, open_=False, anchor="features")


def _settings(page: _Page) -> str:
    run = page.run
    rows: list[list[str]] = []
    versions = run.get("versions")
    for key, value in versions.items() if isinstance(versions, Mapping) else ():
        rows.append([markup.td(f"version of {key}"), f"<td><code>{escape(str(value))}</code></td>"])
    for key in ("started", "ended"):
        rows.append([markup.td(key), markup.td(markup.when(run.get(key)))])
    for key in ("jobs", "partial", "reason", "lost"):
        if key in run:
            rows.append([markup.td(key), f"<td><code>{escape(json.dumps(run[key]))}</code></td>"])
    argv = run.get("argv")
    if isinstance(argv, list):
        command = shlex.join(str(arg) for arg in argv)
        rows.append([markup.td("command line"), f"<td><code>{escape(command)}</code></td>"])
    merged = run.get("merged_from")
    if isinstance(merged, list):
        rows.append([markup.td("merged from"), markup.td(", ".join(map(str, merged)))])
    settings = run.get("settings")
    for key, value in settings.items() if isinstance(settings, Mapping) else ():
        shown = json.dumps(value, ensure_ascii=False, default=str)
        rows.append([markup.td(f"setting {key}"), f"<td><code>{escape(shown)}</code></td>"])
    table = markup.table(("what", "value"), rows)
    return markup.details("Settings and versions", table, open_=False, anchor="settings")


def _footer(page: _Page) -> str:
    refused = page.budget.refused
    notes = []
    if refused["messages"]:
        notes.append(f"{refused['messages']} message(s) shortened to their first line")
    if refused["tails"]:
        notes.append(f"the output of {refused['tails']} stream(s) not shown")
    bound = f" To stay small, {'; '.join(notes)}: the JSON report has them." if notes else ""
    return (
        f'<footer class="note">Drawn by behave-bounded {escape(__version__)} from a {SCHEMA} '
        f"version {SCHEMA_VERSION} document; one self-contained file: no script, no external "
        f"resource.{bound}</footer>"
    )


def render(
    out: TextIO,
    digests: Sequence[Digest],
    run: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
) -> None:
    """Write the page of ``digests`` (one per document: a run, or a merge's shards) to ``out``.

    ``run`` is the run as a whole (a merge's merged ``run``); by default the first digest's.
    ``budget`` is the one the digests were read with, for the footer's notes.
    """
    page = _Page(
        run if run is not None else (digests[0].run if digests else {}), digests, budget or Budget()
    )
    title = escape(f"behave-bounded: {page.verdict}")
    out.write(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head>\n<body><main>\n"
    )
    features = _features(page)
    for section in (
        _header(page),
        _timeline(page),
        _failures(page),
        _expected(page),
        _flaky(page),
        _not_run(page),
        _slowest(page, features),
        _all_features(page, features),
        _settings(page),
        _footer(page),
    ):
        out.write(section)
    out.write("\n</main></body></html>\n")
