"""``--json PATH``: the machine-readable run report (schema documented in the README).

Streamed: :meth:`JsonReport.add` writes each finished feature to part files, :meth:`close`
assembles PATH in one atomic rename (also after an interrupt, marked partial).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TextIO

from behave_bounded.atomic import Staged, stage
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.not_run import not_run_reason, not_run_tasks, slots
from behave_bounded.reports.parts import open_parts
from behave_bounded.reports.verdict import FLAKY, Counts, task_status
from behave_bounded.results import (
    Attempt,
    CapturedStream,
    ScenarioResult,
    Status,
    Task,
    TaskResult,
)
from behave_bounded.tdd import issue_number

SCHEMA = "behave-bounded/run-report"
SCHEMA_VERSION = 1

JSON_SECTIONS = ("scenarios", "tasks", "not_run")


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def compact(value: object) -> str:
    """JSON without the spaces after separators (a shard plan: 10,000 paths save 10 KB)."""
    return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))


#: Stands for the plan in the indented head; the plan is written compact in its place (a plan
#: of 10,000 features indented one path a line would cost 9 bytes more per feature).
_PLAN_PLACEHOLDER = "\0plan\0"


class JsonDocument:
    """A JSON run report being assembled: its three lists, in part files, and its counts.

    ``private``: the file is made 0600 (a record in the artifact directory), not as the umask
    says (a report CI tools and colleagues read).
    """

    def __init__(self, path: str, option: str, *, private: bool = False) -> None:
        self.path = path
        self.private = private
        self.parts = open_parts(path, JSON_SECTIONS, option)
        self.counts = Counts()

    def append(self, section: str, item: Mapping[str, object]) -> None:
        part = self.parts[section]
        part.write(("," if part.items else "") + "\n    " + dumps(item))

    def write(self, run: dict[str, object]) -> None:
        """Assemble the file at ``path`` (atomically) and remove the part files."""
        try:
            self.stage(run).commit()
        finally:
            self.discard()

    def stage(self, run: dict[str, object]) -> Staged:
        """The whole file, beside ``path``, to commit; the part files stay for another try."""
        return stage(self.path, lambda out: self._assemble(out, run), private=self.private)

    def _assemble(self, out: TextIO, run: dict[str, object]) -> None:
        plan = run.get("plan")
        if plan is not None:
            run = {**run, "plan": _PLAN_PLACEHOLDER}
        head = json.dumps(
            {"schema": SCHEMA, "version": SCHEMA_VERSION, "run": run},
            indent=2,
            ensure_ascii=False,
            default=str,
        )
        if plan is not None:  # the last key of run: its last occurrence is the placeholder
            before, placeholder, after = head.rpartition(dumps(_PLAN_PLACEHOLDER))
            head = before + compact(plan) + after if placeholder else head
        out.write(head[: -len("\n}")])
        for section in JSON_SECTIONS:
            part = self.parts[section]
            out.write(f',\n  "{section}": [')
            part.copy_into(out)
            out.write("\n  ]" if part.items else "]")
        out.write("\n}\n")

    def discard(self) -> None:
        for part in self.parts.values():
            part.discard()


def run_json(meta: RunMeta, counts: Counts) -> dict[str, object]:
    run: dict[str, object] = {
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
        "failure": meta.failure,
        "random_seed": meta.random_seed,
        "counts": counts.as_dict(),
        "verdict": counts.verdict(meta.failure),
        "plan": None if meta.plan is None else dict(meta.plan),
        "workers": list(meta.workers),
    }
    if meta.repeat is not None:  # --repeat: each scenario's pass rate
        run["repeat"] = dict(meta.repeat)
    return run


def _scenario_json(task: Task, scenario: ScenarioResult, show_output: int) -> dict[str, object]:
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
    if scenario.captured:  # what behave captured of a failing scenario: its tail
        entry["captured"] = tail(scenario.captured, show_output)
    if scenario.attempts:  # --reruns ran it again: each run, the last being this result
        entry["flaky"] = scenario.flaky
        entry["attempts"] = [_attempt_json(attempt) for attempt in scenario.attempts]
    if task.repeat:  # --repeat: which of the N runs this is
        entry["repeat"] = task.repeat
    return entry


def _attempt_json(attempt: Attempt) -> dict[str, object]:
    return {
        "status": attempt.status.value,
        "duration": round(attempt.duration, 6),
        "message": attempt.message,
        "error_type": attempt.error_type,
        "worker": attempt.worker,
        "slot": attempt.slot,
    }


def tail(text: str, limit: int) -> str:
    """The last at most ``limit`` bytes (UTF-8) of ``text``, never starting inside a character."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    return data[len(data) - limit :].decode("utf-8", "ignore")


