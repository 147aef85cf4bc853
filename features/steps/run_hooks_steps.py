"""Steps about the once-per-run hooks before_all_workers / after_all_workers (run_hooks.feature).

The generated suite's hooks log each call to ``hooks.log`` (one JSON object a line) and its
features record what they saw in ``seen/*.json``; these steps read both back.
"""

from __future__ import annotations

import json

from behave import given, then
from runner_steps import finish, start
from suite_support import suite_dir, write_numbered_features


@given("{count:d} features that record what they saw")
def recording_features(context, count):
    write_numbered_features(context, count, "    Given it records what it saw\n")


@given("{count:d} features that record what they saw and wait until {workers:d} workers have")
def recording_features_waiting(context, count, workers):
    write_numbered_features(
        context,
        count,
        f"    Given it records what it saw\n"
        f"    And it waits until {workers} workers have recorded\n",
    )


def _seen(context) -> list[dict]:
    folder = suite_dir(context) / "seen"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def _hooks_log(context) -> list[dict]:
    path = suite_dir(context) / "hooks.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


@then("the hooks ran in the runner's process, once each, in this order: {names}")
def hooks_ran(context, names):
    entries = _hooks_log(context)
    assert [entry["hook"] for entry in entries] == names.split(", "), entries
    pids = {entry["pid"] for entry in entries}
    assert pids == {context.process.pid}, (pids, context.process.pid)


@then(
    'every feature saw "{variable}" as before_all_workers set it, in a worker the runner '
    "forked, on {workers:d} workers"
)
@then(
    'every feature saw "{variable}" as before_all_workers set it, in a worker the runner '
    "forked, on {workers:d} worker"
)
def every_feature_saw(context, variable, workers):
    seen = _seen(context)
    features = list((suite_dir(context) / "features").glob("r_*.feature"))
    assert len(seen) == len(features), (len(seen), len(features))
    assert variable == "SHARED_BY_THE_RUN", variable  # what the suite's steps record
    assert {record["shared"] for record in seen} == {"set once"}, seen
    assert {record["ppid"] for record in seen} == {context.process.pid}, seen
    assert len({record["worker"] for record in seen}) == workers, seen
    assert context.process.pid not in {record["pid"] for record in seen}, seen


@then("before_all_workers was told the worker count {workers:d} and the run id the features saw")
def told_identity(context, workers):
    userdata = _hooks_log(context)[0]["userdata"]
    assert userdata["behave_bounded.worker_count"] == str(workers), userdata
    run_ids = {record["run_id"] for record in _seen(context)}
    assert run_ids == {userdata["behave_bounded.run_id"]}, (run_ids, userdata)


@then("no worker was alive when after_all_workers ran")
def no_worker_alive(context):
    after = [entry for entry in _hooks_log(context) if entry["hook"] == "after_all_workers"]
    assert len(after) == 1 and after[0]["workers_alive"] == [], after
    assert _seen(context), "no feature recorded its worker: nothing was checked"


@then("no feature ran")
def no_feature_ran(context):
    seen = suite_dir(context) / "seen"
    assert not seen.exists(), sorted(p.name for p in seen.iterdir())


@then('the JSON report "{name}" lists no worker and every one of the {count:d} features as not run')
def json_not_run(context, name, count):
    report = json.loads((suite_dir(context) / name).read_text())
    assert report["run"]["workers"] == [], report["run"]["workers"]
    assert report["run"]["partial"] is True, report["run"]
    assert report["tasks"] == [], report["tasks"]
    assert len(report["not_run"]) == count, report["not_run"]


@then("every feature saw the same server process, a child of the runner")
def same_server(context):
    seen = _seen(context)
    assert len(seen) == 4, seen
    assert len({record["server"] for record in seen}) == 1 and seen[0]["server"], seen
    assert {record["server_parent"] for record in seen} == {context.process.pid}, seen


@then(
    "the probe saw the same working directory and sys.path as in a run whose environment.py "
    "has no run hooks"
)
def probe_unchanged(context):
    probe = suite_dir(context) / "probe.json"
    with_hooks = json.loads(probe.read_text())
    environment = suite_dir(context) / "features" / "environment.py"
    text = environment.read_text()
    environment.write_text(text[: text.index("def before_all_workers")])
    probe.unlink()
    start(context, "-j 1")
    finish(context)
    assert context.exit_code == 0, context.stdout[-3000:]
    without = json.loads(probe.read_text())
    assert with_hooks == without, (with_hooks, without)


def _loaded_by(context, log: str) -> list[int]:
    path = suite_dir(context) / log
    pids = [int(line) for line in path.read_text().splitlines()]
    path.unlink()
    return pids


@then("environment.py was loaded {count:d} time, never in the runner's process")
def environment_loaded_in_workers(context, count):
    pids = _loaded_by(context, "loaded.log")
    assert len(pids) == count and context.process.pid not in pids, (pids, context.process.pid)


@then("environment.py was loaded {count:d} times, once in the runner's process")
def environment_loaded_in_runner(context, count):
    pids = _loaded_by(context, "loaded.log")
    assert len(pids) == count and pids.count(context.process.pid) == 1, (pids, context.process)


@then("the step modules were loaded once, never in the runner's process")
def steps_loaded_in_workers(context):
    pids = _loaded_by(context, "loaded-steps.log")
    assert len(pids) == 1 and context.process.pid not in pids, (pids, context.process.pid)
