"""Steps for the --json / --junit report files and ``merge-reports``.

The reports are driven in-process with results built here (no worker runs); the files they
write are read back with the standard parsers and checked against expectations written in the
feature, and the JUnit file against the common (Ant/Jenkins) schema by :func:`schema_problems`,
which knows nothing of the module. ``merge-reports`` runs as a child process, as CI runs it.
Every phrase starts with "a JSON report", "a JUnit report", "the merged report" or "merging".
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path

from behave import given, then, when
from junit_schema import schema_problems

from behave_bounded.collect import FeatureInfo, ScenarioInfo
from behave_bounded.errors import UsageError
from behave_bounded.finalize import Finalizer
from behave_bounded.reports.json import JsonReport
from behave_bounded.reports.junit import JUnitReport
from behave_bounded.reports.merge import merge_reports
from behave_bounded.reports.meta import RunMeta
from behave_bounded.results import (
    CapturedStream,
    ScenarioResult,
    Status,
    StreamStats,
    Task,
    TaskResult,
)

MiB = 2**20
KiB = 2**10
EARLIER = '{"earlier": true}\n'
MERGE = (
    "import sys; from behave_bounded.cli import merge_reports_main; "
    "sys.exit(merge_reports_main(sys.argv[1:]))"
)


# -- building results -------------------------------------------------------------------------


def workdir(context) -> Path:
    if not hasattr(context, "rf_dir"):
        holder = tempfile.TemporaryDirectory(prefix="bb-reports-")
        context.add_cleanup(holder.cleanup)
        context.rf_dir = Path(holder.name)
    return context.rf_dir


def stream(name: str, text: str = "", written: int | None = None, spill: str | None = None):
    size = len(text.encode("utf-8", "surrogateescape"))
    return CapturedStream(
        text, StreamStats(name, size if written is None else written, size, spill)
    )


def result(path, scenarios, worker=1, *, stdout=None, error="", index=0, lines=()) -> TaskResult:
    return TaskResult(
        task=Task(index, path, tuple(lines), len(scenarios)),
        scenarios=tuple(scenarios),
        duration=0.25,
        stdout=stdout or stream("stdout"),
        stderr=stream("stderr"),
        worker=worker,
        error=error,
        feature_failed=bool(error) or any(s.status.fails_run for s in scenarios),
    )


def crashed(path: str, error: str, worker: int, index: int) -> TaskResult:
    """A task whose worker died before it reported, as the runner finalizes it."""
    info = FeatureInfo(path, (), "crashes", (ScenarioInfo(f"{path}:2", "crashes", (), True),))
    return Finalizer({path: info}).finalize(result(path, [], worker, error=error, index=index))


def scenarios_from(table, path: str) -> list[ScenarioResult]:
    return [
        ScenarioResult(
            location=f"{path}:{row['line']}",
            name=row["name"],
            status=Status(row["status"]),
            duration=0.125,
            message=row["message"],
            tags=tuple(row["tags"].split()),
            error_type=row["error_type"],
        )
        for row in table
    ]


def numbered(count: int, status: Status, path: str, first_line: int = 3) -> list[ScenarioResult]:
    message = "" if status is Status.PASSED else f"{status.value} on purpose"
    return [
        ScenarioResult(f"{path}:{first_line + 4 * n}", f"{status.value} {n}", status, 0.5, message)
        for n in range(count)
    ]


def meta(started=1767225600.0, ended=1767225642.5, jobs=2, *, partial=False, reason="", lost=False):
    return RunMeta.current(
        started=started,
        ended=ended,
        jobs=jobs,
        settings={"max_output": 10 * MiB, "keep": "both", "timeout": None, "preimport": ()},
        argv=["behave-bounded", "-j", str(jobs), "features"],
        partial=partial,
        reason=reason,
        lost=lost,
    )


def reports(context):
    return [r for r in (getattr(context, "rf_json", None), getattr(context, "rf_junit", None)) if r]


# -- reading the files back -------------------------------------------------------------------


def junit_root(context) -> ET.Element:
    path = context.rf_junit_path
    return ET.parse(path).getroot()  # noqa: S314 - our own report file, written by this test


def cell(value) -> str:
    """A JSON value as a table cell: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def json_data(context) -> dict:
    return json.loads(Path(context.rf_json_path).read_text(encoding="utf-8"))


def testcases(root: ET.Element) -> list[ET.Element]:
    return [case for suite in root.iter("testsuite") for case in suite.findall("testcase")]


def outcome(case: ET.Element) -> tuple[str, str]:
    """(passed | failure | error | skipped, its message attribute)."""
    for tag in ("failure", "error", "skipped"):
        child = case.find(tag)
        if child is not None:
            return tag, child.get("message", "")
    return "passed", ""


