"""Steps for --reruns and --repeat: what a run's scenarios did, and what its reports say of it.

The generated suite notes every run of a scenario in ``runs/NAME`` (one line per run: the
worker that ran it), so these steps count runs from the suite's own side and compare them with
what the runner's console, JSON and JUnit reports claim. The JUnit file is checked against
:mod:`junit_schema` (the common schema with Maven Surefire's rerun elements).
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET

from behave import then
from hypothesis import given as given_
from hypothesis import settings
from hypothesis import strategies as st
from junit_schema import schema_problems
from suite_support import suite_dir

from behave_bounded.reruns import HeldResults, Rerun, RerunQueue
from behave_bounded.results import (
    CapturedStream,
    ScenarioResult,
    Status,
    StreamStats,
    Task,
    TaskResult,
)


def runs_of(context, name: str) -> list[str]:
    """The workers that ran the scenario noting itself as ``name``, in order."""
    path = suite_dir(context) / "runs" / name
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def json_report(context, name: str) -> dict:
    return json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))


def scenario_entry(context, report: str, location: str) -> dict:
    found = [s for s in json_report(context, report)["scenarios"] if s["location"] == location]
    assert len(found) == 1, f"{len(found)} entries for {location}"
    return found[0]


def junit_root(context, name: str) -> ET.Element:
    return ET.parse(suite_dir(context) / name).getroot()  # noqa: S314 - our own report file


def summary_lines(context, title: str) -> list[str]:
    """The lines of one list of the summary (after its title, while they are indented)."""
    summary = context.stdout.split("behave-bounded summary", 1)[1].splitlines()
    assert f"{title}:" in summary, f"no {title!r} list in:\n" + "\n".join(summary)
    lines = []
    for line in summary[summary.index(f"{title}:") + 1 :]:
        if not line.startswith("  "):
            break
        lines.append(line.strip())
    return lines


# -- the suite's own count --------------------------------------------------------------------


@then('the scenario "{name}" ran {count:d} time')
@then('the scenario "{name}" ran {count:d} times')
def ran_times(context, name, count):
    found = runs_of(context, name)
    assert len(found) == count, f"{name} ran {len(found)} times: {found}"


@then('the scenario "{name}" ran {count:d} time and "{other}" {other_count:d} time')
@then('the scenario "{name}" ran {count:d} time and "{other}" {other_count:d} times')
@then('the scenario "{name}" ran {count:d} times and "{other}" {other_count:d} time')
@then('the scenario "{name}" ran {count:d} times and "{other}" {other_count:d} times')
def ran_times_both(context, name, count, other, other_count):
    ran_times(context, name, count)
    ran_times(context, other, other_count)


# -- the console ------------------------------------------------------------------------------


@then('the summary lists "{what}" as flaky with the attempts "{attempts}"')
def summary_flaky(context, what, attempts):
    lines = summary_lines(context, "flaky scenarios (passed on a rerun)")
    assert lines == [f"{what}  -- attempts: {attempts}"], lines


@then('the summary lists "{location}" as failed after {count:d} attempts')
def summary_failed_after(context, location, count):
    lines = summary_lines(context, "failing scenarios")
    matching = [line for line in lines if f" {location} " in line]
    assert len(matching) == 1 and matching[0].startswith("failed"), lines
    assert matching[0].endswith(f"({count} attempts)"), matching[0]


# -- the JSON report --------------------------------------------------------------------------


def _attempt_statuses(entry: dict) -> list[str]:
    return [attempt["status"] for attempt in entry["attempts"]]


@then(
    'the JSON report "{report}" has "{location}" {status}, {flakiness}, with the attempts '
    '"{attempts}"'
)
def json_attempts(context, report, location, status, flakiness, attempts):
    entry = scenario_entry(context, report, location)
    assert entry["status"] == status, entry
    assert entry["flaky"] is (flakiness == "flaky"), entry
    assert _attempt_statuses(entry) == attempts.split(", "), entry["attempts"]
    last = entry["attempts"][-1]
    if last["status"] != "skipped":  # the scenario's result is its last attempt that ran
        assert (last["status"], last["message"]) == (entry["status"], entry["message"][:1024])
    for attempt in entry["attempts"]:
        assert set(attempt) == {"status", "duration", "message", "error_type", "worker", "slot"}


@then('the JSON report "{report}" has the first attempt of "{location}" {status} with "{text}"')
def json_first_attempt(context, report, location, status, text):
    first = scenario_entry(context, report, location)["attempts"][0]
    assert first["status"] == status and text in first["message"], first


@then('the JSON report "{report}" has "{location}" {status} with no attempts')
def json_no_attempts(context, report, location, status):
    entry = scenario_entry(context, report, location)
    assert entry["status"] == status, entry
    assert "attempts" not in entry and "flaky" not in entry, entry


@then('the JSON report "{report}" counts {count:d} flaky scenario')
@then('the JSON report "{report}" counts {count:d} flaky scenarios')
def json_flaky_count(context, report, count):
    data = json_report(context, report)
    assert data["run"]["counts"]["flaky"] == count, data["run"]["counts"]
    flaky = [s["location"] for s in data["scenarios"] if s.get("flaky") is True]
    assert len(flaky) == count, flaky


@then('the JSON report "{report}" has no flaky count')
def json_no_flaky_count(context, report):
    data = json_report(context, report)
    assert "flaky" not in data["run"]["counts"], data["run"]["counts"]
    assert not any("flaky" in s or "attempts" in s for s in data["scenarios"])


def tasks_of(context, report: str, path: str) -> list[dict]:
    return [t for t in json_report(context, report)["tasks"] if t["path"] == path]


@then(
    'the JSON report "{report}" has {count:d} tasks of "{path}", the attempts 1, 2 and 3, '
    "each but the last rerun"
)
def json_rerun_tasks(context, report, count, path):
    tasks = tasks_of(context, report, path)
    assert len(tasks) == count, tasks
    assert [t["attempt"] for t in tasks] == [1, 2, 3], tasks
    assert [t["rerun"] for t in tasks] == [True, True, False], tasks
    assert all(t["status"] == "failed" for t in tasks), tasks


@then('the JSON report "{report}" has 3 tasks of "{path}" on the lines "{a}", "{b}" and "{c}"')
def json_task_lines(context, report, path, a, b, c):
    found = [" ".join(map(str, t["lines"])) or "all" for t in tasks_of(context, report, path)]
    assert found == [a, b, c], found


@then(
    'the attempts of "{location}" in the JSON report "{report}" ran on the slots the scenario '
    '"{name}" saw, {which}'
)
def attempts_slots(context, location, report, name, which):
    attempts = scenario_entry(context, report, location)["attempts"]
    slots = [f"w{attempt['slot']}" for attempt in attempts]
    assert slots == runs_of(context, name), (slots, runs_of(context, name))
    if which == "two different ones":
        assert len(slots) == 2 and slots[0] != slots[1], slots
    else:
        assert which == "both w0" and slots == ["w0", "w0"], (which, slots)


@then(
    'in the JSON report "{report}" the rerun of "{path}" started at least {seconds:g} s after '
    "its first run ended"
)
def rerun_delay(context, report, path, seconds):
    first, rerun = tasks_of(context, report, path)
    waited = rerun["started"] - (first["started"] + first["duration"])
    assert waited >= seconds - 0.05, f"the rerun started {waited:.3f} s after the first run"


@then('the JSON report "{report}" has the pass rates "{rates}" over {times:d} runs')
def json_pass_rates(context, report, rates, times):
    repeat = json_report(context, report)["run"]["repeat"]
    assert repeat["times"] == times, repeat
    found = [f"{e['location']} {e['passed']}/{e['runs']}" for e in repeat["scenarios"]]
    assert found == rates.split(", "), found


@then('the JSON report "{report}" has the runs 1, 2 and 3 of "{location}", one of them failed')
def json_repeat_runs(context, report, location):
    """Which run failed is the one that came second in time: runs may overlap on two workers."""
    data = json_report(context, report)
    runs = sorted(
        (s["repeat"], s["status"]) for s in data["scenarios"] if s["location"] == location
    )
    assert [number for number, _ in runs] == [1, 2, 3], runs
    assert sorted(status for _, status in runs) == ["failed", "passed", "passed"], runs
    tasks = sorted(t["repeat"] for t in data["tasks"] if t["path"] == location.rsplit(":", 1)[0])
    assert tasks == [1, 2, 3], tasks


# -- the JUnit report -------------------------------------------------------------------------


@then('the JUnit file "{name}" follows the JUnit schema with Surefire\'s rerun elements')
def junit_schema(context, name):
    problems = schema_problems(junit_root(context, name))
    assert not problems, problems


def junit_testcase(context, report: str, name: str) -> ET.Element:
    cases = junit_root(context, report).iter("testcase")
    found = [case for case in cases if case.get("name") == name]
    assert len(found) == 1, f"{len(found)} testcases named {name!r}"
    return found[0]


@then(
    'the JUnit testcase "{name}" of "{report}" has the children "{tags}", the first saying "{text}"'
)
def junit_children(context, name, report, tags, text):
    case = junit_testcase(context, report, name)
    found = [child.tag for child in case if not child.tag.startswith("system-")]
    assert found == tags.split(", "), found
    first = case[0]
    said = first.get("message", "") + (first.text or "")
    said += "".join(trace.text or "" for trace in first.iter("stackTrace"))
    assert text in said, ET.tostring(first, encoding="unicode")
    for attempt in case:
        if attempt.tag.startswith(("flaky", "rerun")):
            assert attempt.get("type"), attempt.attrib
            assert text in (attempt.find("stackTrace").text or ""), attempt


@then('the JUnit testcase "{name}" of "{report}" has no children')
def junit_no_children(context, name, report):
    case = junit_testcase(context, report, name)
    assert not list(case), [child.tag for child in case]


@then('the JUnit file "{report}" has the testcases "{names}" among others')
def junit_names(context, report, names):
    found = {case.get("name") for case in junit_root(context, report).iter("testcase")}
    missing = set(names.split(", ")) - found
    assert not missing, (missing, found)


# -- behave's own formatters ------------------------------------------------------------------


@then('behave\'s JSON report "{name}" has the scenarios "{expected}"')
def behave_json(context, name, expected):
    features = json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))
    found = [
        f"{element['name']}: {element['status']}"
        for feature in features
        for element in feature.get("elements", [])
    ]
    assert found == expected.split(", "), found


# -- in-process: HeldResults and RerunQueue ---------------------------------------------------

_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


def _result(index: int, message: str, output: str) -> TaskResult:
    scenario = ScenarioResult(f"features/a.feature:{index + 2}", "a", Status.FAILED, 0.1, message)
    return TaskResult(
        task=Task(index, "features/a.feature"),
        scenarios=(scenario,),
        duration=0.5,
        stdout=CapturedStream(output, StreamStats("stdout", len(output), len(output))),
        stderr=CapturedStream("", StreamStats("stderr")),
    )


@then(
    "any results held with any memory bound come back as they were, memory never holding more "
    "than the bound"
)
def held_results_property(context):
    @settings(max_examples=60, deadline=None)
    @given_(
        texts=st.lists(st.tuples(_TEXT, _TEXT), max_size=12),
        limit=st.integers(min_value=0, max_value=4000),
        taken=st.integers(min_value=0, max_value=12),
    )
    def check(texts, limit, taken):
        with tempfile.TemporaryDirectory(prefix="bb-held-") as directory:
            held = HeldResults(limit, directory)
            results = {n: _result(n, message, output) for n, (message, output) in enumerate(texts)}
            for key, result in results.items():
                held.put(key, result)
                assert held.in_memory <= limit, (held.in_memory, limit)
            assert len(held) == len(results)
            for key in list(results)[:taken]:  # some taken as their reruns come back
                assert held.pop(key) == results.pop(key)
            assert list(held.drain()) == list(results.values())  # the rest at the end, in order
            assert len(held) == 0 and held.in_memory == 0
            held.close()
            assert os.listdir(directory) == []  # the file had no name: nothing left behind

    check()


def _slots(cell: str) -> set[int]:
    return {int(part) for part in cell.split()}


@then("the rerun queue hands out a rerun like this:")
def rerun_queue_table(context):
    for row in context.table:
        queue = RerunQueue()
        task = Task(7, "features/a.feature", (2,), 1, part=True, attempt=2)
        queue.add(Rerun(task, float(row["starts at"]), int(row["avoids"])))
        slot, others = int(row["asking slot"]), _slots(row["other live slots"])
        handed = queue.take(slot, others, float(row["now"]))
        expected = task if row["hands out"] == "the rerun" else None
        assert handed == expected, (row.cells, handed)
        assert queue.waiting is (expected is None), row.cells
        avoided = int(row["avoids"]) == slot
        assert queue.allows(task, slot, others) is (not avoided or not others - {slot})


@then(
    "a rerun a dead worker had not begun waits again, ahead of the others, until its result is back"
)
def rerun_put_back(context):
    queue = RerunQueue()
    first = Task(7, "features/a.feature", (2,), 1, part=True, attempt=2)
    second = Task(8, "features/b.feature", (2,), 1, part=True, attempt=2)
    queue.add(Rerun(first, 0.0, 0))
    queue.add(Rerun(second, 0.0, 0))
    assert queue.take(1, {0}, 1.0) == first
    assert queue.put_back(first) and queue.is_rerun(first)
    assert not queue.put_back(Task(3, "features/c.feature"))  # not a rerun: the caller's
    assert queue.take(1, {0}, 1.0) == first  # ahead of the one that waited all along
    queue.done(first)
    assert not queue.is_rerun(first) and not queue.put_back(first)
    assert queue.take(1, {0}, 1.0) == second and not queue.waiting
