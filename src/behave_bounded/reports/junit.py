"""``--junit-xml PATH``: one merged JUnit XML file per run, in the common (Ant/Jenkins) schema.

Testcases are streamed to a part file as features finish; memory keeps an index per feature
file. Characters XML 1.0 cannot carry become visible escapes, so the file always parses.
"""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from behave_bounded.atomic import Staged, stage
from behave_bounded.reports.json import compact, dumps
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.not_run import not_run_reason, not_run_tasks, slots
from behave_bounded.reports.parts import open_parts
from behave_bounded.reports.verdict import FLAKY, Counts
from behave_bounded.results import (
    Attempt,
    CapturedStream,
    ScenarioResult,
    Status,
    Task,
    TaskResult,
)
from behave_bounded.tdd import issue_number

#: The ``<testsuite>`` that holds the run's metadata as ``<property>`` elements (no testcase).
RUN_SUITE = "behave-bounded run"
#: The ``<testsuite>`` of a merged JUnit file with one errored testcase per bad input.
PROBLEMS_SUITE = "merge problems"
#: Longest ``message`` attribute of a JUnit failure/error/skipped (the text has the rest).
MAX_ATTRIBUTE_CHARS = 500


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def attribute(text: str) -> str:
    """A ``message`` attribute: at most :data:`MAX_ATTRIBUTE_CHARS` characters (CI shows all)."""
    if len(text) > MAX_ATTRIBUTE_CHARS:
        return text[: MAX_ATTRIBUTE_CHARS - 3] + "..."
    return text


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry as a visible ``\\xNN`` escape."""
    if _XML_INVALID.search(text) is None:
        return text
    return _XML_INVALID.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def bounded_output(stream: CapturedStream, limit: int) -> str:
    """At most ``limit`` bytes of a stream's kept text (the tail), after a note of what is cut."""
    data = stream.text.encode("utf-8", "surrogatepass")
    written = max(stream.stats.written, len(data))
    if written <= len(data) <= limit:
        return stream.text
    shown = data[len(data) - limit :] if len(data) > limit else data
    start = 0
    while start < len(shown) and shown[start] & 0xC0 == 0x80:  # a character cut in two
        start += 1
    shown = shown[start:]
    where = stream.stats.spill_path or "not kept"
    note = (
        f"[behave-bounded: {stream.stats.name}: {written} bytes written, "
        f"{stream.stats.kept} kept by the capture, the last {len(shown)} shown here; "
        f"full output: {where}]"
    )
    return f"{note}\n{shown.decode('utf-8', 'surrogatepass')}"


def classname(path: str) -> str:
    """``features/auth/login.feature`` -> ``features.auth.login`` (Jenkins' package.class)."""
    path = path.replace("\\", "/").removeprefix("./").removesuffix(".feature")
    return path.replace("/", ".")


def _split_location(location: str) -> tuple[str, str]:
    path, _, line = location.rpartition(":")
    if path and line.isdigit():
        return path, line
    return location, ""


def element(tag: str, attributes: Mapping[str, str], text: str = "") -> ET.Element:
    element = ET.Element(tag, {key: xml_text(value) for key, value in attributes.items()})
    if text:
        element.text = xml_text(text)
    return element


_DEFAULT_SUMMARY = {
    Status.FAILED: "the scenario failed",
    Status.ERRORED: "the scenario raised an error",
    Status.UNDEFINED: "a step has no implementation",
    Status.XPASSED: "an expected failure passed",
}


def _outcome(scenario: ScenarioResult) -> ET.Element | None:
    """The failure/error/skipped child of a scenario's testcase (None: it passed)."""
    status = scenario.status
    summary = first_line(scenario.message)
    if status is Status.PASSED:
        return None
    if status is Status.SKIPPED:
        attributes = {"message": attribute(f"skipped: {summary}")} if summary else {}
        return element("skipped", attributes)
    if status is Status.XFAILED:
        issue = issue_number(scenario.tags)
        prefix = f"issue #{issue}: " if issue is not None else ""
        if summary.startswith(prefix):
            prefix = ""
        message = attribute(f"xfailed: {prefix}{summary}")
        return element("skipped", {"message": message}, scenario.message)
    tag = "error" if status is Status.ERRORED else "failure"
    kind = scenario.error_type or status.value
    message = attribute(f"{status.value}: {summary or _DEFAULT_SUMMARY[status]}")
    return element(tag, {"message": message, "type": kind}, scenario.message)


