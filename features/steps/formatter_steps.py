"""Steps that run one suite under plain behave and under the runner and compare what they wrote.

Each run gets its own copy of the suite (``plain/`` and ``ours/`` under the suite directory),
so both write the same relative paths; files are compared after normalising what differs
between any two runs of plain behave too: durations, timestamps, the host name, random ids.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from behave import given, then, when
from runner_steps import RUN_TIMEOUT, runner_env
from suite_support import kill_leftovers, read_bounded, suite_dir, write

MODEL_STEPS = '''
import os
import signal
from behave import given, when, then, step
from behave.api.pending_step import StepNotImplementedError


@step("it passes")
def passes(context):
    """A step that passes.

    It prints a line.
    """
    print("passing output ü")


@step("it fails")
def fails(context):
    print("failing output")
    assert 1 == 2, "one is not two"


@step("it raises {name}")
def raises(context, name):
    raise {"ValueError": ValueError, "KeyError": KeyError}[name]("boom")


@step("it is pending")
def pending(context):
    raise StepNotImplementedError("later")


@step("it skips the scenario")
def skip(context):
    context.scenario.skip("not today")


@given("a number {n:d}")
def number(context, n):
    context.n = n


@when('the text is "{text}"')
def text_is(context, text):
    assert isinstance(text, str)


@then("the doc string says hello")
def doc(context):
    assert "héllo" in context.text


@step("it attaches a picture")
def attach(context):
    context.attach("image/png", b"\\x89PNG not really")


@then("nothing uses me")
def unused(context):
    pass


@step("the worker is killed")
def killed(context):
    if os.environ.get("BB_KILL_WORKER"):
        os.kill(os.getpid(), signal.SIGKILL)
'''

MODEL_ENVIRONMENT = """
def before_rule(context, rule):
    if "own_background" in rule.tags:  # what behave's fixture.behave.override_background does
        rule.background.use_inheritance = False


def before_scenario(context, scenario):
    if "hook_error" in scenario.tags:
        raise RuntimeError("before_scenario broke")
    if "no_background" in scenario.tags:  # behave's fixture.behave.no_background
        scenario.use_background = False


def after_scenario(context, scenario):
    if "after_error" in scenario.tags:
        raise KeyError("after_scenario broke")
"""

MODEL_FEATURES = {
    "one.feature": '''
@smoke @ünïcode
Feature: Ein Feature mit Umlauten
  Some description
  over two lines.

  Background: setup
    Given it passes

  Scenario: passes
    Given a number 3
    When the text is "abc"
    Then it passes

  @slow
  Scenario: fails
    Given it fails
    Then it passes

  Scenario: raises
    Given it raises ValueError

  Scenario: pending
    Given it is pending
    Then it passes

  Scenario: undefined
    Given nobody wrote this
    And nobody wrote that either

  Scenario: skipped by a step
    Given it skips the scenario
    Then it passes

  Scenario: doc string and table
    Given a number 1
      | name | value |
      | ä    | 1     |
    Then the doc string says hello
      """
      héllo wörld
      """

  @tag1
  Scenario Outline: outline <n> with <word>
    Given a number <n>
    When the text is "<word>"

    @ex1
    Examples: first
      | n | word |
      | 1 | one  |
      | 2 | two  |

    Examples: second
      | n | word  |
      | 3 | three |

  @hook_error
  Scenario: hook error
    Given it passes

  @after_error
  Scenario: after hook error
    Given it passes

  Scenario: attaches
    Given it attaches a picture
''',
    "two.feature": """
Feature: Rules
  Rule: first rule
    Background: rule background
      Given a number 7

    Scenario: in rule passes
      Given it passes

    Scenario: in rule fails
      Given it fails

  Rule: second rule
    Scenario: also passes
      Given it passes
""",
    "zero.feature": """
Feature: Backgrounds that hooks turn off
  Background: feature background
    Given a number 1

  @no_background
  Scenario: a scenario without the feature's background
    Given it passes

  Scenario: a scenario with it
    Given it passes

  @own_background
  Rule: a rule that does not inherit the feature's background
    Background: its own background
      Given a number 2

    Scenario: only the rule's background
      Given it passes

    Scenario: only the rule's background, failing
      Given it fails

  Rule: a rule that inherits it
    Background: another background
      Given a number 3

    Scenario: both backgrounds
      Given it passes

    @no_background
    Scenario: no background at all
      Given it fails
