"""Merging the reports of CI shards into one (``behave-bounded merge-reports``).

JSON shards merge into one JSON report, JUnit shards into one JUnit file, and JSON shards into
one HTML page (``--html``) with a lane group per shard.

Shard JUnit files are read with expat directly, one ``<testsuite>`` at a time, and a file with
a DTD is refused, so no entity is ever expanded (no billion laughs, no external entities).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from xml.parsers import expat

from behave_bounded.atomic import temp_file
from behave_bounded.errors import UsageError
from behave_bounded.plan import PlanCheck, ShardPlan
from behave_bounded.reports.digest import Budget, Digest, items_of
from behave_bounded.reports.html import write_html
from behave_bounded.reports.json import (
    JSON_SECTIONS,
    SCHEMA,
    SCHEMA_VERSION,
    JsonDocument,
    dumps,
    run_json,
)
from behave_bounded.reports.junit import (
    PROBLEMS_SUITE,
    RUN_SUITE,
    Suite,
    SuitePart,
    SuiteStore,
    attribute,
    element,
)
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.verdict import COUNT_KEYS, Counts, join_reasons
from behave_bounded.results import Status


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
    failure: str = ""  # why its run failed outside its scenarios
    plan: ShardPlan | None = None  # None: not a --shard run (or another tool's file)
    #: The feature paths of an input without a plan (checked against the plan's).
    paths: set[str] = field(default_factory=set)


@dataclass
class MergeOutcome:
    """The result of a merge: bad inputs and plan problems, the merged counts, the inputs
    that were partial, and why the merged run failed outside its scenarios (the verdict's)."""

    problems: list[str]
    counts: dict[str, int]
    partial_inputs: list[str]
    merged: int
    failure: str = ""


def _merged_failure(
    shards: Sequence[_Shard], bad_inputs: Sequence[str], plan_problems: Sequence[str]
) -> str:
    """Why the merged run failed outside its scenarios: the shards' own reasons, a plan the
    shards do not cover, inputs that could not be merged."""
    reasons = [f"{s.path}: {s.failure}" for s in shards if s.failure]
    if plan_problems:
        reasons.append("the shard reports do not cover one shard plan")
    if bad_inputs:
        count = len(bad_inputs)
        reasons.append(f"{count} input report{'s' if count > 1 else ''} could not be merged")
    return join_reasons(reasons)


def _merged_meta(
    out: str,
    kind: str,
    inputs: Sequence[str],
    shards: Sequence[_Shard],
    *,
    problems: Sequence[str],
    plan_problems: Sequence[str] = (),
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
    reasons += list(plan_problems)
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
        failure=_merged_failure(shards, problems, plan_problems),
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


def _read_json_shard(path: str) -> tuple[dict[str, Any], Counts, _Shard]:
    """A shard's JSON report, checked: its document, its recounted counts, what it says."""
    data = _load_json(path)
    run = data["run"]
    counts = _recount(data)
    if counts.as_dict() != {key: run["counts"].get(key, 0) for key in COUNT_KEYS}:
        raise _BadInput("corrupt report: its counts do not match its scenarios")
    shard = _Shard(
        path=path,
        started=run["started"],
        ended=run["ended"],
        jobs=run["jobs"],
        versions={key: str(value) for key, value in run["versions"].items()},
        settings=run["settings"],
        partial=run["partial"],
        reason=run["reason"],
        lost=run["lost"],
        failure=_as(run.get("failure", ""), str, "run.failure"),
        plan=_plan(run.get("plan")),
    )
    if shard.plan is None:
        shard.paths = {
            item["path"]
            for section in ("tasks", "not_run")
            for item in data[section]
            if isinstance(item.get("path"), str)
        }
    return data, counts, shard


def _plan(value: object) -> ShardPlan | None:
    """The shard plan a report carries (None: no ``--shard`` run); a bad one is a bad input."""
    if value is None:
        return None
    try:
        return ShardPlan.from_json(value)
    except ValueError as error:
        raise _BadInput(f"corrupt report: {error}") from None


def _load_json(path: str) -> dict[str, Any]:
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
    _check(data)
    return data


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
    for section in JSON_SECTIONS:
        for item in _as(data.get(section), list, section):
            _as(item, dict, f"an item of {section}")


def _recount(data: dict[str, Any]) -> Counts:
    counts = Counts()
    for scenario in data["scenarios"]:
        counts.add(_status_of(scenario))
    for entry in data["not_run"]:
        slots = _as(entry.get("scenarios"), int, "not_run.scenarios")
        counts.add(_status_of(entry), slots)
        counts.add("not_run", slots)
    return counts


class _JsonMerger:
    """Merges JSON run reports: one input in memory at a time, checked before it is used."""

    def __init__(self, out: str) -> None:
        self.doc = JsonDocument(out, "merge-reports")

    def add(self, path: str) -> _Shard:
        data, counts, shard = _read_json_shard(path)
        for section in JSON_SECTIONS:
            for item in data[section]:
                self.doc.append(section, item)
        self.doc.counts.update(counts)
        return shard

    @property
    def counts(self) -> Counts:
        return self.doc.counts

    def write(self, meta: RunMeta, merged_from: Sequence[str]) -> None:
        run = run_json(meta, self.doc.counts)
        run["merged_from"] = list(merged_from)
        self.doc.write(run)

    def discard(self) -> None:
        self.doc.discard()


class _HtmlMerger:
    """Draws one HTML page from shard JSON reports, a lane group per shard.

    Each input is read and checked as the JSON merge reads it (one in memory at a time); the
    page keeps only each shard's bounded digest.
    """

    def __init__(self, out: str) -> None:
        self.out = out
        self.counts = Counts()
        self.budget = Budget()
        self.digests: list[Digest] = []
        try:  # before any input is read: an output that cannot be written is a usage error
            probe, fd = temp_file(out, ".probe")
            os.close(fd)
            os.unlink(probe)
        except OSError as error:
            raise UsageError(
                f"merge-reports {out}: cannot write the report: {error.strerror or error}"
            ) from None

    def add(self, path: str) -> _Shard:
        data, counts, shard = _read_json_shard(path)
        data["run"].pop("plan", None)  # checked (PlanCheck); the page has no use for its paths
        self.digests.append(Digest.of(items_of(data), self.budget, source=path))
        self.counts.update(counts)
        return shard

    def write(self, meta: RunMeta, merged_from: Sequence[str]) -> None:
        run = run_json(meta, self.counts)
        run["merged_from"] = list(merged_from)
        write_html(self.out, self.digests, run, self.budget)

    def discard(self) -> None:
        """Nothing to remove: the page is written in one atomic step."""


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
        self.store = SuiteStore(out, "merge-reports")

    @property
    def counts(self) -> Counts:
        return self.store.counts

    def add(self, path: str) -> _Shard:
        shard = _Shard(path)
        staged: list[Suite] = []

        def on_suite(suite: ET.Element) -> None:
            name = suite.get("name", "")
            if name == RUN_SUITE:
                self._read_run_suite(suite, shard)
                return
            part = SuitePart(
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
        if shard.plan is None:  # its features: the suites of scenarios (not "merge problems")
            shard.paths = {suite.name for suite in staged if suite.counts is not None}
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
        shard.failure = properties.get("failure", "")
        if "plan" in properties:
            try:
                plan = json.loads(properties["plan"])
            except ValueError:
                raise _BadInput("corrupt report: its plan property is not JSON") from None
            shard.plan = _plan(plan)
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
                case = element("testcase", {"classname": "merge", "name": path, "time": "0"})
                case.append(element("error", {"message": attribute(problem), "type": "bad input"}))
                cases.append(case)
            self.store.add(SuitePart(PROBLEMS_SUITE, cases, scenarios=False))
        self.store.write(meta, [("merged_from", dumps(list(merged_from)))])

    def discard(self) -> None:
        self.store.part.discard()


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


_MERGERS: dict[str, Callable[[str], _JsonMerger | _JUnitMerger | _HtmlMerger]] = {
    "json": _JsonMerger,
    "junit": _JUnitMerger,
    "html": _HtmlMerger,
}


def merge(out: str, kind: str, inputs: Sequence[str]) -> MergeOutcome:
    """Merge reports of one kind into ``out``; see :func:`merge_reports`.

    ``kind`` is "json", "junit" or "html" (an HTML page drawn from shard JSON reports).
    """
    if kind not in _MERGERS:
        raise ValueError(f"unknown report kind {kind!r}: expected 'json', 'junit' or 'html'")
    merger = _MERGERS[kind](out)
    problems: list[str] = []
    shards: list[_Shard] = []
    plans = PlanCheck()
    try:
        for path in inputs:
            try:
                shard = merger.add(path)
            except _BadInput as error:
                problems.append(f"{path}: {error}")
                continue
            shards.append(shard)
            if shard.plan is not None:
                plans.add(path, shard.plan)
            else:
                plans.add_unplanned(path, shard.paths)
                shard.paths = set()
        plan_problems = plans.check()
        meta = _merged_meta(
            out, kind, inputs, shards, problems=problems, plan_problems=plan_problems
        )
        merged_from = [shard.path for shard in shards]
        if isinstance(merger, _JUnitMerger):
            merger.write(meta, merged_from, [*problems, *plan_problems])
        else:
            merger.write(meta, merged_from)
    finally:
        merger.discard()
    return MergeOutcome(
        problems=[*problems, *plan_problems],
        counts=merger.counts.as_dict(),
        partial_inputs=[f"{s.path}: {s.reason or 'partial'}" for s in shards if s.partial],
        merged=len(shards),
        failure=meta.failure,
    )


def merge_reports(out: str, kind: str, inputs: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Merge shard reports of one kind into ``out`` (atomically).

    Returns (problems, counts): one ``"PATH: reason"`` per missing, unreadable, corrupt or
    wrong-kind input (the merged file is still written from the good ones and marked partial),
    and the merged scenario counts (:data:`COUNT_KEYS`) for the verdict.
    """
    outcome = merge(out, kind, inputs)
    return outcome.problems, outcome.counts
