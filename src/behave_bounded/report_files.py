"""Machine-readable reports of a run (``--json``, ``--junit-xml``) and merging shard reports.

Both reports are streamed: the runner calls ``add(result)`` as each feature finishes and
``close(meta, ...)`` once at the end. Each feature's part is written at once to a private
temporary file next to the destination (``.NAME.*.part``, mode 0600), so memory holds at
most one feature's bounded text; ``close`` assembles the final file in another temporary file
and renames it over the destination (``os.replace``), so the destination never holds half a
report. ``close`` is also called after an interrupt or a crash, with ``meta.partial`` set: the
file is then still complete and valid, only marked partial.

JSON (``--json PATH``, :data:`SCHEMA` version :data:`SCHEMA_VERSION`)::

    {"schema": "behave-bounded/run-report", "version": 1,
     "run": {"started", "ended", "duration", "jobs",
             "versions": {"behave_bounded", "behave", "python"}, "settings": {...},
             "argv": [...], "partial", "reason", "lost",
             "counts": {"passed", "failed", "errored", "skipped", "undefined",
                        "xfailed", "xpassed", "not_run"},
             "verdict": "scenarios: P passed, F failed, S skipped"},
     "scenarios": [{"location", "feature", "name", "status", "duration", "tags",
                    "tdd_issue", "error_type", "message", "memory"?}, ...],
     "tasks": [{"path", "lines", "worker", "started", "duration", "error", "feature_failed",
                "status", "output": {"stdout": {"written", "kept", "dropped", "truncated",
                                                "spill_path"}, "stderr": {...}}}, ...],
     "not_run": [{"path", "lines", "scenarios", "status", "reason"}, ...]}

``memory`` (``peak_heap``, ``peak_rss_growth``, ``heap_budget``, ``rss_budget``,
``rss_source``) is there only for a scenario that ran under a ``@memory_budget_*`` tag.
``counts`` are what the verdict is made of, so they include the scenarios of features that
never ran: as ``errored`` when the run was lost (too many worker crashes), as ``skipped``
otherwise (``--stop``, an interrupt); ``not_run`` says how many of them there are. A feature
whose worker died before it reported any scenario is one ``errored`` scenario named
``"PATH (did not finish)"`` at ``PATH:1``, so nothing is silently missing. See
:data:`README_SECTION`.

JUnit (``--junit-xml PATH``): one file per run in the common (Ant/Jenkins) schema; see
:class:`JUnitReport`. ``behave-bounded merge-reports OUT --json|--junit FILES...``
(:func:`merge_reports_main`) merges the reports of CI shards into one.

Shard JUnit files are read with expat directly, one ``<testsuite>`` at a time, and a file with
a DTD is refused, so no entity is ever expanded (no billion laughs, no external entities).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any, TextIO
from xml.parsers import expat

from behave_bounded import __version__
from behave_bounded.atomic import temp_file, write_atomically
from behave_bounded.config import Settings
from behave_bounded.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from behave_bounded.report import feature_status
from behave_bounded.results import CapturedStream, ScenarioResult, Status, Task, TaskResult
from behave_bounded.tdd import issue_number

SCHEMA = "behave-bounded/run-report"
SCHEMA_VERSION = 1
#: Keys of ``run.counts``: one per status, and how many of them never ran.
COUNT_KEYS = (*(status.value for status in Status), "not_run")
#: The ``<testsuite>`` that holds the run's metadata as ``<property>`` elements (no testcase).
RUN_SUITE = "behave-bounded run"
#: The ``<testsuite>`` of a merged JUnit file with one errored testcase per bad input.
PROBLEMS_SUITE = "merge problems"
#: Longest ``message`` attribute of a JUnit failure/error/skipped (the text has the rest).
MAX_ATTRIBUTE_CHARS = 500

README_SECTION = """\
## Report files: `--json` and `--junit-xml`

`--json PATH` and `--junit-xml PATH` write machine-readable reports of the run. Both are written
as the run goes (each feature's part goes to a private temporary file next to `PATH`, so memory
does not grow with the output) and appear at `PATH` in one atomic rename when the run ends. An
interrupted run (Ctrl-C, SIGTERM, too many worker crashes) still writes complete, valid files,
marked partial.

### JSON (`"schema": "behave-bounded/run-report"`, `"version": 1`)

```json
{
  "schema": "behave-bounded/run-report",
  "version": 1,
  "run": {
    "started": 1767225600.0, "ended": 1767225642.5, "duration": 42.5, "jobs": 4,
    "versions": {"behave_bounded": "0.1.0", "behave": "1.3.3", "python": "3.11.7"},
    "settings": {"max_output": 10485760, "keep": "both", "max_spill": 1073741824, "...": "..."},
    "argv": ["behave-bounded", "-j", "4", "features"],
    "partial": false, "reason": "", "lost": false,
    "counts": {"passed": 120, "failed": 1, "errored": 0, "skipped": 3, "undefined": 0,
               "xfailed": 2, "xpassed": 0, "not_run": 0},
    "verdict": "scenarios: 122 passed, 1 failed, 3 skipped"
  },
  "scenarios": [
    {"location": "features/login.feature:12", "feature": "features/login.feature",
     "name": "a wrong password is refused", "status": "failed", "duration": 0.031,
     "tags": ["auth"], "tdd_issue": null, "error_type": "AssertionError",
     "message": "expected 401, got 200"}
  ],
  "tasks": [
    {"path": "features/login.feature", "lines": [], "worker": 2, "started": 1767225601.2,
     "duration": 0.8, "error": "", "feature_failed": true, "status": "failed",
     "output": {"stdout": {"written": 20971520, "kept": 10485760, "dropped": 10485760,
                           "truncated": true, "spill_path": ".behave-bounded/run-x/1.stdout"},
                "stderr": {"written": 0, "kept": 0, "dropped": 0, "truncated": false,
                           "spill_path": null}}}
  ],
  "not_run": [
    {"path": "features/slow.feature", "lines": [], "scenarios": 4, "status": "skipped",
     "reason": "interrupted while running (interrupted by SIGINT)"}
  ]
}
```

