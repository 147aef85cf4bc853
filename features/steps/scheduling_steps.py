"""Steps for the scheduler: tasks, durations, shards and the last failed, all in-process.

Features are either built directly as ``FeatureInfo`` objects or written as small files in a
temporary directory and collected with behave's own configuration, as the runner collects
them. Properties run under Hypothesis against oracles written here (recorded seconds the test
chose, lines found in the generated text), never against the module's own estimates.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from behave import given, then, when
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all
from hypothesis import strategies as st

from behave_bounded.collect import FeatureInfo, ScenarioInfo, behave_configuration, collect
from behave_bounded.config import parse_shard
from behave_bounded.durations import DurationStore
from behave_bounded.errors import UsageError
from behave_bounded.last_failed import last_failed_locations, select_locations
from behave_bounded.results import CapturedStream, Scheme, StreamStats, Task, TaskResult
from behave_bounded.schedule import estimate, make_tasks, shard

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CHILD_TIMEOUT = 120

# -- helpers --------------------------------------------------------------------------------


def workdir(context) -> Path:
    if not hasattr(context, "sched_dir"):
        holder = tempfile.TemporaryDirectory(prefix="bb-schedule-")
        context.add_cleanup(holder.cleanup)
        context.sched_dir = Path(holder.name)
    return context.sched_dir


def artifacts(context) -> Path:
    """The duration store's directory (a scenario may move it under a regular file)."""
    return getattr(context, "sched_artifacts", workdir(context) / "artifacts")


def store_file(context) -> Path:
    return artifacts(context) / "durations.json"


def stream(name: str) -> CapturedStream:
    return CapturedStream("", StreamStats(name))


def task_result(path: str, seconds: float, scenarios: int) -> TaskResult:
    task = Task(index=0, path=path, scenario_count=scenarios)
    return TaskResult(task, (), seconds, stream("stdout"), stream("stderr"))


def feature_info(path: str, count: int, serial: tuple[bool, ...] = ()) -> FeatureInfo:
    """A feature of ``count`` selected scenarios at lines 3, 5, ...; some tagged serial."""
    scenarios = tuple(
        ScenarioInfo(
            location=f"{path}:{3 + 2 * n}",
            name=f"scenario {n}",
            tags=("serial",) if n < len(serial) and serial[n] else (),
            selected=True,
        )
        for n in range(count)
    )
    return FeatureInfo(path=path, lines=(), name=path, scenarios=scenarios)


def memory_store(rows: list[tuple[str, float, int]]) -> DurationStore:
    """A store that is never saved, holding one run's measurements."""
    store = DurationStore(os.path.join("never-saved", "durations.json"))
    store.record(task_result(path, seconds, count) for path, seconds, count in rows)
    return store


def current_store(context) -> DurationStore:
    if not hasattr(context, "sched_store"):
        context.sched_store = DurationStore.load(str(artifacts(context)))
    return context.sched_store


def names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def suite_file(context, name: str) -> Path:
    return workdir(context) / "features" / name


def line_of(context, name: str, at: str) -> int:
    """The line of ``name`` whose text is ``at``; ``row N`` is the table row ``| N |``."""
    if at.startswith("line "):
        return int(at.removeprefix("line "))
    target = f"| {at.removeprefix('row ')} |" if at.startswith("row ") else at
    lines = suite_file(context, name).read_text(encoding="utf-8").splitlines()
    found = [number for number, line in enumerate(lines, 1) if line.strip() == target]
    assert len(found) == 1, f"{name}: {target!r} found at {found}"
    return found[0]


def decoded(content: str) -> bytes:
    """A table cell with backslash escapes as the bytes it stands for (\\xff is one byte)."""
    return codecs.decode(content, "unicode_escape").encode("latin-1")


# -- the scheduler: durations and features given as tables ---------------------------------


@given("the scheduler knows these recorded runs:")
def recorded_runs(context):
    rows = [(row["path"], float(row["seconds"]), int(row["scenarios"])) for row in context.table]
    context.sched_store = memory_store(rows)


@given("the scheduler collected these features:")
def collected_features(context):
    context.sched_features = [
        feature_info(row["path"], int(row["scenarios"])) for row in context.table
    ]


@when('the scheduler makes tasks with the scheme "{scheme}" and the serial tag "{tag}"')
def make_tagged_tasks(context, scheme, tag):
    store = current_store(context)
    context.sched_tasks = make_tasks(context.sched_features, Scheme(scheme), store, serial_tag=tag)


@when('the scheduler makes tasks with the scheme "{scheme}"')
def make_scheme_tasks(context, scheme):
    context.sched_tasks = make_tasks(context.sched_features, Scheme(scheme), current_store(context))


