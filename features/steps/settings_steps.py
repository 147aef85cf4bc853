"""In-process checks of settings parsing and merging (no process boundary is crossed)."""

from __future__ import annotations

import ast
import os
import tempfile
from pathlib import Path
from unittest import mock

from behave import given, then, when
from hypothesis import given as hypothesis_given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies

from behave_bounded import config
from behave_bounded.errors import UsageError
from behave_bounded.results import clip


@when('the size "{text}" is parsed')
def parse_size_text(context, text):
    try:
        context.result = config.parse_size(text)
    except ValueError as error:
        context.result = error


@when('the size "" is parsed')
def parse_empty_size(context):
    parse_size_text(context, "")


@then("the result is {expected:d}")
def result_is_number(context, expected):
    assert context.result == expected, context.result


@then('the result is an error "{text}"')
def result_is_error(context, text):
    assert isinstance(context.result, ValueError), context.result
    assert text in str(context.result), str(context.result)


def _directory(context) -> Path:
    if not hasattr(context, "settings_dir"):
        holder = tempfile.TemporaryDirectory(prefix="bb-settings-")
        context.add_cleanup(holder.cleanup)
        context.settings_dir = Path(holder.name)
    return context.settings_dir


@given('the pyproject table "{text}"')
def pyproject_table(context, text):
    _directory(context).joinpath("pyproject.toml").write_text(
        "[tool.behave-bounded]\n" + text + "\n"
    )


@given('the pyproject table ""')
def no_pyproject(context):
    _directory(context)


@given('the pyproject file text "{text}"')
def pyproject_text(context, text):
    _directory(context).joinpath("pyproject.toml").write_text(
        text.encode().decode("unicode_escape")
    )


@given('the environment "{text}"')
def environment(context, text):
    name, _, value = text.partition("=")
    context.settings_env = {name: value}


@given('the environment ""')
def no_environment(context):
    context.settings_env = {}


@given('the command line values "{text}"')
def command_line(context, text):
    """A flag's text as the command line's parser hands it to config."""
    name, _, raw = text.partition("=")
    assert name in config.OPTIONS_BY_NAME, name
    context.settings_cli = {name: raw}


@given('the command line values ""')
def no_command_line(context):
    context.settings_cli = {}


@when("the settings are resolved")
def resolve(context):
    try:
        context.settings = config.resolve(
            getattr(context, "settings_cli", {}),
            (),
            environ=getattr(context, "settings_env", {}),
            directory=_directory(context),
        )
        context.error = None
    except UsageError as error:
        context.error = error


@then("the setting {name} is {value}")
def setting_is(context, name, value):
    assert context.error is None, context.error
    expected = ast.literal_eval(value)
    actual = getattr(context.settings, name)
    assert actual == expected, f"{name} = {actual!r}, expected {expected!r}"


@then('resolving fails with "{message}"')
def resolving_fails(context, message):
    assert context.error is not None, "no error"
    assert message in str(context.error), str(context.error)


@when('the userdata "{text}" is read')
def read_userdata(context, text):
    key, _, value = text.partition("=")
    try:
        context.userdata_result = repr(config.from_userdata({key: value}))
    except UsageError as error:
        context.userdata_result = f"error: {error}"


@then('the userdata result is "{expected}"')
def userdata_result(context, expected):
    assert context.userdata_result.startswith(expected), context.userdata_result


@given("the settings jobs={jobs} and max_jobs={max_jobs}")
def settings_jobs(context, jobs, max_jobs):
    flags = {"jobs": ast.literal_eval(jobs), "max_jobs": ast.literal_eval(max_jobs)}
    context.settings_cli = {name: str(value) for name, value in flags.items() if value is not None}


@when(
    'the worker count is computed for {tasks:d} tasks with CI_MAX_PROCESSES "{ci}" on {cpus:d} CPUs'
)
def worker_count(context, tasks, ci, cpus):
    """CI_MAX_PROCESSES is read with the other settings, from the environment."""
    with mock.patch.object(os, "cpu_count", return_value=cpus):
        try:
            settings = config.resolve(
                context.settings_cli,
                environ={"CI_MAX_PROCESSES": ci},
                directory=_directory(context),
            )
            context.workers = settings.worker_count(tasks)
            context.error = None
        except UsageError as error:
            context.error = error


@when('the worker count is computed for {tasks:d} tasks with CI_MAX_PROCESSES "" on {cpus:d} CPUs')
def worker_count_no_ci(context, tasks, cpus):
    worker_count(context, tasks, "", cpus)


@then("the worker count is {expected:d}")
def worker_count_is(context, expected):
    assert context.workers == expected, context.workers


@then("clipping any text keeps it within the limit with its head and tail")
def clip_property(context):
    # Repeated pieces reach past the limit often; plain text() rarely grows that long.
    texts = strategies.tuples(
        strategies.text(min_size=1, max_size=40), strategies.integers(1, 150)
    ).map(lambda piece: piece[0] * piece[1])

    @hypothesis_settings(max_examples=300, deadline=None)
    @hypothesis_given(texts, strategies.integers(64, 2000))
    def check(text, limit):
        clipped = clip(text, limit)
        assert len(clipped) <= limit
        if len(text) <= limit:
            assert clipped == text
        else:
            head = clipped.split("\n[... ", 1)[0]
            tail = clipped.rsplit(" cut ...]\n", 1)[1]
            assert text.startswith(head)
            assert text.endswith(tail)
            assert len(head) >= 1
            assert len(tail) >= len(head)

    check()


@then('the memory size {size:d} reads "{text}"')
def memory_size(context, size, text):
    from behave_bounded.memory import format_size  # noqa: PLC0415

    assert format_size(size) == text, format_size(size)


@then("a memory budget of 0 bytes, or without any limit, is refused")
def budget_zero(context):
    from behave_bounded.memory import Budget  # noqa: PLC0415

    for make, reason in (
        (lambda: Budget.both(0), "greater than 0"),
        (lambda: Budget(rss=0), "greater than 0"),
        (Budget, "needs a heap or a resident limit"),
    ):
        try:
            make()
        except ValueError as error:
            assert reason in str(error), error
        else:
            raise AssertionError(f"accepted: {make}")


@then("a memory budget inside another one says it cannot check the inner block")
def budget_nested(context):
    from behave_bounded.memory import Budget, MemoryBudget  # noqa: PLC0415

    with MemoryBudget(Budget.both(2**30), "outer", check_on_exit=False):
        try:
            with MemoryBudget(Budget.both(2**30), "inner"):
                pass
        except RuntimeError as error:
            assert "cannot check the memory budget of inner" in str(error), error
        else:
            raise AssertionError("a nested budget was accepted")


@then(
    "measuring a child that sleeps {sleep:d} s with a timeout of {timeout:d} s raises "
    "TimeoutError within {bound:d} s"
)
def memray_timeout(context, sleep, timeout, bound):
    import time  # noqa: PLC0415

    from behave_bounded.child_memory import run_under_memray  # noqa: PLC0415

    started = time.monotonic()
    try:
        run_under_memray(["-c", f"import time; time.sleep({sleep})"], timeout=timeout)
    except TimeoutError as error:
        assert "did not end within" in str(error), error
    else:
        raise AssertionError("the child was not stopped")
    assert time.monotonic() - started < bound, time.monotonic() - started
