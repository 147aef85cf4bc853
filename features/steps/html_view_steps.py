"""Steps for the HTML report as a pure view of a JSON run-report document (no run).

The documents are built here, so worker slots, crashes, reruns, huge output and broken fields
need no real run; they are drawn with the module and read back with page_support's parser.
Every phrase names "the HTML report" or "the JSON run report".
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from behave import given, then, when
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from page_support import (
    TITLE,
    Node,
    failure_block,
    failure_blocks,
    lane_groups,
    lanes,
    load_page,
    page,
    parse_page,
)
from suite_support import suite_dir

from behave_bounded.reports.digest import Budget, Digest, read_items, streamable
from behave_bounded.reports.html import render_document
from behave_bounded.reports.json import JsonReport
from behave_bounded.reports.meta import RunMeta
from behave_bounded.reports.page import render
from behave_bounded.results import CapturedStream, ScenarioResult, Status, StreamStats, Task
from behave_bounded.results import TaskResult as Result

KiB = 2**10
MiB = 2**20
T0 = 1767225600.0
LANE_X, LANE_WIDTH = 150, 970  # the timeline's plot area, in SVG units (reports/timeline.py)


# -- pure view: documents built here ----------------------------------------------------------


def task(path, started, duration, *, worker=1, slot=None, status="passed", error="", out=None):
    entry = {
        "path": path,
        "lines": [],
        "worker": worker,
        "started": None if started is None else T0 + started,
        "duration": duration,
        "error": error,
        "feature_failed": status != "passed",
        "status": status,
        "output": {
            name: {
                "written": len(text.encode()),
                "kept": len(text.encode()),
                "dropped": 0,
                "truncated": False,
                "spill_path": None,
                **({"tail": text} if status != "passed" else {}),
            }
            for name, text in (("stdout", out or ""), ("stderr", out or ""))
        },
    }
    if slot is not None:
        entry["slot"] = slot
    return entry


def scenario(path, line, status="passed", message="", **extra):
    return {
        "location": f"{path}:{line}",
        "feature": path,
        "name": f"scenario {line}",
        "status": status,
        "duration": 0.5,
        "tags": [],
        "tdd_issue": None,
        "error_type": "AssertionError" if message else "",
        "message": message,
        **extra,
    }


def document(tasks, scenarios, *, ended=100.0, workers=None, not_run=()):
    counts = {key: 0 for key in ("passed", "failed", "errored", "skipped", "undefined")}
    counts.update(xfailed=0, xpassed=0, not_run=0)
    for entry in scenarios:
        counts[entry["status"]] += 1
    run = {
        "started": T0,
        "ended": T0 + ended,
        "duration": ended,
        "jobs": 2,
        "versions": {"behave_bounded": "0.1.0", "behave": "1.3.3", "python": "3.11.7"},
        "settings": {"show_output": 65536},
        "argv": ["behave-bounded", "features"],
        "partial": False,
        "reason": "",
        "lost": False,
        "counts": counts,
        "verdict": "",
    }
    if workers is not None:
        run["workers"] = workers
    return {
        "schema": "behave-bounded/run-report",
        "version": 1,
        "run": run,
        "scenarios": scenarios,
        "tasks": tasks,
        "not_run": list(not_run),
    }


@given(
    "a JSON run report of 100 s on 2 worker slots, where worker 2 on slot 1 crashed at +40 s "
    '("{cause}") and worker 3 took its slot'
)
def document_with_slots(context, cause):
    tasks = [
        task("features/a.feature", 0, 50, worker=1, slot=0),
        task("features/retry.feature", 50, 40, worker=1, slot=0),
        task("features/b.feature", 0, 10, worker=2, slot=1),
        task("features/c.feature", 20, 20, worker=2, slot=1, status="errored", error=cause),
    ]
    scenarios = [
        scenario("features/a.feature", 2),
        scenario("features/b.feature", 2),
        scenario("features/c.feature", 2, "errored", cause),
    ]
    workers = [
        {"slot": 0, "worker": 1, "started": T0, "ended": T0 + 100, "end": "exited", "cause": ""},
        {"slot": 1, "worker": 2, "started": T0, "ended": T0 + 40, "end": "crashed", "cause": cause},
        {
            "slot": 1,
            "worker": 3,
            "started": T0 + 41,
            "ended": T0 + 100,
            "end": "exited",
            "cause": "",
        },
    ]
    context.document = document(tasks, scenarios, workers=workers)


@given(
    'the JSON run report has a flaky scenario "{location}" that failed with "{message}" on '
    "worker {worker:d}, then passed"
)
def flaky_scenario(context, location, message, worker):
    path, line = location.rsplit(":", 1)
    attempts = [
        {"status": "failed", "duration": 1.0, "message": message, "worker": worker},
        {"status": "passed", "duration": 1.2, "message": "", "worker": worker},
    ]
    entry = scenario(path, int(line), flaky=True, attempts=attempts)
    context.document["scenarios"].append(entry)
    context.document["run"]["counts"]["passed"] += 1
    context.document["run"]["counts"]["flaky"] = 1  # as a writer that knows reruns counts them


@given(
    'a JSON run report of 100 s whose worker 2 died running "{path}" from +10 s to +20 s: "{cause}"'
)
def document_without_slots(context, path, cause):
    tasks = [
        task("features/a.feature", 0, 90, worker=1),
        task("features/b.feature", 0, 10, worker=2),
        task(path, 10, 10, worker=2, status="errored", error=cause),
    ]
    scenarios = [
        scenario("features/a.feature", 2),
        scenario("features/b.feature", 2),
        scenario(path, 2, "errored", cause),
    ]
    context.document = document(tasks, scenarios)


@given(
    "a JSON run report of {count:d} features of {ms:d} ms each on 1 worker slot in a 100 s run, "
    "every {nth:d}th one failing"
)
def document_of_tiny_tasks(context, count, ms, nth):
    tasks, scenarios = [], []
    for number in range(count):
        path = f"features/f{number:05d}.feature"
        status = "failed" if number % nth == 0 else "passed"
        tasks.append(task(path, number * 100 / count, ms / 1000, slot=0, status=status))
        scenarios.append(scenario(path, 2, status, "boom" if status == "failed" else ""))
    context.document = document(tasks, scenarios)
    context.failing = {t["path"] for t in tasks if t["status"] == "failed"}


@given(
    "a JSON run report of {count:d} failing features, each with 64 KiB of output tail per "
    "stream and a {chars:d}-character message"
)
def document_of_loud_failures(context, count, chars):
    tasks, scenarios = [], []
    for number in range(count):
        path = f"features/f{number:04d}.feature"
        out = f"{number:07d} output!\n" * (64 * KiB // 16)
        tasks.append(task(path, number / 10, 0.1, status="failed", out=out))
        message = f"first line of {number}\n" + "m" * chars
        scenarios.append(scenario(path, 2, "failed", message))
    context.document = document(tasks, scenarios)


@given(
    "a JSON run report of {count:d} features of {per:d} scenarios each on {slots:d} worker "
    "slots, 1% failing with 64 KiB of output"
)
def document_at_scale(context, count, per, slots):
    tasks, scenarios = [], []
    clock = [0.0] * slots
    for number in range(count):
        path = f"features/area_{number // 100:03d}/feature_{number:05d}.feature"
        failing = number % 100 == 7
        status = "failed" if failing else "passed"
        slot = number % slots
        duration = 0.2 + (number * 7919 % 1000) / 250
        out = f"{number:07d} output!\n" * (64 * KiB // 16) if failing else None
        tasks.append(task(path, clock[slot], duration, slot=slot, status=status, out=out))
        clock[slot] += duration + 0.01
        for line in range(per):
            failed = failing and line == 0
            message = f"assertion failed in {number}" if failed else ""
            scenarios.append(
                scenario(path, 3 + 4 * line, "failed" if failed else "passed", message)
            )
    context.document = document(tasks, scenarios, ended=max(clock))


@given("a JSON run report whose fields have the wrong types")
def document_mistyped(context):
    context.document = {
        "run": {
            "counts": "many",
            "started": "yesterday",
            "duration": "long",
            "jobs": "two",
            "partial": "yes",
            "workers": [1, {"slot": "a"}, {"slot": 0, "end": "crashed"}],
            "versions": ["1"],
            "settings": 3,
            "argv": "behave-bounded",
        },
        "scenarios": [
            7,
            {
                "status": "weird",
                "feature": 5,
                "location": "features/odd.feature:3",
                "name": None,
                "message": "still shown",
                "duration": "long",
                "tdd_issue": "x",
                "flaky": "perhaps",
                "attempts": [1, {"status": 3, "duration": True}],
            },
            {"location": "features/odd.feature:9", "status": "undefined", "name": "no step"},
        ],
        "tasks": [
            "x",
            {
                "path": "features/odd.feature",
                "started": "soon",
                "lines": [1, True, "x"],
                "worker": False,
                "output": {"stdout": 5, "stderr": {"written": "many", "tail": 7}},
            },
            {"path": "features/odd.feature", "started": T0, "duration": -3, "output": []},
            {
                "path": "features/odd.feature",
                "status": "failed",
                "output": {"stdout": {"written": 10, "kept": 10, "spill_path": None}},
            },
            {"path": "features/hook.feature", "status": "errored", "error": "after_feature raised"},
        ],
        "not_run": "nothing",
    }


@when("the JSON run report is drawn as a page")
def draw_document(context):
    out = io.StringIO()
    render_document(context.document, out)
    load_page(context, out.getvalue())


def lane_named(context, label: str) -> Node:
    (group,) = lane_groups(context)
    found = lanes(group)
    assert label in found, sorted(found)
    return found[label]


@then('the HTML report\'s timeline has {count:d} lanes, named "{first}" and "{second}"')
def html_lanes_named(context, count, first, second):
    (group,) = lane_groups(context)
    assert list(lanes(group)) == [first, second][:count], list(lanes(group))


@then(
    'the HTML report\'s timeline marks lane "{label}" at +{at:d} s of {span:d} s, titled "{title}"'
)
def html_marker(context, label, at, span, title):
    (marker,) = lane_named(context, label).iter("path", "marker")
    assert marker.title() == title, marker.title()
    x = float(re.match(r"M([\d.]+) ", marker.attrs["d"]).group(1))
    assert abs(x - (LANE_X + at / span * LANE_WIDTH)) < 0.01, marker.attrs["d"]
    others = [m for lane in lanes(lane_groups(context)[0]).values() for m in lane.iter("path")]
    assert len(others) == 1, "a marker where nothing was replaced"


@then('the HTML report\'s lane "{label}" is idle {percent:d}% of the run')
def html_idle(context, label, percent):
    idle = lane_named(context, label).find("text", "idle")
    assert idle.children[0] == f"idle {percent}%", idle.text()


@then(
    'the HTML report lists the flaky scenario "{location}" with attempts "{statuses}" and the '
    'message "{message}"'
)
def html_flaky(context, location, statuses, message):
    section = next(d for d in page(context).iter("details") if "Flaky" in d.find("summary").text())
    (item,) = [li for li in section.find("ul").children if isinstance(li, Node)]
    assert item.find("code").text() == location, item.text()
    attempts = list(item.find("ol").iter("li"))
    assert [a.find("span", "badge").text() for a in attempts] == statuses.split(", ")
    assert attempts[0].find("pre").text() == message


def bars(context) -> list[Node]:
    (group,) = lane_groups(context)
    return [bar for lane in lanes(group).values() for bar in lane.iter("rect", "bar")]


MERGED = re.compile(
    r"(?P<count>\d+) features \u2014 (?P<status>[a-z]+) \u2014 (?P<seconds>[\d.]+) s in all "
    r"\(merged: each narrower than a pixel\): (?P<first>\S+) \u2026 (?P<last>\S+)"
)


@then(
    "the HTML report's timeline has fewer than {limit:d} bars, which stand for all "
    "{count:d} features"
)
def html_few_bars(context, limit, count):
    found = bars(context)
    assert len(found) < limit, len(found)
    total = 0
    for bar in found:
        merged = MERGED.fullmatch(bar.title())
        total += int(merged["count"]) if merged else 1
    assert total == count, total


@then(
    "the HTML report's merged bars are titled with their count, status, total time, "
    "first and last feature"
)
def html_merged_titles(context):
    tasks = sorted(context.document["tasks"], key=lambda t: t["started"])
    position = {t["path"]: n for n, t in enumerate(tasks)}
    merged = [bar for bar in bars(context) if "merged" in bar.classes]
    assert merged
    for bar in merged:
        match = MERGED.fullmatch(bar.title())
        assert match, bar.title()
        first, last = position[match["first"]], position[match["last"]]
        members = tasks[first : last + 1]
        assert last - first + 1 == int(match["count"]), bar.title()
        assert {t["status"] for t in members} == {match["status"]}, bar.title()
        total = sum(t["duration"] for t in members)
        assert abs(total - float(match["seconds"])) < 0.001, (total, bar.title())


@then("the HTML report's failing features each have a bar of their own")
def html_failing_bars(context):
    failing = [bar for bar in bars(context) if "s-failed" in bar.classes]
    titled = {TITLE.fullmatch(bar.title())["label"] for bar in failing}
    assert titled == context.failing, titled


@then("the HTML report is smaller than {size:d} {unit}")
def html_smaller(context, size, unit):
    limit = size * {"MiB": MiB, "MB": 10**6}[unit]
    actual = len(context.html_text.encode())
    print(f"page: {actual} bytes ({actual / 10**6:.2f} MB)")
    assert actual < limit, actual


@then(
    "the HTML report shows the output of the first failing features in full and says of the "
    'others "{text}"'
)
def html_tail_budget(context, text):
    blocks = list(failure_blocks(context).values())
    shown = [block for block in blocks if block.find("pre", "tail") is not None]
    withheld = [block for block in blocks if text in block.text()]
    assert shown and withheld, (len(shown), len(withheld))
    assert blocks[: len(shown)] == shown, "a later feature's output was shown before an earlier one"
    for block in shown:
        assert all(len(pre.text()) == 64 * KiB for pre in block.iter("pre", "tail"))
    context.html_withheld = len(withheld)


@then("the HTML report's footer counts the messages shortened and the streams not shown")
def html_footer(context):
    footer = page(context).find("footer").text()
    streams = re.search(r"the output of (\d+) stream\(s\) not shown", footer)
    messages = re.search(r"(\d+) message\(s\) shortened to their first line", footer)
    assert streams and messages, footer
    assert int(streams.group(1)) in (2 * context.html_withheld, 2 * context.html_withheld - 1)
    shortened = [p for p in page(context).iter("p", "note") if "First line only" in p.text()]
    assert int(messages.group(1)) == len(shortened) > 0, (messages.group(1), len(shortened))


def results_for_json_view() -> list[Result]:
    def stream(name, text):
        size = len(text.encode())
        return CapturedStream(text, StreamStats(name, size, size, None))

    made = []
    for number, status in enumerate((Status.FAILED, Status.PASSED, Status.PASSED), 1):
        path = f"features/f{number}.feature"
        message = "boom" if status is Status.FAILED else ""
        made.append(
            Result(
                task=Task(number, path, (), 1),
                scenarios=(ScenarioResult(f"{path}:2", f"s{number}", status, 0.1, message),),
                duration=0.2,
                stdout=stream("stdout", f"printed by {number}\n" * 50),
                stderr=stream("stderr", ""),
                worker=number % 2 + 1,
                started=T0 + number,
            )
        )
    return made


@given(
    "a JSON report file written by the runner's JSON view for 3 features, one failing with output"
)
def json_view_file(context):
    path = suite_dir(context) / "run.json"
    report = JsonReport(str(path), show_output=256)
    for made in results_for_json_view():
        report.add(made, made.started)
    report.close(RunMeta.current(started=T0, ended=T0 + 5, jobs=2, settings={}, argv=["x"]))
    context.json_path = path


def page_of_file(path: Path) -> str:
    budget = Budget()
    out = io.StringIO()
    render(out, [Digest.of(read_items(str(path)), budget)], budget=budget)
    return out.getvalue()


@when("the file is drawn as a page, and again after re-indenting it with 4 spaces")
def draw_both_layouts(context):
    original = context.json_path
    reindented = original.with_name("reindented.json")
    data = json.loads(original.read_text(encoding="utf-8"))
    reindented.write_text(json.dumps(data, indent=4), encoding="utf-8")
    with open(original, "rb") as file:
        assert streamable(file), "the JSON view's own file is not read item by item"
    with open(reindented, "rb") as file:
        assert not streamable(file), "a re-indented file passed for one item a line"
    context.html_pages = [page_of_file(original), page_of_file(reindented)]


@then("the two pages are the same")
def same_pages(context):
    first, second = context.html_pages
    assert first == second, "the pages differ"
    load_page(context, first)
    (group,) = lane_groups(context)
    assert len(list(group.iter("rect", "bar"))) == 3


@then("the HTML report's timeline says no task ran")
def html_no_timeline(context):
    section = page(context).by_id("timeline")
    assert section.find("svg") is None
    assert "No task ran" in section.find("p", "empty").text()


# -- escaping (property) ----------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """What the page must show of ``text``: control characters as \\xNN, the rest as it is."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