def run_properties(root: ET.Element) -> dict[str, str]:
    suite = next(s for s in root.findall("testsuite") if s.get("name") == "behave-bounded run")
    return {p.get("name"): p.get("value") for p in suite.iter("property")}


# -- JUnit ------------------------------------------------------------------------------------


@given('a JUnit report at "{name}" in a temporary directory')
def junit_report(context, name):
    junit_report_bounded(context, name, 64 * KiB)


@given('a JUnit report at "{name}" with max output {limit:d} bytes in a temporary directory')
def junit_report_bounded(context, name, limit):
    context.rf_junit_path = str(workdir(context) / name)
    context.rf_junit = JUnitReport(context.rf_junit_path, max_output=limit)


@when('a JUnit report receives the feature "{path}" run by worker {worker:d}:')
def junit_receives(context, path, worker):
    context.rf_junit.add(result(path, scenarios_from(context.table, path), worker), 1767225601.0)


@when(
    'a JUnit report receives the feature "{path}" narrowed to line {line:d}, run by worker '
    "{worker:d}:"
)
def junit_receives_lines(context, path, line, worker):
    scenarios = scenarios_from(context.table, path)
    context.rf_junit.add(result(path, scenarios, worker, lines=[line], index=1))


def suite_table(root: ET.Element) -> list[list[str]]:
    """name, tests, failures, errors, skipped of every testsuite but the run's metadata."""
    keys = ("name", "tests", "failures", "errors", "skipped")
    suites = [s for s in root.findall("testsuite") if s.get("name") != "behave-bounded run"]
    return [[suite.get(key) for key in keys] for suite in suites]


@then("a JUnit report has the testsuites:")
def junit_suites(context):
    found = suite_table(junit_root(context))
    assert found == [list(row.cells) for row in context.table], found


@when('a JUnit report receives the feature "{path}" whose worker died: "{error}"')
def junit_crashed(context, path, error):
    context.rf_junit.add(crashed(path, error, 2, 2))


@then('a JUnit report\'s suite "{name}" has the properties:')
def junit_suite_properties(context, name):
    suite = next(s for s in junit_root(context).iter("testsuite") if s.get("name") == name)
    found = [[p.get("name"), p.get("value")] for p in suite.iter("property")]
    assert found == [list(row.cells) for row in context.table], found


@when("a JUnit report is closed")
def junit_closed(context):
    context.rf_junit.close(meta())


@then("a JUnit report file parses and follows the common JUnit schema")
def junit_valid(context):
    problems = schema_problems(junit_root(context))
    assert not problems, "\n".join(problems)


@then("a JUnit report has these testcases:")
def junit_cases(context):
    found = [
        [
            case.get("classname"),
            case.get("name"),
            case.get("file"),
            case.get("line", ""),
            *outcome(case),
        ]
        for case in testcases(junit_root(context))
    ]
    expected = [list(row.cells) for row in context.table]
    assert found == expected, "\n".join(" | ".join(row) for row in found)


@then(
    "a JUnit report's totals are {tests:d} tests, {failures:d} failures, {errors:d} errors, "
    "{skipped:d} skipped"
)
def junit_totals(context, tests, failures, errors, skipped):
    root = junit_root(context)
    found = [root.get(key) for key in ("tests", "failures", "errors", "skipped")]
    assert found == [str(n) for n in (tests, failures, errors, skipped)], found


NASTY = "".join(chr(code) for code in range(256)) + "]]> <tag> &amp; \udcff end"


@when(
    "a JSON report and a JUnit report receive a failing feature whose output and message hold "
    'every Latin-1 character, "]]>", markup and a lone surrogate'
)
def junit_nasty(context):
    # A location without a line (not from behave) must not break the report either.
    scenario = ScenarioResult(
        "features/nasty.feature", "bell\x07 name", Status.FAILED, 0.1, "boom\x07" + NASTY
    )
    stdout = stream("stdout", NASTY)
    for report in reports(context):
        report.add(result("features/nasty.feature", [scenario], stdout=stdout))
        report.close(meta())


@then("a JSON report keeps that message, the lone surrogate replaced by a question mark")
def json_nasty_text(context):
    (scenario,) = json_data(context)["scenarios"]
    assert scenario["message"] == ("boom\x07" + NASTY).replace("\udcff", "?"), scenario


@then("a JUnit report keeps that text readable, each character XML cannot carry escaped")
def junit_nasty_text(context):
    case = testcases(junit_root(context))[0]
    assert case.get("name") == "bell\\x07 name", case.get("name")
    assert (case.get("file"), case.get("line")) == ("features/nasty.feature", None), case.attrib
    failure = case.find("failure")
    assert failure.get("message").startswith("failed: boom\\x07\\x00\\x01"), failure.get("message")
    expected = (
        "".join(f"\\x{c:02x}" if c < 32 and c not in (9, 10, 13) else chr(c) for c in range(256))
        + "]]> <tag> &amp; \\udcff end"
    )
    # A parser turns the carriage return into a newline: that is XML, not us.
    expected = expected.replace("\r", "\n")
    assert case.find("system-out").text == expected, repr(case.find("system-out").text)
    assert failure.text.replace("\r", "\n") == "boom\\x07" + expected


