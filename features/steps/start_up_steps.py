"""Steps reading Python's import trace (``PYTHONPROFILEIMPORTTIME``) of the runner's stderr."""

from __future__ import annotations

import re

from behave import then

#: ``import time:   self [us] | cumulative | imported package`` (CPython's -X importtime).
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)\s*$", re.MULTILINE)


def imported(context) -> set[str]:
    names = set(IMPORT_LINE.findall(context.stderr))
    assert names, f"no import trace in stderr: {context.stderr[:500]!r}"
    return names


@then('the runner imported "{module}"')
def runner_imported(context, module):
    assert module in imported(context), sorted(imported(context))


@then('the runner imported none of "{modules}"')
def runner_imported_none(context, modules):
    loaded = imported(context) & {name.strip() for name in modules.split(",")}
    assert not loaded, f"imported {sorted(loaded)}"
