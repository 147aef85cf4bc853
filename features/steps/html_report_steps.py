"""Steps for the HTML run report of real runs: ``--html`` and ``merge-reports --html``.

The runner runs as a user starts it, on the suite the feature generates (runner_steps); the
page it writes is read back with the standard library's HTML parser (page_support) and checked
for what a reader sees: text, classes, titles. Every phrase names "the HTML report" or "the
merge".
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from behave import then, when
from page_support import (
    TITLE,
    external_references,
    failure_block,
    feature_table,
    lane_groups,
    lanes,
    load_page,
    page,
    shown_counts,
)
from suite_support import suite_dir

# -- runs -------------------------------------------------------------------------------------


@then('the HTML report "{name}" parses, its tags balanced, with no script and no external URL')
def html_parses(context, name):
    path = suite_dir(context) / name
    assert path.is_file(), sorted(p.name for p in path.parent.iterdir())
    load_page(context, path.read_text(encoding="utf-8"))
    problems = external_references(page(context), context.html_text)
    assert not problems, problems


@then("the HTML report parses, its tags balanced, with no script and no external URL")
def html_parses_in_memory(context):
    load_page(context, context.html_text)
    problems = external_references(page(context), context.html_text)
    assert not problems, problems


@then("the HTML report's verdict is the runner's last line: \"{verdict}\"")
def html_verdict_is_last_line(context, verdict):
    assert context.stdout.rstrip("\n").splitlines()[-1] == verdict, context.stdout[-500:]
    html_verdict(context, verdict)


@then('the HTML report\'s verdict is "{verdict}"')
def html_verdict(context, verdict):
    found = page(context).find("p", "verdict").text()
    assert found == verdict, found


@then(
    "the HTML report's counts are {passed:d} passed, {failed:d} failed, {errored:d} errored, "
    "{skipped:d} skipped, {undefined:d} undefined, {xfailed:d} xfailed, {xpassed:d} xpassed"
)
def html_counts(context, **expected):
    found = shown_counts(context)
    assert found == expected, found


@then("the HTML report's counts show {count:d} flaky")
def html_flaky_count(context, count):
    assert shown_counts(context).get("flaky") == count, shown_counts(context)


@then("the HTML report's counts show no flaky count")
def html_no_flaky_count(context):
    assert "flaky" not in shown_counts(context), shown_counts(context)
    assert page(context).by_id("flaky") is None


@then("the HTML report names every feature file of the suite in its table of features")
def html_names_every_feature(context):
    suite = suite_dir(context)
    expected = sorted(str(p.relative_to(suite)) for p in (suite / "features").glob("*.feature"))
    assert sorted(feature_table(context)) == expected, feature_table(context)


@then("the HTML report names all {count:d} features in its table of features")
def html_names_all(context, count):
    names = feature_table(context)
    assert len(names) == len(set(names)) == count, len(names)
    assert set(names) == {task["path"] for task in context.document["tasks"]}


def json_report(context, name: str) -> dict:
    return json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))


@then('the HTML report\'s timeline has one lane per worker of the JSON report "{name}"')
def html_lane_per_worker(context, name):
    (group,) = lane_groups(context)
    report = json_report(context, name)
    slots = {worker["slot"] for worker in report["run"]["workers"]}
    assert slots == {0, 1}, slots  # -j 2: the test means something only with two
    assert sorted(lanes(group)) == sorted(f"slot {s}" for s in slots), sorted(lanes(group))
    context.html_json = report


@then(
    "the HTML report's timeline has a bar for every task of the JSON report, titled with its "
    "feature, status and duration"
)
def html_bars_per_task(context):
    (group,) = lane_groups(context)
    slot_of = {task["worker"]: task["slot"] for task in context.html_json["tasks"]}
    bars = []
    for label, lane in lanes(group).items():
        for bar in lane.iter("rect", "bar"):
            match = TITLE.fullmatch(bar.title())
            assert match, bar.title()
            assert f"slot {slot_of[int(match['worker'])]}" == label, (label, bar.title())
            assert f"s-{match['status']}" in bar.classes, bar.attrs
            bars.append((match["label"], match["status"], round(float(match["seconds"]), 3)))
    expected = [
        (task["path"], task["status"], round(task["duration"], 3))
        for task in context.html_json["tasks"]
        if task["started"]
    ]
    assert sorted(bars) == sorted(expected), f"{sorted(bars)}\n!=\n{sorted(expected)}"


@then('the HTML report lists "{name}" as failing with the message "{message}"')
def html_failing(context, name, message):
    block = failure_block(context, name)
    messages = [pre.text() for pre in block.iter("pre", "message")]
    assert any(message in text for text in messages), messages


@then(
    'the HTML report shows the last at most {limit:d} bytes of the output of "{name}", ending '
    "in the spill file it names"
)
def html_output_tail(context, name, limit):
    block = failure_block(context, name)
    tails = list(block.iter("pre", "tail"))
    assert tails, block.text()[:500]
    tail = tails[0].text()
    assert 0 < len(tail.encode()) <= limit, len(tail.encode())
    assert "LAST LINE BEFORE THE FAILURE" in tail, tail[-300:]
    notes = [p for p in block.iter("p") if "full output: " in p.text()]
    assert len(notes) == 1, block.text()[:800]
    spilled = Path(suite_dir(context), notes[0].find("code").text()).read_text(encoding="utf-8")
    assert len(spilled.encode()) > limit and spilled.endswith(tail), (len(spilled), tail[-200:])


@then(
    'the HTML report shows what behave captured of "{name}", the last at most {limit:d} bytes '
    'ending in "{last}"'
)
def html_captured_tail(context, name, limit, last):
    block = failure_block(context, name)
    captured = list(block.iter("pre", "captured"))
    assert len(captured) == 1, block.text()[:800]
    text = captured[0].text()
    assert 0 < len(text.encode()) <= limit, len(text.encode())
    assert text.rstrip().endswith(last), text[-300:]


@then('the HTML report shows the scenario named "{name}" as text')
def html_scenario_as_text(context, name):
    names = [span.text() for span in page(context).iter("span", "name")]
    assert name in names, names
    assert page(context).find("script") is None
    assert name not in context.html_text, "the name is in the page unescaped"


@then('the HTML report lists "{location}" as {status} for issue #{issue:d}')
def html_expected(context, location, status, issue):
    section = page(context).by_id("expected")
    rows = [[cell.text() for cell in row.iter("td")] for row in section.find("tbody").iter("tr")]
    matching = [row for row in rows if row[2].endswith(location)]
    assert len(matching) == 1, rows
    assert matching[0][:2] == [status, f"#{issue}"], matching


@then('the HTML report lists "{name}" first among the slowest features')
def html_slowest(context, name):
    rows = list(page(context).by_id("slowest").find("tbody").iter("tr"))
    paths = [row.find("code").text() for row in rows]
    assert paths[0].endswith(name), paths
    assert len(paths) == len({t["path"] for t in context.html_json["tasks"]}), paths


@then('the HTML report\'s settings name the behave version and the setting "{name}"')
def html_settings(context, name):
    section = page(context).by_id("settings")
    cells = {
        row.find("td").text(): list(row.iter("td"))[1].text()
        for row in section.find("tbody").iter("tr")
    }
    assert re.fullmatch(r"1\.3\.\d+", cells["version of behave"]), cells
    run = context.html_json["run"]
    assert cells[f"setting {name}"] == json.dumps(run["settings"][name]), cells


@then('the HTML report says first that the run is partial: "{reason}"')
def html_partial(context, reason):
    header = page(context).find("header")
    banner = header.by_id("partial")
    assert banner is not None, header.text()
    assert reason in banner.text(), banner.text()
    first = next(node for node in header.iter() if node.tag != "h1")
    assert first is banner, f"the first thing after the title is <{first.tag}>"


@then('the HTML report lists "{path}" as not run: "{reason}"')
def html_not_run(context, path, reason):
    rows = page(context).by_id("not-run").find("tbody").iter("tr")
    found = {row.find("code").text(): [c.text() for c in row.iter("td")][-1] for row in rows}
    assert found.get(path) == reason, found


@then(
    'the HTML report says the stdout of "{name}" was truncated, with the bytes written, kept and '
    "dropped of the JSON report"
)
def html_truncated(context, name):
    (entry,) = [t for t in context.html_json["tasks"] if t["path"].endswith(name)]
    stdout = entry["output"]["stdout"]
    assert stdout["truncated"], stdout
    facts = (
        f"stdout: {stdout['written']} bytes written, {stdout['kept']} kept, "
        f"{stdout['dropped']} dropped (truncated)"
    )
    paragraphs = [p.text() for p in failure_block(context, name).iter("p")]
    assert any(text.startswith(facts + "; full output: ") for text in paragraphs), paragraphs


# -- shards and merging -----------------------------------------------------------------------

RUN_TIMEOUT = 300


def run_command(context, args: str) -> subprocess.CompletedProcess:
    """``python -m behave_bounded ARGS`` in the suite, as runner_steps starts the runner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEHAVE_BOUNDED_")}
    env.pop("CI_MAX_PROCESSES", None)
    env["BB_TEST_MARKER"] = context.marker
    return subprocess.run(
        [sys.executable, "-m", "behave_bounded", *shlex.split(args)],
        cwd=suite_dir(context),
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@when('I run the runner for shards 1/2 and 2/2 with "{args}"')
def run_shards(context, args):
    for number in (1, 2):
        done = run_command(context, f"--shard {number}/2 " + args.replace("-K", f"-{number}"))
        assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]


