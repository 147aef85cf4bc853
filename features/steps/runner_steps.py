"""Steps that generate a small suite in a temporary directory and run the runner on it.

The runner is started as a user starts it: ``python -m behave_bounded ARGS`` in a subprocess
whose working directory is the generated suite. Its output goes to files (never into this
process's memory in full), and every process it leaves behind is found through a marker
variable in the environment of the runner's process tree.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from behave import given, then, when
from suite_support import (
    kill_leftovers,
    marked_processes,
    read_bounded,
    runner_command,
    runner_env,
    suite_dir,
    write,
)

RUN_TIMEOUT = 300

CPU_STEPS = """
import time
from behave import step

@step("it burns {ms:d} ms of CPU")
def burn(context, ms):
    end = time.process_time() + ms / 1000
    while time.process_time() < end:
        pass
"""


@given('a feature file "{name}":')
def feature_file(context, name):
    write(context, f"features/{name}", context.text)


@given('a file "{name}":')
def any_file(context, name):
    write(context, name, context.text)


@given("the suite's steps:")
def suite_steps(context):
    write(context, "features/steps/steps.py", context.text)


@given("the suite's environment:")
def suite_environment(context):
    write(context, "features/environment.py", context.text)


@given("{count:d} passing features")
def passing_features(context, count):
    for number in range(count):
        write(
            context,
            f"features/pass_{number:03d}.feature",
            f"""
            Feature: passing {number}
              Scenario: passes {number}
                Given it burns 1 ms of CPU
            """,
        )
    write(context, "features/steps/cpu_steps.py", CPU_STEPS)


@given("{count:d} features whose steps burn {ms:d} ms of CPU each")
def cpu_features(context, count, ms):
    for number in range(count):
        write(
            context,
            f"features/cpu_{number:03d}.feature",
            f"""
            Feature: cpu {number}
              Scenario: burns {number}
                Given it burns {ms} ms of CPU
            """,
        )
    write(context, "features/steps/cpu_steps.py", CPU_STEPS)


def start(context, args: str, module: str = "behave_bounded") -> None:
    suite = suite_dir(context)
    out_dir = tempfile.TemporaryDirectory(prefix="bb-out-")
    context.add_cleanup(out_dir.cleanup)
    context.stdout_path = Path(out_dir.name) / "stdout"
    context.stderr_path = Path(out_dir.name) / "stderr"
    with open(context.stdout_path, "wb") as out, open(context.stderr_path, "wb") as err:
        context.process = subprocess.Popen(
            runner_command(args, module),
            cwd=suite,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=runner_env(context),
        )
    context.add_cleanup(kill_leftovers, context)


def finish(context, timeout: float = RUN_TIMEOUT) -> None:
    try:
        context.exit_code = context.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        context.process.kill()
        context.process.wait()
        raise AssertionError(f"the runner did not end within {timeout} s") from None
    context.stdout = read_bounded(context.stdout_path)
    context.stderr = read_bounded(context.stderr_path)


@when('I run the runner with "{args}"')
def run_runner(context, args):
    start(context, args)
    finish(context)


@given('the environment variable {name} is "{value}"')
def environment_variable(context, name, value):
    """``-`` leaves the variable unset (an Examples cell cannot be empty here)."""
    if value == "-":
        return
    context.extra_env = {**getattr(context, "extra_env", {}), name: value}


@when("I run the runner without arguments")
def run_runner_bare(context):
    start(context, "")
    finish(context)


@when('I start the runner with "{args}"')
def start_runner(context, args):
    start(context, args)


@when("I send {name} to the runner")
def send_signal(context, name):
    context.signal_sent_at = time.monotonic()
    context.process.send_signal(getattr(signal, name))
    finish(context)
    context.stop_seconds = time.monotonic() - context.signal_sent_at


@then("the exit code is {code:d}")
def exit_code_is(context, code):
    assert context.exit_code == code, (
        f"exit code {context.exit_code}, expected {code}\n--- stdout:\n{context.stdout[-3000:]}"
        f"\n--- stderr:\n{context.stderr[-3000:]}"
    )


@then('the last line is "{line}"')
def last_line_is(context, line):
    lines = context.stdout.rstrip("\n").splitlines()
    assert lines and lines[-1] == line, f"last line {lines[-1:]!r}, expected {line!r}"


@then('the output contains "{text}"')
def output_contains(context, text):
    assert text in context.stdout, f"{text!r} not in stdout:\n{context.stdout[-3000:]}"


@then('the output does not contain "{text}"')
def output_lacks(context, text):
    assert text not in context.stdout, f"{text!r} in stdout:\n{context.stdout[-3000:]}"


@then('stderr contains "{text}"')
def stderr_contains(context, text):
    assert text in context.stderr, f"{text!r} not in stderr:\n{context.stderr[-3000:]}"


@then("stderr is one line")
def stderr_one_line(context):
    lines = context.stderr.strip().splitlines()
    assert len(lines) == 1, f"stderr has {len(lines)} lines:\n{context.stderr[-3000:]}"
    assert "Traceback" not in context.stderr


@then("the output contains these lines in order")
def lines_in_order(context):
    position = 0
    for row in context.table:
        found = context.stdout.find(row["line"], position)
        assert found >= 0, f"{row['line']!r} not found after offset {position}:\n{context.stdout}"
        position = found + len(row["line"])


@then("the output has no traceback")
def no_traceback(context):
    assert "Traceback" not in context.stdout + context.stderr, context.stdout + context.stderr


@then("no process of the run is left")
def no_leftovers(context):
    deadline = time.monotonic() + 5
    while marked_processes(context.marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = marked_processes(context.marker)
    assert not left, f"processes left behind: {left}"


@then("the runner stopped within {seconds:d} seconds")
def stopped_within(context, seconds):
    assert context.stop_seconds < seconds, f"stopping took {context.stop_seconds:.1f} s"


@then('the file "{name}" has {count:d} lines with {distinct:d} distinct values')
def file_lines(context, name, count, distinct):
    lines = (suite_dir(context) / name).read_text().splitlines()
    assert len(lines) == count, f"{name} has {len(lines)} lines: {lines}"
    assert len(set(lines)) == distinct, f"{name} has {len(set(lines))} distinct values: {lines}"


@then("the step ran in a child of the runner process")
def ran_in_child(context):
    pid, parent = map(int, (suite_dir(context) / "pid.log").read_text().split())
    assert parent == context.process.pid, f"parent {parent}, runner {context.process.pid}"
    assert pid != context.process.pid


@when('I wait until the file "{name}" exists')
def wait_for_file(context, name):
    path = suite_dir(context) / name
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{name} did not appear within 60 s"
        assert context.process.poll() is None, "the runner ended before the file appeared"
        time.sleep(0.05)


@then('the last line matches "{pattern}"')
def last_line_matches(context, pattern):
    lines = context.stdout.rstrip("\n").splitlines()
    assert lines and re.fullmatch(pattern, lines[-1]), f"last line {lines[-1:]!r} !~ {pattern!r}"


@then('the file "{name}" does not exist')
def file_missing(context, name):
    assert not (suite_dir(context) / name).exists(), f"{name} exists: a feature ran"


_BEHAVE_SUMMARY = re.compile(r"^(\d+) scenarios? passed, (\d+) failed(.*)$", re.MULTILINE)


def behave_counts(text: str) -> tuple[int, int, int]:
    """(passed, failing, skipped) from plain behave's "N scenarios passed, ..." line."""
    match = _BEHAVE_SUMMARY.search(text)
    assert match, f"no behave summary in:\n{text[-2000:]}"
    extra = dict((name, int(number)) for number, name in re.findall(r"(\d+) (\w+)", match.group(3)))
    failing = int(match.group(2)) + sum(
        extra.get(name, 0) for name in ("error", "errored", "undefined", "hook_error")
    )
    skipped = extra.get("skipped", 0) + extra.get("untested", 0)
    return int(match.group(1)), failing, skipped


