"""In-process properties of reports.order.InOrder, driven by Hypothesis."""

from __future__ import annotations

import os
import tempfile

from behave import then
from hypothesis import given, settings
from hypothesis import strategies as st

from behave_bounded.reports.order import InOrder


@st.composite
def suites(draw, max_features: int = 12):
    """(paths in collection order, tasks per path, finishing order of (path, task, data))."""
    count = draw(st.integers(1, max_features))
    paths = [f"features/f{number:02d}.feature" for number in range(count)]
    tasks = {path: draw(st.integers(1, 4)) for path in paths}
    pieces = [
        (path, task, os.urandom(draw(st.integers(0, 3000))))
        for path in paths
        for task in range(tasks[path])
    ]
    order = draw(st.permutations(pieces))
    return paths, tasks, list(order)


def released(order, paths, tasks, limit, directory):
    held = InOrder(paths, tasks, memory_limit=limit, spill_dir=directory)
    out = []
    peak = 0
    try:
        for path, task, data in order:
            out.extend(held.add(path, task, data))
            peak = max(peak, held.in_memory)
        out.extend(held.rest())
    finally:
        held.close()
    return out, peak, held


@then(
    "for any suite and any finishing order, features are released in collection order with "
    "every piece intact"
)
def in_order_and_intact(context):
    @settings(max_examples=200, deadline=None)
    @given(suites(), st.integers(0, 6000))
    def check(suite, limit):
        paths, tasks, order = suite
        with tempfile.TemporaryDirectory() as directory:
            out, _, _ = released(order, paths, tasks, limit, directory)
        assert [path for path, _ in out] == paths
        sent = {(path, task): data for path, task, data in order}
        for path, pieces in out:
            assert sorted(task for task, _ in pieces) == list(range(tasks[path]))
            for task, data in pieces:
                assert data == sent[(path, task)]

    check()


@then(
    "for any finishing order, the bytes held in memory never exceed the limit and the rest "
    "waits on disk"
)
def bounded(context):
    spilled = []

    @settings(max_examples=200, deadline=None)
    @given(suites(), st.integers(0, 6000))
    def check(suite, limit):
        paths, tasks, order = suite
        with tempfile.TemporaryDirectory() as directory:
            _, peak, held = released(order, paths, tasks, limit, directory)
            assert os.listdir(directory) == []  # the spill file has no name: nothing to leak
        assert peak <= limit, (peak, limit)
        assert held.in_memory == 0
        spilled.append(held.spilled_total)

    check()
    assert any(spilled), "no example ever spilled: the property did not test the file"


@then(
    "for any suite where some tasks never finish, every feature is released once, in order, "
    "with the pieces that came"
)
def gives_up(context):
    @settings(max_examples=200, deadline=None)
    @given(suites(), st.data())
    def check(suite, data):
        paths, tasks, order = suite
        lost = data.draw(st.sets(st.sampled_from(range(len(order)))))
        arrived = [piece for number, piece in enumerate(order) if number not in lost]
        held = InOrder(paths, tasks, memory_limit=2000)
        out = []
        for path, task, piece in arrived:
            out.extend(held.add(path, task, piece))
        for number in sorted(lost):
            out.extend(held.give_up(order[number][0]))
        out.extend(held.rest())
        held.close()
        assert [path for path, _ in out] == paths
        came = {(path, task) for path, task, _ in arrived}
        for path, pieces in out:
            assert {(path, task) for task, _ in pieces} == {k for k in came if k[0] == path}

    check()
