"""Steps for configuration sources, their errors and contradictions, and ``--shard auto``."""

from __future__ import annotations

import ast
import json
import re
import shlex
import tempfile
from pathlib import Path

from behave import given, then, when
from ci_emulators import run_shell, shell_env
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st
from suite_support import suite_dir, write

from behave_bounded import cli, config
from behave_bounded.errors import UsageError

REPOSITORY = Path(__file__).resolve().parents[2]

#: The CI systems' own documentation, written down here on purpose rather than read from the
#: runner's table: (index variable, total variable, the index of the first job).
CI_NUMBERING = {
    "GitLab": ("CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    "CircleCI": ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
    "Buildkite": ("BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
}


def _pairs(text: str) -> dict[str, str]:
    """``NAME=VALUE NAME=VALUE``; ``-`` for none."""
    if text == "-":
        return {}
    return dict(pair.split("=", 1) for pair in shlex.split(text))


@given('the runner\'s environment holds "{text}"')
def environment_holds(context, text):
    context.extra_env = {**getattr(context, "extra_env", {}), **_pairs(text)}


@given('the runner\'s pyproject.toml sets "{text}"')
def pyproject_sets(context, text):
    """Lines of ``[tool.behave-bounded]`` (``\\n`` between them); ``-`` for no file."""
    if text != "-":
        write(context, "pyproject.toml", "[tool.behave-bounded]\n" + text.replace("\\n", "\n"))


@then('the JSON report "{name}" records the setting {setting} as {value}')
def report_setting(context, name, setting, value):
    data = json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))
    recorded = data["run"]["settings"][setting]
    assert recorded == json.loads(value), f"{setting} = {recorded!r}"


@then('the first line is "{line}"')
def first_line(context, line):
    first = context.stdout.splitlines()[0] if context.stdout else ""
    assert first == line, f"first line {first!r}"


# -- --shard auto on every CI's variables -------------------------------------------------------


@when(
    'each of {count:d} parallel jobs runs "{args}" with {index} counted from {first:d} and '
    "{total} set"
)
def parallel_jobs(context, count, args, index, first, total):
    suite = suite_dir(context)
    context.shard_reports, context.job_outputs = {}, {}
    for number in range(first, first + count):
        env = shell_env(context.marker, {index: str(number), total: str(count)})
        artifacts = f"job-{number}"
        done = run_shell(
            f"behave-bounded {args} --artifacts {artifacts} --json {artifacts}.json", suite, env
        )
        assert done.exit_code == 0, done.stdout[-2000:] + done.stderr[-2000:]
        report = json.loads((suite / f"{artifacts}.json").read_text(encoding="utf-8"))
        context.shard_reports[number] = report
        context.job_outputs[number] = done.stdout
    full = run_shell(
        "behave-bounded --artifacts full --json full.json", suite, shell_env(context.marker, {})
    )
    assert full.exit_code == 0, full.stderr[-2000:]
    context.full_report = json.loads((suite / "full.json").read_text(encoding="utf-8"))


@then(
    "each job's first line says that {ci}'s {index} and {total} gave its shard, numbered "
    "from {first:d}"
)
def jobs_printed(context, ci, index, total, first):
    count = len(context.job_outputs)
    for number, stdout in context.job_outputs.items():
        line = stdout.splitlines()[0]
        origin = f"--shard auto: {ci} {index}={number}, {total}={count}"
        expected = re.escape(f"shard {number - first + 1}/{count} ({origin}): ")
        assert re.fullmatch(expected + r"\d+ of \d+ feature file\(s\)", line), line
        printed = [text for text in stdout.splitlines() if text.startswith("shard ")]
        assert len(printed) == 1, f"the shard was printed {len(printed)} times"


@then("for any N from 1 to 64, the N parallel jobs of each CI get the shards 1 to N, each once")
def ci_numbering_property(context):
    @settings(max_examples=200, deadline=None)
    @for_all(st.sampled_from(sorted(CI_NUMBERING)), st.integers(1, 64))
    def check(ci, total):
        index, total_name, first = CI_NUMBERING[ci]
        shards = []
        for number in range(first, first + total):
            environ = {index: str(number), total_name: str(total)}
            shard, origin = config.ci_shard(environ)
            assert origin == f"--shard auto: {ci} {index}={number}, {total_name}={total}", origin
            shards.append(shard)
        assert shards == [config.Shard(k, total) for k in range(1, total + 1)], shards
        for outside in (first - 1, first + total):
            if outside < 0:
                continue
            try:
                config.ci_shard({index: str(outside), total_name: str(total)})
            except UsageError as error:
                assert index in str(error) and str(outside) in str(error), error
            else:
                raise AssertionError(f"{ci}: {index}={outside} of {total} was accepted")

    check()


