"""``--junit-xml PATH``: one merged JUnit XML file per run, in the common (Ant/Jenkins) schema.

Testcases are streamed to a part file as features finish; memory keeps an index per feature
file. Characters XML 1.0 cannot carry become visible escapes, so the file always parses.
"""

from __future__ import annotations

import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from behave_bounded.atomic import Staged, stage
from behave_bounded.reports.json import compact, dumps
from behave_bounded.reports.junit_cases import (
    attribute,
    bounded_output,
    case_element,
    case_outcome,
    classname,
    element,
    is_flaky,
)
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.not_run import not_run_reason, not_run_tasks, slots
from behave_bounded.reports.parts import open_parts
from behave_bounded.reports.verdict import FLAKY, Counts
from behave_bounded.results import (
    Status,
    Task,
    TaskResult,
)

#: The ``<testsuite>`` that holds the run's metadata as ``<property>`` elements (no testcase).
RUN_SUITE = "behave-bounded run"
#: The ``<testsuite>`` of a merged JUnit file with one errored testcase per bad input.
PROBLEMS_SUITE = "merge problems"


@dataclass(slots=True)
class _Totals:
    """The counters of a ``<testsuite>`` (or of ``<testsuites>``: the sums of its suites')."""

    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    def add(self, other: _Totals) -> None:
        self.tests += other.tests
        self.failures += other.failures
        self.errors += other.errors
        self.skipped += other.skipped

    def attributes(self) -> dict[str, str]:
        return {
            "tests": str(self.tests),
            "failures": str(self.failures),
            "errors": str(self.errors),
            "skipped": str(self.skipped),
        }


def _tally(cases: Iterable[ET.Element], counts: Counts | None) -> _Totals:
    """The counters of these testcases; their outcomes are added to ``counts`` (if any)."""
    totals = _Totals()
    for case in cases:
        totals.tests += 1
        totals.failures += case.find("failure") is not None
        totals.errors += case.find("error") is not None
        totals.skipped += case.find("skipped") is not None
        if counts is not None:
            key, never_ran = case_outcome(case)
            counts.add(key)
            counts.add("not_run", int(never_ran))
            if key == Status.PASSED.value and is_flaky(case):
                counts.add(FLAKY)
    return totals


@dataclass
class SuitePart:
    """Testcases of one feature file as one task produced them, or as one input held them."""

    name: str
    cases: Sequence[ET.Element]
    time: float = 0.0
    properties: Sequence[tuple[str, str]] = ()
    timestamp: str = ""
    hostname: str = ""
    #: False for the "merge problems" suite: its testcases are not scenarios.
    scenarios: bool = True


@dataclass(slots=True)
class Suite:
    """A ``<testsuite>`` in the making: where its testcases are in the part file, and sums."""

    name: str
    totals: _Totals = field(default_factory=_Totals)
    time: float = 0.0
    properties: dict[tuple[str, str], None] = field(default_factory=dict)  # an ordered set
    timestamp: str = ""
    hostname: str = ""
    chunks: list[tuple[int, int]] = field(default_factory=list)
    counts: Counts | None = None

    def absorb(self, other: Suite) -> None:
        """Take in another part of the same feature file (another task, another shard)."""
        self.totals.add(other.totals)
        self.time += other.time
        self.properties.update(other.properties)
        stamps = [stamp for stamp in (self.timestamp, other.timestamp) if stamp]
        self.timestamp = min(stamps, default="")
        self.hostname = self.hostname or other.hostname
        self.chunks.extend(other.chunks)

    def head(self) -> str:
        """The start tag and the properties (the testcases follow, then :data:`_SUITE_END`)."""
        attributes = {"name": self.name, **self.totals.attributes(), "time": f"{self.time:.3f}"}
        if self.timestamp:
            attributes["timestamp"] = self.timestamp
        if self.hostname:
            attributes["hostname"] = self.hostname
        empty = ET.tostring(element("testsuite", attributes), encoding="unicode")
        head = "  " + empty[: -len(" />")] + ">"
        if self.properties:
            holder = ET.Element("properties")
            for name, value in self.properties:
                holder.append(element("property", {"name": name, "value": value}))
            ET.indent(holder, space="  ", level=2)
            head += "\n    " + ET.tostring(holder, encoding="unicode")
        return head


_SUITE_END = "\n  </testsuite>\n"


def _case_xml(case: ET.Element) -> str:
    case.tail = None
    ET.indent(case, space="  ", level=2)
    return "\n    " + ET.tostring(case, encoding="unicode")