USER_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",)) | st.sampled_from(list("<>&\"'/\r=;`")),
    min_size=1,
    max_size=60,
)


@then("for any scenario name, message and output the page shows each as text, nothing of it markup")
def escaping_property(context):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @hypothesis_given(name=USER_TEXT, message=USER_TEXT, output=USER_TEXT, path=USER_TEXT)
    def check(name, message, output, path):
        feature = f"features/{path}.feature"
        entry = scenario(feature, 2, "failed", message)
        entry["name"] = name
        doc = document([task(feature, 0, 1, status="failed", out=output)], [entry])
        out = io.StringIO()
        render_document(doc, out)
        root, problems = parse_page(out.getvalue())
        assert not problems, problems
        assert {node.tag for node in root.iter()} <= ALLOWED_TAGS, {n.tag for n in root.iter()}
        item = root.by_id("failures").find("li")
        assert item.find("span", "name").text() == visible(name).replace("\r", "\n") or (
            item.find("span", "name").text() == visible(name)
        )
        assert item.find("pre", "message").text() == "AssertionError: " + visible(message)
        tail = root.by_id("failures").find("pre", "tail").text()
        assert tail == visible(output), (tail, output)
        assert visible(feature) in feature_paths(root)

    check()


def feature_paths(root: Node) -> list[str]:
    return [row.find("code").text() for row in root.by_id("features").find("tbody").iter("tr")]


