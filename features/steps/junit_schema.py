"""The JUnit XML schema the reports are checked against, knowing nothing of the module.

The common (Ant/Jenkins) JUnit schema, with Maven Surefire's elements for the earlier attempts
of a rerun test (its report schema 3.0, ``surefire-test-report-3.0.xsd``): ``flakyFailure``
and ``flakyError`` on a testcase that passed in the end, ``rerunFailure`` and ``rerunError``
on one that never did, each with a ``type``, an optional ``message`` and a ``<stackTrace>``,
then an optional ``<system-out>`` and ``<system-err>``. Not a step file (behave loads it
harmlessly: it defines no step); step files import it by name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter

SCHEMA = {
    "testsuites": ({"name", "tests", "failures", "errors", "skipped", "disabled", "time"}, set()),
    "testsuite": (
        {
            "name",
            "tests",
            "failures",
            "errors",
            "skipped",
            "disabled",
            "time",
            "timestamp",
            "hostname",
            "id",
            "package",
            "file",
        },
        {"name", "tests"},
    ),
    "properties": (set(), set()),
    "property": ({"name", "value"}, {"name", "value"}),
    "testcase": ({"name", "classname", "time", "file", "line", "assertions", "status"}, {"name"}),
    "failure": ({"message", "type"}, set()),
    "error": ({"message", "type"}, set()),
    "skipped": ({"message"}, set()),
    "system-out": (set(), set()),
    "system-err": (set(), set()),
    # Maven Surefire's earlier attempts of a rerun test (its report schema 3.0)
    "flakyFailure": ({"message", "type"}, {"type"}),
    "flakyError": ({"message", "type"}, {"type"}),
    "rerunFailure": ({"message", "type"}, {"type"}),
    "rerunError": ({"message", "type"}, {"type"}),
    "stackTrace": (set(), set()),
}
_ATTEMPT_CHILDREN = r"stackTrace (system-out )?(system-err )?"
CHILD_ORDER = {
    "testsuites": r"(testsuite )*",
    "testsuite": r"(properties )?(testcase )*(system-out )?(system-err )?",
    "properties": r"(property )*",
    # Surefire's sequence; the common schema's one outcome at most is checked apart
    "testcase": (
        r"(failure )?(rerunFailure )*(flakyFailure )*(skipped )?(error )?(rerunError )*"
        r"(flakyError )*(system-out )*(system-err )*"
    ),
    "flakyFailure": _ATTEMPT_CHILDREN,
    "flakyError": _ATTEMPT_CHILDREN,
    "rerunFailure": _ATTEMPT_CHILDREN,
    "rerunError": _ATTEMPT_CHILDREN,
}
COUNTERS = {"tests": "testcase", "failures": "failure", "errors": "error", "skipped": "skipped"}


def schema_problems(root: ET.Element) -> list[str]:
    """Deviations from the common JUnit schema, and counters that do not add up."""
    problems = [] if root.tag == "testsuites" else [f"root is <{root.tag}>"]
    for element in root.iter():
        problems += element_problems(element)
    return problems + counter_problems(root)


def element_problems(element: ET.Element) -> list[str]:
    """An element's name, attributes, children and time formats against :data:`SCHEMA`."""
    if element.tag not in SCHEMA:
        return [f"unknown element <{element.tag}>"]
    allowed, required = SCHEMA[element.tag]
    problems = []
    if set(element.attrib) - allowed:
        problems.append(f"<{element.tag}> has {sorted(set(element.attrib) - allowed)}")
    if required - set(element.attrib):
        problems.append(f"<{element.tag}> lacks {sorted(required - set(element.attrib))}")
    order = "".join(child.tag + " " for child in element)
    if element.tag in CHILD_ORDER and not re.fullmatch(CHILD_ORDER[element.tag], order):
        problems.append(f"<{element.tag} {element.get('name')}> children: {order}")
    if element.tag == "testcase":
        problems += attempt_problems(element)
    if "time" in element.attrib and not re.fullmatch(r"\d+(\.\d+)?", element.get("time")):
        problems.append(f"<{element.tag}> time={element.get('time')!r}")
    stamp = element.get("timestamp")
    if stamp is not None and not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", stamp):
        problems.append(f"timestamp={stamp!r}")
    return problems


def counter_problems(root: ET.Element) -> list[str]:
    """Each suite's counters equal its testcases; the root's equal the sums of the suites'."""
    problems = []
    totals = Counter()
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        found = {"tests": len(cases)}
        for counter, tag in list(COUNTERS.items())[1:]:
            found[counter] = sum(case.find(tag) is not None for case in cases)
        for counter, number in found.items():
            if suite.get(counter) != str(number):
                problems.append(f"{suite.get('name')}: {counter}={suite.get(counter)}, {number}")
            totals[counter] += number
    for counter in COUNTERS:
        if root.get(counter) != str(totals[counter]):
            problems.append(f"testsuites {counter}={root.get(counter)}, sum {totals[counter]}")
    return problems


def attempt_problems(case: ET.Element) -> list[str]:
    """At most one outcome (failure, error, skipped); flaky* only on a testcase that passed,
    rerun* only on one that failed or errored."""
    tags = [child.tag for child in case]
    outcomes = [tag for tag in tags if tag in ("failure", "error", "skipped")]
    problems = [f"<testcase {case.get('name')}> has {outcomes}"] if len(outcomes) > 1 else []
    flaky = any(tag.startswith("flaky") for tag in tags)
    rerun = any(tag.startswith("rerun") for tag in tags)
    if flaky and outcomes:
        problems.append(f"<testcase {case.get('name')}> is flaky but ended {outcomes[0]}")
    if rerun and not any(tag in ("failure", "error") for tag in outcomes):
        problems.append(f"<testcase {case.get('name')}> has reruns but did not fail")
    return problems
