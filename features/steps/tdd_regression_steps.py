"""Steps of the issue-7311 regression suite that are not about running the runner plainly."""

from __future__ import annotations

import re
from pathlib import Path

from behave import then

from behave_bounded.capture import SENTINEL_RE

MIB = 2**20


@then("the runner's own peak heap was under {mib:d} MiB")
def parent_peak_under(context, mib):
    measured = context.parent_memory
    assert "scenarios: " in measured.stdout, measured.stdout[-2000:] + measured.stderr[-2000:]
    assert measured.peak_heap < mib * MIB, (
        f"the runner's peak heap was {measured.peak_heap / MIB:.1f} MiB, budget {mib} MiB"
    )


@then(
    "the output has a sentinel saying {written:d} bytes of {stream} were written and {kept:d} kept"
)
def exact_sentinel(context, written, stream, kept):
    found = [m for m in SENTINEL_RE.finditer(context.stdout) if m["stream"] == stream]
    assert found, f"no sentinel for {stream} in the output:\n{context.stdout[-2000:]}"
    match = found[0]
    assert (int(match["written"]), int(match["kept"]), int(match["dropped"])) == (
        written,
        kept,
        written - kept,
    ), match.group(0)


@then('stderr warns that "{label}" {stream} was truncated, naming a spill file that exists')
def truncation_warning_with_spill(context, label, stream):
    pattern = (
        rf"behave-bounded: warning: {re.escape(label)}: {stream} truncated: \d+ bytes written, "
        r"\d+ kept, \d+ dropped; full output: (\S+)"
    )
    match = re.search(pattern, context.stderr)
    assert match, f"no truncation warning for {label} {stream}:\n{context.stderr[-2000:]}"
    path = Path(match.group(1))
    path = path if path.is_absolute() else context.suite / path
    assert path.is_file(), f"the spill file {path} does not exist"


def reference_lines(stream: str) -> str:
    """What the generated step prints (it must stay in step with loud_steps.py above)."""
    if stream == "stdout":
        return "".join(f"stdout line {n:05d} {'é' * (n % 7)} ✓\n" for n in range(2000))
    return "".join(f"stderr line {n:05d} {'ü' * (n % 5)} ✗\n" for n in range(2000))


@then("the output shows the reference text of stdout and of stderr byte for byte")
def reference_shown(context):
    for stream in ("stdout", "stderr"):
        expected = reference_lines(stream)
        assert expected in context.stdout, f"the {stream} reference text is not shown intact"


@then("the output has no truncation sentinel")
def no_sentinel(context):
    assert not SENTINEL_RE.search(context.stdout), SENTINEL_RE.search(context.stdout).group(0)


@then("stderr has no warning")
def no_warning(context):
    assert "warning" not in context.stderr, context.stderr[-2000:]