ALLOWED_TAGS = {
    "#document", "html", "head", "meta", "title", "style", "body", "main", "header", "h1",
    "p", "div", "span", "details", "summary", "svg", "rect", "line", "text", "g", "path",
    "code", "pre", "ul", "ol", "li", "b", "table", "thead", "tbody", "tr", "th", "td",
    "footer",
}  # fmt: skip


@given(
    'the JSON run report has a feature "{path}" that worker {worker:d} ran from +{start:d} s to '
    "+{end:d} s, inside another one's time"
)
def inner_task(context, path, worker, start, end):
    context.document["tasks"].append(task(path, start, end - start, worker=worker))
    context.document["scenarios"].append(scenario(path, 2))
    context.document["run"]["counts"]["passed"] += 1


@given('the JSON run report has a feature "{path}" that no worker ran')
def unselected_task(context, path):
    entry = task(path, None, 0.0, worker=0, status="skipped")
    entry["started"] = 0.0  # what the runner writes for scenarios no worker ran
    context.document["tasks"].append(entry)
    context.document["scenarios"].append(scenario(path, 2, "skipped"))
    context.document["run"]["counts"]["skipped"] += 1


@then('the HTML report lists "{location}" as {status} among the failing scenarios')
def html_failing_status(context, location, status):
    block = failure_block(context, location.rsplit(":", 1)[0])
    items = [li for li in block.iter("li") if li.find("code").text() == location]
    assert len(items) == 1, block.text()[:500]
    assert items[0].find("span", "badge").text() == status, items[0].text()


@then('the HTML report shows of "{path}" "{facts}" and no output tail: its JSON has none')
def html_stats_without_tail(context, path, facts):
    block = failure_block(context, path)
    assert any(p.text() == f"stdout: {facts}" for p in block.iter("p")), block.text()[:500]
    assert block.find("pre", "tail") is None


@given("a JSON run report with nothing in it")
def empty_document(context):
    context.document = {}


@then("the HTML report's header says the run passed, and its failures section that nothing failed")
def html_nothing_failed(context):
    header = page(context).find("header")
    assert header.classes == {"passed"}, header.attrs
    assert page(context).find("p", "verdict").text() == "scenarios: 0 passed, 0 failed, 0 skipped"
    summaries = [d.find("summary").text() for d in page(context).iter("details")]
    assert "Failing and errored scenarios (none)" in summaries, summaries


@then('the HTML report has no section "{ident}"')
def html_no_section(context, ident):
    assert page(context).by_id(ident) is None


@then('a JSON file that holds a list is refused as "{message}"')
def json_list_refused(context, message):
    path = suite_dir(context) / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    refusal = None
    try:
        list(read_items(str(path)))
    except ValueError as error:
        refusal = str(error)
    assert refusal == message, refusal
