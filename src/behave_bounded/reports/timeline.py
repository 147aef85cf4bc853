"""The timeline of the HTML report: one inline SVG, a lane per worker slot, drawn at report time.

Each task is a bar placed by its real start and end on a time axis shared by every lane (and,
in a merged report, by every shard's lane group), coloured by its status, with a ``<title>``
naming the feature, status and duration. A worker that crashed, timed out or was retired is
marked where it happened. Each lane ends with its idle share: the part of its run during which
it ran no task.

Bounded drawing: a bar narrower than :data:`MIN_BAR` (about a pixel) is merged with the bars
that follow it in its lane while each of them is as narrow, has the same status and starts less
than :data:`MIN_BAR` after the merged bar ends: one bar per such segment of a lane, from the
first one's start to the last one's end, whose title says how many features it stands for,
their total time and the first and last of them. A bar is drawn at least :data:`MIN_BAR` wide.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from behave_bounded.reports.digest import REPLACED, Digest, TaskView
from behave_bounded.reports.markup import escape

#: SVG user units (the page scales them to its width): label column, plot, idle column.
WIDTH = 1200
LABEL = 150
IDLE = 80
PLOT = WIDTH - LABEL - IDLE
AXIS = 24
LANE = 18
GAP = 4
GROUP_TITLE = 20
#: A bar narrower than this (user units, about a pixel on a 1200-pixel-wide page) may merge.
MIN_BAR = 1.0


@dataclass
class _Bar:
    x: float
    end: float
    status: str
    tasks: list[TaskView]
    narrow: bool  # every task of it narrower than MIN_BAR: more narrow ones may join


@dataclass(frozen=True)
class _Axis:
    start: float
    span: float

    def x(self, epoch: float) -> float:
        return LABEL + (epoch - self.start) / self.span * PLOT


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.3f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _run_span(digest: Digest) -> tuple[float | None, float | None]:
    ran = [task for task in digest.tasks if task.ran]
    starts = [task.started for task in ran if task.started]
    ends = [task.started + task.duration for task in ran if task.started]
    for key, into in (("started", starts), ("ended", ends)):
        value = digest.run.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            into.append(float(value))
    return (min(starts), max(ends)) if starts and ends else (None, None)


def _axis(digests: Sequence[Digest]) -> _Axis | None:
    spans = [_run_span(digest) for digest in digests]
    starts = [start for start, _ in spans if start is not None]
    ends = [end for _, end in spans if end is not None]
    if not starts:
        return None
    return _Axis(min(starts), max(max(ends) - min(starts), 1e-3))


def _ticks(span: float) -> list[tuple[float, str]]:
    """Round steps (1, 2 or 5 times a power of ten), 4 to 8 of them over the run, labelled."""
    unit, name = (60.0, "min") if span >= 600 else (1.0, "s")
    raw = span / unit / 8
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    digits = max(0, -math.floor(math.log10(step)))
    count = int(span / unit / step) + 1
    return [(n * step * unit, f"{n * step:.{digits}f} {name}") for n in range(count)]


def _bars(tasks: Iterable[TaskView], axis: _Axis) -> list[_Bar]:
    """A lane's bars in time order, runs of sub-pixel bars of one status merged."""
    bars: list[_Bar] = []
    for task in sorted(tasks, key=lambda t: t.started or 0.0):
        x = axis.x(task.started or 0.0)
        end = axis.x((task.started or 0.0) + task.duration)
        narrow = end - x < MIN_BAR
        last = bars[-1] if bars else None
        if (
            last is not None
            and last.narrow
            and narrow
            and last.status == task.status
            and x - last.end < MIN_BAR
        ):
            last.end = max(last.end, end)
            last.tasks.append(task)
            continue
        bars.append(_Bar(x, end, task.status, [task], narrow))
    return bars


def _bar_title(bar: _Bar) -> str:
    first = bar.tasks[0]
    if len(bar.tasks) == 1:
        where = f"worker {first.worker}" if first.worker is not None else "worker ?"
        text = f"{first.label} \u2014 {first.status} \u2014 {_duration(first.duration)} ({where})"
        return text + (f": {first.error}" if first.error else "")
    total = sum(task.duration for task in bar.tasks)
    return (
        f"{len(bar.tasks)} features \u2014 {bar.status} \u2014 {_duration(total)} in all "
        f"(merged: each narrower than a pixel): {first.label} \u2026 {bar.tasks[-1].label}"
    )


def _busy(tasks: Iterable[TaskView]) -> float:
    """Seconds a lane ran a task (overlaps, which a lane should not have, counted once)."""
    busy = 0.0
    reach = -math.inf
    for task in sorted(tasks, key=lambda t: t.started or 0.0):
        start = task.started or 0.0
        end = start + task.duration
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return busy


