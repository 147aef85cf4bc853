"""Steps of features/isolation.feature that runner_steps does not have.

The runs themselves are runner_steps' (a generated suite, the runner as a subprocess); these
steps read what such a run printed and what it left in the process table.
"""

from __future__ import annotations

from behave import then
from suite_support import marked_processes, suite_dir


@then('stderr does not contain "{text}"')
def stderr_lacks(context, text):
    assert text not in context.stderr, f"{text!r} in stderr:\n{context.stderr[-3000:]}"


@then('the output or stderr does not contain "{text}"')
def output_and_stderr_lack(context, text):
    for name, stream in (("stdout", context.stdout), ("stderr", context.stderr)):
        assert text not in stream, f"{text!r} in {name}:\n{stream[-3000:]}"


@then('the process in "{name}" is found in the process table by the run\'s marker')
def found_by_marker(context, name):
    """The check "no process of the run is left" relies on: it must see this process."""
    pid = int((suite_dir(context) / name).read_text())
    found = marked_processes(context.marker)
    assert pid in found, f"process {pid} is not found by the marker; found: {found}"