class SuiteStore:
    """The testsuites of a JUnit file being assembled: one per feature file.

    Testcases go to a part file as they come; memory keeps only an index: per feature file,
    where its testcases are and their counters. So a feature cut into several tasks (``--scheme
    scenario``) or run on several shards is still one ``<testsuite>``.
    """

    def __init__(self, path: str, option: str) -> None:
        self.path = path
        self.part = open_parts(path, ("testcases",), option)["testcases"]
        self.suites: dict[str, Suite] = {}
        self.counts = Counts()

    def stage(self, part: SuitePart) -> Suite:
        """Write a part's testcases; it counts once :meth:`commit` takes it in."""
        counts = Counts() if part.scenarios else None
        return Suite(
            name=part.name,
            totals=_tally(part.cases, counts),
            time=part.time,
            properties=dict.fromkeys(part.properties),
            timestamp=part.timestamp,
            hostname=part.hostname,
            chunks=[self.part.write("".join(_case_xml(case) for case in part.cases))],
            counts=counts,
        )

    def commit(self, staged: Suite) -> None:
        suite = self.suites.get(staged.name)
        if suite is None:
            self.suites[staged.name] = staged
        else:
            suite.absorb(staged)
        if staged.counts is not None:
            self.counts.update(staged.counts)
            staged.counts = None  # counted: the index keeps only what the file needs

    def add(self, part: SuitePart) -> None:
        self.commit(self.stage(part))

    def write(self, meta: RunMeta, extra: Sequence[tuple[str, str]] = ()) -> None:
        """Assemble the file at ``path`` (atomically) and remove the part file."""
        try:
            self.prepare(meta, extra).commit()
        finally:
            self.part.discard()

    def prepare(self, meta: RunMeta, extra: Sequence[tuple[str, str]] = ()) -> Staged:
        """The whole file beside ``path``, to commit; the part file stays for another try."""
        return stage(self.path, lambda out: self._assemble(out, meta, extra))

    def _assemble(self, out: TextIO, meta: RunMeta, extra: Sequence[tuple[str, str]]) -> None:
        totals = _Totals()
        for suite in self.suites.values():
            totals.add(suite.totals)
        root = {"name": "behave-bounded", **totals.attributes(), "time": f"{meta.duration:.3f}"}
        attributes = " ".join(f'{key}="{value}"' for key, value in root.items())
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites {attributes}>\n')
        properties = [*run_properties(meta, self.counts).items(), *extra]
        run = Suite(RUN_SUITE, properties=dict.fromkeys(properties))
        run.timestamp = timestamp(meta.started)
        out.write(run.head() + _SUITE_END)
        for suite in self.suites.values():
            out.write(suite.head())
            self.part.copy_chunks(out, suite.chunks)
            out.write(_SUITE_END)
        out.write("</testsuites>\n")


def run_properties(meta: RunMeta, counts: Counts) -> dict[str, str]:
    """The run's metadata as ``<property>`` name/value pairs of the run suite."""
    properties = {
        "partial": str(meta.partial).lower(),
        "reason": meta.reason,
        "lost": str(meta.lost).lower(),
        "started": repr(meta.started),
        "ended": repr(meta.ended),
        "jobs": str(meta.jobs),
        "version.behave_bounded": meta.behave_bounded_version,
        "version.behave": meta.behave_version,
        "version.python": meta.python_version,
        "argv": dumps(list(meta.argv)),
        "failure": meta.failure,
        "verdict": counts.verdict(meta.failure),
    }
    if meta.plan is not None:  # a --shard run: what merge-reports checks the shards against
        properties["plan"] = compact(dict(meta.plan))
    if meta.random_seed is not None:  # a --random-order run: --random-seed S runs it again
        properties["random_seed"] = str(meta.random_seed)
    for key, value in meta.settings.items():
        properties[f"setting.{key}"] = dumps(value)
    return properties


def timestamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