#: Earlier attempts of a rerun scenario, as Maven Surefire writes them (its report schema
#: 3.0): ``flaky*`` on a testcase that passed in the end, ``rerun*`` on one that never did.
_FLAKY = {"failure": "flakyFailure", "error": "flakyError"}
_RERUN = {"failure": "rerunFailure", "error": "rerunError"}


def _attempt_element(attempt: Attempt, names: Mapping[str, str]) -> tuple[str, ET.Element]:
    """(failure | error, the element) of an earlier attempt that failed the run: its message
    and type, its message again as ``<stackTrace>`` (behave's error text is its traceback)."""
    kind = "error" if attempt.status is Status.ERRORED else "failure"
    summary = first_line(attempt.message) or _DEFAULT_SUMMARY.get(attempt.status, "")
    attributes = {
        "message": attribute(f"{attempt.status.value} (worker {attempt.worker}): {summary}"),
        "type": attempt.error_type or attempt.status.value,
    }
    item = element(names[kind], attributes)
    item.append(element("stackTrace", {}, attempt.message))
    return kind, item


def _children(scenario: ScenarioResult) -> list[ET.Element]:
    """A testcase's children in the order Surefire's schema wants them: failure,
    rerunFailure*, flakyFailure*, skipped, error, rerunError*, flakyError*."""
    outcome = _outcome(scenario)
    earlier = [
        attempt
        for number, attempt in enumerate(scenario.attempts)
        if number != scenario.final_run and attempt.status.fails_run
    ]
    names = _FLAKY if outcome is None else _RERUN  # None: it passed in the end
    tagged = [_attempt_element(attempt, names) for attempt in earlier]
    failures = [item for kind, item in tagged if kind == "failure"]
    errors = [item for kind, item in tagged if kind == "error"]
    if outcome is None:
        return [*failures, *errors]
    if outcome.tag == "failure":
        return [outcome, *failures, *errors]
    return [*failures, outcome, *errors]  # skipped or error


def _testcase(task_path: str, scenario: ScenarioResult, suffix: str = "") -> ET.Element:
    path, line = _split_location(scenario.location)
    attributes = {"classname": classname(task_path), "name": scenario.name + suffix, "file": path}
    if line:
        attributes["line"] = line
    attributes["time"] = f"{scenario.duration:.3f}"
    case = element("testcase", attributes)
    case.extend(_children(scenario))
    return case


def _case_outcome(case: ET.Element) -> tuple[str, bool]:
    """(count key, never ran) of a testcase, read back from the XML we write."""
    failure = case.find("failure")
    if failure is not None:
        message = failure.get("message", "")
        for status in (Status.UNDEFINED, Status.XPASSED):
            if message.startswith(f"{status.value}:"):
                return status.value, False
        return Status.FAILED.value, False
    error = case.find("error")
    if error is not None:
        return Status.ERRORED.value, error.get("message", "").startswith("not run:")
    skipped = case.find("skipped")
    if skipped is not None:
        message = skipped.get("message", "")
        if message.startswith("xfailed:"):
            return Status.XFAILED.value, False
        return Status.SKIPPED.value, message.startswith("not run:")
    return Status.PASSED.value, False


def _flaky(case: ET.Element) -> bool:
    """A testcase that passed on a rerun: it has Surefire's flakyFailure or flakyError."""
    return any(case.find(tag) is not None for tag in _FLAKY.values())


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
            key, never_ran = _case_outcome(case)
            counts.add(key)
            counts.add("not_run", int(never_ran))
            if key == Status.PASSED.value and _flaky(case):
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
        cases = [_testcase(task.path, scenario, suffix) for scenario in result.scenarios]
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