@then("the scheduler estimates these seconds:")
def estimates(context):
    by_path = {feature.path: feature for feature in context.sched_features}
    for row in context.table:
        seconds = estimate(by_path[row["path"]], current_store(context))
        assert math.isclose(seconds, float(row["seconds"])), (row["path"], seconds)


@then('the scheduler\'s parallel tasks are "{expected}"')
def parallel_tasks(context, expected):
    assert [t.label for t in context.sched_tasks[0]] == names(expected), context.sched_tasks[0]


@then('the scheduler\'s serial tasks are ""')
def no_serial_tasks(context):
    assert context.sched_tasks[1] == [], context.sched_tasks[1]


@then("the scheduler's task indexes follow collection order from 0")
def indexes_in_collection_order(context):
    tasks = sorted(context.sched_tasks[0] + context.sched_tasks[1], key=lambda t: t.index)
    assert [t.index for t in tasks] == list(range(len(tasks))), tasks
    selected = [feature.path for feature in context.sched_features if feature.selected]
    assert [t.path for t in tasks] == selected, tasks
    by_path = {feature.path: feature for feature in context.sched_features}
    for task in tasks:
        assert task.scenario_count == len(by_path[task.path].selected), task


@then("the scheduler's task indexes are 0 to {last:d} without gaps")
def indexes_without_gaps(context, last):
    indexes = sorted(t.index for t in context.sched_tasks[0] + context.sched_tasks[1])
    assert indexes == list(range(last + 1)), indexes


@then('the scheduler refuses the scheme "{scheme}" with "{text}"')
def refuses_scheme(context, scheme, text):
    try:
        make_tasks(context.sched_features, scheme, current_store(context))
    except UsageError as error:
        message = str(error)
    else:
        raise AssertionError(f"scheme {scheme!r} was accepted")
    assert text in message, message


def recorded_suites():
    """(path, scenario count, seconds, serial flags) per feature, unique paths."""
    one = st.integers(0, 4).flatmap(
        lambda count: st.tuples(
            st.just(count),
            st.integers(0, 300),
            st.lists(st.booleans(), min_size=count, max_size=count).map(tuple),
        )
    )
    return st.dictionaries(st.text("abcdef", min_size=1, max_size=6), one, max_size=20)


@then("the scheduler orders any recorded suite longest first with unique indexes")
def any_suite_longest_first(context):
    @PROPERTY
    @for_all(recorded_suites())
    def check(suite):
        paths = [f"features/{name}.feature" for name in suite]
        seconds = {p: float(s) for p, (_, s, _) in zip(paths, suite.values(), strict=True)}
        features = [
            feature_info(path, count, serial)
            for path, (count, _, serial) in zip(paths, suite.values(), strict=True)
        ]
        store = memory_store([(f.path, seconds[f.path], len(f.selected)) for f in features])
        parallel, serial = make_tasks(features, Scheme.FEATURE, store)
        for tasks in (parallel, serial):
            order = [seconds[t.path] for t in tasks]
            assert order == sorted(order, reverse=True), order
        everything = sorted(parallel + serial, key=lambda t: t.index)
        assert [t.index for t in everything] == list(range(len(everything)))
        assert [t.path for t in everything] == [f.path for f in features if f.selected]
        expected_serial = {f.path for f in features if any(s.tags for s in f.selected)}
        assert {t.path for t in serial} == expected_serial

    check()


# -- the scheduler: generated feature files -------------------------------------------------


@given('the scheduler\'s suite has the file "{name}":')
def suite_has_file(context, name):
    path = suite_file(context, name)
    (path.parent / "steps").mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(context.text).lstrip("\n") + "\n", encoding="utf-8")


def collect_suite(context, arguments: list[str]) -> None:
    context.sched_args = arguments
    context.sched_features = collect(behave_configuration(arguments))


@when('the scheduler collects its suite with "{options}"')
def collect_with(context, options):
    collect_suite(context, [str(workdir(context) / "features"), *shlex.split(options)])


@when('the scheduler collects its suite with ""')
def collect_plain(context):
    collect_suite(context, [str(workdir(context) / "features")])


@when('the scheduler collects "{name}" at the lines of "{first}" and "{second}"')
def collect_lines(context, name, first, second):
    path = suite_file(context, name)
    lines = [line_of(context, name, first), line_of(context, name, second)]
    collect_suite(context, [f"{path}:{line}" for line in lines])


def expected_lines(context, row) -> tuple[int, ...]:
    return (line_of(context, row["file"], row["scenario"]),) if row["scenario"] else ()