@when(
    'a JUnit report receives the feature "{path}" with {failing:d} failing scenarios whose stdout '
    'is {kept:d} bytes of numbered lines, of {written:d} written, spilled to "{spill}"'
)
def junit_big_output(context, *, path, failing, kept, written, spill):
    text = "".join(f"line {n:06d} \u00e9\n" for n in range(kept // 15))  # 15 bytes a line
    assert len(text.encode()) == kept, len(text.encode())
    context.rf_big_stdout = text
    context.rf_long_message = "y" * 3000 + "\nsecond line"
    failures = [
        replace(scenario, message=context.rf_long_message)
        for scenario in numbered(failing, Status.FAILED, path)
    ]
    scenarios = [*numbered(1, Status.PASSED, path, 1), *failures]
    context.rf_junit.add(result(path, scenarios, stdout=stream("stdout", text, written, spill)))


@when('a JUnit report receives the passing feature "{path}" with {size:d} bytes of stdout')
def junit_passing_output(context, path, size):
    stdout = stream("stdout", "p" * size)
    context.rf_junit.add(result(path, numbered(2, Status.PASSED, path), stdout=stdout, index=1))


@then(
    'a JUnit report attaches the last {limit:d} bytes of the stdout of "{path}" to its first '
    "failing testcase after the note:"
)
def junit_bounded(context, path, limit):
    suite = next(s for s in junit_root(context).iter("testsuite") if s.get("name") == path)
    failing = [case for case in suite.findall("testcase") if case.find("failure") is not None]
    text = failing[0].find("system-out").text
    note, _, shown = text.partition("\n")
    assert note == context.text.strip(), note
    # The last `limit` bytes, less the part of a character cut in two at their start.
    assert shown == context.rf_big_stdout.encode()[-limit:].decode("utf-8", "ignore"), shown[:40]
    assert len(shown.encode()) <= limit
    context.rf_first_failing = failing[0].get("name")
    context.rf_other_failing = failing[1:]


@then(
    'a JUnit report\'s failure messages of "{path}" are one line of at most {limit:d} characters, '
    "the whole message in their text"
)
def junit_long_messages(context, path, limit):
    suite = next(s for s in junit_root(context).iter("testsuite") if s.get("name") == path)
    failures = list(suite.iter("failure"))
    assert failures
    for failure in failures:
        message = failure.get("message")
        assert len(message) <= limit and "\n" not in message, message
        assert message.startswith("failed: yyy") and message.endswith("..."), message
        assert failure.text == context.rf_long_message


@then("a JUnit report's other failing testcases of that feature only point to the first one")
def junit_pointers(context):
    assert context.rf_other_failing
    for case in context.rf_other_failing:
        (out,) = case.findall("system-out")
        assert repr(context.rf_first_failing) in out.text, out.text
        assert len(out.text) < 200, out.text


@then('a JUnit report has no output for the testcases of "{path}"')
def junit_no_output(context, path):
    suite = next(s for s in junit_root(context).iter("testsuite") if s.get("name") == path)
    assert suite.findall("testcase")
    assert not list(suite.iter("system-out")), ET.tostring(suite)


# -- JSON -------------------------------------------------------------------------------------


@given('a JSON report at "{name}" in a temporary directory')
def json_report(context, name):
    context.rf_json_path = str(workdir(context) / name)
    context.rf_json = JsonReport(context.rf_json_path)


@given(
    'a JSON report and a JUnit report at "{json_name}" and "{junit_name}" in a temporary directory'
)
def both_reports(context, json_name, junit_name):
    json_report(context, json_name)
    junit_report(context, junit_name)


@when(
    'a JSON report receives the feature "{path}" run by worker {worker:d} started at {started:g} '
    'with stdout {written:d} written, {kept:d} kept, spilled to "{spill}":'
)
def json_receives(context, *, path, worker, started, written, kept, spill):
    stdout = stream("stdout", "o" * kept, written, spill)
    scenarios = scenarios_from(context.table, path)
    context.rf_json.add(result(path, scenarios, worker, stdout=stdout), started)


@when('a JSON report receives the feature "{path}" whose worker died: "{error}"')
def json_crashed(context, path, error):
    context.rf_json.add(crashed(path, error, 2, 1), None)


@given('a JSON report at "{name}" with show output {limit:d} bytes in a temporary directory')
def json_report_show_output(context, name, limit):
    context.rf_json_path = str(workdir(context) / name)
    context.rf_json = JsonReport(context.rf_json_path, show_output=limit)


@when(
    'a JSON report receives the failing feature "{path}" whose stdout is {size:d} bytes of lines '
    'of 2-byte characters and whose stderr is "{stderr}"'
)
def json_receives_loud(context, path, size, stderr):
    text = "".join(f"{n:04d}" + "\u00e9" * 5 + "\n" for n in range(size // 15))
    assert len(text.encode()) == size, len(text.encode())
    context.rf_loud_stdout = text
    task_result = replace(
        result(path, numbered(1, Status.FAILED, path), stdout=stream("stdout", text)),
        stderr=stream("stderr", stderr),
    )
    context.rf_json.add(task_result, 1.0)


@when('a JSON report receives the passing feature "{path}" with {size:d} bytes of stdout')
def json_receives_passing_output(context, path, size):
    stdout = stream("stdout", "p" * size)
    context.rf_json.add(result(path, numbered(1, Status.PASSED, path), stdout=stdout, index=2))


def json_task(context, path: str) -> dict:
    (found,) = [t for t in json_data(context)["tasks"] if t["path"] == path]
    return found


@then(
    'a JSON report\'s task "{path}" has as stdout tail the last {size:d} bytes of its stdout, no '
    'character cut, and as stderr tail "{stderr}"'
)
def json_tail(context, path, size, stderr):
    output = json_task(context, path)["output"]
    tail = output["stdout"]["tail"]
    assert len(tail.encode()) == size, len(tail.encode())  # 1000 bytes less half a character
    assert context.rf_loud_stdout.endswith(tail) and "\ufffd" not in tail, tail[:20]
    assert output["stderr"]["tail"] == stderr, output["stderr"]


@then('a JSON report\'s task "{path}" has empty tails')
def json_empty_tails(context, path):
    output = json_task(context, path)["output"]
    assert (output["stdout"]["tail"], output["stderr"]["tail"]) == ("", ""), output


@then('a JSON report\'s task "{path}" has no tails')
def json_no_tails(context, path):
    output = json_task(context, path)["output"]
    assert "tail" not in output["stdout"] and "tail" not in output["stderr"], output


@when("a JSON report is closed after a run of {jobs:d} jobs from {started:g} to {ended:g}")
def json_closed(context, jobs, started, ended):
    context.rf_json.close(meta(started, ended, jobs))


@then('a JSON report file has the schema "{schema}" version {version:d}')
def json_schema(context, schema, version):
    data = json_data(context)
    assert list(data) == ["schema", "version", "run", "scenarios", "tasks", "not_run"], list(data)
    assert (data["schema"], data["version"]) == (schema, version)


@then(
    "a JSON report's run says {jobs:d} jobs, duration {duration:g}, not partial, with this "
    "run's versions, settings and argv"
)
def json_run(context, jobs, duration):
    run = json_data(context)["run"]
    assert run["jobs"] == jobs
    assert run["duration"] == duration
    assert (run["partial"], run["reason"], run["lost"]) == (False, "", False)
    assert run["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert re.fullmatch(r"1\.3\.\d+", run["versions"]["behave"]), run["versions"]
    assert run["versions"]["behave_bounded"]
    assert run["settings"] == {
        "max_output": 10 * MiB,
        "keep": "both",
        "timeout": None,
        "preimport": [],
    }
    assert run["argv"] == ["behave-bounded", "-j", str(jobs), "features"]


@then("a JSON report's counts are:")
def json_counts(context):
    expected = {key: int(value) for key, value in context.table[0].as_dict().items()}
    assert json_data(context)["run"]["counts"] == expected, json_data(context)["run"]["counts"]


@then('a JSON report\'s verdict is "{verdict}"')
def json_verdict(context, verdict):
    assert json_data(context)["run"]["verdict"] == verdict, json_data(context)["run"]["verdict"]


@then("a JSON report's scenarios are:")
def json_scenarios(context):
    keys = context.table.headings
    found = [[cell(item[key]) for key in keys] for item in json_data(context)["scenarios"]]
    expected = [list(row.cells) for row in context.table]
    assert found == expected, "\n".join(" | ".join(row) for row in found)


@then("a JSON report's tasks are:")
def json_tasks(context):
    keys = context.table.headings
    found = []
    for task in json_data(context)["tasks"]:
        output = task["output"]
        flat = {
            **task,
            **{
                name: ", ".join(
                    cell(output[name][key])
                    for key in ("written", "kept", "dropped", "truncated", "spill_path")
                )
                for name in ("stdout", "stderr")
            },
        }
        found.append([cell(flat[key]) for key in keys])
    expected = [list(row.cells) for row in context.table]
    assert found == expected, "\n".join(" | ".join(row) for row in found)


# -- partial runs -----------------------------------------------------------------------------


@when('a JSON report and a JUnit report receive the passing feature "{path}"')
def both_receive(context, path):
    for report in reports(context):
        report.add(result(path, numbered(1, Status.PASSED, path)))


@when(
    'a JSON report and a JUnit report are closed as partial because "{reason}" (lost: {lost}), '
    '"{running}" of {running_count:d} scenarios interrupted and "{never}" of {never_count:d} '
    "never started"
)
def both_closed_partial(context, *, reason, lost, running, running_count, never, never_count):
    run = meta(partial=True, reason=reason, lost=lost == "yes")
    interrupted = [Task(7, running, (), running_count)]
    never_ran = [Task(8, never, (), never_count)]
    for report in reports(context):
        report.close(run, never_ran=never_ran, interrupted=interrupted)


@then('a JSON report is marked partial with the reason "{reason}"')
def json_partial(context, reason):
    run = json_data(context)["run"]
    assert (run["partial"], run["reason"]) == (True, reason), run


@then("a JSON report lists as not run:")
def json_not_run(context):
    keys = context.table.headings
    found = [[cell(item[key]) for key in keys] for item in json_data(context)["not_run"]]
    assert found == [list(row.cells) for row in context.table], found


@then(
    'a JUnit report\'s run properties say partial "{partial}", reason "{reason}" and verdict '
    '"{verdict}"'
)
def junit_run_properties(context, partial, reason, verdict):
    properties = run_properties(junit_root(context))
    found = (properties["partial"], properties["reason"], properties["verdict"])
    assert found == (partial, reason, verdict), properties


@then('a JUnit report\'s run properties say it is complete, with the verdict "{verdict}"')
def junit_run_complete(context, verdict):
    properties = run_properties(junit_root(context))
    found = (properties["partial"], properties["reason"], properties["verdict"])
    assert found == ("false", "", verdict), properties


@then(
    "a JUnit report has {count:d} not-run testcases, each {kind} with a message starting "
    '"not run: "'
)
def junit_not_run(context, count, kind):
    cases = [c for c in testcases(junit_root(context)) if "(not run)" in c.get("name")]
    assert len(cases) == count, [c.get("name") for c in cases]
    for case in cases:
        tag, message = outcome(case)
        assert tag == kind and message.startswith("not run: "), (tag, message)


# -- streaming and atomicity ------------------------------------------------------------------


@when(
    "a JSON report and a JUnit report receive {count:d} failing features with 64 KiB of distinct "
    "stdout each while memray tracks the heap"
)
def both_stream(context, count):
    import memray  # noqa: PLC0415 - optional test dependency

    holder = tempfile.TemporaryDirectory(prefix="bb-memray-")
    context.add_cleanup(holder.cleanup)
    capture = os.path.join(holder.name, "reports.bin")
    context.rf_text_total = 0
    with memray.Tracker(capture):
        for number in range(count):
            text = f"{number:015d}\n" * (64 * KiB // 16)
            context.rf_text_total += len(text)
            path = f"features/f{number:05d}.feature"
            task_result = result(
                path, numbered(1, Status.FAILED, path), stdout=stream("stdout", text), index=number
            )
            for report in reports(context):
                report.add(task_result)
            del text, task_result
        context.rf_before_close = {
            name: os.stat(workdir(context) / name).st_mode for name in os.listdir(workdir(context))
        }
        for report in reports(context):
            report.close(meta())
    context.rf_peak = memray.FileReader(capture).metadata.peak_memory
    context.rf_count = count


@then(
    "a JSON report and a JUnit report peaked below {limit:d} MiB of heap while {total:d} MiB "
    "of text went through them"
)
def both_peak(context, limit, total):
    assert context.rf_text_total >= total * MiB, context.rf_text_total
    assert context.rf_peak < limit * MiB, f"peak {context.rf_peak / MiB:.1f} MiB"


@then(
    "a JSON report and a JUnit report had nothing at their paths before close, only private "
    "part files next to them"
)
def both_nothing_before(context):
    names = context.rf_before_close
    paths = [Path(context.rf_json_path).name, Path(context.rf_junit_path).name]
    assert not set(paths) & set(names), names
    for path in paths:
        parts = [n for n in names if n.startswith(f".{path}.") and n.endswith(".part")]
        assert parts, names
    assert all(stat.S_IMODE(mode) == 0o600 for mode in names.values()), names
    assert len(names) == 4, names  # JSON: scenarios, tasks, not_run; JUnit: its suites


@then('a JSON report\'s directory holds only "{first}" and "{second}" after close')
def directory_after(context, first, second):
    assert sorted(os.listdir(workdir(context))) == sorted([first, second])


@then("a JUnit report file holds every failing feature with its own 64 KiB of output")
def junit_holds_all(context):
    seen = 0
    events = ET.iterparse(context.rf_junit_path)  # noqa: S314 - our own report file
    for _, element in events:
        if element.tag == "testsuite" and element.get("name").startswith("features/f"):
            number = int(element.get("name")[len("features/f") : -len(".feature")])
            text = element.find("testcase/system-out").text
            assert text == f"{number:015d}\n" * (64 * KiB // 16), element.get("name")
            assert element.find("testcase/failure") is not None
            seen += 1
            element.clear()
    assert seen == context.rf_count, seen


@then("a JSON report file lists every failing feature's scenario and task")
def json_holds_all(context):
    data = json_data(context)
    assert data["run"]["counts"]["failed"] == context.rf_count
    assert len(data["scenarios"]) == len(data["tasks"]) == context.rf_count
    assert {t["output"]["stdout"]["written"] for t in data["tasks"]} == {64 * KiB}


@given(
    'a JSON report at "{name}" in a temporary directory that holds "{name2}" from an earlier run'
)
def json_over_earlier(context, name, name2):
    (workdir(context) / name2).write_text(EARLIER, encoding="utf-8")
    json_report(context, name)


@when('a JSON report receives the passing feature "{path}"')
def json_receives_passing(context, path):
    context.rf_json.add(result(path, numbered(1, Status.PASSED, path)))


@then("a JSON report's path still holds the earlier run's file")
def json_earlier_intact(context):
    assert Path(context.rf_json_path).read_text(encoding="utf-8") == EARLIER


@when("a JSON report's earlier file is opened by a reader")
def json_earlier_reader(context):
    context.rf_reader = open(context.rf_json_path, encoding="utf-8")  # noqa: SIM115
    context.add_cleanup(context.rf_reader.close)


@then("a JSON report's reader still reads the whole earlier file: the new one was renamed over it")
def json_reader_intact(context):
    context.rf_reader.seek(0)
    assert context.rf_reader.read() == EARLIER


@then('a JSON report at "{name}" in a temporary directory is refused: "{message}"')
def json_refused(context, name, message):
    path = str(workdir(context) / name)
    refusal = None
    try:
        JsonReport(path)
    except UsageError as error:
        refusal = str(error)
    assert refusal == message.replace("DIR", str(workdir(context))), refusal


@then("a JSON report and a JUnit report that are discarded leave nothing behind")
def both_discarded(context):
    directory = workdir(context) / "discarded"
    directory.mkdir()
    for report in (JsonReport(str(directory / "r.json")), JUnitReport(str(directory / "r.xml"))):
        report.add(result("features/a.feature", numbered(1, Status.FAILED, "features/a.feature")))
        report.discard()
        refusal = None
        try:
            report.add(result("features/b.feature", []))
        except RuntimeError as error:
            refusal = str(error)
        kind = "JSON" if isinstance(report, JsonReport) else "JUnit"
        assert refusal == f"the {kind} report {report.path} is already closed", refusal
    assert os.listdir(directory) == [], os.listdir(directory)


@then("a JSON report whose part files were removed fails at close and leaves nothing behind")
def json_parts_removed(context):
    directory = workdir(context) / "removed"
    directory.mkdir()
    report = JsonReport(str(directory / "r.json"))
    report.add(result("features/a.feature", numbered(1, Status.PASSED, "features/a.feature")))
    for name in os.listdir(directory):
        os.unlink(directory / name)
    failure = None
    try:
        report.close(meta())
    except FileNotFoundError as error:
        failure = error
    assert failure is not None, "close succeeded without its part files"
    assert os.listdir(directory) == [], os.listdir(directory)


@then("a JSON report and a JUnit report refuse to be staged before they are sealed")
def refuse_unsealed(context):
    directory = workdir(context) / "unsealed"
    directory.mkdir()
    for report in (JsonReport(str(directory / "r.json")), JUnitReport(str(directory / "r.xml"))):
        refusal = None
        try:
            report.stage(meta())
        except RuntimeError as error:
            refusal = str(error)
        kind = "JSON" if isinstance(report, JsonReport) else "JUnit"
        assert refusal == f"the {kind} report {report.path} is not sealed", refusal
        report.discard()
    assert os.listdir(directory) == [], os.listdir(directory)


@then(
    "a staged report is committed once; one whose temporary file was removed fails to commit "
    "and leaves nothing behind"
)
def staged_commits(context):
    directory = workdir(context) / "staged"
    directory.mkdir()
    report = JsonReport(str(directory / "r.json"))
    report.seal(meta())
    staged = report.stage(meta())
    staged.commit()
    again = None
    try:
        staged.commit()
    except RuntimeError as error:
        again = str(error)
    assert again == f"{report.path}: already committed or discarded", again
    lost = report.stage(meta())
    os.unlink(lost.temp)
    failure = None
    try:
        lost.commit()
    except FileNotFoundError as error:
        failure = error
    assert failure is not None, "a commit without its temporary file succeeded"
    report.discard()
    assert os.listdir(directory) == ["r.json"], os.listdir(directory)


# -- merging ----------------------------------------------------------------------------------


@given("a JSON report and a JUnit report written for each shard:")
def shard_reports(context):
    context.rf_shards = {}
    for number, row in enumerate(context.table):
        directory = workdir(context)
        base = directory / row["shard"]
        json_path, junit_path = f"{base}.json", f"{base}.xml"
        shard_reports_ = [JsonReport(json_path), JUnitReport(junit_path)]
        for feature in row["features"].split():
            path = f"features/{feature}.feature"
            scenarios = [
                *numbered(int(row["passed"]), Status.PASSED, path),
                *numbered(int(row["failed"]), Status.FAILED, path, 100),
                *numbered(int(row["skipped"]), Status.SKIPPED, path, 200),
            ]
            for report in shard_reports_:
                report.add(result(path, scenarios, worker=number + 1))
        partial = row.get("partial", "")
        never_ran = [Task(99, f"features/{row['shard']}-late.feature", (), 2)] if partial else []
        for report in shard_reports_:
            report.close(meta(jobs=2, partial=bool(partial), reason=partial), never_ran=never_ran)
        context.rf_shards[row["shard"]] = {"json": json_path, "junit": junit_path}


BAD_FILES = {
    "a JSON file of another schema": '{"schema": "someone-else/report", "version": 1}',
    "an XML file whose root is <html>": "<html><body>404</body></html>",
    "a JUnit file with a testcase directly under testsuites": (
        '<testsuites><testcase name="x" classname="y"/></testsuites>'
    ),
    "an empty file": "",
    "a JUnit file from another tool": (
        '<?xml version="1.0"?>\n<testsuites><testsuite name="other/tool">'
        '<testcase name="works" classname="other.tool"/></testsuite></testsuites>'
    ),
}
EDITS = {
    "": lambda text: text,
    "cut short by 20 bytes": lambda text: text[:-20],
    "with its counts edited": lambda text: re.sub(r'"passed": \d+', '"passed": 999', text, count=1),
    "with a scenario's status edited": lambda text: text.replace(
        '"status": "passed"', '"status": "weird"', 1
    ),
    "with version 2": lambda text: text.replace('"version": 1,', '"version": 2,', 1),
    "with its jobs as a string": lambda text: text.replace('"jobs": 2,', '"jobs": "2",', 1),
    "with a DTD declaring an entity": lambda text: text.replace(
        "<testsuites ", '<!DOCTYPE testsuites [<!ENTITY lol "lol">]>\n<testsuites ', 1
    ),
}


@given('merging\'s input "{name}" is {what}')
def bad_input(context, name, what):
    path = workdir(context) / name
    if what == "missing":
        return
    if what == "a directory":
        path.mkdir()
        return
    if what in BAD_FILES:
        path.write_text(BAD_FILES[what], encoding="utf-8")
        return
    kind, edit = re.fullmatch(r"the (JSON|JUnit) report of shard-1 ?(.*)", what).groups()
    source = context.rf_shards["shard-1"]["json" if kind == "JSON" else "junit"]
    path.write_text(EDITS[edit](Path(source).read_text(encoding="utf-8")), encoding="utf-8")


@when('merging "{args}" in the temporary directory')
def merging(context, args):
    shards = getattr(context, "rf_shards", {})
    argv = [shards[a][context.rf_kind] if a in shards else a for a in args.split()]
    argv = [os.path.relpath(a, workdir(context)) if os.path.isabs(a) else a for a in argv]
    completed = subprocess.run(
        [sys.executable, "-c", MERGE, *argv],
        cwd=workdir(context),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    context.rf_merge = completed


@given("merging reads the {kind} reports")
def merging_kind(context, kind):
    context.rf_kind = {"JSON": "json", "JUnit": "junit"}[kind]


@then("merging exited with {code:d}")
def merging_exit(context, code):
    done = context.rf_merge
    assert done.returncode == code, f"{done.returncode}\n{done.stdout}\n{done.stderr}"


@then('merging printed "{line}" as the last line of stdout')
def merging_last_line(context, line):
    lines = context.rf_merge.stdout.splitlines()
    assert lines and lines[-1] == line, context.rf_merge.stdout


@then("merging reported no problem")
def merging_no_problem(context):
    assert context.rf_merge.stderr == "", context.rf_merge.stderr


@then('merging reported exactly one problem: "{problem}"')
def merging_problem(context, problem):
    lines = context.rf_merge.stderr.splitlines()
    prefix = "behave-bounded merge-reports: error: "
    assert len(lines) == 1 and lines[0].startswith(prefix + problem), context.rf_merge.stderr


@then('merging warned exactly once: "{warning}"')
def merging_warning(context, warning):
    lines = context.rf_merge.stderr.splitlines()
    assert lines == [f"behave-bounded merge-reports: warning: {warning}"], lines


@when('merging in-process the {kind} reports of shard-1, "{bad}" and shard-2 into "{out}"')
def merging_in_process(context, kind, bad, out):
    kind = {"JSON": "json", "JUnit": "junit"}[kind]
    inputs = [context.rf_shards["shard-1"][kind], str(workdir(context) / bad)]
    inputs.append(context.rf_shards["shard-2"][kind])
    context.rf_returned = merge_reports(str(workdir(context) / out), kind, inputs)


@then('merging returned the problem "{problem}" and the counts:')
def merging_returned(context, problem):
    problems, counts = context.rf_returned
    assert problems == [problem.replace("DIR", str(workdir(context)))], problems
    expected = {key: int(value) for key, value in context.table[0].as_dict().items()}
    assert counts == expected, counts


@then('merging in-process with the kind "{kind}" is refused: "{message}"')
def merging_bad_kind(context, kind, message):
    refusal = None
    try:
        merge_reports(str(workdir(context) / "never.json"), kind, [])
    except ValueError as error:
        refusal = str(error)
    assert refusal == message, refusal
    assert not (workdir(context) / "never.json").exists()


@then("merging printed its usage")
def merging_usage_printed(context):
    done = context.rf_merge
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: behave-bounded merge-reports "), done.stdout


@then('merging failed with a usage error saying "{text}"')
def merging_usage(context, text):
    assert context.rf_merge.returncode == 2
    assert text in context.rf_merge.stderr, context.rf_merge.stderr
    assert "Traceback" not in context.rf_merge.stderr


def merged_path(context) -> Path:
    out = context.rf_merge.args[3]
    return workdir(context) / out


def entries(path: str | Path, kind: str) -> Counter:
    """The scenarios of a report as (feature, name, outcome), from the file alone."""
    if kind == "json":
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        found = Counter((s["feature"], s["name"], s["status"]) for s in data["scenarios"])
        for entry in data["not_run"]:
            found[(entry["path"], "not run", entry["status"])] += entry["scenarios"]
        return found
    root = ET.parse(path).getroot()  # noqa: S314 - our own report file
    found = Counter()
    for suite in root.findall("testsuite"):
        if suite.get("name") == "merge problems":
            continue
        for case in suite.findall("testcase"):
            name = "not run" if "(not run)" in case.get("name") else case.get("name")
            found[(suite.get("name"), name, outcome(case)[0])] += 1
    return found


@then("the merged report holds exactly the scenarios of {shards}")
def merged_holds(context, shards):
    kind = context.rf_kind
    expected = Counter()
    for shard in shards.replace(" and ", " ").replace(",", " ").split():
        expected.update(entries(context.rf_shards[shard][kind], kind))
    found = entries(merged_path(context), kind)
    assert found == expected, f"{found}\n!=\n{expected}"
    if kind == "junit":
        root = ET.parse(merged_path(context)).getroot()  # noqa: S314 - our own report file
        problems = schema_problems(root)
        assert not problems, problems


@then("the merged report has the testsuites:")
def merged_suites(context):
    root = ET.parse(merged_path(context)).getroot()  # noqa: S314 - our own report file
    found = suite_table(root)
    assert found == [list(row.cells) for row in context.table], found


@then("the merged report is not partial")
def merged_not_partial(context):
    partial, reason = merged_partial(context)
    assert (partial, reason) == (False, ""), reason


@then('the merged report is marked partial, its reason naming "{name}"')
def merged_is_partial(context, name):
    partial, reason = merged_partial(context)
    assert partial, reason
    assert name in reason, reason


@then('the merged report lists "{name}" as its only bad input')
def merged_bad_input(context, name):
    if context.rf_kind == "json":
        reason = merged_partial(context)[1]
        assert reason.startswith(f"bad input {name}: "), reason
        assert reason.count("bad input") == 1, reason
        return
    root = ET.parse(merged_path(context)).getroot()  # noqa: S314 - our own report file
    suite = next(s for s in root.findall("testsuite") if s.get("name") == "merge problems")
    (case,) = suite.findall("testcase")
    assert case.get("name") == name, case.get("name")
    assert case.find("error").get("message").startswith(f"{name}: "), ET.tostring(case)


def merged_partial(context) -> tuple[bool, str]:
    if context.rf_kind == "json":
        run = json.loads(merged_path(context).read_text(encoding="utf-8"))["run"]
        return run["partial"], run["reason"]
    root = ET.parse(merged_path(context)).getroot()  # noqa: S314 - our own report file
    properties = run_properties(root)
    return properties["partial"] == "true", properties["reason"]


@then('the merged report\'s verdict is "{verdict}"')
def merged_verdict(context, verdict):
    if context.rf_kind == "json":
        found = json.loads(merged_path(context).read_text(encoding="utf-8"))["run"]["verdict"]
    else:
        root = ET.parse(merged_path(context)).getroot()  # noqa: S314 - our own report file
        found = run_properties(root)["verdict"]
    assert found == verdict, found
