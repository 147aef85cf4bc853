"""Steps that run the README's per-worker resources recipe (worker_resources.feature)."""

from __future__ import annotations

import json
from pathlib import Path

from behave import given, then
from suite_support import suite_dir, write

REPOSITORY = Path(__file__).resolve().parents[2]
#: The first line of the recipe's code block in README.md.
RECIPE = "# features/environment.py: a scratch directory, a database file and a port per worker"


def readme_recipe() -> str:
    """The recipe's code block, exactly as README.md shows it."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"```python\n{RECIPE}\n") + len("```python\n")
    return readme[start : readme.index("\n```", start) + 1]


@given("the suite's environment is the README's per-worker recipe")
def recipe_environment(context):
    text = readme_recipe()
    assert "tempfile.mkstemp" in text and "def before_all_workers" in text, text
    write(context, "features/environment.py", text)


@given("the suite's temporary directory is a private one")
def private_tmpdir(context):
    tmp = suite_dir(context) / "tmp"
    tmp.mkdir()
    context.extra_env = {**getattr(context, "extra_env", {}), "TMPDIR": str(tmp)}


@given("{count:d} features that use their worker's resources")
def using_features(context, count, wait=""):
    for number in range(count):
        write(
            context,
            f"features/u_{number:02d}.feature",
            f"Feature: uses {number}\n  Scenario: uses {number}\n"
            f"    Given it uses its worker's database, port and scratch directory\n{wait}",
        )


@given(
    "{count:d} features that use their worker's resources and wait until {workers:d} workers have"
)
def using_features_waiting(context, count, workers):
    using_features(context, count, wait=f"    And it waits until {workers} workers have recorded\n")


def _seen(context) -> list[dict]:
    folder = suite_dir(context) / "seen"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def _by_worker(context) -> dict[str, list[dict]]:
    workers: dict[str, list[dict]] = {}
    for record in _seen(context):
        workers.setdefault(record["worker"], []).append(record)
    return workers


@then("{count:d} workers each used one database file, port and scratch directory, none shared")
def one_each(context, count):
    workers = _by_worker(context)
    assert len(workers) == count, workers
    resources = {}
    for worker, records in workers.items():
        used = {(r["database"], r["port"], r["scratch"]) for r in records}
        assert len(used) == 1, (worker, used)
        resources[worker] = used.pop()
    for kind in range(3):  # database, port, scratch: all distinct across workers
        values = [used[kind] for used in resources.values()]
        assert len(set(values)) == len(values), resources
    context.resources = resources


@then(
    "each database file held only the features its worker ran, in its worker's scratch "
    "directory, under the run's root, which is gone"
)
def databases_of_their_own(context):
    roots = {record["root"] for record in _seen(context)}
    assert len(roots) == 1 and None not in roots, roots
    root = Path(roots.pop())
    for worker, records in _by_worker(context).items():
        database, _, scratch = context.resources[worker]
        assert Path(database).parent == Path(scratch), (database, scratch)
        assert Path(scratch).parent == root, (scratch, root)
        assert Path(scratch).name.startswith(f"scratch-{worker}-"), scratch
        ran = {record["feature"] for record in records}
        for record in records:  # what the database held right after the feature wrote to it
            assert record["feature"] in record["rows"], record
            assert set(record["rows"]) <= ran, (worker, record["rows"], ran)
    assert not root.exists(), f"{root} was left behind"


@then("the suite's temporary directory is empty")
def tmp_empty(context):
    left = sorted(str(p) for p in (suite_dir(context) / "tmp").rglob("*"))
    assert not left, left
