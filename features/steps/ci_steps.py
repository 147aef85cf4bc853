"""Steps that read the report files a run wrote and compare runs with each other."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from behave import given, then, when

LINE = re.compile(r"^(\S+\.feature(?::\d+)*)  (\w+)  (\d+\.\d\d)s$")


def report(context, name: str) -> dict:
    path = context.suite / name
    if not path.is_file():  # say what the last run said, not only that the file is missing
        stderr = getattr(context, "stderr", "")[-3000:]
        raise AssertionError(
            f"{name} was not written; the last run exited {getattr(context, 'exit_code', '?')}"
            f" with this on stderr:\n{stderr}"
        )
    return json.loads(path.read_text(encoding="utf-8"))


def junit(context, name: str) -> ET.Element:
    return ET.parse(context.suite / name).getroot()  # noqa: S314 - our own file


def outcome(case: ET.Element) -> str:
    for kind in ("failure", "error", "skipped"):
        if case.find(kind) is not None:
            return kind
    return "passed"


@then('the JUnit file "{name}" parses')
def junit_parses(context, name):
    root = junit(context, name)
    assert root.tag in {"testsuites", "testsuite"}, root.tag


@then('the JUnit file "{name}" parses and has these testcases')
def junit_cases(context, name):
    root = junit(context, name)
    assert root.tag == "testsuites", root.tag
    cases = {(c.get("classname"), c.get("name").strip()): outcome(c) for c in root.iter("testcase")}
    expected = {(row["classname"], row["name"]): row["outcome"] for row in context.table}
    assert cases == expected, f"testcases:\n{cases}\nexpected:\n{expected}"
    for suite in root.iter("testsuite"):
        tests = len(suite.findall("testcase"))
        assert int(suite.get("tests", tests)) == tests, suite.attrib
    total = sum(1 for _ in root.iter("testcase"))
    assert int(root.get("tests", total)) == total, root.attrib


def junit_case(context, name: str) -> ET.Element:
    root = junit(context, "reports/junit.xml")
    return next(c for c in root.iter("testcase") if c.get("name") == name)


@then('the JUnit testcase "{name}" is skipped with a message naming "{text}"')
def junit_skipped(context, name, text):
    skipped = junit_case(context, name).find("skipped")
    assert skipped is not None
    assert text in skipped.get("message", "") + (skipped.text or ""), skipped.attrib


@then('the JUnit testcase "{name}" has a failure message with "{text}"')
def junit_failure(context, name, text):
    failure = junit_case(context, name).find("failure")
    assert failure is not None
    assert text in failure.get("message", "") + (failure.text or ""), failure.attrib


@then('the JSON report "{name}" has schema "{schema}" version {version:d}')
def json_schema(context, name, schema, version):
    data = report(context, name)
    assert (data["schema"], data["version"]) == (schema, version), data.get("schema")
    run = data["run"]
    for key in ("started", "ended", "duration", "jobs", "versions", "settings", "partial"):
        assert key in run, f"run.{key} missing: {sorted(run)}"
    assert run["settings"]["max_output"] == 10 * 2**20, run["settings"]
    assert run["versions"]["behave"].startswith("1.3"), run["versions"]
    assert run["partial"] is False


@then(
    'the JSON report "{name}" counts {passed:d} passed, {failed:d} failed, {errored:d} errored, '
    "{xfailed:d} xfailed"
)
def json_counts(context, name, passed, failed, errored, xfailed):
    counts = report(context, name)["run"]["counts"]
    actual = (counts["passed"], counts["failed"], counts["errored"], counts["xfailed"])
    assert actual == (passed, failed, errored, xfailed), counts


def scenario(context, name: str, location: str) -> dict:
    scenarios = report(context, name)["scenarios"]
    found = [s for s in scenarios if s["location"] == location]
    assert len(found) == 1, [s["location"] for s in scenarios]
    return found[0]


@then(
    'the JSON report "{name}" has scenario "{location}" with status "{status}" and tdd issue '
    "{issue:d}"
)
def json_tdd(context, name, location, status, issue):
    entry = scenario(context, name, location)
    assert (entry["status"], entry["tdd_issue"]) == (status, issue), entry


@then(
    'the JSON report "{name}" has scenario "{location}" with status "{status}" and error type '
    '"{error_type}"'
)
def json_error_type(context, name, location, status, error_type):
    entry = scenario(context, name, location)
    assert (entry["status"], entry["error_type"]) == (status, error_type), entry
    assert entry["duration"] >= 0 and isinstance(entry["tags"], list), entry


@then('every task in the JSON report "{name}" has a worker, a duration and output counts')
def json_tasks(context, name):
    tasks = report(context, name)["tasks"]
    assert len(tasks) == 3, tasks
    for task in tasks:
        assert task["worker"] >= 1 and task["duration"] >= 0, task
        for stream in ("stdout", "stderr"):
            out = task["output"][stream]
            assert out["written"] == out["kept"] + out["dropped"], out
            assert out["truncated"] is (out["dropped"] > 0), out


@then('the JSON report "{name}" is marked partial with the reason "{reason}"')
def json_partial(context, name, reason):
    run = report(context, name)["run"]
    assert run["partial"] is True, run
    assert reason in run["reason"], run["reason"]


@then("no temporary report part is left in the suite")
def no_parts(context):
    leftovers = [p.name for p in context.suite.iterdir() if p.name.startswith(".")]
    leftovers = [name for name in leftovers if name != ".behave-bounded"]
    assert not leftovers, leftovers


def task_order(context, name: str) -> list[str]:
    tasks = sorted(report(context, name)["tasks"], key=lambda t: t["started"])
    return [Path(t["path"]).stem for t in tasks]


@then('in the JSON report "{name}" the tasks started in the order {order}')
def tasks_in_order(context, name, order):
    expected = [part.strip() for part in order.split(",")]
    assert task_order(context, name) == expected, task_order(context, name)


@then('in the JSON report "{name}" the task of "{path}" started before any task ended')
def task_before_any_end(context, name, path):
    """Longest first on two workers: the longest task is the first handed out, so it starts
    before either worker is done with anything (in file order it would come third)."""
    tasks = report(context, name)["tasks"]
    mine = next(t for t in tasks if t["path"] == path)
    first_end = min(t["started"] + t["duration"] for t in tasks if t is not mine)
    assert mine["started"] < first_end, (mine, tasks)


@then('in the JSON report "{name}" the task of "{path}" overlaps no other task')
def no_overlap(context, name, path):
    tasks = report(context, name)["tasks"]
    mine = next(t for t in tasks if t["path"] == path)
    start, end = mine["started"], mine["started"] + mine["duration"]
    for other in tasks:
        if other is mine or not other["duration"]:
            continue
        other_end = other["started"] + other["duration"]
        assert other_end <= start or other["started"] >= end, (mine, other)
    assert max(t["started"] for t in tasks) == start, "the serial task did not come last"


@when("I run the runner for every shard of {count:d} with a JSON report each")
def run_shards(context, count):
    context.shard_reports = {}
    # Each CI job starts from the same artifact directory (a restored cache): here, none.
    for number in range(1, count + 1):
        args = f"--shard {number}/{count} --artifacts shard-{number}"
        context.shard_reports[number] = run_json(context, args)
    context.full_report = run_json(context, "--artifacts full")


def run_json(context, args: str) -> dict:
    out = context.suite / "shard.json"
    completed = subprocess.run(
        [sys.executable, "-m", "behave_bounded", *args.split(), "--json", str(out)],
        cwd=context.suite,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    return json.loads(out.read_text(encoding="utf-8"))


def locations(data: dict) -> list[str]:
    return sorted(s["location"] for s in data["scenarios"])


@then("the shards together hold every scenario of the suite exactly once")
def shards_complete(context):
    union = sorted(loc for data in context.shard_reports.values() for loc in locations(data))
    assert union == locations(context.full_report), (union, locations(context.full_report))
    assert all(locations(data) for data in context.shard_reports.values()), "an empty shard"


@then("running shard {number:d} of {count:d} again selects the same scenarios")
def shard_again(context, number, count):
    again = run_json(context, f"--shard {number}/{count} --artifacts again")
    assert locations(again) == locations(context.shard_reports[number])


@then('the JSON reports "{first}" and "{second}" have the same status for every scenario')
def same_statuses(context, first, second):
    def statuses(name: str) -> dict[str, str]:
        return {s["location"]: s["status"] for s in report(context, name)["scenarios"]}

    assert statuses(first) == statuses(second), (statuses(first), statuses(second))
    assert len(statuses(first)) == 7, statuses(first)


@then('the JSON report "{name}" has {count:d} tasks')
def task_count(context, name, count):
    assert len(report(context, name)["tasks"]) == count


@then('every line before the summary that names a feature reads "path  status  duration"')
def plain_lines(context):
    before = context.stdout.split("behave-bounded summary", 1)[0]
    named = [line for line in before.splitlines() if line.startswith("features/")]
    assert len(named) == 3, named
    for line in named:
        assert LINE.match(line), line


@when('I run the runner on a terminal with "{args}"')
def run_on_terminal(context, args):
    """A pseudo-terminal of 120 x 40 characters, as an interactive user has."""
    import fcntl  # noqa: PLC0415
    import os  # noqa: PLC0415
    import pty  # noqa: PLC0415
    import struct  # noqa: PLC0415
    import termios  # noqa: PLC0415

    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the runner
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.chdir(context.suite)
        os.execv(sys.executable, [sys.executable, "-m", "behave_bounded", *args.split()])  # noqa: S606
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the runner closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    os.close(fd)
    context.terminal = b"".join(chunks).decode("utf-8", "replace")


@then('the terminal showed a progress line like "{example}"')
def progress_line(context, example):
    pattern = (
        r"(\d+)/(\d+) features [^\r\n]*?, (\d+) passed, (\d+) failed, (\d+) errored "
        r"\[\d\d:\d\d, ETA [^\]]+\]"
    )
    lines = re.findall(pattern, context.terminal)
    assert lines, f"no progress line like {example!r} in:\n{context.terminal[-3000:]}"
    wanted = re.search(
        r"(\d+)/(\d+) features .*, (\d+) passed, (\d+) failed, (\d+) errored", example
    )
    assert wanted, example
    assert tuple(map(int, lines[-1])) == tuple(map(int, wanted.groups())), lines[-1]


@then('the terminal\'s last line is "{line}"')
def terminal_last_line(context, line):
    last = context.terminal.replace("\r\n", "\n").rstrip("\n").split("\n")[-1]
    assert last.split("\r")[-1] == line, repr(last)


@given("{count:d} earlier runs left spill files in the artifact directory")
def earlier_runs(context, count):
    import os  # noqa: PLC0415
    import time  # noqa: PLC0415

    base = context.suite / ".behave-bounded"
    now = time.time()
    for number in range(count):
        run = base / f"run-earlier{number:02d}"
        run.mkdir(parents=True)
        (run / "features_x.feature-stdout-1.log").write_text("old output\n")
        os.utime(run, (now - 1000 + number, now - 1000 + number))


@then(
    "the artifact directory holds at most {count:d} run directories, the newest of the "
    "earlier ones among them"
)
def runs_pruned(context, count):
    runs = sorted(p.name for p in (context.suite / ".behave-bounded").glob("run-*"))
    assert len(runs) <= count, runs
    assert "run-earlier14" in runs, runs
    assert "run-earlier00" not in runs, runs