* `status` of a scenario: `passed`, `failed`, `errored`, `skipped`, `undefined`, `xfailed`
  (an expected failure that failed, does not fail the run), `xpassed` (an expected failure that
  passed, fails the run). An Outline row is one scenario. `feature` is the path of its
  feature file, `tdd_issue` the `N` of a `@tdd_issue_N` tag or `null`, `error_type` the class
  of the exception that failed it. A feature whose worker died before it reported anything is
  one `errored` scenario named `"PATH (did not finish)"` at `PATH:1`. A scenario that ran
  under a `@memory_budget_*` tag also has `memory`: `peak_heap`, `peak_rss_growth` (bytes),
  `heap_budget`, `rss_budget` (bytes, `null` when not judged) and `rss_source` (`"VmHWM"` or
  `"memray samples"`).
* `tasks` has one entry per feature file run: which worker ran it, when (`started`, epoch
  seconds) and how long, why it errored as a whole (`error`: a crash, a timeout), and what
  happened to its output (`written` bytes, `kept` in memory, `dropped`, and the spill file with
  the full output, if any). The output itself is not in the JSON report.
* `not_run` lists the features that never ran or were interrupted, with their scenario count.
* `counts` make the `verdict`, which is the runner's last line: `passed` + `xfailed` passed;
  `failed` + `errored` + `undefined` + `xpassed` failed; `skipped` skipped. Scenarios that
  never ran are counted as `errored` when the run was lost (`"lost": true`: too many worker
  crashes) and as `skipped` otherwise; `not_run` says how many there were.
* `partial` is true when the run did not finish (`reason` says why: `interrupted by SIGINT`,
  ...). New fields may be added within version 1; a change of meaning raises the version.

### JUnit XML

One file per run in the common (Ant/Jenkins) JUnit schema that CI systems render:
`<testsuites name="behave-bounded">`, one `<testsuite>` per feature file (named by its path;
still one when `--scheme scenario` or CI shards split the file), one `<testcase>` per scenario
(every Outline row is its own testcase) with `classname` = the feature's path without
`.feature` and with `/` turned into `.`, `name`, `file`, `line`, `time`. Each testsuite's
`<property>` elements name the worker(s) that ran it, the lines a task was narrowed to, and
why a task errored as a whole.

| scenario                     | JUnit                                                       |
|------------------------------|-------------------------------------------------------------|
| failed, undefined, xpassed   | `<failure message="failed: ..." type="...">`                |
| errored                      | `<error message="errored: ..." type="...">`                 |
| skipped                      | `<skipped/>`                                                |
| xfailed                      | `<skipped message="xfailed: issue #N: ..."/>`               |
| never ran (run lost)         | `<error message="not run: ..." type="not run">`             |
| never ran (`--stop`, signal) | `<skipped message="not run: ..."/>`                         |

A failing feature's captured output is attached as `<system-out>`/`<system-err>` to its first
failing testcase (its other failing testcases point there), at most `--show-output` bytes per
stream (default 64 KiB): the tail, after a note saying how much was cut and where the spill
file with the full output is. Characters XML 1.0 cannot carry (terminal control codes, ...)
become visible `\\xNN` escapes, so the file always parses. A first `<testsuite
name="behave-bounded run">` without testcases holds the run's metadata as `<property>`
elements (`partial`, `reason`, versions, settings, argv, the verdict).

### Merging shard reports

```sh
behave-bounded merge-reports merged.json --json shard-*/report.json
behave-bounded merge-reports merged.xml --junit shard-*/report.xml
```

merges reports of one kind into one file (atomically) and prints the merged verdict as the
last line. Every missing, unreadable, corrupt or wrong-kind input is reported as
`PATH: reason` on stderr; the merged file is still written from the good inputs and marked
partial (JSON: `run.partial` and `run.reason`; JUnit: the `partial` and `reason` properties
and a `<testsuite name="merge problems">` with one `<error>` per bad input). A shard that was
itself partial (an interrupted run) makes the merged file partial too. The merged `run` has
the earliest start, the latest end, the sum of the shards' `jobs`, the first shard's settings,
and `merged_from`, the inputs that were merged. Exit code: 0 all passed, 1 failures or a
partial shard, 2 usage error or any bad input.
"""


# -- counts and the verdict -------------------------------------------------------------------


class Counts:
    """Scenario outcomes of a report or a merge: the single source of the verdict line."""

    def __init__(self) -> None:
        self._n: Counter[str] = Counter()

    def add(self, key: str, n: int = 1) -> None:
        self._n[key] += n

    def update(self, other: Counts) -> None:
        self._n.update(other._n)

    def as_dict(self) -> dict[str, int]:
        return {key: self._n[key] for key in COUNT_KEYS}

    def verdict(self) -> str:
        return verdict_line(self.as_dict())


def verdict_numbers(counts: Mapping[str, int]) -> tuple[int, int, int]:
    """(passed, failed, skipped) as the console's verdict counts them."""
    passed = counts.get("passed", 0) + counts.get("xfailed", 0)
    failed = sum(counts.get(status.value, 0) for status in Status if status.fails_run)
    return passed, failed, counts.get("skipped", 0)