def _stream_json(stream: CapturedStream, tail_limit: int | None) -> dict[str, object]:
    stats = stream.stats
    entry: dict[str, object] = {
        "written": stats.written,
        "kept": stats.kept,
        "dropped": stats.dropped,
        "truncated": stats.truncated,
        "spill_path": stats.spill_path,
    }
    if tail_limit is not None:  # a failing task: what it printed last, as the console shows
        entry["tail"] = tail(stream.text, tail_limit)
    return entry


def _task_json(result: TaskResult, started: float | None, show_output: int) -> dict[str, object]:
    status = task_status(result)
    tail_limit = show_output if status.fails_run else None
    entry: dict[str, object] = {
        "path": result.task.path,
        "lines": list(result.task.lines),
        "worker": result.worker,
        "slot": result.slot,
        "started": started,
        "duration": round(result.duration, 6),
        "error": result.error,
        "feature_failed": result.feature_failed,
        "status": status.value,
        "output": {
            "stdout": _stream_json(result.stdout, tail_limit),
            "stderr": _stream_json(result.stderr, tail_limit),
        },
    }
    if result.task.repeat:
        entry["repeat"] = result.task.repeat
    return entry


class JsonReport:
    """--json PATH: versioned, documented schema (:data:`SCHEMA_VERSION`), streamed to disk.

    ``show_output`` (``--show-output``) bounds the ``tail`` of each stream of a failing task:
    the part of its output the console showed, so the report can show it too. ``private``:
    the file is made 0600 (the record in the artifact directory), not as the umask says.

    Closing is :meth:`seal` (the features that did not run), :meth:`stage` (the whole file
    beside PATH, as often as the verdict changes) and a commit, or all three in :meth:`close`.
    """

    def __init__(
        self,
        path: str,
        show_output: int = 64 * 1024,
        *,
        private: bool = False,
        reruns: bool = False,
    ) -> None:
        self.path = path
        self.show_output = show_output
        self.reruns = reruns
        self._doc = JsonDocument(path, "--json", private=private)
        if reruns:  # the counts say how many passed only on a rerun, 0 included
            self._doc.counts.add(FLAKY, 0)
        self._closed = False

    def add(self, result: TaskResult, started: float | None = None) -> None:
        """Write one finished feature's scenarios and a task entry per run (``started``:
        epoch, of its first run; a rerun has its own)."""
        self._check_open()
        for scenario in result.scenarios:
            self._doc.counts.add(scenario.status.value)
            if self.reruns:
                self._doc.counts.add(FLAKY, int(scenario.flaky))
            self._doc.append("scenarios", _scenario_json(result.task, scenario, self.show_output))
        runs = result.runs()
        for number, run in enumerate(runs):
            entry = _task_json(run, started if number == 0 else run.started, self.show_output)
            if self.reruns:  # which attempt, and whether some of its scenarios ran again
                entry["attempt"] = run.task.attempt
                entry["rerun"] = number < len(runs) - 1
            self._doc.append("tasks", entry)

    def close(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """List the features that did not run, then write PATH in one atomic rename."""
        self.seal(meta, never_ran, interrupted)
        try:
            self.stage(meta).commit()
        finally:
            self.discard()

    def seal(
        self, meta: RunMeta, never_ran: Sequence[Task] = (), interrupted: Sequence[Task] = ()
    ) -> None:
        """List the features that did not run (``meta``: why); nothing can be added after."""
        self._check_open()
        self._closed = True
        status = Status.ERRORED if meta.lost else Status.SKIPPED
        for task, was_running in not_run_tasks(never_ran, interrupted):
            count = slots(task)
            self._doc.counts.add(status.value, count)
            self._doc.counts.add("not_run", count)
            self._doc.append(
                "not_run",
                {
                    "path": task.path,
                    "lines": list(task.lines),
                    "scenarios": count,
                    "status": status.value,
                    "reason": not_run_reason(was_running, meta),
                },
            )

    def stage(self, meta: RunMeta) -> Staged:
        """The whole file with ``meta``'s verdict beside PATH, to commit (after :meth:`seal`)."""
        if not self._closed:
            raise RuntimeError(f"the JSON report {self.path} is not sealed")
        return self._doc.stage(run_json(meta, self._doc.counts))

    def discard(self) -> None:
        """Drop the report's temporary files (PATH itself only ever appears by a commit)."""
        self._closed = True
        self._doc.discard()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the JSON report {self.path} is already closed")