class JUnitReport:
    """--junit-xml PATH: one merged JUnit XML file per run, the common (Jenkins/Ant) schema.

    One ``<testsuite>`` per feature file (however many tasks ran it) and one ``<testcase>``
    per scenario (outline rows included). A failing task's output, the tail of at most
    ``max_output`` bytes per stream, goes to its first failing testcase (the others point
    there), never the whole output; features that never ran are testcases too:
    ``<error message="not run: ...">`` when the run was lost to crashes, ``<skipped
    message="not run: ...">`` after ``--stop`` or an interrupt (one per scenario they hold).
    """

    def __init__(self, path: str, max_output: int = 64 * 1024, *, reruns: bool = False) -> None:
        self.path = path
        self.max_output = max_output
        self._store = SuiteStore(path, "--junit-xml")
        if reruns:  # the counts (and a merge of this file) know how many were flaky
            self._store.counts.add(FLAKY, 0)
        self._hostname = socket.gethostname()
        self._closed = False

    def add(self, result: TaskResult, started: float | None = None) -> None:
        """Write one finished task's testcases (``started``: epoch, optional)."""
        self._check_open()
        task = result.task
        suffix = f" (run {task.repeat})" if task.repeat else ""  # --repeat: one case per run
        cases = [case_element(task.path, scenario, suffix) for scenario in result.scenarios]
        self._attach_output(result, cases)
        properties = [("worker", str(result.worker))]
        if task.lines:
            properties.append(("lines", " ".join(str(line) for line in task.lines)))
        if result.error:
            properties.append(("error", attribute(result.error)))
        for rerun in result.reruns:
            what = rerun.error or "; ".join(s.location for s in rerun.scenarios)
            about = attribute(f"worker {rerun.worker}: {what}")
            properties.append((f"rerun.{rerun.task.attempt}", about))
        part = SuitePart(
            name=task.path,
            cases=cases,
            time=result.duration,
            properties=properties,
            timestamp=timestamp(started) if started is not None else "",
            hostname=self._hostname,
        )
        self._store.add(part)

    def _attach_output(self, result: TaskResult, cases: Sequence[ET.Element]) -> None:
        """Each run's bounded output on the first failing testcase whose result it decided
        (one run without reruns); the other testcases it decided point there."""
        runs = result.runs()
        by_run: dict[int, list[ET.Element]] = {}
        for scenario, case in zip(result.scenarios, cases, strict=True):
            if case.find("failure") is not None or case.find("error") is not None:
                by_run.setdefault(scenario.final_run, []).append(case)
        for number, failing in sorted(by_run.items()):
            self._attach_run(runs[number], failing)

    def _attach_run(self, result: TaskResult, failing: Sequence[ET.Element]) -> None:
        first = failing[0]
        attached = False
        for stream, tag in ((result.stdout, "system-out"), (result.stderr, "system-err")):
            if stream.text:
                first.append(element(tag, {}, bounded_output(stream, self.max_output)))
                attached = True
        if not attached:
            return
        attempt = f" (attempt {result.task.attempt})" if result.task.attempt > 1 else ""
        pointer = f"[behave-bounded: the output of {result.task.label}{attempt} is attached to " + (
            f"its testcase {first.get('name', '')!r}]"
        )
        for case in failing[1:]:
            case.append(element("system-out", {}, pointer))

    def close(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """Add the features that did not run, then write PATH in one atomic rename."""
        self.seal(meta, never_ran, interrupted)
        try:
            self.stage(meta).commit()
        finally:
            self.discard()

    def seal(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """Add the features that did not run (``meta``: why); nothing can be added after."""
        self._check_open()
        self._closed = True
        for task, was_running in not_run_tasks(never_ran, interrupted):
            self._store.add(_not_run_part(task, not_run_reason(was_running, meta), meta))

    def stage(self, meta: RunMeta) -> Staged:
        """The whole file with ``meta``'s verdict beside PATH, to commit (after :meth:`seal`)."""
        if not self._closed:
            raise RuntimeError(f"the JUnit report {self.path} is not sealed")
        return self._store.prepare(meta)

    def discard(self) -> None:
        """Drop the report's temporary file (PATH itself only ever appears by a commit)."""
        self._closed = True
        self._store.part.discard()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the JUnit report {self.path} is already closed")


def _not_run_part(task: Task, reason: str, meta: RunMeta) -> SuitePart:
    """A feature that never ran: one testcase per scenario it holds, none silently missing."""
    count = slots(task)
    cases = []
    for number in range(1, count + 1):
        case = element(
            "testcase",
            {
                "classname": classname(task.path),
                "name": f"{task.label}: scenario {number} of {count} (not run)",
                "file": task.path,
                "time": "0.000",
            },
        )
        message = attribute(f"not run: {reason}")
        if meta.lost:
            case.append(element("error", {"message": message, "type": "not run"}))
        else:
            case.append(element("skipped", {"message": message}))
        cases.append(case)
    return SuitePart(task.path, cases, properties=[("not_run", reason)])