def run_plain_behave(context, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Plain behave on the generated suite, as a user would start it (the same environment)."""
    return subprocess.run(
        [sys.executable, "-m", "behave", *args],
        cwd=suite_dir(context),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        env=runner_env(context),
        check=False,
    )


@then("the runner's outcome equals plain behave's for \"{args}\"")
def same_as_behave(context, args):
    plain = run_plain_behave(context, shlex.split(args))
    ours = re.fullmatch(
        r"scenarios: (\d+) passed, (\d+) failed, (\d+) skipped",
        context.stdout.rstrip("\n").splitlines()[-1],
    )
    assert ours, context.stdout[-2000:]
    assert tuple(map(int, ours.groups())) == behave_counts(plain.stdout), plain.stdout[-2000:]
    assert (plain.returncode == 0) == (context.exit_code == 0), (
        plain.returncode,
        context.exit_code,
    )


@then("plain behave exits with {code:d} too")
def plain_exit_code(context, code):
    plain = run_plain_behave(context, [])
    assert plain.returncode == code == context.exit_code, (plain.returncode, plain.stdout[-2000:])


@when('I run the probe under the runner with "{args}" and under plain behave')
def probe_both(context, args):
    suite = suite_dir(context)
    context.extra_env = {
        **getattr(context, "extra_env", {}),
        "PROBE_OUTPUT": str(suite / "ours.json"),
    }
    start(context, args)
    finish(context)
    assert context.exit_code == 0, context.stdout[-3000:] + context.stderr[-3000:]
    plain_env = runner_env(context, {"PROBE_OUTPUT": str(suite / "plain.json")})
    plain = subprocess.run(
        [sys.executable, "-m", "behave", *shlex.split(args)],
        cwd=suite,
        env=plain_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout[-3000:]


#: What a test may see of its worker, and nothing else the runner adds (README "Worker identity").
IDENTITY = ["BEHAVE_BOUNDED_RUN_ID", "BEHAVE_BOUNDED_WORKER", "BEHAVE_BOUNDED_WORKER_COUNT"]


@then("the probe saw the same under both, apart from the worker identity variables")
def probe_same(context):
    suite = suite_dir(context)
    ours = json.loads((suite / "ours.json").read_text())
    plain = json.loads((suite / "plain.json").read_text())
    for environment in (ours["environment"], ours["child"][1]):
        assert [name for name in environment if name in IDENTITY] == IDENTITY, environment
        environment[:] = [name for name in environment if name not in IDENTITY]
    assert ours == plain, f"under the runner:\n{ours}\nunder plain behave:\n{plain}"


@when('I run behave with "{args}"')
def run_behave_with(context, args):
    suite_dir(context)
    start(context, args, module="behave")
    finish(context)


@given('a file "{name}" with bytes "{escaped}"')
def file_with_bytes(context, name, escaped):
    path = suite_dir(context) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(escaped.encode("ascii").decode("unicode_escape").encode("latin-1"))


@given('a feature file "{name}" with an outline of {count:d} failing rows')
def failing_outline(context, name, count):
    rows = "\n".join(f"      | {number} |" for number in range(count))
    write(
        context,
        f"features/{name}",
        "Feature: many\n  Scenario Outline: row <n>\n"
        "    Given it fails\n    Examples:\n      | n |\n" + rows + "\n",
    )


@then('the summary line of "{name}" is shorter than {limit:d} characters')
def summary_line_short(context, name, limit):
    summary = context.stdout.split("behave-bounded summary", 1)[1]
    lines = [line for line in summary.splitlines() if name in line]
    assert lines, summary[-2000:]
    assert all(len(line) < limit for line in lines), lines


@then('the file "{name}" exists')
def file_exists(context, name):
    assert (suite_dir(context) / name).exists(), sorted(
        str(p.relative_to(suite_dir(context))) for p in suite_dir(context).rglob("*")
    )


@then('stderr matches "{pattern}"')
def stderr_matches(context, pattern):
    assert re.search(pattern, context.stderr), f"{pattern!r} !~ stderr:\n{context.stderr[-3000:]}"


@then('the file "{name}" contains "{text}"')
def file_contains(context, name, text):
    content = (suite_dir(context) / name).read_text(errors="replace")
    assert text in content, content[-3000:]


@given('PYTHONPATH points at "{path}" in the suite')
def pythonpath_in_suite(context, path):
    context.extra_env = {
        **getattr(context, "extra_env", {}),
        "PYTHONPATH": str(suite_dir(context) / path),
    }


@when('I run the runner under memray with "{args}"')
def run_under_memray_step(context, args):
    """The runner's own process measured by memray (its forked workers are not followed)."""
    from behave_bounded.child_memory import run_under_memray  # noqa: PLC0415 - memray is optional

    context.parent_memory = run_under_memray(
        ["-m", "behave_bounded", *shlex.split(args)],
        cwd=str(suite_dir(context)),
        env=runner_env(context),
        timeout=RUN_TIMEOUT,
        follow_fork=False,
    )
    context.stdout = context.parent_memory.stdout
    context.stderr = context.parent_memory.stderr
    context.exit_code = context.parent_memory.returncode


@given('a copy of "{feature}" whose "after the fix" rows use "{options}"')
def regression_copy(context, feature, options):
    """The regression suite with its fix switched off, and the steps it needs."""
    source = Path(feature).read_text(encoding="utf-8")
    bounded_row = "| bounded capture    |                         |"
    assert source.count(bounded_row) == 6, "the regression suite changed shape"
    disabled = source.replace(bounded_row, f"| bounded capture    | {options:23} |")
    (suite_dir(context) / feature).write_text(disabled, encoding="utf-8")
    for name in ("runner_steps.py", "tdd_regression_steps.py", "suite_support.py"):
        text = (Path("features/steps") / name).read_text(encoding="utf-8")
        (suite_dir(context) / "features" / "steps" / name).write_text(text, encoding="utf-8")


@given('a symlink "{name}" to "{target}"')
def symlink(context, name, target):
    (suite_dir(context) / name).symlink_to(target)


@then('the output or stderr contains "{text}"')
def output_or_stderr(context, text):
    assert text in context.stdout + context.stderr, context.stdout[-2000:] + context.stderr[-2000:]
