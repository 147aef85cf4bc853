"""Steps for shard plans: what a shard report carries, and how merge-reports checks it."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from dataclasses import replace

from behave import given, then, when
from hypothesis import given as hypothesis_given
from hypothesis import settings
from hypothesis import strategies as st
from suite_support import suite_dir

from behave_bounded.config import Settings
from behave_bounded.plan import ShardPlan
from behave_bounded.reports.json import JsonReport
from behave_bounded.reports.junit import JUnitReport
from behave_bounded.reports.merge import merge
from behave_bounded.reports.meta import RunMeta


def _json(context, name: str) -> dict:
    return json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))


def _suite_features(context) -> list[str]:
    suite = suite_dir(context)
    return sorted(str(p.relative_to(suite)) for p in (suite / "features").glob("*.feature"))


def _ran(data: dict) -> list[str]:
    return sorted({task["path"] for task in data["tasks"]} | {i["path"] for i in data["not_run"]})


@given('the artifact directory "{name}" holds the durations {listing}')
def durations_file(context, name, listing):
    """``a 4 s, b 3 s``: features/a.feature measured 4 s for its one scenario, ..."""
    features = {}
    for item in listing.split(", "):
        feature, seconds, unit = item.split()
        assert unit == "s", item
        features[f"features/{feature}.feature"] = {
            "seconds": float(seconds),
            "scenarios": 1,
            "seen": 1,
        }
    directory = suite_dir(context) / name
    directory.mkdir(parents=True, exist_ok=True)
    document = {"version": 1, "run": 1, "features": features}
    (directory / "durations.json").write_text(json.dumps(document), encoding="utf-8")


@then(
    'the JSON report "{name}" carries the plan of shard {k:d} of {n:d} over the suite\'s '
    "{count:d} features"
)
def json_plan(context, name, k, n, count):
    plan = _json(context, name)["run"]["plan"]
    assert (plan["version"], plan["shard"], plan["of"]) == (1, k, n), plan
    assert plan["feature_count"] == count, plan
    listed = [feature for shard in plan["shards"] for feature in shard]
    assert sorted(listed) == _suite_features(context), listed  # each once, none missing
    for key in ("features", "partition"):
        assert len(plan[key]) == 64 and int(plan[key], 16) >= 0, plan[key]  # sha256 hex


@then('the JSON report "{name}" ran exactly the features its plan gives shard {k:d}')
def json_ran_own(context, name, k):
    data = _json(context, name)
    assert _ran(data) == sorted(data["run"]["plan"]["shards"][k - 1]), data["run"]["plan"]


@then('the JUnit report "{name}" carries the same plan as the JSON report "{json_name}"')
def junit_plan(context, name, json_name):
    root = ET.parse(suite_dir(context) / name).getroot()  # noqa: S314 - our own report
    run = next(s for s in root.iter("testsuite") if s.get("name") == "behave-bounded run")
    properties = {p.get("name"): p.get("value") for p in run.iter("property")}
    assert json.loads(properties["plan"]) == _json(context, json_name)["run"]["plan"]


@then('the JSON report "{name}" carries no plan')
def json_no_plan(context, name):
    run = _json(context, name)["run"]
    assert "plan" in run, run.keys()
    assert run["plan"] is None, run["plan"]


@then('the JSON report "{name}" is partial, its reason naming "{first}" and "{second}"')
def merged_partial(context, name, first, second):
    run = _json(context, name)["run"]
    assert run["partial"] is True, run
    assert first in run["reason"] and second in run["reason"], run["reason"]


@then('the JSON report "{name}" has the verdict "{verdict}"')
def json_has_verdict(context, name, verdict):
    assert _json(context, name)["run"]["verdict"] == verdict


@then('stderr names as in no shard report every feature that "{name}" ran, as "{shard}"')
def stderr_gaps(context, name, shard):
    features = _ran(_json(context, name))
    assert features
    listed = ", ".join(f"{feature} {shard}" for feature in features)
    expected = f"shard plan: {len(features)} feature(s) of the plan in no shard report: {listed}"
    assert expected in context.stderr, f"{expected!r} not in:\n{context.stderr}"


@then('stderr names as run twice every feature that "{name}" ran')
def stderr_twice(context, name):
    features = _ran(_json(context, name))
    assert features
    listed = ", ".join(f"{feature} ({name}, {name})" for feature in features)
    expected = f"shard plan: {len(features)} feature(s) in more than one shard report: {listed}"
    assert expected in context.stderr, f"{expected!r} not in:\n{context.stderr}"


@when('the plan of the JSON report "{name}" loses its last shard')
def plan_edited(context, name):
    path = suite_dir(context) / name
    data = json.loads(path.read_text(encoding="utf-8"))
    data["run"]["plan"]["shards"].pop()
    path.write_text(json.dumps(data), encoding="utf-8")


# -- fingerprints ------------------------------------------------------------------------------

_suites = st.lists(
    st.tuples(
        st.from_regex(r"features/[a-z]{1,8}\.feature", fullmatch=True),
        st.lists(st.integers(1, 500), max_size=4, unique=True).map(
            lambda lines: tuple(sorted(lines))
        ),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=30,
    unique_by=lambda feature: feature[0],
)


def _plan(suite) -> ShardPlan:
    return ShardPlan.of([(path, lines) for path, lines, _ in suite], [b for *_, b in suite], 1, 4)


@then("for any suite, a shard plan's fingerprints do not change with the order of collection")
def fingerprints_order(context):
    @settings(max_examples=200, deadline=None)
    @hypothesis_given(_suites, st.randoms(use_true_random=False))
    def check(suite, shuffler: random.Random):
        shuffled = list(suite)
        shuffler.shuffle(shuffled)
        first, second = _plan(suite), _plan(shuffled)
        assert (first.features, first.partition) == (second.features, second.partition)
        assert [sorted(s) for s in first.shards] == [sorted(s) for s in second.shards]

    check()


@then("for any suite, selecting another scenario changes the features fingerprint")
def fingerprints_selection(context):
    @settings(max_examples=200, deadline=None)
    @hypothesis_given(_suites, st.data())
    def check(suite, data):
        index = data.draw(st.integers(0, len(suite) - 1))
        path, lines, shard = suite[index]
        extra = data.draw(st.integers(501, 900))
        changed = [*suite[:index], (path, (*lines, extra), shard), *suite[index + 1 :]]
        assert _plan(suite).features != _plan(changed).features

    check()


@then("for any suite, moving one feature to another shard changes only the partition fingerprint")
def fingerprints_partition(context):
    @settings(max_examples=200, deadline=None)
    @hypothesis_given(_suites, st.data())
    def check(suite, data):
        index = data.draw(st.integers(0, len(suite) - 1))
        path, lines, shard = suite[index]
        moved = data.draw(st.integers(0, 3).filter(lambda b: b != shard))
        changed = [*suite[:index], (path, lines, moved), *suite[index + 1 :]]
        before, after = _plan(suite), _plan(changed)
        assert before.features == after.features
        assert before.partition != after.partition
        assert path in after.shards[moved] and path not in after.shards[shard]

    check()


# -- size ----------------------------------------------------------------------------------------


@when(
    "the plan of shard {k:d} of {n:d} over {count:d} features is written into a JSON and a "
    "JUnit report"
)
def big_plan(context, k, n, count):
    paths = [f"features/area_{i % 97:02d}/feature_{i:05d}.feature" for i in range(count)]
    plan = ShardPlan.of([(p, (3, 9)) for p in paths], [i % n for i in range(count)], k, n)
    context.plan_paths = paths
    directory = suite_dir(context)
    meta = RunMeta.current(
        started=0.0, ended=1.0, jobs=1, settings=Settings(), argv=(), plan=plan.as_json()
    )
    with_plan, without = directory / "with.json", directory / "without.json"
    JsonReport(str(with_plan)).close(meta)
    JsonReport(str(without)).close(replace(meta, plan=None))
    context.plan_json_bytes = with_plan.stat().st_size - without.stat().st_size
    assert json.loads(with_plan.read_text(encoding="utf-8"))["run"]["plan"] == plan.as_json()
    with_plan, without = directory / "with.xml", directory / "without.xml"
    JUnitReport(str(with_plan)).close(meta)
    JUnitReport(str(without)).close(replace(meta, plan=None))
    context.plan_junit_bytes = with_plan.stat().st_size - without.stat().st_size


def _paths_bytes(context) -> int:
    return sum(len(path.encode()) for path in context.plan_paths)


@then(
    "the plan in the JSON report takes at most the features' paths plus {extra:d} bytes each "
    "and 1 KiB"
)
def json_plan_size(context, extra):
    limit = _paths_bytes(context) + extra * len(context.plan_paths) + 1024
    assert 0 < context.plan_json_bytes <= limit, (context.plan_json_bytes, limit)


@then(
    "the plan in the JUnit report takes at most the features' paths plus {extra:d} bytes each "
    "and 1 KiB"
)
def junit_plan_size(context, extra):
    limit = _paths_bytes(context) + extra * len(context.plan_paths) + 1024
    assert 0 < context.plan_junit_bytes <= limit, (context.plan_junit_bytes, limit)


@then("a plan read back from a report is refused like this:")
def plans_refused(context):
    for row in context.table:
        try:
            plan = ShardPlan.from_json(json.loads(row["plan"]))
        except ValueError as error:
            assert str(error) == row["message"], (row["plan"], str(error))
        else:
            assert not row["message"], f"accepted: {row['plan']}"
            assert plan.as_json()["shards"] == json.loads(row["plan"])["shards"]


@then('a JUnit shard report whose plan property is not JSON is a bad input: "{message}"')
def junit_plan_not_json(context, message):
    directory = suite_dir(context)
    meta = RunMeta.current(
        started=0.0,
        ended=1.0,
        jobs=1,
        settings=Settings(),
        argv=(),
        plan=ShardPlan.of([("features/a.feature", ())], [0], 1, 1).as_json(),
    )
    JUnitReport(str(directory / "shard.xml")).close(meta)
    text = (directory / "shard.xml").read_text(encoding="utf-8")
    start = text.index('name="plan" value="') + len('name="plan" value="')
    end = text.index('"', start)
    (directory / "shard.xml").write_text(text[:start] + "{not json" + text[end:], encoding="utf-8")
    outcome = merge(str(directory / "merged.xml"), "junit", [str(directory / "shard.xml")])
    assert outcome.problems == [f"{directory / 'shard.xml'}: {message}"], outcome.problems