@then("the scheduler made exactly these tasks (equal estimates: collection order):")
@then("the scheduler made exactly these tasks:")
def made_exactly(context):
    features = workdir(context) / "features"
    for which, tasks in zip(("parallel", "serial"), context.sched_tasks, strict=True):
        rows = [row for row in context.table if row["list"] == which]
        expected = [
            (str(features / row["file"]), expected_lines(context, row), int(row["count"]))
            for row in rows
        ]
        actual = [(os.path.abspath(t.path), t.lines, t.scenario_count) for t in tasks]
        assert actual == expected, f"{which}:\n{actual}\n!=\n{expected}"


@then("behave selects exactly the scenario of each of the scheduler's tasks")
def behave_selects_each(context):
    options = [arg for arg in context.sched_args if arg.startswith("-")]
    for task in context.sched_tasks[0] + context.sched_tasks[1]:
        (line,) = task.lines
        collected = collect(behave_configuration([f"{task.path}:{line}", *options]))
        chosen = [s.location for feature in collected for s in feature.selected]
        assert len(chosen) == 1, (task, chosen)
        assert chosen[0].endswith(f":{line}"), (task, chosen)


@then(
    'the scheduler\'s only task has the lines of "{first}" and "{second}" and {count:d} scenarios'
)
def only_task_lines(context, first, second, count):
    tasks = context.sched_tasks[0] + context.sched_tasks[1]
    assert len(tasks) == 1, tasks
    name = Path(tasks[0].path).name
    lines = (line_of(context, name, first), line_of(context, name, second))
    assert tasks[0].lines == lines, (tasks[0], lines)
    assert tasks[0].scenario_count == count, tasks[0]


@when("the scheduler narrows its suite to these locations:")
def narrow_suite(context):
    """Locations as reports spell them: relative to the working directory, or absolute."""
    locations = []
    for number, row in enumerate(context.table):
        path = suite_file(context, row["file"])
        spelled = os.path.relpath(path) if number % 2 == 0 else str(path)
        locations.append(f"{spelled}:{line_of(context, row['file'], row['at'])}")
    context.sched_features = select_locations(context.sched_features, locations)


@then("the scheduler's narrowed suite selects only these scenarios:")
def narrowed_suite(context):
    wanted: dict[str, list[int]] = {}
    for row in context.table:
        path = str(suite_file(context, row["file"]))
        wanted.setdefault(path, []).append(line_of(context, row["file"], row["at"]))
    got = {
        os.path.abspath(f.path): [int(s.location.rsplit(":", 1)[1]) for s in f.selected]
        for f in context.sched_features
    }
    assert got == {path: sorted(lines) for path, lines in wanted.items()}, got
    for feature in context.sched_features:
        assert list(feature.lines) == got[os.path.abspath(feature.path)], feature.lines


# -- sharding -------------------------------------------------------------------------------


@when('sharding parses "{text}"')
def shard_parses(context, text):
    try:
        context.sched_parsed = parse_shard(text)
    except ValueError as error:
        context.sched_parsed = error


@when('sharding parses ""')
def shard_parses_empty(context):
    shard_parses(context, "")


@then("sharding parsed ({k:d}, {n:d})")
def shard_parsed(context, k, n):
    assert context.sched_parsed == (k, n), context.sched_parsed


@then('sharding parsed an error "{text}"')
def shard_parse_error(context, text):
    assert isinstance(context.sched_parsed, ValueError), context.sched_parsed
    assert str(context.sched_parsed) == text, str(context.sched_parsed)


@then('sharding {k:d}/{n:d} gives "{expected}"')
def shard_gives(context, k, n, expected):
    chosen = shard(context.sched_features, k, n, current_store(context))
    assert [f.path for f in chosen] == names(expected), [f.path for f in chosen]


@then("sharding {k:d}/{n:d} is refused")
def shard_refused(context, k, n):
    try:
        shard(context.sched_features, k, n, current_store(context))
    except ValueError:
        return
    raise AssertionError(f"shard {k}/{n} was accepted")


def suites():
    """(path, scenario count, seconds or None) per feature; few values, so many ties."""
    one = st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 4)))
    return st.dictionaries(st.text("abc/", min_size=1, max_size=5), one, max_size=30)


def build_suite(suite) -> tuple[list[FeatureInfo], DurationStore]:
    features = [feature_info(f"f/{name}.feature", count) for name, (count, _) in suite.items()]
    rows = [
        (f"f/{name}.feature", float(seconds), count)
        for name, (count, seconds) in suite.items()
        if seconds is not None
    ]
    return features, memory_store(rows)


