"""Steps that run the pipelines of ``ci/`` on a generated suite (see ``ci_emulators``)."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml
from behave import given, then, when
from ci_emulators import (
    GitHubActions,
    GitLabCI,
    behave_bounded_lines,
    run_shell,
    shell_env,
)
from suite_support import kill_leftovers, suite_dir, write

REPOSITORY = Path(__file__).resolve().parents[2]
#: The failing feature prints this much; the console of its shard must stay far below it.
LOUD_BYTES = 2**20
CONSOLE_BOUND = 64 * 2**10

SUITE_STEPS = """
import sys
from behave import step

@step("it passes")
def passes(context):
    print("passing")

@step("it prints {count:d} bytes and fails")
def loud(context, count):
    line = "x" * 99 + "\\n"
    for _ in range(count // 100):
        sys.stdout.write(line)
    assert False, "the loud feature failed"
"""


@given("a suite for the CI files: {count:d} features, one of which fails and prints 1 MiB")
def ci_suite(context, count):
    write(context, "features/steps/steps.py", SUITE_STEPS)
    for number in range(count - 1):
        write(
            context,
            f"features/f_{number:02d}.feature",
            f"""
            Feature: f {number}
              Scenario: first of {number}
                Given it passes

              Scenario: second of {number}
                Given it passes
            """,
        )
    write(
        context,
        "features/loud.feature",
        f"""
        Feature: loud
          Scenario: passes first
            Given it passes

          Scenario: prints and fails
            Given it prints {LOUD_BYTES} bytes and fails
        """,
    )
    context.add_cleanup(kill_leftovers, context)
    context.ci_full = _full_run(context)


def _full_run(context) -> dict:
    """The suite run once, unsharded: what the pipelines together must report."""
    with tempfile.TemporaryDirectory(prefix="bb-full-") as holder:
        workspace = Path(holder) / "suite"
        subprocess.run(["cp", "-a", str(suite_dir(context)), str(workspace)], check=True)
        env = shell_env(context.marker, {})
        done = run_shell("behave-bounded --json full.json features/", workspace, env)
        assert done.exit_code == 1, done.stdout[-2000:] + done.stderr[-2000:]
        report = json.loads((workspace / "full.json").read_text(encoding="utf-8"))
    report["verdict_line"] = done.stdout.rstrip("\n").splitlines()[-1]
    return report


def _root(context) -> Path:
    holder = tempfile.TemporaryDirectory(prefix="bb-ci-")
    context.add_cleanup(holder.cleanup)
    return Path(holder.name)


@then('the CI file "{name}" parses as YAML')
def parses_as_yaml(context, name):
    document = yaml.safe_load((REPOSITORY / name).read_text(encoding="utf-8"))
    assert isinstance(document, dict) and document, f"{name}: {document!r}"


@when('the GitHub Actions workflow "{name}" runs on the suite')
def github_runs(context, name):
    if not hasattr(context, "ci_pipeline"):
        context.ci_pipeline = GitHubActions(
            REPOSITORY / name, suite_dir(context), _root(context), context.marker
        )
    context.ci_pipeline.run()


@when('the GitLab CI pipeline "{name}" runs on the suite')
def gitlab_runs(context, name):
    if not hasattr(context, "ci_pipeline"):
        context.ci_pipeline = GitLabCI(
            REPOSITORY / name, suite_dir(context), _root(context), context.marker
        )
    context.ci_pipeline.run()


@when("the pipeline runs again")
def pipeline_again(context):
    context.ci_pipeline.run()


def _executed(pipeline) -> list[str]:
    return [line for job in pipeline.jobs for c in job.commands for line in c.script.splitlines()]


@then("every behave-bounded command of the file ran")
def every_command_ran(context):
    pipeline = context.ci_pipeline
    written = behave_bounded_lines(pipeline.document)
    assert written, "no behave-bounded command in the file"
    executed = [line.strip() for line in _executed(pipeline)]
    for line in written:
        # GitHub substitutes ${{ ... }} before the shell runs: any value stands for one.
        pattern = ".+?".join(map(re.escape, re.split(r"\$\{\{.*?\}\}", line)))
        assert any(re.fullmatch(pattern, done) for done in executed), f"never ran: {line}"


@then('the job "{name}" ran {count:d} times, each with shard K of {total:d} for K = 1 to {last:d}')
def job_ran(context, name, count, total, last):
    jobs = context.ci_pipeline.instances(name)
    assert len(jobs) == count, [job.variables for job in jobs]
    shards = []
    for job in jobs:
        first = job.commands[0].stdout.splitlines()[0]
        match = re.fullmatch(r"shard (\d+)/(\d+) \((.+)\): \d+ of \d+ feature file\(s\)", first)
        assert match, f"first line {first!r}"
        assert int(match.group(2)) == total, first
        shards.append(int(match.group(1)))
        job.shard_origin = match.group(3)
    assert sorted(shards) == list(range(1, last + 1)), shards


@then('each job "{name}" said its shard came from "{template}"')
def shard_origin(context, name, template):
    for job in context.ci_pipeline.instances(name):
        names = {re.sub(r"[.-]", "_", key): value for key, value in job.variables.items()}
        expected = template.format(**names)
        assert job.shard_origin == expected, (job.shard_origin, expected)


def _artifact_files(jobs, pattern: str) -> list[Path]:
    return sorted(
        path for job in jobs for root in job.artifacts.values() for path in root.glob(pattern)
    )


def _locations(report: dict) -> list[str]:
    return sorted(s["location"] for s in report["scenarios"])


@then(
    'the JSON reports "{pattern}" in the artifacts of the job "{name}" hold every scenario of '
    "the suite exactly once"
)
def shards_partition(context, pattern, name):
    jobs = context.ci_pipeline.instances(name)
    files = _artifact_files(jobs, pattern)
    assert len(files) == len(jobs), files
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in files]
    union = sorted(loc for report in reports for loc in _locations(report))
    assert union == _locations(context.ci_full), (union, _locations(context.ci_full))
    assert all(_locations(report) for report in reports), "a shard ran nothing"


@then(
    'the console of the job "{name}" that ran the loud feature stayed under 64 KiB, and its '
    "artifacts hold the full output"
)
def console_bounded(context, name):
    for job in context.ci_pipeline.instances(name):
        console = sum(len(c.stdout) + len(c.stderr) for c in job.commands)
        assert console < CONSOLE_BOUND, f"{job.variables}: {console} bytes on the console"
        assert job.commands[0].stdout.rstrip("\n").splitlines()[-1].startswith("scenarios: ")
        if "features/loud.feature  failed" not in job.commands[0].stdout:
            continue
        spills = _artifact_files([job], "**/.behave-bounded/run-*/*loud*")
        assert spills, f"no spill file in the artifacts: {_artifact_files([job], '**/*')}"
        assert max(path.stat().st_size for path in spills) >= LOUD_BYTES, spills
        context.ci_loud_seen = True
    assert getattr(context, "ci_loud_seen", False), "no job ran the loud feature"


@then(
    'the merged JSON report "{pattern}" of the job "{name}" holds every scenario once, with the '
    "verdict of an unsharded run"
)
def merged_json(context, pattern, name):
    (job,) = context.ci_pipeline.instances(name)
    (path,) = _artifact_files([job], pattern)
    merged = json.loads(path.read_text(encoding="utf-8"))
    assert _locations(merged) == _locations(context.ci_full)
    assert merged["run"]["verdict"] == context.ci_full["run"]["verdict"], merged["run"]
    assert merged["run"]["partial"] is False, merged["run"]
    verdicts = [c.stdout.rstrip("\n").splitlines()[-1] for c in job.commands if c.stdout.strip()]
    assert context.ci_full["verdict_line"] in verdicts, verdicts


@then('the merged JUnit report "{pattern}" of the job "{name}" holds a testcase per scenario')
def merged_junit(context, pattern, name):
    (job,) = context.ci_pipeline.instances(name)
    (path,) = _artifact_files([job], pattern)
    _junit_cases(path, context)


def _junit_cases(path: Path, context) -> None:
    root = ET.parse(path).getroot()  # noqa: S314 - the runner's own file
    cases = [(case.get("file"), case.get("line")) for case in root.iter("testcase")]
    assert len(cases) == len(set(cases)), "a testcase twice"
    assert sorted(f"{file}:{line}" for file, line in cases) == _locations(context.ci_full)


@then('the JUnit files GitLab reads from the job "{name}" hold a testcase per scenario together')
def gitlab_junit(context, name):
    jobs = context.ci_pipeline.instances(name)
    spec = context.ci_pipeline.document[name]
    pattern = spec["artifacts"]["reports"]["junit"]
    cases = []
    for path in _artifact_files(jobs, pattern):
        root = ET.parse(path).getroot()  # noqa: S314 - the runner's own file
        cases += [f"{c.get('file')}:{c.get('line')}" for c in root.iter("testcase")]
    assert sorted(cases) == _locations(context.ci_full), cases


@then(
    'the durations cached for the next run hold every feature as the job "{name}" that ran it '
    "measured it"
)
def cached_durations(context, name):
    cache = context.ci_pipeline.latest_cache()
    assert cache is not None, "nothing was cached"
    data = json.loads((cache / ".behave-bounded" / "durations.json").read_text(encoding="utf-8"))
    features = sorted({s["feature"] for s in context.ci_full["scenarios"]})
    assert sorted(data["features"]) == features, sorted(data["features"])
    for job in context.ci_pipeline.instances(name):
        (report,) = _artifact_files([job], "**/shard-*.json")
        ran = {s["feature"] for s in json.loads(report.read_text(encoding="utf-8"))["scenarios"]}
        (measured,) = _artifact_files([job], "**/.behave-bounded/durations.json")
        entries = json.loads(measured.read_text(encoding="utf-8"))["features"]
        for feature in ran:
            assert data["features"][feature] == entries[feature], (feature, job.variables)


@then('every job "{name}" restored the same durations, those the earlier run cached')
def same_durations(context, name):
    restored = [job.restored for job in context.ci_pipeline.instances(name)]
    assert all(r == restored[0] for r in restored), "the shards planned from different durations"
    assert restored[0], "no durations were restored"


# -- pre-commit -------------------------------------------------------------------------------


def _hooks(name: str) -> list[tuple[str, dict]]:
    document = yaml.safe_load((REPOSITORY / name).read_text(encoding="utf-8"))
    return [(repo["repo"], hook) for repo in document["repos"] for hook in repo["hooks"]]


@when('the pre-commit hook "{hook_id}" of "{name}" runs on the suite\'s files')
def run_hook(context, hook_id, name):
    repo, hook = next((r, h) for r, h in _hooks(name) if h["id"] == hook_id)
    assert repo == "local", repo
    suite = suite_dir(context)
    files = sorted(str(p.relative_to(suite)) for p in suite.rglob("*") if p.is_file())
    chosen = [f for f in files if re.search(hook.get("files", ""), f)]
    command = hook["entry"] + " " + " ".join(chosen)
    context.hook_run = run_shell(command, suite, shell_env(context.marker, {}))
    context.hook_files = chosen


@then('the hook passed and said "{text}"')
def hook_passed(context, text):
    done = context.hook_run
    assert done.exit_code == 0, done.stdout + done.stderr
    assert text in done.stdout, done.stdout
    assert len(context.hook_files) >= 2, context.hook_files


@then('the hook failed with exit code {code:d}, naming "{location}"')
def hook_failed(context, code, location):
    done = context.hook_run
    assert done.exit_code == code, (done.exit_code, done.stdout, done.stderr)
    assert location in done.stderr, done.stderr


@then('the pre-commit config "{name}" gates on ruff\'s lint and format check')
def lint_gate(context, name):
    hooks = {hook["id"]: (repo, hook) for repo, hook in _hooks(name)}
    assert hooks["ruff"][0] == "https://github.com/astral-sh/ruff-pre-commit", hooks["ruff"]
    assert hooks["ruff-format"][1].get("args") == ["--check"], hooks["ruff-format"]
    assert "validate-tags" in hooks["behave-bounded-validate-tags"][1]["entry"]


# -- the README quotes the files ---------------------------------------------------------------


@then("every excerpt of a ci/ file quoted in the README is in that file, line for line")
def readme_quotes(context):
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```ya?ml\n(# from (ci/\S+)[^\n]*\n)(.*?)```", readme, re.DOTALL)
    quoted = {name for _, name, _ in blocks}
    assert quoted == {"ci/github-actions.yml", "ci/gitlab-ci.yml", "ci/pre-commit-config.yaml"}
    for _, name, body in blocks:
        text = (REPOSITORY / name).read_text(encoding="utf-8")
        assert body in text, f"the README's excerpt of {name} is not in it:\n{body}"
