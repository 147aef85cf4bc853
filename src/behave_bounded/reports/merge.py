"""Merging the reports of CI shards into one (``behave-bounded merge-reports``).

JSON shards merge into one JSON report, JUnit shards into one JUnit file, and JSON shards into
one HTML page (``--html``) with a lane group per shard. Each input is read and checked first
(:mod:`~behave_bounded.reports.shard_report`); the shard plans the inputs carry are checked
together (:class:`~behave_bounded.plan.PlanCheck`): no input is skipped and no feature lost
without the merge saying so.
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.parsers import expat

from behave_bounded.atomic import temp_file
from behave_bounded.errors import UsageError
from behave_bounded.plan import PlanCheck
from behave_bounded.reports.digest import Budget, Digest, items_of
from behave_bounded.reports.html import write_html
from behave_bounded.reports.json import (
    JSON_SECTIONS,
    JsonDocument,
    dumps,
    run_json,
)
from behave_bounded.reports.junit import PROBLEMS_SUITE, RUN_SUITE, Suite, SuitePart, SuiteStore
from behave_bounded.reports.junit_cases import attribute, element
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.pass_rates import PassRates
from behave_bounded.reports.shard_report import (
    BadInput,
    ShardInfo,
    SuiteReader,
    first_byte,
    open_input,
    read_json_shard,
    read_run_suite,
)
from behave_bounded.reports.verdict import FLAKY, Counts, join_reasons
from behave_bounded.results import Status


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
    shards: Sequence[ShardInfo], bad_inputs: Sequence[str], plan_problems: Sequence[str]
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
    shards: Sequence[ShardInfo],
    *,
    problems: Sequence[str],
    plan_problems: Sequence[str] = (),
) -> RunMeta:
    now = time.time()
    starts = [s.started for s in shards if s.started is not None]
    ends = [s.ended for s in shards if s.ended is not None]
    first = shards[0] if shards else ShardInfo("")
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


class _JsonMerger:
    """Merges JSON run reports: one input in memory at a time, checked before it is used.

    The pass rates of ``--repeat`` shards are counted again from their scenarios' runs.
    """

    def __init__(self, out: str) -> None:
        self.doc = JsonDocument(out, "merge-reports")
        self.rates: PassRates | None = None

    def add(self, path: str) -> ShardInfo:
        data, counts, shard = read_json_shard(path)
        for section in JSON_SECTIONS:
            for item in data[section]:
                self.doc.append(section, item)
        self.doc.counts.update(counts)
        repeat = data["run"].get("repeat")
        if isinstance(repeat, dict) and isinstance(repeat.get("times"), int):
            self.rates = self.rates or PassRates(repeat["times"])
            self.rates.times = max(self.rates.times, repeat["times"])
            for item in data["scenarios"]:
                if isinstance(item.get("repeat"), int):
                    location, name = str(item.get("location")), str(item.get("name"))
                    self.rates.count(location, name, Status(item["status"]))
        return shard

    @property
    def counts(self) -> Counts:
        return self.doc.counts

    def write(self, meta: RunMeta, merged_from: Sequence[str]) -> None:
        run = run_json(meta, self.doc.counts)
        if self.rates is not None:
            run["repeat"] = self.rates.as_json()
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

    def add(self, path: str) -> ShardInfo:
        data, counts, shard = read_json_shard(path)
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


class _JUnitMerger:
    """Merges JUnit files suite by suite; a bad input's testcases are never counted or used."""

    def __init__(self, out: str) -> None:
        self.store = SuiteStore(out, "merge-reports")

    @property
    def counts(self) -> Counts:
        return self.store.counts

    def add(self, path: str) -> ShardInfo:
        shard = ShardInfo(path)
        staged: list[Suite] = []

        def on_suite(suite: ET.Element) -> None:
            name = suite.get("name", "")
            if name == RUN_SUITE:
                read_run_suite(suite, shard)
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
            with open_input(path) as file:
                if first_byte(file) in (b"{", b"["):
                    raise BadInput("wrong kind: a JSON file, not JUnit XML (--json?)")
                SuiteReader(on_suite).read(file)
        except expat.ExpatError as error:
            raise BadInput(f"corrupt JUnit XML: {error}") from None
        if shard.plan is None:  # its features: the suites of scenarios (not "merge problems")
            shard.paths = {suite.name for suite in staged if suite.counts is not None}
        for suite in staged:  # only now: a bad input's testcases stay unused in the part file
            self.store.commit(suite)
        if shard.settings.get("reruns"):  # a run with --reruns: its flaky ones are counted
            self.store.counts.add(FLAKY, 0)
        return shard

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
    shards: list[ShardInfo] = []
    plans = PlanCheck()
    try:
        for path in inputs:
            try:
                shard = merger.add(path)
            except BadInput as error:
                problems.append(f"{path}: {error}")
                continue
            shards.append(shard)
            # The check keeps what it needs (one entry per feature); the inputs' own copies go,
            # or 64 shards of a 10,000-feature plan would hold 640,000 paths.
            if shard.plan is not None:
                plans.add(path, shard.plan)
            else:
                plans.add_unplanned(path, shard.paths)
            shard.plan, shard.paths = None, set()
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