# -- merge-durations ----------------------------------------------------------------------------


@then(
    'the durations file "{out}" holds every feature of "{first}" and "{second}" as each measured it'
)
def merged_durations(context, out, first, second):
    def features(name: str) -> dict:
        return json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))["features"]

    one, two, merged = features(first), features(second), features(out)
    assert one and two and not set(one) & set(two), (sorted(one), sorted(two))
    assert merged == {**one, **two}, merged


# -- the table of options -----------------------------------------------------------------------


def _toml(option: config.Option, text: str) -> str:
    if option.kind is config.Kind.SWITCH:
        return text  # a TOML boolean
    if option.kind is config.Kind.LIST:
        return json.dumps([text])  # a TOML array of strings
    return json.dumps(text)


def _command_line(option: config.Option, text: str) -> list[str]:
    if option.kind is config.Kind.SWITCH:
        return [option.flag if config.parse_bool(text) else option.negative_flag]
    return [option.flag, text]


def _resolved(source: str, option: config.Option, text: str, directory: Path) -> config.Settings:
    """The settings when only ``option`` is given, as ``text``, through one source."""
    if source == "environment":
        return config.resolve({}, environ={option.env: text}, directory=directory)
    if source == "command line":
        flags, rest = cli.parse_command_line(_command_line(option, text))
        assert rest == [], rest
        return config.resolve(flags, environ={}, directory=directory)
    if source == "-D":
        userdata = {config.USERDATA_PREFIX + option.name: text}
        return config.resolve({}, environ={}, directory=directory, userdata=userdata)
    pyproject = directory / "pyproject.toml"
    pyproject.write_text(f"[tool.behave-bounded]\n{option.key} = {_toml(option, text)}\n")
    try:
        return config.resolve({}, environ={}, directory=directory)
    finally:
        pyproject.unlink()


@then("each option given this text reads the same value from every source")
def every_source(context):
    rows = {row["option"]: row for row in context.table}
    assert sorted(rows) == sorted(o.name for o in config.OPTIONS), "a row per option, no other"
    with tempfile.TemporaryDirectory(prefix="bb-options-") as holder:
        directory = Path(holder)
        for option in config.OPTIONS:
            text, expected = rows[option.name]["text"], ast.literal_eval(rows[option.name]["value"])
            sources = ["environment"]
            if option.environment_only:
                _not_elsewhere(option, directory)
            else:
                sources += ["command line", "-D", "pyproject.toml"]
            for source in sources:
                value = getattr(_resolved(source, option, text, directory), option.name)
                assert value == expected, f"{option.name} from {source}: {value!r}"
                if option.default is not None:  # the field's own type: an enum, not a str
                    assert type(value) is type(option.default), (option.name, type(value))


def _not_elsewhere(option: config.Option, directory: Path) -> None:
    """An environment-only setting has no flag (the text goes to behave) and no pyproject key."""
    flags, rest = cli.parse_command_line(["--" + option.key, "1"])
    assert option.name not in flags and rest == ["--" + option.key, "1"], (flags, rest)
    (directory / "pyproject.toml").write_text(f"[tool.behave-bounded]\n{option.key} = 1\n")
    try:
        config.resolve({}, environ={}, directory=directory)
    except UsageError as error:
        assert "unknown setting" in str(error), error
    else:
        raise AssertionError(f"{option.key} in pyproject.toml was accepted")
    finally:
        (directory / "pyproject.toml").unlink()


@then("the README's options table has a row for every option, with its flag, variable and key")
def readme_options(context):
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Options\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    for option in config.OPTIONS:
        found = [row for row in rows if f"`{option.env}`" in row]
        assert len(found) == 1, f"{option.env}: rows {found}"
        if option.environment_only:
            continue
        assert f"`{option.flag}" in found[0] or f", {option.flag}" in found[0], found[0]
        assert f"/ `{option.key}`" in found[0], found[0]
        if option.kind is config.Kind.SWITCH:
            assert f"`{option.negative_flag}`" in found[0], found[0]