def all_shards(features, n, store) -> list[list[str]]:
    return [[f.path for f in shard(features, k, n, store)] for k in range(1, n + 1)]


@then("sharding any suite over 1 to 8 jobs is a deterministic partition in collection order")
def shard_partition(context):
    @PROPERTY
    @for_all(suites(), st.integers(1, 8))
    def check(suite, n):
        features, store = build_suite(suite)
        shards = all_shards(features, n, store)
        assert all_shards(features, n, store) == shards
        flat = [path for chosen in shards for path in chosen]
        assert sorted(flat) == sorted(f.path for f in features), shards
        position = {f.path: index for index, f in enumerate(features)}
        for chosen in shards:
            assert chosen == sorted(chosen, key=position.__getitem__), chosen
        # The split does not depend on the order features were collected in (ties by path).
        backwards = all_shards(features[::-1], n, store)
        assert [set(c) for c in backwards] == [set(c) for c in shards], (backwards, shards)

    check()


@then("sharding any recorded suite keeps the largest shard within total/N + the longest feature")
def shard_balance(context):
    one = st.tuples(st.integers(0, 3), st.integers(0, 1000))
    recorded = st.dictionaries(st.text("abc/", min_size=1, max_size=5), one, max_size=30)

    @PROPERTY
    @for_all(recorded, st.integers(1, 8))
    def check(suite, n):
        features, store = build_suite(suite)
        seconds = {f"f/{name}.feature": float(s) for name, (_, s) in suite.items()}
        totals = [
            sum(seconds[path] for path in chosen) for chosen in all_shards(features, n, store)
        ]
        bound = sum(seconds.values()) / n + max(seconds.values(), default=0.0)
        assert max(totals) <= bound, (totals, bound)

    check()


CHILD = """
import json, sys
from behave_bounded.collect import FeatureInfo, ScenarioInfo
from behave_bounded.durations import DurationStore
from behave_bounded.schedule import shard
spec = json.load(sys.stdin)
features = [
    FeatureInfo(path, (), path, tuple(
        ScenarioInfo(f"{path}:{3 + n}", "s", (), True) for n in range(count)))
    for path, count in spec["features"]
]
store = DurationStore.load(spec["artifacts"])
n = spec["n"]
print(json.dumps([[f.path for f in shard(features, k, n, store)] for k in range(1, n + 1)]))
"""


@given("sharding has a suite of {count:d} features with many ties, saved in a duration store")
def hash_suite(context, count):
    # Scrambled paths, three scenario counts, one recorded duration: ties everywhere.
    paths = [f"features/{(i * 37) % count:02d}/{'xyz'[i % 3]}.feature" for i in range(count)]
    context.sched_features = [feature_info(p, i % 3) for i, p in enumerate(paths)]
    store = DurationStore.load(str(artifacts(context)))
    store.record(task_result(p, 5.0, i % 3) for i, p in enumerate(paths) if i % 4 == 0)
    assert store.save() == ""
    context.sched_store = DurationStore.load(str(artifacts(context)))


@then(
    "sharding every K of {n:d} gives the same shards here and in processes "
    "with PYTHONHASHSEED 1 and 2"
)
def same_across_processes(context, n):
    here = all_shards(context.sched_features, n, context.sched_store)
    spec = {
        "features": [[f.path, len(f.selected)] for f in context.sched_features],
        "artifacts": str(artifacts(context)),
        "n": n,
    }
    for seed in ("1", "2"):
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=False,
        )
        assert child.returncode == 0, child.stderr
        assert json.loads(child.stdout) == here, f"PYTHONHASHSEED={seed}: {child.stdout}"
    assert all(here), here


# -- the duration store ---------------------------------------------------------------------


@given("a duration store holds at most {limit:d} features")
def store_limit(context, limit):
    context.sched_limit = limit


@when("a duration store records run {run:d}:")
def store_records_run(context, run):
    store = DurationStore.load(str(artifacts(context)), getattr(context, "sched_limit", None))
    rows = [(row["path"], float(row["seconds"]), int(row["scenarios"])) for row in context.table]
    store.record(task_result(*row) for row in rows)
    assert store.save() == "", store.warning
    assert store.warning == "", store.warning


@then("the duration store file has version {version:d} and these entries:")
def store_file_entries(context, version):
    data = json.loads(store_file(context).read_text(encoding="utf-8"))
    assert data["version"] == version, data
    expected = {
        row["path"]: {
            "seconds": float(row["seconds"]),
            "scenarios": int(row["scenarios"]),
            "seen": int(row["seen"]),
        }
        for row in context.table
    }
    assert data["features"] == expected, data["features"]


