"""Steps about --random-order and --random-seed (random_order.feature)."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET

from behave import given, then, when
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all
from hypothesis import strategies as st
from runner_steps import finish, start
from scheduling_steps import feature_info
from suite_support import suite_dir, write

from behave_bounded.durations import DurationStore
from behave_bounded.results import Scheme
from behave_bounded.schedule import make_tasks, shuffled

PROPERTY = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
SEED_LINE = re.compile(r"random order: --random-seed (\d+)")


@given("{count:d} features that record their place")
def recording_features(context, count):
    for number in range(count):
        write(
            context,
            f"features/p_{number:02d}.feature",
            f"Feature: place {number}\n  Scenario: place {number}\n"
            "    Given it records its place\n",
        )


def _run_noting_order(context, args: str) -> None:
    log = suite_dir(context) / "order.log"
    log.unlink(missing_ok=True)
    start(context, args)
    finish(context)
    assert context.exit_code == 0, context.stdout[-3000:] + context.stderr[-3000:]
    context.orders = getattr(context, "orders", {})
    context.orders.setdefault(args, []).append(log.read_text().splitlines())
    context.last_order = context.orders[args][-1]


@when('I run the runner with "{args}" and note the order')
def run_noting_order(context, args):
    _run_noting_order(context, args)


@then('the orders of "{args}" were the same each time, and every feature ran once')
def same_each_time(context, args):
    orders = context.orders[args]
    assert len(orders) >= 2 and all(order == orders[0] for order in orders), orders
    assert len(set(orders[0])) == len(orders[0]), orders[0]
    features = list((suite_dir(context) / "features").glob("*.feature"))
    assert {line.split()[0] for line in orders[0]} == {f"features/{f.name}" for f in features}


@then('the orders of "{first}" and "{second}" differ')
def orders_differ(context, first, second):
    a, b = context.orders[first][0], context.orders[second][0]
    assert sorted(a) == sorted(b) and a != b, (a, b)


@then('the order of "{first}" is not the order of "{second}"')
def not_the_order_of(context, first, second):
    a, b = context.orders[first][0], context.orders[second][0]
    assert sorted(a) == sorted(b) and a != b, (a, b)
    assert a != sorted(a), a  # nor file order


@then('the first line and the line before the last are "random order: --random-seed S", the same S')
def seed_named(context):
    lines = context.stdout.rstrip("\n").splitlines()
    first, before_last = SEED_LINE.fullmatch(lines[0]), SEED_LINE.fullmatch(lines[-2])
    assert first and before_last and first[1] == before_last[1], (lines[0], lines[-2])
    context.seed = int(first[1])


@then('the JSON report "{json_name}" and the JUnit report "{xml_name}" record that seed')
def reports_record_seed(context, json_name, xml_name):
    report = json.loads((suite_dir(context) / json_name).read_text())
    assert report["run"]["random_seed"] == context.seed, report["run"]
    root = ET.parse(suite_dir(context) / xml_name).getroot()  # noqa: S314 - the runner's own file
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["random_seed"] == str(context.seed), properties


@when("I run the runner with the seed it named and note the order")
def run_with_named_seed(context):
    _run_noting_order(context, f"-j 1 --random-seed {context.seed}")


@then('that order is the order of "{args}"')
def that_order(context, args):
    assert context.last_order == context.orders[args][0], (context.last_order, context.orders)


@then('in that order the scenarios of "{path}" are not next to each other')
def scattered(context, path):
    places = [n for n, line in enumerate(context.last_order) if line.startswith(path + " ")]
    assert len(places) == 4, context.last_order
    assert places != list(range(places[0], places[0] + 4)), context.last_order


@then(
    'in the JSON report "{name}" the tasks of "{first}" and "{second}" started after every '
    "other task ended, one after the other"
)
def serial_last(context, name, first, second):
    tasks = json.loads((suite_dir(context) / name).read_text())["tasks"]
    serial = sorted((t for t in tasks if t["path"] in (first, second)), key=lambda t: t["started"])
    others = [t for t in tasks if t["path"] not in (first, second)]
    assert len(serial) == 2 and len(others) == 8, tasks
    others_end = max(t["started"] + t["duration"] for t in others)
    assert serial[0]["started"] >= others_end, (serial, others_end)
    assert serial[1]["started"] >= serial[0]["started"] + serial[0]["duration"], serial


@then(
    "for any suite and seed, the shuffled tasks are a permutation of the tasks, the same for "
    "the same seed whatever order they come in, with the serial ones apart"
)
def shuffle_property(context):
    suites = st.lists(
        st.tuples(st.integers(1, 4), st.lists(st.booleans(), max_size=4)), max_size=12
    )

    @PROPERTY
    @for_all(suites, st.integers(0, 2**64), st.sampled_from(list(Scheme)), st.randoms())
    def check(suite, seed, scheme, mixer):
        features = [
            feature_info(f"f/{n}.feature", count, tuple(serial))
            for n, (count, serial) in enumerate(suite)
        ]
        store = DurationStore("never-saved/durations.json")
        plain = make_tasks(features, scheme, store)
        tasks = make_tasks(features, scheme, store, seed=seed)
        assert make_tasks(features, scheme, store, seed=seed) == tasks
        for shuffled_list, longest_first in zip(tasks, plain, strict=True):
            assert sorted(shuffled_list, key=repr) == sorted(longest_first, key=repr)
        parallel = list(plain[0])
        mixer.shuffle(parallel)  # the order tasks come in does not matter: collection order does
        draws, again = random.Random(seed), random.Random(seed)  # noqa: S311 - an order
        assert shuffled(parallel, draws) == shuffled(plain[0], again)

    check()