def verdict_line(counts: Mapping[str, int]) -> str:
    passed, failed, skipped = verdict_numbers(counts)
    return f"scenarios: {passed} passed, {failed} failed, {skipped} skipped"


# -- run metadata -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunMeta:
    """What a report says about the run as a whole (``partial``: it did not finish)."""

    started: float
    ended: float
    jobs: int
    behave_bounded_version: str
    behave_version: str
    python_version: str
    settings: dict[str, object]
    argv: tuple[str, ...]
    partial: bool = False
    reason: str = ""
    #: The features that never ran count as failing (too many worker crashes).
    lost: bool = False

    @classmethod
    def current(
        cls,
        *,
        started: float,
        ended: float,
        jobs: int,
        settings: Settings | Mapping[str, object],
        argv: Sequence[str],
        partial: bool = False,
        reason: str = "",
        lost: bool = False,
    ) -> RunMeta:
        """The metadata of a run of this process (versions filled in)."""
        return cls(
            started=started,
            ended=ended,
            jobs=jobs,
            behave_bounded_version=__version__,
            behave_version=_behave_version(),
            python_version=platform.python_version(),
            settings=settings_summary(settings),
            argv=tuple(argv),
            partial=partial,
            reason=reason,
            lost=lost,
        )

    @property
    def duration(self) -> float:
        return round(max(self.ended - self.started, 0.0), 3)

    @property
    def versions(self) -> dict[str, str]:
        return {
            "behave_bounded": self.behave_bounded_version,
            "behave": self.behave_version,
            "python": self.python_version,
        }


def settings_summary(settings: Settings | Mapping[str, object]) -> dict[str, object]:
    """Settings as JSON-friendly values (tuples become lists)."""
    raw = asdict(settings) if isinstance(settings, Settings) else dict(settings)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in raw.items()}


def _behave_version() -> str:
    try:
        return importlib.metadata.version("behave")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - behave is a dependency
        return "unknown"


# -- what a report lists for a task -----------------------------------------------------------


def reported_scenarios(result: TaskResult) -> tuple[ScenarioResult, ...]:
    """A task's scenarios; one that died before reporting any is one errored entry.

    Its location is ``PATH:LINE``, the task's first line or 1 (the feature as a whole), so
    that every location in a report has the same ``path:line`` form.
    """
    if result.scenarios or not result.error:
        return result.scenarios
    line = result.task.lines[0] if result.task.lines else 1
    return (
        ScenarioResult(
            location=f"{result.task.path}:{line}",
            name=f"{result.task.label} (did not finish)",
            status=Status.ERRORED,
            duration=result.duration,
            message=result.error,
        ),
    )


def task_status(result: TaskResult, scenarios: Iterable[ScenarioResult]) -> Status:
    return Status.ERRORED if result.error else feature_status(scenarios)


def not_run_reason(interrupted: bool, meta: RunMeta) -> str:
    """Why a feature is in ``not_run``: it was cut off, or never started, and the run's reason."""
    what = "interrupted while running" if interrupted else "never started"
    return f"{what} ({meta.reason})" if meta.reason else what


def _not_run_tasks(
    never_ran: Sequence[Task], interrupted: Sequence[Task]
) -> Iterable[tuple[Task, bool]]:
    yield from ((task, True) for task in interrupted)
    yield from ((task, False) for task in never_ran)


def _slots(task: Task) -> int:
    """Scenarios a not-run feature counts for (at least one, so it is never invisible)."""
    return max(task.scenario_count, 1)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _attribute(text: str) -> str:
    """A ``message`` attribute: at most :data:`MAX_ATTRIBUTE_CHARS` characters (CI shows all)."""
    if len(text) > MAX_ATTRIBUTE_CHARS:
        return text[: MAX_ATTRIBUTE_CHARS - 3] + "..."
    return text


# -- temporary files and the atomic rename ----------------------------------------------------


class _PartFile:
    """One section of a report, collected in a temporary file as the run goes."""

    def __init__(self, destination: str, section: str) -> None:
        self.path, fd = temp_file(destination, f".{section}.part")
        self.file = os.fdopen(fd, "wb")
        self.size = 0
        self.items = 0

    def write(self, text: str) -> tuple[int, int]:
        """Append ``text``; returns where it went: (offset, length) in bytes."""
        # errors="replace": a lone surrogate from undecodable output becomes "?", never a crash.
        data = text.encode("utf-8", "replace")
        self.file.write(data)
        where = (self.size, len(data))
        self.size += len(data)
        self.items += 1
        return where

    def copy_into(self, out: TextIO) -> None:
        self.file.flush()
        with open(self.path, encoding="utf-8") as part:
            shutil.copyfileobj(part, out, 2**16)

    def copy_chunks(self, out: TextIO, chunks: Iterable[tuple[int, int]]) -> None:
        """Copy the (offset, length) pieces that :meth:`write` returned, in that order."""
        self.file.flush()
        with open(self.path, "rb") as part:
            for offset, length in chunks:
                part.seek(offset)
                out.write(part.read(length).decode("utf-8"))

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _open_parts(path: str, sections: Sequence[str], option: str) -> dict[str, _PartFile]:
    """The part files of a report; a destination we cannot write to is a usage error."""
    parts: dict[str, _PartFile] = {}
    try:
        for section in sections:
            parts[section] = _PartFile(path, section)
    except OSError as error:
        for part in parts.values():  # pragma: no cover - the directory took the first part
            part.discard()
        raise UsageError(
            f"{option} {path}: cannot write the report: {error.strerror or error}"
        ) from None
    return parts


