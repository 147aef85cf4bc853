"""The TDD tag convention: validating the tags before a run, and inverting results after it.

A scenario written for a tracked issue is tagged ``@tdd_issue @tdd_issue_<N>``; while the bug
is not fixed it is also tagged ``@tdd_expected_fail`` (behave's own ``@xfail`` means "expected
to fail" without an issue). Tags count as behave counts them: a scenario's effective tags,
inherited from its Feature, Rule, Scenario Outline and Examples table.

* :func:`validate_tags` / ``behave-bounded validate-tags`` (also a pre-commit hook) find every
  malformed tag before anything runs, since a misspelled ``@tdd_expected_fail`` would silently
  turn a known failure into a red build, or a fixed bug into a forgotten tag.
* :func:`classify` inverts a result: an expected failure by assertion is ``XFAILED`` (does not
  fail the run), an expected failure that passes is ``XPASSED`` (fails the run, so the tag gets
  removed). Any other error of an expected-to-fail scenario is ``ERRORED``: only an assertion
  reproduces a bug, a crash or an undefined step does not.

Lenient xpass (``strict=False``, ``--no-tdd-strict``): the result is ``Status.PASSED`` whose
message is :data:`WARNING_PREFIX` (``"warning: "``) + :func:`xpass_message`; it does not fail
the run and :func:`is_lenient_xpass` recognises it (exactly that message, so a passed
scenario's own text can never pass for one) for the reporter to print the warning.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from behave_bounded import memory
from behave_bounded.collect import ScenarioInfo, parse_problem
from behave_bounded.config import parse_size
from behave_bounded.errors import EXIT_OK, EXIT_USAGE
from behave_bounded.memory import BUDGET_FORMS, BUDGET_TAG_RE, MEMRAY_EXTRA
from behave_bounded.results import ScenarioResult, Status, clip

TDD_ISSUE = "tdd_issue"
TDD_EXPECTED_FAIL = "tdd_expected_fail"
XFAIL = "xfail"
#: How a lenient (``strict=False``) xpass message starts; its status stays PASSED.
WARNING_PREFIX = "warning: "

_ISSUE_RE = re.compile(r"tdd_issue_(\d+)")
_TRAILING_NUMBER_RE = re.compile(r"(\d+)$")
_LOCATION_SUFFIX_RE = re.compile(r"(.+\.feature)(?::\d+)+")
_VALID_FORMS = ("@tdd_issue", "@tdd_issue_<N>", "@tdd_expected_fail")


# -- tag helpers ----------------------------------------------------------------------------


def issue_number(tags: Iterable[str]) -> int | None:
    """The issue a scenario is tagged for (``@tdd_issue_<N>``); the lowest if several."""
    numbers = [int(m.group(1)) for tag in tags if (m := _ISSUE_RE.fullmatch(tag))]
    return min(numbers) if numbers else None


def expects_failure(tags: Iterable[str]) -> bool:
    """Whether the scenario is expected to fail: ``@tdd_expected_fail`` or behave's ``@xfail``."""
    return any(tag in (TDD_EXPECTED_FAIL, XFAIL) for tag in tags)


# -- validation -----------------------------------------------------------------------------


def _did_you_mean(tag: str) -> str:
    """A hint for a ``tdd_*`` tag that is none of the valid forms (difflib's closest one)."""
    lower = tag.lower()
    if lower in (TDD_ISSUE, TDD_EXPECTED_FAIL) or _ISSUE_RE.fullmatch(lower):
        return f"did you mean @{lower}? (tags are case-sensitive)"
    if lower.startswith("tdd_issue_"):
        digits = re.sub(r"\D", "", lower)
        if digits:
            return f"did you mean @tdd_issue_{int(digits)}?"
        return "did you mean @tdd_issue_<N> with the issue number in digits, or @tdd_issue?"
    number = _TRAILING_NUMBER_RE.search(lower)
    issue_form = f"tdd_issue_{int(number.group(1))}" if number else "tdd_issue_<N>"
    close = difflib.get_close_matches(lower, [TDD_ISSUE, issue_form, TDD_EXPECTED_FAIL], n=1)
    if not close:
        return f"valid TDD tags are {', '.join(_VALID_FORMS)}"
    return f"did you mean @{close[0]}?"