def _lanes(digest: Digest) -> list[tuple[int, str, list[TaskView]]]:
    """(lane key, label, tasks): by worker slot when the data has slots, else by worker."""
    lanes: dict[int, list[TaskView]] = {}
    by_slot = any(task.by_slot for task in digest.tasks) or bool(digest.workers)
    for worker in digest.workers:
        lanes.setdefault(worker.slot, [])
    for task in digest.tasks:
        if task.ran and task.lane is not None:
            lanes.setdefault(task.lane, []).append(task)
    name = "slot" if by_slot else "worker"
    return [(key, f"{name} {key}", lanes[key]) for key in sorted(lanes)]


def _markers(digest: Digest, key: int, tasks: Sequence[TaskView], axis: _Axis) -> list[str]:
    """Where a worker of this lane was replaced (``run.workers``), else where a task died."""
    found: list[tuple[float, str]] = []
    if digest.workers:
        for worker in digest.workers:
            if worker.slot == key and worker.end in REPLACED and worker.ended:
                who = f"worker {worker.worker}" if worker.worker is not None else "a worker"
                cause = f": {worker.cause}" if worker.cause else ""
                replaced = any(
                    other.slot == key and other.started >= worker.ended
                    for other in digest.workers
                    if other is not worker and other.started is not None
                )
                after = "; a new one started" if replaced else "; no task was left for a new one"
                found.append((worker.ended, f"{who} {worker.end} here{cause}{after}"))
    else:
        for task in tasks:
            if task.error and task.started:
                found.append((task.started + task.duration, f"{task.label}: {task.error}"))
    return [
        f'<path class="marker" d="M{axis.x(at):.2f} 0 v{LANE} m-4 -{LANE} h8 l-4 6 z">'
        f"<title>{escape(title)}</title></path>"
        for at, title in found
    ]


def svg(digests: Sequence[Digest]) -> str:
    """The timeline of one run (one digest) or of shards (one lane group per digest)."""
    axis = _axis(digests)
    if axis is None:
        return '<p class="empty">No task ran: there is no timeline to draw.</p>'
    body: list[str] = []
    y = AXIS
    lane_count = 0
    for digest in digests:
        lanes = _lanes(digest)
        run_start, run_end = _run_span(digest)
        run_span = max((run_end or 0.0) - (run_start or 0.0), 1e-3)
        group = [f'<g class="lane-group" data-source="{escape(digest.source)}">']
        if len(digests) > 1:
            group.append(
                f'<text class="group-title" x="4" y="{y + 14}">{escape(digest.source)}</text>'
            )
            y += GROUP_TITLE
        for key, label, tasks in lanes:
            idle = max(0.0, 1 - _busy(tasks) / run_span)
            group.append(
                f'<g class="lane" data-lane="{key}" transform="translate(0 {y})">'
                f'<rect class="lane-bg" x="{LABEL}" y="0" width="{PLOT}" height="{LANE}"/>'
                f'<text class="lane-label" x="{LABEL - 6}" y="13">{escape(label)}</text>'
            )
            for bar in _bars(tasks, axis):
                width = max(bar.end - bar.x, MIN_BAR)
                merged = " merged" if len(bar.tasks) > 1 else ""
                group.append(
                    f'<rect class="bar s-{bar.status}{merged}" x="{bar.x:.2f}" y="2" '
                    f'width="{width:.2f}" height="{LANE - 4}"><title>{escape(_bar_title(bar))}'
                    "</title></rect>"
                )
            group.extend(_markers(digest, key, tasks, axis))
            group.append(
                f'<text class="idle" x="{LABEL + PLOT + 8}" y="13">idle {idle:.0%}'
                f"<title>{escape(label)} ran no task for {_duration(idle * run_span)} of "
                f"{_duration(run_span)}</title></text></g>"
            )
            y += LANE + GAP
            lane_count += 1
        group.append("</g>")
        body.extend(group)
    height = y + 4
    ticks = []
    for seconds, label in _ticks(axis.span):
        x = axis.x(axis.start + seconds)
        ticks.append(
            f'<line class="tick" x1="{x:.2f}" y1="{AXIS - 4}" x2="{x:.2f}" y2="{height}"/>'
            f'<text class="tick-label" x="{x:.2f}" y="{AXIS - 8}">{label}</text>'
        )
    return (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="timeline: {lane_count} lane(s)">'
        f'<rect class="timeline-bg" x="0" y="0" width="{WIDTH}" height="{height}"/>'
        + "".join(ticks)
        + "".join(body)
        + "</svg>"
    )
