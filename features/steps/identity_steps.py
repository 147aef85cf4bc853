"""Steps about the workers' identity and the tasks they hold (worker_identity.feature)."""

from __future__ import annotations

import json
import shutil

from behave import given, then
from runner_steps import finish, start
from suite_support import suite_dir, write_numbered_features


@given("{count:d} features that record who runs them")
def recording_features(context, count):
    write_numbered_features(context, count, "    Given it records who runs it\n")


@given("{count:d} features that record who runs them and wait until {workers:d} workers have")
def recording_features_waiting(context, count, workers):
    write_numbered_features(
        context,
        count,
        f"    Given it records who runs it\n"
        f"    And it waits until {workers} workers have recorded\n",
    )


def seen(context) -> dict[str, dict]:
    folder = suite_dir(context) / "seen"
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


@then(
    'the features were run by the workers "{first}" and "{second}", each told there are '
    "{n:d} workers"
)
def two_workers(context, first, second, n):
    records = seen(context)
    assert len(records) >= 2, records
    assert {record["env"][0] for record in records.values()} == {first, second}, records
    assert {record["env"][1] for record in records.values()} == {str(n)}, records
    by_slot = {}
    for record in records.values():
        by_slot.setdefault(record["env"][0], set()).add(record["pid"])
    assert all(len(pids) == 1 for pids in by_slot.values()), by_slot
    assert by_slot[first] != by_slot[second], by_slot


@then("every feature saw the same run id, in the environment and in userdata alike")
def same_run_id(context):
    records = seen(context)
    ids = {record["env"][2] for record in records.values()}
    assert len(ids) == 1 and len(next(iter(ids))) >= 16, ids
    for record in records.values():
        assert record["userdata"] == record["env"], record
    context.first_run_id = ids.pop()


@then("a second run has another run id")
def another_run_id(context):
    shutil.rmtree(suite_dir(context) / "seen")  # only what the second run records
    start(context, "-j 2")
    finish(context)
    assert context.exit_code == 0, (context.stdout[-3000:], context.stderr[-2000:])
    ids = {record["env"][2] for record in seen(context).values()}
    assert len(ids) == 1 and ids != {context.first_run_id}, ids


@then('"{path}" was run by the worker "{slot}" in another process than worker {serial:d}')
def run_by_replacement(context, path, slot, serial):
    record = seen(context)[path.replace("/", "_") + ".json"]
    assert record["env"][0] == slot, record
    report = json.loads((suite_dir(context) / "run.json").read_text())
    task = next(t for t in report["tasks"] if t["path"] == path)
    assert task["worker"] != serial and task["slot"] == int(slot[1:]), task


@then(
    'the JSON report "{name}" lists worker {first:d} of slot {slot:d} as crashed and worker '
    "{second:d} of slot {slot2:d} as exited"
)
def worker_lives(context, name, first, slot, second, slot2):
    report = json.loads((suite_dir(context) / name).read_text())
    lives = {life["worker"]: life for life in report["run"]["workers"]}
    assert lives[first]["slot"] == slot and lives[first]["end"] == "crashed", lives
    assert "SIGKILL" in lives[first]["cause"], lives
    assert lives[second]["slot"] == slot2 and lives[second]["end"] == "exited", lives


@then('in the JSON report "{name}" every other task ended before "{path}" did')
def others_first(context, name, path):
    report = json.loads((suite_dir(context) / name).read_text())
    tasks = {t["path"]: t for t in report["tasks"]}
    long = tasks.pop(path)
    long_end = long["started"] + long["duration"]
    assert len(tasks) == 5, sorted(tasks)
    late = [p for p, t in tasks.items() if t["started"] + t["duration"] > long_end]
    assert not late, (late, long, tasks)
    assert all(t["slot"] != long["slot"] for t in tasks.values()), tasks