@then("a loaded duration store gives these seconds:")
def loaded_seconds(context):
    store = DurationStore.load(str(artifacts(context)))
    assert store.warning == "", store.warning
    for row in context.table:
        expected = float(row["seconds"]) if row["seconds"] else None
        assert store.get(row["path"]) == expected, (row["path"], store.get(row["path"]))


@then('the duration store directory holds only "{name}"')
def directory_holds_only(context, name):
    assert os.listdir(artifacts(context)) == [name], os.listdir(artifacts(context))


@when("two duration stores are loaded from the same directory")
def two_stores(context):
    context.sched_stores = {
        "first": DurationStore.load(str(artifacts(context))),
        "second": DurationStore.load(str(artifacts(context))),
    }


@when('the {which} duration store records "{path}" in {seconds:g} seconds and saves')
def store_records_one(context, which, path, seconds):
    store = context.sched_loaded if which == "loaded" else context.sched_stores[which]
    store.record([task_result(path, seconds, 1)])
    context.sched_save_warning = store.save()


@then("a duration store holds at most {limit:d} features by default")
def default_limit(context, limit):
    assert limit == DurationStore.MAX_ENTRIES, DurationStore.MAX_ENTRIES
    assert DurationStore.load(str(artifacts(context))).max_entries == limit


@given('the duration store file contains "{content}"')
def store_file_contains(context, content):
    store_file(context).parent.mkdir(parents=True, exist_ok=True)
    store_file(context).write_bytes(decoded(content))


@given("the duration store file is a directory")
def store_file_directory(context):
    store_file(context).mkdir(parents=True)


@given("the duration store directory lies under a regular file")
def store_under_file(context):
    regular = workdir(context) / "regular-file"
    regular.write_text("not a directory\n", encoding="utf-8")
    context.sched_artifacts = regular / "artifacts"


@when("a duration store is loaded")
def store_loaded(context):
    context.sched_loaded = DurationStore.load(str(artifacts(context)))


@then("the duration store is empty with a warning naming its file")
def empty_with_warning(context):
    store = context.sched_loaded
    assert len(store) == 0, len(store)
    assert store.get("b.feature") is None
    assert str(store_file(context)) in store.warning, store.warning


@then("the duration store is empty without a warning")
def empty_without_warning(context):
    assert len(context.sched_loaded) == 0
    assert context.sched_loaded.warning == "", context.sched_loaded.warning


@then('the duration store save warned "{text}"')
def save_warned(context, text):
    assert text in context.sched_save_warning, context.sched_save_warning
    assert context.sched_loaded.warning == context.sched_save_warning


@when("a reader opens the duration store file")
def reader_opens(context):
    context.sched_old = store_file(context).read_bytes()
    reader = store_file(context).open("rb")
    context.add_cleanup(reader.close)
    context.sched_reader = reader


@then("the reader still reads the first duration store file whole")
def reader_reads_old(context):
    assert context.sched_reader.read() == context.sched_old
    assert store_file(context).read_bytes() != context.sched_old


# -- last failed ----------------------------------------------------------------------------


def report_path(context) -> Path:
    return workdir(context) / "artifacts" / "last-failed.json"


@when("the last-failed reader reads a report that does not exist")
def read_missing_report(context):
    context.sched_failed = last_failed_locations(str(report_path(context)))


@then("the last-failed reader found no previous run")
def found_no_run(context):
    assert context.sched_failed is None, context.sched_failed


@given("the last-failed reader's report has these scenarios:")
def report_scenarios(context):
    scenarios = [
        {"location": row["location"], "status": row["status"], "name": "a scenario"}
        for row in context.table
    ]
    report_path(context).parent.mkdir(parents=True, exist_ok=True)
    report_path(context).write_text(json.dumps({"scenarios": scenarios}), encoding="utf-8")


@given('the last-failed reader\'s report contains "{content}"')
def report_contains(context, content):
    report_path(context).parent.mkdir(parents=True, exist_ok=True)
    report_path(context).write_bytes(decoded(content))


@when("the last-failed reader reads the report")
def read_report(context):
    try:
        context.sched_failed = last_failed_locations(str(report_path(context)))
    except UsageError as error:
        context.sched_failed = error


@then('the last-failed reader found the locations "{expected}"')
def found_locations(context, expected):
    assert context.sched_failed == names(expected), context.sched_failed


@then('the last-failed reader found the locations ""')
def found_no_locations(context):
    assert context.sched_failed == [], context.sched_failed


@then("the last-failed reader refused the report, naming its file")
def refused_report(context):
    assert isinstance(context.sched_failed, UsageError), context.sched_failed
    assert str(report_path(context)) in str(context.sched_failed), str(context.sched_failed)