@when('I merge the reports with "{args}"')
def merge_reports(context, args):
    context.merge = run_command(context, args)


@then('the merge exited with {code:d}, its last line "{line}"')
def merge_exit(context, code, line):
    done = context.merge
    assert done.returncode == code, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stdout.splitlines()[-1] == line, done.stdout


@then('the merge exited with {code:d}, its stderr saying "{text}"')
def merge_failed(context, code, text):
    done = context.merge
    assert done.returncode == code, f"{done.returncode}\n{done.stdout}\n{done.stderr}"
    assert text in done.stderr and "Traceback" not in done.stderr, done.stderr


@then('the HTML report\'s timeline has {count:d} lane groups, named "{first}" and "{second}"')
def html_lane_groups(context, count, first, second):
    groups = lane_groups(context)
    assert len(groups) == count, len(groups)
    names = [group.find("text", "group-title").text() for group in groups]
    assert names == [first, second], names
    assert [group.attrs["data-source"] for group in groups] == [first, second]


@then("the HTML report's timeline has one lane per worker of each shard")
def html_lanes_per_shard(context):
    for group in lane_groups(context):
        run = json_report(context, group.attrs["data-source"])["run"]
        slots = {worker["slot"] for worker in run["workers"]}
        assert sorted(lanes(group)) == sorted(f"slot {s}" for s in slots), sorted(lanes(group))


@then(
    'the HTML report\'s timeline marks the lane of the worker that ran "{path}" with its crash: '
    '"{cause}"'
)
def html_crash_marker(context, path, cause):
    report = context.html_json = json_report(context, "reports/run.json")
    (task,) = [task for task in report["tasks"] if task["path"] == path]
    (group,) = lane_groups(context)
    lane = lanes(group)[f"slot {task['slot']}"]
    titles = [marker.title() for marker in lane.iter("path", "marker")]
    replaced = any(
        w["slot"] == task["slot"] and w["worker"] > task["worker"] for w in report["run"]["workers"]
    )
    after = "a new one started" if replaced else "no task was left for a new one"
    assert titles == [f"worker {task['worker']} crashed here: {cause}; {after}"], titles
    for label, other in lanes(group).items():  # no marker where no worker died
        if label != f"slot {task['slot']}":
            assert not list(other.iter("path", "marker")), (label, other)
