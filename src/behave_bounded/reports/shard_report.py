"""One input of ``merge-reports``: a shard's report, read and checked before anything of it
is used.

A JSON report is loaded whole (one input in memory at a time), its types checked and its counts
recounted from its scenarios; a JUnit file is read with expat directly, one ``<testsuite>`` at a
time, and a file with a DTD is refused, so no entity is ever expanded (no billion laughs, no
external entities). What an input says about its run (times, settings, whether it was partial or
failed, its shard plan) becomes a :class:`ShardInfo`.
"""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from xml.parsers import expat

from behave_bounded.plan import ShardPlan
from behave_bounded.reports.json import JSON_SECTIONS, SCHEMA, SCHEMA_VERSION
from behave_bounded.reports.verdict import FLAKY, Counts
from behave_bounded.results import Status


class BadInput(Exception):
    """Why a merge input cannot be used (the message is the reason of "PATH: reason")."""


@dataclass
class ShardInfo:
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


def open_input(path: str) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise BadInput("missing (no such file)") from None
    except OSError as error:
        raise BadInput(f"cannot read: {error.strerror or error}") from None


def first_byte(file: IO[bytes]) -> bytes:
    """The first non-blank byte (to tell a JSON file from an XML one); the file is rewound."""
    head = file.read(4096).lstrip()
    file.seek(0)
    return head[:1]


def _as(value: object, kind: type | tuple[type, ...], what: str) -> Any:
    """``value`` if it has the type ``kind`` (a bool is not a number here), else a bad input."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadInput(f"corrupt report: {what} has the wrong type")
    return value


_STATUSES = frozenset(status.value for status in Status)


def _status_of(item: Mapping[str, object]) -> str:
    status = item.get("status")
    if not isinstance(status, str) or status not in _STATUSES:
        raise BadInput(f"corrupt report: unknown status {status!r}")
    return status


def read_json_shard(path: str) -> tuple[dict[str, Any], Counts, ShardInfo]:
    """A shard's JSON report, checked: its document, its recounted counts, what it says."""
    data = _load_json(path)
    run = data["run"]
    counts = _recount(data)
    recounted = counts.as_dict()
    if recounted != {key: run["counts"].get(key, 0) for key in recounted}:
        raise BadInput("corrupt report: its counts do not match its scenarios")
    shard = ShardInfo(
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
        plan=plan_of(run.get("plan")),
    )
    if shard.plan is None:
        shard.paths = {
            item["path"]
            for section in ("tasks", "not_run")
            for item in data[section]
            if isinstance(item.get("path"), str)
        }
    return data, counts, shard


def plan_of(value: object) -> ShardPlan | None:
    """The shard plan a report carries (None: no ``--shard`` run); a bad one is a bad input."""
    if value is None:
        return None
    try:
        return ShardPlan.from_json(value)
    except ValueError as error:
        raise BadInput(f"corrupt report: {error}") from None


def _load_json(path: str) -> dict[str, Any]:
    with open_input(path) as file:
        if first_byte(file) == b"<":
            raise BadInput("wrong kind: an XML file, not a JSON run report (--junit?)")
        raw = file.read()
    if not raw.strip():
        raise BadInput("corrupt JSON: the file is empty")
    try:
        data = json.loads(raw)
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise BadInput(f"corrupt JSON: {error}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise BadInput(f"wrong kind: not a {SCHEMA} file (schema {schema!r})")
    if data.get("version") != SCHEMA_VERSION:
        raise BadInput(
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
    if FLAKY in data["run"]["counts"]:  # a run with --reruns: flaky ones are counted too
        counts.add(FLAKY, 0)
    for scenario in data["scenarios"]:
        counts.add(_status_of(scenario))
        if scenario.get("flaky") is True:
            counts.add(FLAKY)
    for entry in data["not_run"]:
        slots = _as(entry.get("scenarios"), int, "not_run.scenarios")
        counts.add(_status_of(entry), slots)
        counts.add("not_run", slots)
    return counts


class SuiteReader:
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
        raise BadInput("refused: the file has a DTD (a report never does)")

    def _start(self, tag: str, attributes: dict[str, str]) -> None:
        if self.depth == 0 and tag != "testsuites":
            raise BadInput(f"wrong kind: the root element is <{tag}>, not <testsuites>")
        if self.depth == 1:
            if tag != "testsuite":
                raise BadInput(f"corrupt JUnit XML: <{tag}> inside <testsuites>")
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


def read_run_suite(suite: ET.Element, shard: ShardInfo) -> None:
    """What the run suite of one of our JUnit files says about its run, into ``shard``."""
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
            raise BadInput("corrupt report: its plan property is not JSON") from None
        shard.plan = plan_of(plan)
    shard.versions = {
        key.removeprefix("version."): value
        for key, value in properties.items()
        if key.startswith("version.")
    }
    for key, value in properties.items():
        if key.startswith("setting."):
            with contextlib.suppress(ValueError):
                shard.settings[key.removeprefix("setting.")] = json.loads(value)
