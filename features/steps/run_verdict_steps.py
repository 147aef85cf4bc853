"""Steps for the verdict of a run that failed outside its scenarios, in every report."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from behave import then
from suite_support import suite_dir

from behave_bounded.reports.verdict import run_failure, verdict_line
from behave_bounded.results import RunResult


def _json_run(context, name: str) -> dict:
    return json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))["run"]


def _junit_run_properties(context, name: str) -> dict[str, str]:
    root = ET.parse(suite_dir(context) / name).getroot()  # noqa: S314 - our own report
    run = next(s for s in root.iter("testsuite") if s.get("name") == "behave-bounded run")
    return {p.get("name"): p.get("value") for p in run.iter("property")}


def _last_line(context) -> str:
    lines = context.stdout.rstrip("\n").splitlines()
    assert lines, context.stderr[-2000:]
    return lines[-1]


@then(
    'the JSON report "{json_name}" and the JUnit report "{xml_name}" have the verdict "{verdict}"'
)
def both_verdicts(context, json_name, xml_name, verdict):
    assert _json_run(context, json_name)["verdict"] == verdict
    assert _junit_run_properties(context, xml_name)["verdict"] == verdict


@then('the JSON report "{name}" says the run failed because "{failure}"')
def json_failure(context, name, failure):
    assert _json_run(context, name)["failure"] == failure


@then('the last line starts with "{prefix}"')
def last_line_starts(context, prefix):
    assert _last_line(context).startswith(prefix), _last_line(context)


@then('the JSON report "{name}" has the runner\'s last line as its verdict')
def json_verdict_is_last_line(context, name):
    assert _json_run(context, name)["verdict"] == _last_line(context)


@then('the JUnit report "{name}" has the properties partial "{partial}" and reason "{reason}"')
def junit_partial(context, name, partial, reason):
    properties = _junit_run_properties(context, name)
    assert (properties["partial"], properties["reason"]) == (partial, reason), properties


@then("the summary is shorter than {limit:d} characters")
def summary_short(context, limit):
    summary = context.stdout.split("behave-bounded summary", 1)[1]
    assert len(summary) < limit, len(summary)


@then('the JSON report "{name}" says why it is partial in one line: "{prefix}"')
def json_reason_one_line(context, name, prefix):
    run = _json_run(context, name)
    assert run["partial"] is True, run
    assert run["reason"].startswith(prefix) and "\n" not in run["reason"], run["reason"]
    for item in json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))["not_run"]:
        assert "\n" not in item["reason"], item


def _cell(text: str) -> list[str]:
    """A table cell: values separated by " | " (escaped in the table), "\\n" for newlines."""
    return [part.replace("\\n", "\n") for part in text.split(" | ") if part]


@then("a run that failed like this has the verdict reason:")
def verdict_reasons(context):
    for row in context.table:
        run = RunResult(
            interrupted_by=int(row["interrupted by"] or 0),
            setup_error=row["setup error"].replace("\\n", "\n"),
            lost=bool(row["lost by"]),
            stopped_early=row["lost by"],
            teardown_errors=_cell(row["teardown errors"]),
            report_errors=_cell(row["report errors"]),
        )
        assert run_failure(run) == row["reason"], (row.cells, run_failure(run))
        expected = "scenarios: 1 passed, 0 failed, 0 skipped"
        if row["reason"]:
            expected += f"; run failed: {row['reason']}"
        assert verdict_line({"passed": 1}, run_failure(run)) == expected


@then('a reason longer than {limit:d} characters is cut to that length, ending with "..."')
def long_reason(context, limit):
    reason = run_failure(RunResult(report_errors=["cannot write " + "x" * 500]))
    assert len(reason) == limit and reason.endswith("..."), reason