# -- JSON -------------------------------------------------------------------------------------

_JSON_SECTIONS = ("scenarios", "tasks", "not_run")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class _JsonDocument:
    """A JSON run report being assembled: its three lists, in part files, and its counts."""

    def __init__(self, path: str, option: str) -> None:
        self.path = path
        self.parts = _open_parts(path, _JSON_SECTIONS, option)
        self.counts = Counts()

    def append(self, section: str, item: Mapping[str, object]) -> None:
        part = self.parts[section]
        part.write(("," if part.items else "") + "\n    " + _dumps(item))

    def write(self, run: dict[str, object]) -> None:
        """Assemble the file at ``path`` (atomically) and remove the part files."""
        try:
            write_atomically(self.path, lambda out: self._assemble(out, run))
        finally:
            self.discard()

    def _assemble(self, out: TextIO, run: dict[str, object]) -> None:
        head = json.dumps(
            {"schema": SCHEMA, "version": SCHEMA_VERSION, "run": run},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
        out.write(head[: -len("\n}")])
        for section in _JSON_SECTIONS:
            part = self.parts[section]
            out.write(f',\n  "{section}": [')
            part.copy_into(out)
            out.write("\n  ]" if part.items else "]")
        out.write("\n}\n")

    def discard(self) -> None:
        for part in self.parts.values():
            part.discard()


def run_json(meta: RunMeta, counts: Counts) -> dict[str, object]:
    return {
        "started": meta.started,
        "ended": meta.ended,
        "duration": meta.duration,
        "jobs": meta.jobs,
        "versions": meta.versions,
        "settings": dict(meta.settings),
        "argv": list(meta.argv),
        "partial": meta.partial,
        "reason": meta.reason,
        "lost": meta.lost,
        "counts": counts.as_dict(),
        "verdict": counts.verdict(),
    }


def _scenario_json(task: Task, scenario: ScenarioResult) -> dict[str, object]:
    entry: dict[str, object] = {
        "location": scenario.location,
        "feature": task.path,
        "name": scenario.name,
        "status": scenario.status.value,
        "duration": round(scenario.duration, 6),
        "tags": list(scenario.tags),
        "tdd_issue": issue_number(scenario.tags),
        "error_type": scenario.error_type,
        "message": scenario.message,
    }
    if scenario.memory is not None:  # only a scenario with a @memory_budget_* tag has figures
        entry["memory"] = asdict(scenario.memory)
    return entry


def _stream_json(stream: CapturedStream) -> dict[str, object]:
    stats = stream.stats
    return {
        "written": stats.written,
        "kept": stats.kept,
        "dropped": stats.dropped,
        "truncated": stats.truncated,
        "spill_path": stats.spill_path,
    }


def _task_json(
    result: TaskResult, scenarios: Sequence[ScenarioResult], started: float | None
) -> dict[str, object]:
    return {
        "path": result.task.path,
        "lines": list(result.task.lines),
        "worker": result.worker,
        "started": started,
        "duration": round(result.duration, 6),
        "error": result.error,
        "feature_failed": result.feature_failed,
        "status": task_status(result, scenarios).value,
        "output": {"stdout": _stream_json(result.stdout), "stderr": _stream_json(result.stderr)},
    }


class JsonReport:
    """--json PATH: versioned, documented schema (:data:`SCHEMA_VERSION`), streamed to disk."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._doc = _JsonDocument(path, "--json")
        self._closed = False

    def add(self, result: TaskResult, started: float | None = None) -> None:
        """Write one finished feature's scenarios and task entry (``started``: epoch)."""
        self._check_open()
        scenarios = reported_scenarios(result)
        for scenario in scenarios:
            self._doc.counts.add(scenario.status.value)
            self._doc.append("scenarios", _scenario_json(result.task, scenario))
        self._doc.append("tasks", _task_json(result, scenarios, started))

    def close(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """List the features that did not run, then write PATH in one atomic rename."""
        self._check_open()
        self._closed = True
        status = Status.ERRORED if meta.lost else Status.SKIPPED
        for task, was_running in _not_run_tasks(never_ran, interrupted):
            slots = _slots(task)
            self._doc.counts.add(status.value, slots)
            self._doc.counts.add("not_run", slots)
            self._doc.append(
                "not_run",
                {
                    "path": task.path,
                    "lines": list(task.lines),
                    "scenarios": slots,
                    "status": status.value,
                    "reason": not_run_reason(was_running, meta),
                },
            )
        self._doc.write(run_json(meta, self._doc.counts))

    def discard(self) -> None:
        """Drop the report without writing PATH (removes the temporary files)."""
        self._closed = True
        self._doc.discard()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the JSON report {self.path} is already closed")


# -- JUnit ------------------------------------------------------------------------------------

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


def _element(tag: str, attributes: Mapping[str, str], text: str = "") -> ET.Element:
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
    summary = _first_line(scenario.message)
    if status is Status.PASSED:
        return None
    if status is Status.SKIPPED:
        attributes = {"message": _attribute(f"skipped: {summary}")} if summary else {}
        return _element("skipped", attributes)
    if status is Status.XFAILED:
        issue = issue_number(scenario.tags)
        prefix = f"issue #{issue}: " if issue is not None else ""
        if summary.startswith(prefix):
            prefix = ""
        message = _attribute(f"xfailed: {prefix}{summary}")
        return _element("skipped", {"message": message}, scenario.message)
    tag = "error" if status is Status.ERRORED else "failure"
    kind = scenario.error_type or status.value
    message = _attribute(f"{status.value}: {summary or _DEFAULT_SUMMARY[status]}")
    return _element(tag, {"message": message, "type": kind}, scenario.message)


def _testcase(task_path: str, scenario: ScenarioResult) -> ET.Element:
    path, line = _split_location(scenario.location)
    attributes = {"classname": classname(task_path), "name": scenario.name, "file": path}
    if line:
        attributes["line"] = line
    attributes["time"] = f"{scenario.duration:.3f}"
    case = _element("testcase", attributes)
    outcome = _outcome(scenario)
    if outcome is not None:
        case.append(outcome)
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
    return totals


@dataclass
class _SuitePart:
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
class _Suite:
    """A ``<testsuite>`` in the making: where its testcases are in the part file, and sums."""

    name: str
    totals: _Totals = field(default_factory=_Totals)
    time: float = 0.0
    properties: dict[tuple[str, str], None] = field(default_factory=dict)  # an ordered set
    timestamp: str = ""
    hostname: str = ""
    chunks: list[tuple[int, int]] = field(default_factory=list)
    counts: Counts | None = None

    def absorb(self, other: _Suite) -> None:
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
        empty = ET.tostring(_element("testsuite", attributes), encoding="unicode")
        head = "  " + empty[: -len(" />")] + ">"
        if self.properties:
            holder = ET.Element("properties")
            for name, value in self.properties:
                holder.append(_element("property", {"name": name, "value": value}))
            ET.indent(holder, space="  ", level=2)
            head += "\n    " + ET.tostring(holder, encoding="unicode")
        return head


_SUITE_END = "\n  </testsuite>\n"


def _case_xml(case: ET.Element) -> str:
    case.tail = None
    ET.indent(case, space="  ", level=2)
    return "\n    " + ET.tostring(case, encoding="unicode")


class _SuiteStore:
    """The testsuites of a JUnit file being assembled: one per feature file.

    Testcases go to a part file as they come; memory keeps only an index: per feature file,
    where its testcases are and their counters. So a feature cut into several tasks (``--scheme
    scenario``) or run on several shards is still one ``<testsuite>``.
    """

    def __init__(self, path: str, option: str) -> None:
        self.path = path
        self.part = _open_parts(path, ("testcases",), option)["testcases"]
        self.suites: dict[str, _Suite] = {}
        self.counts = Counts()

    def stage(self, part: _SuitePart) -> _Suite:
        """Write a part's testcases; it counts once :meth:`commit` takes it in."""
        counts = Counts() if part.scenarios else None
        return _Suite(
            name=part.name,
            totals=_tally(part.cases, counts),
            time=part.time,
            properties=dict.fromkeys(part.properties),
            timestamp=part.timestamp,
            hostname=part.hostname,
            chunks=[self.part.write("".join(_case_xml(case) for case in part.cases))],
            counts=counts,
        )

    def commit(self, staged: _Suite) -> None:
        suite = self.suites.get(staged.name)
        if suite is None:
            self.suites[staged.name] = staged
        else:
            suite.absorb(staged)
        if staged.counts is not None:
            self.counts.update(staged.counts)
            staged.counts = None  # counted: the index keeps only what the file needs

    def add(self, part: _SuitePart) -> None:
        self.commit(self.stage(part))

    def write(self, meta: RunMeta, extra: Sequence[tuple[str, str]] = ()) -> None:
        """Assemble the file at ``path`` (atomically) and remove the part file."""
        try:
            write_atomically(self.path, lambda out: self._assemble(out, meta, extra))
        finally:
            self.part.discard()

    def _assemble(self, out: TextIO, meta: RunMeta, extra: Sequence[tuple[str, str]]) -> None:
        totals = _Totals()
        for suite in self.suites.values():
            totals.add(suite.totals)
        root = {"name": "behave-bounded", **totals.attributes(), "time": f"{meta.duration:.3f}"}
        attributes = " ".join(f'{key}="{value}"' for key, value in root.items())
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites {attributes}>\n')
        properties = [*run_properties(meta, self.counts).items(), *extra]
        run = _Suite(RUN_SUITE, properties=dict.fromkeys(properties))
        run.timestamp = _timestamp(meta.started)
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
        "argv": _dumps(list(meta.argv)),
        "verdict": counts.verdict(),
    }
    for key, value in meta.settings.items():
        properties[f"setting.{key}"] = _dumps(value)
    return properties


def _timestamp(epoch: float) -> str:
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

    def __init__(self, path: str, max_output: int = 64 * 1024) -> None:
        self.path = path
        self.max_output = max_output
        self._store = _SuiteStore(path, "--junit-xml")
        self._hostname = socket.gethostname()
        self._closed = False

    def add(self, result: TaskResult, started: float | None = None) -> None:
        """Write one finished task's testcases (``started``: epoch, optional)."""
        self._check_open()
        task = result.task
        cases = [_testcase(task.path, scenario) for scenario in reported_scenarios(result)]
        self._attach_output(result, cases)
        properties = [("worker", str(result.worker))]
        if task.lines:
            properties.append(("lines", " ".join(str(line) for line in task.lines)))
        if result.error:
            properties.append(("error", _attribute(result.error)))
        part = _SuitePart(
            name=task.path,
            cases=cases,
            time=result.duration,
            properties=properties,
            timestamp=_timestamp(started) if started is not None else "",
            hostname=self._hostname,
        )
        self._store.add(part)

    def _attach_output(self, result: TaskResult, cases: Sequence[ET.Element]) -> None:
        """The task's bounded output on its first failing testcase; the others point there."""
        failing = [c for c in cases if c.find("failure") is not None or c.find("error") is not None]
        if not failing:
            return
        first = failing[0]
        for stream, tag in ((result.stdout, "system-out"), (result.stderr, "system-err")):
            if stream.text:
                first.append(_element(tag, {}, bounded_output(stream, self.max_output)))
        if len(first) == 1:
            return
        pointer = f"[behave-bounded: the output of {result.task.label} is attached to " + (
            f"its testcase {first.get('name', '')!r}]"
        )
        for case in failing[1:]:
            case.append(_element("system-out", {}, pointer))

    def close(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """Add the features that did not run, then write PATH in one atomic rename."""
        self._check_open()
        self._closed = True
        for task, was_running in _not_run_tasks(never_ran, interrupted):
            self._store.add(_not_run_part(task, not_run_reason(was_running, meta), meta))
        self._store.write(meta)

    def discard(self) -> None:
        """Drop the report without writing PATH (removes the temporary file)."""
        self._closed = True
        self._store.part.discard()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the JUnit report {self.path} is already closed")


def _not_run_part(task: Task, reason: str, meta: RunMeta) -> _SuitePart:
    """A feature that never ran: one testcase per scenario it holds, none silently missing."""
    slots = _slots(task)
    cases = []
    for number in range(1, slots + 1):
        case = _element(
            "testcase",
            {
                "classname": classname(task.path),
                "name": f"{task.label}: scenario {number} of {slots} (not run)",
                "file": task.path,
                "time": "0.000",
            },
        )
        message = _attribute(f"not run: {reason}")
        if meta.lost:
            case.append(_element("error", {"message": message, "type": "not run"}))
        else:
            case.append(_element("skipped", {"message": message}))
        cases.append(case)
    return _SuitePart(task.path, cases, properties=[("not_run", reason)])


# -- merging shard reports --------------------------------------------------------------------


class _BadInput(Exception):
    """Why a merge input cannot be used (the message is the reason of "PATH: reason")."""


@dataclass
class _Shard:
    """What a good input says about its run."""

    path: str
    started: float | None = None
    ended: float | None = None
    jobs: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    settings: dict[str, object] = field(default_factory=dict)
    partial: bool = False
    reason: str = ""
    lost: bool = False


@dataclass
class MergeOutcome:
    """The result of a merge: bad inputs, the merged counts, the inputs that were partial."""

    problems: list[str]
    counts: dict[str, int]
    partial_inputs: list[str]
    merged: int


def _merged_meta(
    out: str, kind: str, inputs: Sequence[str], shards: Sequence[_Shard], problems: Sequence[str]
) -> RunMeta:
    now = time.time()
    starts = [s.started for s in shards if s.started is not None]
    ends = [s.ended for s in shards if s.ended is not None]
    first = shards[0] if shards else _Shard("")
    versions = {
        **RunMeta.current(started=now, ended=now, jobs=0, settings={}, argv=()).versions,
        **first.versions,
    }
    reasons = [f"bad input {problem}" for problem in problems]
    reasons += [f"partial shard {s.path}: {s.reason or 'partial'}" for s in shards if s.partial]
    return RunMeta(
        started=min(starts, default=now),
        ended=max(ends, default=now),
        jobs=sum(s.jobs for s in shards),
        behave_bounded_version=versions["behave_bounded"],
        behave_version=versions["behave"],
        python_version=versions["python"],
        settings=first.settings,
        argv=("behave-bounded", "merge-reports", out, f"--{kind}", *inputs),
        partial=bool(reasons),
        reason="; ".join(reasons),
        lost=any(s.lost for s in shards),
    )


def _open_input(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise _BadInput("missing (no such file)") from None
    except OSError as error:
        raise _BadInput(f"cannot read: {error.strerror or error}") from None


def _first_byte(file: IO[bytes]) -> bytes:
    """The first non-blank byte (to tell a JSON file from an XML one); the file is rewound."""
    head = file.read(4096).lstrip()
    file.seek(0)
    return head[:1]


def _as(value: object, kind: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it has the type ``kind`` (a bool is not a number here), else a bad input."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _BadInput(f"corrupt report: {what} has the wrong type")
    return value


_STATUSES = frozenset(status.value for status in Status)


def _status_of(item: Mapping[str, object]) -> str:
    status = item.get("status")
    if not isinstance(status, str) or status not in _STATUSES:
        raise _BadInput(f"corrupt report: unknown status {status!r}")
    return status


class _JsonMerger:
    """Merges JSON run reports: one input in memory at a time, checked before it is used."""

    def __init__(self, out: str) -> None:
        self.doc = _JsonDocument(out, "merge-reports")

    def add(self, path: str) -> _Shard:
        data = self._load(path)
        run = data["run"]
        counts = self._recount(data)
        if counts.as_dict() != {key: run["counts"].get(key, 0) for key in COUNT_KEYS}:
            raise _BadInput("corrupt report: its counts do not match its scenarios")
        for section in _JSON_SECTIONS:
            for item in data[section]:
                self.doc.append(section, item)
        self.doc.counts.update(counts)
        return _Shard(
            path=path,
            started=run["started"],
            ended=run["ended"],
            jobs=run["jobs"],
            versions={key: str(value) for key, value in run["versions"].items()},
            settings=run["settings"],
            partial=run["partial"],
            reason=run["reason"],
            lost=run["lost"],
        )

    def _load(self, path: str) -> dict[str, Any]:
        with _open_input(path) as file:
            if _first_byte(file) == b"<":
                raise _BadInput("wrong kind: an XML file, not a JSON run report (--junit?)")
            raw = file.read()
        if not raw.strip():
            raise _BadInput("corrupt JSON: the file is empty")
        try:
            data = json.loads(raw)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            raise _BadInput(f"corrupt JSON: {error}") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            schema = data.get("schema") if isinstance(data, dict) else None
            raise _BadInput(f"wrong kind: not a {SCHEMA} file (schema {schema!r})")
        if data.get("version") != SCHEMA_VERSION:
            raise _BadInput(
                f"unsupported report version {data.get('version')!r} (this merge reads "
                f"version {SCHEMA_VERSION})"
            )
        self._check(data)
        return data

    @staticmethod
    def _check(data: dict[str, Any]) -> None:
        run = _as(data.get("run"), dict, "run")
        for key in ("started", "ended"):
            _as(run.get(key), (int, float), f"run.{key}")
        _as(run.get("jobs"), int, "run.jobs")
        for key in ("partial", "lost"):
            _as(run.get(key), bool, f"run.{key}")
        _as(run.get("reason"), str, "run.reason")
        _as(run.get("versions"), dict, "run.versions")
        _as(run.get("settings"), dict, "run.settings")
        _as(run.get("counts"), dict, "run.counts")
        for section in _JSON_SECTIONS:
            for item in _as(data.get(section), list, section):
                _as(item, dict, f"an item of {section}")

    @staticmethod
    def _recount(data: dict[str, Any]) -> Counts:
        counts = Counts()
        for scenario in data["scenarios"]:
            counts.add(_status_of(scenario))
        for entry in data["not_run"]:
            slots = _as(entry.get("scenarios"), int, "not_run.scenarios")
            counts.add(_status_of(entry), slots)
            counts.add("not_run", slots)
        return counts

    @property
    def counts(self) -> Counts:
        return self.doc.counts

    def write(self, meta: RunMeta, merged_from: Sequence[str]) -> None:
        run = run_json(meta, self.doc.counts)
        run["merged_from"] = list(merged_from)
        self.doc.write(run)

    def discard(self) -> None:
        self.doc.discard()


class _SuiteReader:
    """Reads a JUnit file with expat, handing over one ``<testsuite>`` element at a time.

    A DTD is refused, so entities are never declared, let alone expanded.
    """

    def __init__(self, on_suite: Callable[[ET.Element], None]) -> None:
        self.on_suite = on_suite
        self.depth = 0
        self.builder: ET.TreeBuilder | None = None

    def read(self, file: IO[bytes]) -> None:
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data
        parser.ParseFile(file)

    @staticmethod
    def _refuse_dtd(*_: object) -> None:
        raise _BadInput("refused: the file has a DTD (a report never does)")

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        if self.depth == 0 and tag != "testsuites":
            raise _BadInput(f"wrong kind: the root element is <{tag}>, not <testsuites>")
        if self.depth == 1:
            if tag != "testsuite":
                raise _BadInput(f"corrupt JUnit XML: <{tag}> inside <testsuites>")
            self.builder = ET.TreeBuilder()
        if self.builder is not None:
            self.builder.start(tag, attributes)
        self.depth += 1

    def _end(self, tag: str) -> None:
        self.depth -= 1
        if self.builder is None:
            return
        self.builder.end(tag)
        if self.depth == 1:
            suite = self.builder.close()
            self.builder = None
            self.on_suite(suite)

    def _data(self, text: str) -> None:
        if self.builder is not None:
            self.builder.data(text)


class _JUnitMerger:
    """Merges JUnit files suite by suite; a bad input's testcases are never counted or used."""

    def __init__(self, out: str) -> None:
        self.store = _SuiteStore(out, "merge-reports")

    @property
    def counts(self) -> Counts:
        return self.store.counts

    def add(self, path: str) -> _Shard:
        shard = _Shard(path)
        staged: list[_Suite] = []

        def on_suite(suite: ET.Element) -> None:
            name = suite.get("name", "")
            if name == RUN_SUITE:
                self._read_run_suite(suite, shard)
                return
            part = _SuitePart(
                name=name,
                cases=suite.findall("testcase"),
                time=_float(suite.get("time", "")),
                properties=[
                    (p.get("name", ""), p.get("value", "")) for p in suite.iter("property")
                ],
                timestamp=suite.get("timestamp", ""),
                hostname=suite.get("hostname", ""),
                scenarios=name != PROBLEMS_SUITE,
            )
            staged.append(self.store.stage(part))

        try:
            with _open_input(path) as file:
                if _first_byte(file) in (b"{", b"["):
                    raise _BadInput("wrong kind: a JSON file, not JUnit XML (--json?)")
                _SuiteReader(on_suite).read(file)
        except expat.ExpatError as error:
            raise _BadInput(f"corrupt JUnit XML: {error}") from None
        for suite in staged:  # only now: a bad input's testcases stay unused in the part file
            self.store.commit(suite)
        return shard

    @staticmethod
    def _read_run_suite(suite: ET.Element, shard: _Shard) -> None:
        properties = {p.get("name", ""): p.get("value", "") for p in suite.iter("property")}
        with contextlib.suppress(ValueError, KeyError):
            shard.started = float(properties["started"])
            shard.ended = float(properties["ended"])
        with contextlib.suppress(ValueError, KeyError):
            shard.jobs = int(properties["jobs"])
        shard.partial = properties.get("partial") == "true"
        shard.lost = properties.get("lost") == "true"
        shard.reason = properties.get("reason", "")
        shard.versions = {
            key.removeprefix("version."): value
            for key, value in properties.items()
            if key.startswith("version.")
        }
        for key, value in properties.items():
            if key.startswith("setting."):
                with contextlib.suppress(ValueError):
                    shard.settings[key.removeprefix("setting.")] = json.loads(value)

    def write(self, meta: RunMeta, merged_from: Sequence[str], problems: Sequence[str]) -> None:
        if problems:
            cases = []
            for problem in problems:
                path = problem.split(": ", 1)[0]
                case = _element("testcase", {"classname": "merge", "name": path, "time": "0"})
                case.append(
                    _element("error", {"message": _attribute(problem), "type": "bad input"})
                )
                cases.append(case)
            self.store.add(_SuitePart(PROBLEMS_SUITE, cases, scenarios=False))
        self.store.write(meta, [("merged_from", _dumps(list(merged_from)))])

    def discard(self) -> None:
        self.store.part.discard()


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def merge(out: str, kind: str, inputs: Sequence[str]) -> MergeOutcome:
    """Merge reports of one kind ("json" or "junit") into ``out``; see :func:`merge_reports`."""
    if kind not in ("json", "junit"):
        raise ValueError(f"unknown report kind {kind!r}: expected 'json' or 'junit'")
    merger: _JsonMerger | _JUnitMerger = _JsonMerger(out) if kind == "json" else _JUnitMerger(out)
    problems: list[str] = []
    shards: list[_Shard] = []
    try:
        for path in inputs:
            try:
                shards.append(merger.add(path))
            except _BadInput as error:
                problems.append(f"{path}: {error}")
        meta = _merged_meta(out, kind, inputs, shards, problems)
        merged_from = [shard.path for shard in shards]
        if isinstance(merger, _JsonMerger):
            merger.write(meta, merged_from)
        else:
            merger.write(meta, merged_from, problems)
    finally:
        merger.discard()
    return MergeOutcome(
        problems=problems,
        counts=merger.counts.as_dict(),
        partial_inputs=[f"{s.path}: {s.reason or 'partial'}" for s in shards if s.partial],
        merged=len(shards),
    )


def merge_reports(out: str, kind: str, inputs: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Merge shard reports of one kind into ``out`` (atomically).

    Returns (problems, counts): one ``"PATH: reason"`` per missing, unreadable, corrupt or
    wrong-kind input (the merged file is still written from the good ones and marked partial),
    and the merged scenario counts (:data:`COUNT_KEYS`) for the verdict.
    """
    outcome = merge(out, kind, inputs)
    return outcome.problems, outcome.counts


class _MergeParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise UsageError(message)


def _merge_parser() -> argparse.ArgumentParser:
    parser = _MergeParser(
        prog="behave-bounded merge-reports",
        description="Merge the --json or --junit-xml reports of CI shards into one file.",
        epilog="Exit codes: 0 all passed, 1 failures or a partial shard, 2 usage error or a "
        "missing, unreadable, corrupt or wrong-kind input.",
        allow_abbrev=False,
    )
    parser.add_argument("out", metavar="OUT", help="the merged report to write")
    kinds = parser.add_mutually_exclusive_group(required=True)
    kinds.add_argument("--json", dest="kind", action="store_const", const="json")
    kinds.add_argument("--junit", dest="kind", action="store_const", const="junit")
    parser.add_argument("inputs", metavar="FILES", nargs="+", help="the shard reports")
    return parser


def _merge_error(message: str) -> int:
    print(f"behave-bounded merge-reports: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def merge_reports_main(argv: list[str]) -> int:
    """``behave-bounded merge-reports OUT --json|--junit FILES...``; verdict last on stdout."""
    try:
        args = _merge_parser().parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except UsageError as error:
        return _merge_error(str(error))
    try:
        outcome = merge(args.out, args.kind, args.inputs)
    except (UsageError, OSError) as error:
        return _merge_error(f"cannot write {args.out}: {error}")
    for problem in outcome.problems:
        print(f"behave-bounded merge-reports: error: {problem}", file=sys.stderr)
    for partial in outcome.partial_inputs:
        print(f"behave-bounded merge-reports: warning: partial run: {partial}", file=sys.stderr)
    counts = outcome.counts
    state = " (partial)" if outcome.problems or outcome.partial_inputs else ""
    print(
        f"merged {outcome.merged} of {len(args.inputs)} {args.kind} report(s) into "
        f"{args.out}{state}"
    )
    print("scenarios by status: " + ", ".join(f"{counts[key]} {key}" for key in COUNT_KEYS))
    sys.stdout.flush()
    print(verdict_line(counts), flush=True)
    if outcome.problems:
        return EXIT_USAGE
    if verdict_numbers(counts)[1] or outcome.partial_inputs:
        return EXIT_FAILED
    return EXIT_OK