""",
    "three.feature": """
@wip
Feature: Only skipped under tags
  Scenario: never selected with not @wip
    Given it passes
""",
}

_NORMALISE = (
    (re.compile(r'"duration": [0-9.e+-]+'), '"duration": X'),
    (re.compile(r"\b\d+\.\d+(e-?\d+)?s\b"), "Xs"),
    (re.compile(r'\btime="[0-9.e+-]+"'), 'time="X"'),
    (re.compile(r'\btimestamp="[^"]*"'), 'timestamp="X"'),
    (re.compile(r'\bhostname="[^"]*"'), 'hostname="X"'),
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?"), "DATETIME"),
    (re.compile(r"\b\d\d:\d\d:\d\d\b"), "TIME"),
    (re.compile(r"Duration: [0-9.]+"), "Duration: X"),
    (re.compile(r"\b(embed_button_|embed_|toggle_hash\(')[0-9a-f]{8}"), r"\1ID"),
)


def normalised(text: str) -> str:
    """``text`` without what differs between two runs of plain behave as well."""
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return text


def runs_dir(context, which: str) -> Path:
    return suite_dir(context) / which


@given("a suite that uses every part of behave's model")
def model_suite(context):
    write(context, "features/steps/model_steps.py", MODEL_STEPS)
    write(context, "features/environment.py", MODEL_ENVIRONMENT)
    for name, text in MODEL_FEATURES.items():
        write(context, f"features/{name}", text)


@given('a feature file "{name}" whose third scenario kills its worker')
def killing_feature(context, name):
    write(
        context,
        f"features/{name}",
        """
        Feature: crashes
          Scenario: first passes
            Given it passes
          Scenario: second fails
            Given it fails
          Scenario: third kills its worker
            Given it passes
            When the worker is killed
          Scenario: fourth never starts
            Given it passes
        """,
    )


def _run(context, which: str, command: list[str], env: dict[str, str]) -> None:
    """Run ``command`` in a fresh copy of the suite: ``<suite>/<which>``."""
    suite = suite_dir(context)
    where = runs_dir(context, which)
    if not where.exists():  # the first run copies the suite; later runs find what it left
        where.mkdir()
        for entry in suite.iterdir():
            if entry.name in ("plain", "ours"):
                continue
            target = where / entry.name
            if entry.is_dir():
                shutil.copytree(entry, target)
            else:
                shutil.copy2(entry, target)
    out, err = where / ".stdout", where / ".stderr"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.run(
            command,
            cwd=where,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    context.add_cleanup(kill_leftovers, context)
    context.runs = getattr(context, "runs", {})
    context.runs[which] = (process.returncode, read_bounded(out), read_bounded(err))


def run_plain(context, args: str) -> None:
    _run(
        context, "plain", [sys.executable, "-m", "behave", *shlex.split(args)], runner_env(context)
    )


def run_ours(context, args: str, env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "behave_bounded", "-j", "2", *shlex.split(args)]
    _run(context, "ours", command, runner_env(context, env))


@when('I run plain behave and the runner with "{args}"')
def run_both(context, args):
    run_plain(context, args)
    run_ours(context, args)


@when("I run plain behave and the runner without arguments")
def run_both_bare(context):
    run_plain(context, "")
    run_ours(context, "")


@when('I run plain behave with "{plain}" and the runner with "{ours}"')
def run_both_differently(context, plain, ours):
    run_plain(context, plain)
    run_ours(context, ours)


@when('I run the runner with "{args}" while a step kills its worker')
def run_ours_killing(context, args):
    run_ours(context, args, {"BB_KILL_WORKER": "1"})


@then("both runs exit with the same code")
def same_exit_code(context):
    plain, ours = context.runs["plain"][0], context.runs["ours"][0]
    assert plain in (0, 1), f"plain behave could not run ({plain}):\n{context.runs['plain'][2]}"
    assert plain == ours, f"plain behave {plain}, the runner {ours}:\n{context.runs['ours'][2]}"


def _text_of(context, which: str, path: str) -> str:
    file = runs_dir(context, which) / path
    assert file.is_file(), (
        f"{which}: {path} was not written: {sorted(runs_dir(context, which).rglob('*'))[:40]}"
    )
    return file.read_text(encoding="utf-8")


def assert_same_text(plain: str, ours: str, what: str) -> None:
    if normalised(plain) == normalised(ours):
        return
    import difflib  # noqa: PLC0415

    diff = "".join(
        list(
            difflib.unified_diff(
                normalised(plain).splitlines(True),
                normalised(ours).splitlines(True),
                "plain",
                "ours",
            )
        )[:60]
    )
    raise AssertionError(f"{what} differs:\n{diff}")


@then('"{path}" is the same in both runs')
def same_file(context, path):
    plain, ours = _text_of(context, "plain", path), _text_of(context, "ours", path)
    assert plain.strip(), f"{path} is empty under plain behave"
    assert_same_text(plain, ours, path)


@then('the directory "{path}" holds the same files in both runs')
def same_directory(context, path):
    plain_dir, ours_dir = runs_dir(context, "plain") / path, runs_dir(context, "ours") / path
    plain = sorted(p.relative_to(plain_dir) for p in plain_dir.rglob("*") if p.is_file())
    ours = sorted(p.relative_to(ours_dir) for p in ours_dir.rglob("*") if p.is_file())
    assert plain, f"plain behave wrote nothing into {path}"
    assert plain == ours, f"plain behave: {plain}\nthe runner: {ours}"
    for relative in plain:
        assert_same_text(
            (plain_dir / relative).read_text(encoding="utf-8"),
            (ours_dir / relative).read_text(encoding="utf-8"),
            str(Path(path) / relative),
        )


#: What plain behave's main prints before it runs anything (not a formatter's output).
USING_RUNNER = re.compile(r"^USING RUNNER: [^\n]*\n", re.MULTILINE)


@then("the runner's stdout before its summary is plain behave's stdout")
def same_stdout(context):
    plain = USING_RUNNER.sub("", context.runs["plain"][1], count=1)
    ours = context.runs["ours"][1]
    banner = "\n" + "=" * 25 + " behave-bounded summary "
    assert banner in ours, ours[-2000:]
    assert plain.strip(), "plain behave printed nothing"
    assert_same_text(plain, ours.split(banner, 1)[0], "stdout")


SNIPPETS = "\nYou can implement step definitions for undefined steps with these snippets:"


@then("the runner's stderr ends with the snippets plain behave printed")
def same_snippets(context):
    plain = context.runs["plain"][2]
    ours = context.runs["ours"][2]
    assert SNIPPETS in plain, plain[-2000:]
    snippets = plain[plain.index(SNIPPETS) :]
    assert "@given(u'nobody wrote this')" in snippets, snippets
    assert ours.endswith(snippets), f"plain:\n{snippets}\nours:\n{ours[-3000:]}"


def _scenario_statuses(data) -> dict[str, str]:
    return {
        element["location"]: element["status"]
        for feature in data
        for element in feature.get("elements", [])
        if element.get("type") == "scenario"
    }


@then('the JSON formatter\'s "{path}" of the rerun has the same scenarios in both runs')
def same_rerun_selection(context, path):
    plain = json.loads(_text_of(context, "plain", path))
    ours = json.loads(_text_of(context, "ours", path))
    ran = {k: v for k, v in _scenario_statuses(plain).items() if v != "skipped"}
    assert ran, "the rerun ran nothing"
    assert ran == {k: v for k, v in _scenario_statuses(ours).items() if v != "skipped"}


def _allure(directory: Path) -> list[tuple]:
    results = []
    for file in directory.glob("*-result.json"):
        data = json.loads(file.read_text(encoding="utf-8"))
        attachments = [a["name"] for a in data.get("attachments", [])]
        for step in data.get("steps", []):
            attachments += [a["name"] for a in step.get("attachments", [])]
        results.append((data["name"], data["status"], tuple(sorted(attachments))))
    return sorted(results)


@then(
    'the allure results in "{path}" name the same scenarios with the same status and '
    "attachments in both runs"
)
def same_allure(context, path):
    plain = _allure(runs_dir(context, "plain") / path)
    ours = _allure(runs_dir(context, "ours") / path)
    assert len(plain) >= 10, plain
    assert any(attachments for _, _, attachments in plain), plain
    assert plain == ours, f"plain behave: {plain}\nthe runner: {ours}"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ("br", "meta", "link", "img", "input", "hr"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open and self.open.pop() != tag:
                pass

    def handle_data(self, data):
        self.text.append(data)


@then('"{path}" parses as HTML, names every scenario of the suite and is the same in both runs')
def same_html(context, path):
    ours = _text_of(context, "ours", path)
    parser = _Text()
    parser.feed(ours)
    parser.close()
    text = " ".join(parser.text)
    for scenario in ("passes", "fails", "raises", "hook error", "in rule fails", "attaches"):
        assert scenario in text, scenario
    assert_same_text(_text_of(context, "plain", path), ours, path)


@then(
    "the runner's JSON formatter file, behave's JUnit file and --json agree on every scenario "
    'of "{feature}"'
)
def crash_agreement(context, feature):
    formatter = json.loads(_text_of(context, "ours", "formatter.json"))
    by_formatter = {
        element["name"]: element["status"]
        for entry in formatter
        if entry["location"].startswith(f"features/{feature}")
        for element in entry.get("elements", [])
        if element.get("type") == "scenario"
    }
    junit_file = (
        runs_dir(context, "ours") / "reports" / f"TESTS-{feature.removesuffix('.feature')}.xml"
    )
    junit = junit_file.read_text(encoding="utf-8")
    by_junit = dict(
        (name, status)
        for name, status in re.findall(r'<testcase [^>]*name="([^"]*)" status="([^"]*)"', junit)
    )
    ours = json.loads(_text_of(context, "ours", "run.json"))
    by_ours = {
        s["name"]: s["status"] for s in ours["scenarios"] if s["feature"] == f"features/{feature}"
    }
    expected_behave = {
        "first passes": "passed",
        "second fails": "failed",
        "third kills its worker": "error",
        "fourth never starts": "skipped",
    }
    expected_ours = {**expected_behave, "third kills its worker": "errored"}
    assert by_formatter == expected_behave, by_formatter
    assert by_junit == expected_behave, by_junit
    assert by_ours == expected_ours, by_ours
    message = next(s["message"] for s in ours["scenarios"] if s["name"] == "third kills its worker")
    assert "worker exited by signal 9 (SIGKILL)" in message, message
    assert "worker exited by signal 9 (SIGKILL)" in junit, junit[-2000:]


@then("the runner's stdout holds the usage of every step definition")
def usage_on_stdout(context):
    stdout = context.runs["ours"][1]
    assert "@step('it passes')" in stdout, stdout[-3000:]
    assert "UNUSED STEP DEFINITIONS[2]" in stdout, stdout[-3000:]
    assert "UNDEFINED STEPS[2]" in stdout, stdout[-3000:]


@then('neither run wrote "{path}"')
def written_by_neither(context, path):
    for which in ("plain", "ours"):
        assert not (runs_dir(context, which) / path).exists(), f"{which} wrote {path}"


@given('a feature file "{name}" whose {count:d} failing scenarios each print {kib:d} KiB')
def loud_feature(context, name, count, kib):
    scenarios = "".join(
        f"  Scenario: loud {number}\n    Given it prints {kib} KiB and fails\n"
        for number in range(count)
    )
    write(context, f"features/{name}", "Feature: loud\n" + scenarios)
    write(
        context,
        "features/steps/loud_steps.py",
        """
        from behave import step

        @step("it prints {kib:d} KiB and fails")
        def loud(context, kib):
            for number in range(kib * 16):
                print(f"{number:06d} " + "x" * 56)
            assert False, "failed after printing"
        """,
    )


@when('I run the runner with "{args}" in its copy of the suite')
def run_ours_alone(context, args):
    run_ours(context, args)


@then(
    'the runner\'s "{path}" shows the {count:d} failing scenarios in under {kib:d} KiB, saying '
    "how many characters were not recorded"
)
def bounded_record(context, path, count, kib):
    text = _text_of(context, "ours", path)
    assert len(text.encode()) < kib * 1024, len(text.encode())
    for number in range(count):
        assert f"Scenario: loud {number}" in text, text[:2000]
    cuts = re.findall(r"\[behave-bounded: (\d+) characters not recorded\]", text)
    assert cuts and sum(map(int, cuts)) > 0, text[-2000:]