def _tag_problems(tags: Sequence[str], memray_ok: _Lazy) -> Iterator[str]:
    """Every problem of one scenario's effective tags (``tags`` sorted, for a stable order)."""
    has_issue = TDD_ISSUE in tags
    issue_tags = [tag for tag in tags if _ISSUE_RE.fullmatch(tag)]
    for tag in tags:
        lower = tag.lower()
        if lower.startswith("tdd_"):
            if tag in (TDD_ISSUE, TDD_EXPECTED_FAIL):
                continue
            if tag in issue_tags:
                if not has_issue:
                    yield f"@{tag} needs @{TDD_ISSUE} as well (@{TDD_ISSUE} @{tag})"
                continue
            yield f"unknown TDD tag @{tag}: {_did_you_mean(tag)}"
        else:
            yield from _budget_problems(tag, memray_ok)
    if TDD_EXPECTED_FAIL in tags:
        missing = [f"@{TDD_ISSUE}"] if not has_issue else []
        missing += ["@tdd_issue_<N>"] if not issue_tags else []
        if missing:
            yield (
                f"@{TDD_EXPECTED_FAIL} needs @{TDD_ISSUE} and @tdd_issue_<N> (the issue the "
                f"scenario reproduces); missing: {', '.join(missing)}"
            )


#: A tag that ends in a size (``memory_buget_64MiB``, ``memory_budget64MiB``): maybe a budget.
_SIZED_TAG_RE = re.compile(r"(?P<head>.*?)_?(?P<size>\d+[A-Za-z]*)")
_BUDGET_HEADS = ("memory_budget", "memory_budget_heap", "memory_budget_rss")
#: How close a tag's head must be to a budget form to be taken for a misspelled budget.
_BUDGET_CUTOFF = 0.85


def _budget_suggestion(tag: str) -> str | None:
    """The valid budget tag ``tag`` was probably meant to be (difflib), or None."""
    sized = _SIZED_TAG_RE.fullmatch(tag)
    if sized is None:
        return None
    try:
        parse_size(sized["size"])
    except ValueError:
        return None
    close = difflib.get_close_matches(
        sized["head"].lower(), _BUDGET_HEADS, n=1, cutoff=_BUDGET_CUTOFF
    )
    suggestion = f"{close[0]}_{sized['size']}" if close else None
    return suggestion if suggestion != tag else None


def _budget_problems(tag: str, memray_ok: _Lazy) -> Iterator[str]:
    """Problems of a tag that is, or looks like, a memory budget (nothing for other tags)."""
    match = BUDGET_TAG_RE.fullmatch(tag)
    size_error = ""
    if match is not None:
        try:
            parse_size(match["size"])
        except ValueError as error:
            size_error = f"{match['size']!r}: {error}"
        else:
            if not memray_ok():
                yield f"@{tag} needs memray: {MEMRAY_EXTRA}"
            return
    suggestion = _budget_suggestion(tag)
    if suggestion is not None:
        case = " (tags are case-sensitive)" if suggestion.lower() == tag.lower() else ""
        yield f"unknown memory budget tag @{tag}: did you mean @{suggestion}?{case}"
    elif size_error:
        yield f"invalid memory budget tag @{tag}: {size_error}"
    elif tag.lower().startswith("memory_budget"):
        forms = ", ".join(BUDGET_FORMS[:-1]) + f" or {BUDGET_FORMS[-1]}"
        yield f"malformed memory budget tag @{tag}: expected {forms}, e.g. @memory_budget_64MiB"


class _Lazy:
    """Imports memray at most once, and only when a budget tag needs it (it takes ~50 ms)."""

    def __init__(self, known: bool | None) -> None:
        self._value = known

    def __call__(self) -> bool:
        if self._value is None:
            self._value = memory.memray_available()
        return self._value


