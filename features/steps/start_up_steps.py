"""Steps reading Python's import trace (``PYTHONPROFILEIMPORTTIME``) of the runner's stderr."""

from __future__ import annotations

import re

from behave import then

#: ``import time:   self [us] | cumulative | imported package`` (CPython's -X importtime); the
#: indentation of the name is its depth, and a module's imports are listed before it.
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|( *)(\S+)\s*$", re.MULTILINE)
#: Imported at start-up by a tool that measures the run, not by the runner (coverage.py's
#: subprocess measurement under ``nox -s coverage_report`` loads sqlite3, uuid, ...).
MEASURING_TOOLS = ("coverage",)


def imported(context) -> set[str]:
    """The modules the runner's process imported, not counting those a measuring tool did."""
    rows = [(len(indent), name) for indent, name in IMPORT_LINE.findall(context.stderr)]
    assert rows, f"no import trace in stderr: {context.stderr[:500]!r}"
    names = set()
    for position, (own_depth, name) in enumerate(rows):
        ancestors, depth = [name], own_depth
        for later_depth, later in rows[position + 1 :]:  # the first shallower one is the parent
            if later_depth < depth:
                ancestors.append(later)
                depth = later_depth
        if not any(a.split(".")[0] in MEASURING_TOOLS for a in ancestors):
            names.add(name)
    return names


@then('the runner imported "{module}"')
def runner_imported(context, module):
    assert module in imported(context), sorted(imported(context))


@then('the runner imported none of "{modules}"')
def runner_imported_none(context, modules):
    loaded = imported(context) & {name.strip() for name in modules.split(",")}
    assert not loaded, f"imported {sorted(loaded)}"
