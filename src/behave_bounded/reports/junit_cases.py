"""JUnit ``<testcase>`` elements of scenarios: their outcome, their output, their attempts.

One testcase per scenario (an Outline row is one), ``classname`` from the feature's path,
the outcome as a ``<failure>``/``<error>``/``<skipped>`` child, earlier attempts of a rerun
scenario as Maven Surefire writes them, captured output as ``<system-out>``/``<system-err>``;
characters XML 1.0 cannot carry become visible escapes, so the file always parses.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

from behave_bounded.results import (
    Attempt,
    CapturedStream,
    ScenarioResult,
    Status,
)
from behave_bounded.tdd import issue_number

#: Longest ``message`` attribute of a JUnit failure/error/skipped (the text has the rest).
MAX_ATTRIBUTE_CHARS = 500


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def attribute(text: str) -> str:
    """A ``message`` attribute: at most :data:`MAX_ATTRIBUTE_CHARS` characters (CI shows all)."""
    if len(text) > MAX_ATTRIBUTE_CHARS:
        return text[: MAX_ATTRIBUTE_CHARS - 3] + "..."
    return text


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry as a visible ``\\xNN`` escape."""
    if _XML_INVALID.search(text) is None:
        return text
    return _XML_INVALID.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def bounded_output(stream: CapturedStream, limit: int) -> str:
    """At most ``limit`` bytes of a stream's kept text (the tail), after a note of what is cut."""
    data = stream.text.encode("utf-8", "surrogatepass")
    written = max(stream.stats.written, len(data))
    if written <= len(data) <= limit:
        return stream.text
    shown = data[len(data) - limit :] if len(data) > limit else data
    start = 0
    while start < len(shown) and shown[start] & 0xC0 == 0x80:  # a character cut in two
        start += 1
    shown = shown[start:]
    where = stream.stats.spill_path or "not kept"
    note = (
        f"[behave-bounded: {stream.stats.name}: {written} bytes written, "
        f"{stream.stats.kept} kept by the capture, the last {len(shown)} shown here; "
        f"full output: {where}]"
    )
    return f"{note}\n{shown.decode('utf-8', 'surrogatepass')}"


def classname(path: str) -> str:
    """``features/auth/login.feature`` -> ``features.auth.login`` (Jenkins' package.class)."""
    path = path.replace("\\", "/").removeprefix("./").removesuffix(".feature")
    return path.replace("/", ".")


def _split_location(location: str) -> tuple[str, str]:
    path, _, line = location.rpartition(":")
    if path and line.isdigit():
        return path, line
    return location, ""


def element(tag: str, attributes: Mapping[str, str], text: str = "") -> ET.Element:
    element = ET.Element(tag, {key: xml_text(value) for key, value in attributes.items()})
    if text:
        element.text = xml_text(text)
    return element


_DEFAULT_SUMMARY = {
    Status.FAILED: "the scenario failed",
    Status.ERRORED: "the scenario raised an error",
    Status.UNDEFINED: "a step has no implementation",
    Status.XPASSED: "an expected failure passed",
}


def _outcome(scenario: ScenarioResult) -> ET.Element | None:
    """The failure/error/skipped child of a scenario's testcase (None: it passed)."""
    status = scenario.status
    summary = first_line(scenario.message)
    if status is Status.PASSED:
        return None
    if status is Status.SKIPPED:
        attributes = {"message": attribute(f"skipped: {summary}")} if summary else {}
        return element("skipped", attributes)
    if status is Status.XFAILED:
        issue = issue_number(scenario.tags)
        prefix = f"issue #{issue}: " if issue is not None else ""
        if summary.startswith(prefix):
            prefix = ""
        message = attribute(f"xfailed: {prefix}{summary}")
        return element("skipped", {"message": message}, scenario.message)
    tag = "error" if status is Status.ERRORED else "failure"
    kind = scenario.error_type or status.value
    message = attribute(f"{status.value}: {summary or _DEFAULT_SUMMARY[status]}")
    return element(tag, {"message": message, "type": kind}, scenario.message)


#: Earlier attempts of a rerun scenario, as Maven Surefire writes them (its report schema
#: 3.0): ``flaky*`` on a testcase that passed in the end, ``rerun*`` on one that never did.
_FLAKY = {"failure": "flakyFailure", "error": "flakyError"}
_RERUN = {"failure": "rerunFailure", "error": "rerunError"}


def _attempt_element(attempt: Attempt, names: Mapping[str, str]) -> tuple[str, ET.Element]:
    """(failure | error, the element) of an earlier attempt that failed the run: its message
    and type, its message again as ``<stackTrace>`` (behave's error text is its traceback)."""
    kind = "error" if attempt.status is Status.ERRORED else "failure"
    summary = first_line(attempt.message) or _DEFAULT_SUMMARY.get(attempt.status, "")
    attributes = {
        "message": attribute(f"{attempt.status.value} (worker {attempt.worker}): {summary}"),
        "type": attempt.error_type or attempt.status.value,
    }
    item = element(names[kind], attributes)
    item.append(element("stackTrace", {}, attempt.message))
    return kind, item


def _children(scenario: ScenarioResult) -> list[ET.Element]:
    """A testcase's children in the order Surefire's schema wants them: failure,
    rerunFailure*, flakyFailure*, skipped, error, rerunError*, flakyError*."""
    outcome = _outcome(scenario)
    earlier = [
        attempt
        for number, attempt in enumerate(scenario.attempts)
        if number != scenario.final_run and attempt.status.fails_run
    ]
    names = _FLAKY if outcome is None else _RERUN  # None: it passed in the end
    tagged = [_attempt_element(attempt, names) for attempt in earlier]
    failures = [item for kind, item in tagged if kind == "failure"]
    errors = [item for kind, item in tagged if kind == "error"]
    if outcome is None:
        return [*failures, *errors]
    if outcome.tag == "failure":
        return [outcome, *failures, *errors]
    return [*failures, outcome, *errors]  # skipped or error


def case_element(task_path: str, scenario: ScenarioResult, suffix: str = "") -> ET.Element:
    path, line = _split_location(scenario.location)
    attributes = {"classname": classname(task_path), "name": scenario.name + suffix, "file": path}
    if line:
        attributes["line"] = line
    attributes["time"] = f"{scenario.duration:.3f}"
    case = element("testcase", attributes)
    case.extend(_children(scenario))
    return case


def case_outcome(case: ET.Element) -> tuple[str, bool]:
    """(count key, never ran) of a testcase, read back from the XML we write."""
    failure = case.find("failure")
    if failure is not None:
        message = failure.get("message", "")
        for status in (Status.UNDEFINED, Status.XPASSED):
            if message.startswith(f"{status.value}:"):
                return status.value, False
        return Status.FAILED.value, False
    error = case.find("error")
    if error is not None:
        return Status.ERRORED.value, error.get("message", "").startswith("not run:")
    skipped = case.find("skipped")
    if skipped is not None:
        message = skipped.get("message", "")
        if message.startswith("xfailed:"):
            return Status.XFAILED.value, False
        return Status.SKIPPED.value, message.startswith("not run:")
    return Status.PASSED.value, False


def is_flaky(case: ET.Element) -> bool:
    """A testcase that passed on a rerun: it has Surefire's flakyFailure or flakyError."""
    return any(case.find(tag) is not None for tag in _FLAKY.values())