def validate_tags(
    scenarios: Iterable[ScenarioInfo], memray_available: bool | None = None
) -> list[str]:
    """Every tag problem as ``path:line: message``, in scenario order, once per scenario.

    ``path:line`` is the scenario's own location (an outline row's line for an outline row),
    so an inherited bad tag is reported at every scenario it reaches. ``memray_available``
    ``None`` means: find out by importing memray, if a budget tag is present.
    """
    memray_ok = _Lazy(memray_available)
    problems: list[str] = []
    for scenario in scenarios:
        tags = sorted(set(scenario.tags))
        problems.extend(f"{scenario.location}: {p}" for p in _tag_problems(tags, memray_ok))
    return problems


def _relative(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def feature_files(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ``.feature`` files under ``paths`` (sorted as behave walks them) and path problems.

    A directory is walked like behave does (following links, but each real directory once);
    ``file.feature:LINE`` is accepted and means the whole file; a file is listed once.
    """
    files: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(_relative(path))

    for path in paths:
        if os.path.isdir(path):
            visited: set[str] = set()
            for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
                real = os.path.realpath(dirpath)
                if real in visited:  # a symlink loop: behave would walk it forever
                    dirnames[:] = []
                    continue
                visited.add(real)
                dirnames.sort()
                for name in sorted(filenames):
                    if name.endswith(".feature"):
                        add(os.path.join(dirpath, name))
            continue
        located = _LOCATION_SUFFIX_RE.fullmatch(path)
        if located and not os.path.exists(path):
            path = located.group(1)  # noqa: PLW2901 - "file.feature:12" names the file
        if not os.path.exists(path):
            problems.append(f"{path}:0: no such file or directory")
        elif not path.endswith(".feature"):
            problems.append(f"{path}:0: not a feature file (the name must end in .feature)")
        else:
            add(path)
    return files, problems


def scenario_tags(container: Any) -> Iterator[tuple[int, str, set[str]]]:
    """(line, name, effective tags) of every scenario and outline row, as behave walks them.

    The same as ``[(s.line, s.name, s.effective_tags) for s in feature.walk_scenarios()]``,
    without building the rows of an outline whose tags have no ``<placeholder>``: behave
    deep-copies every step of every row, which is most of the time on a large suite. A row
    then has behave's own :meth:`make_row_tags` of the outline's and its Examples' tags plus
    everything the outline inherits (its name is the outline's, unrendered); an outline with
    a parametrized tag is built by behave itself.
    """
    from behave.model import Rule, ScenarioOutline, ScenarioOutlineBuilder  # noqa: PLC0415

    for item in container.run_items:
        if isinstance(item, Rule):
            yield from scenario_tags(item)
        elif not isinstance(item, ScenarioOutline):
            yield item.line, item.name, set(item.effective_tags)
        elif any(
            ScenarioOutlineBuilder.is_parametrized_tag(tag)
            for examples in item.examples
            for tag in [*item.tags, *examples.tags]
        ):
            for scenario in item.scenarios:
                yield scenario.line, scenario.name, set(scenario.effective_tags)
        else:
            inherited = set(item.effective_tags)
            for examples in item.examples:
                if examples.table is None:  # behave builds no scenario for it either
                    continue
                template = [*item.tags, *examples.tags]
                tags = inherited | set(ScenarioOutlineBuilder.make_row_tags(template, None))
                for row in examples.table:
                    yield row.line, item.name, tags


def _parse_scenarios(paths: Sequence[str]) -> tuple[list[ScenarioInfo], list[str], int]:
    """Scenarios of the feature files under ``paths`` with behave's parser, parse problems."""
    from behave.parser import parse_file  # noqa: PLC0415 - keep `import tdd` cheap

    files, problems = feature_files(paths)
    scenarios: list[ScenarioInfo] = []
    for path in files:
        try:
            feature = parse_file(path)
            walked = scenario_tags(feature) if feature is not None else iter(())
            scenarios.extend(
                ScenarioInfo(
                    location=f"{path}:{line}",
                    name=name,
                    tags=tuple(str(tag) for tag in tags),
                    selected=True,
                )
                for line, name, tags in walked
            )
        except Exception as error:  # a validator reports, it does not crash
            problems.append(parse_problem(path, error))
    return scenarios, problems, len(files)


def validate_paths(paths: Sequence[str]) -> list[str]:
    """Tag and parse problems of the feature files under ``paths``.

    Only behave's parser runs: no step module, no ``environment.py``, no configuration file
    is imported or read, so this is safe and fast in a pre-commit hook.
    """
    scenarios, problems, _ = _parse_scenarios(paths)
    return problems + validate_tags(scenarios)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def validate_tags_main(argv: list[str]) -> int:
    """``behave-bounded validate-tags [PATHS...]``: 0 when clean, 2 when there are problems."""
    parser = argparse.ArgumentParser(
        prog="behave-bounded validate-tags",
        description=(
            "Check the TDD tags (@tdd_issue, @tdd_issue_<N>, @tdd_expected_fail) and memory "
            "budget tags (@memory_budget_<SIZE>, @memory_budget_heap_<SIZE>, "
            "@memory_budget_rss_<SIZE>) of feature files, with behave's parser only."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="feature files or directories")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a bad option (2): a return code, not a raise
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    scenarios, problems, file_count = _parse_scenarios(args.paths or ["features"])
    problems += validate_tags(scenarios)
    counts = f"{_count(file_count, 'feature file')}, {_count(len(scenarios), 'scenario')}"
    if not problems:
        print(f"validate-tags: {counts}, no problems")
        return EXIT_OK
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"validate-tags: {counts}, {_count(len(problems), 'problem')}", file=sys.stderr)
    return EXIT_USAGE


# -- result inversion -----------------------------------------------------------------------


def _expectation(tags: Sequence[str]) -> tuple[str, str]:
    """(``"issue #N: "`` or ``""``, ``"@tdd_expected_fail"`` / ``"@xfail"`` / both)."""
    number = issue_number(tags)
    prefix = f"issue #{number}: " if number is not None else ""
    names = [f"@{tag}" for tag in (TDD_EXPECTED_FAIL, XFAIL) if tag in tags]
    return prefix, " and ".join(names)


def xpass_message(tags: Sequence[str]) -> str:
    """Why an expected failure that passed fails the run (strict) or warns (lenient)."""
    prefix, names = _expectation(tags)
    tag_word = "tags" if " and " in names else "tag"
    return (
        f"{prefix}scenario passed but is tagged {names}: the bug appears fixed; "
        f"remove the {tag_word}"
    )


def is_lenient_xpass(result: ScenarioResult) -> bool:
    """A PASSED result that :func:`classify` (``strict=False``) turned into a warning."""
    return (
        result.status is Status.PASSED
        and expects_failure(result.tags)
        and result.message == WARNING_PREFIX + xpass_message(result.tags)
    )


def classify(result: ScenarioResult, strict: bool = True) -> ScenarioResult:
    """Invert the result of a scenario that is expected to fail; others are unchanged.

    FAILED by ``AssertionError`` -> XFAILED; PASSED -> XPASSED (``strict=False``: PASSED with
    a ``"warning: "`` message); UNDEFINED or FAILED by any other exception -> ERRORED with a
    message that says why it was not inverted; ERRORED, SKIPPED, XFAILED, XPASSED and a
    lenient xpass stay as they are, so applying it twice changes nothing.
    """
    tags = result.tags
    if not expects_failure(tags) or is_lenient_xpass(result):
        return result
    prefix, names = _expectation(tags)
    status = result.status
    if status is Status.FAILED and result.error_type == "AssertionError":
        message = f"{prefix}expected failure: {result.message}" if prefix else result.message
        return replace(result, status=Status.XFAILED, message=clip(message))
    if status is Status.PASSED:
        if strict:
            return replace(result, status=Status.XPASSED, message=xpass_message(tags))
        return replace(result, message=WARNING_PREFIX + xpass_message(tags))
    if status in (Status.FAILED, Status.UNDEFINED):
        if status is Status.UNDEFINED:
            reason = "has undefined steps"
        else:
            reason = f"failed with {result.error_type or 'an unknown exception'}"
        message = (
            f"{prefix}tagged {names} but {reason}; only an AssertionError is an expected failure"
        )
        if result.message:
            message += "\n" + result.message
        return replace(result, status=Status.ERRORED, message=clip(message))
    return result  # ERRORED (its message says why), SKIPPED, XFAILED, XPASSED
