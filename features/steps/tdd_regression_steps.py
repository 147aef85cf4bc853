"""Steps of the issue-7311 regression suite that are not about running the runner plainly."""

from __future__ import annotations

import json
import re
from pathlib import Path

from behave import then

from behave_bounded.capture import SENTINEL_RE
from behave_bounded.resident import KERNEL, PROC_SELF, SAMPLES, STATUS_BUFFER, reset_high_water_mark

MIB = 2**20


@then("the runner's own peak heap was under {mib:d} MiB")
def parent_peak_under(context, mib):
    measured = context.parent_memory
    assert "scenarios: " in measured.stdout, measured.stdout[-2000:] + measured.stderr[-2000:]
    assert measured.peak_heap < mib * MIB, (
        f"the runner's peak heap was {measured.peak_heap / MIB:.1f} MiB, budget {mib} MiB"
    )


@then("the runner's own peak resident growth was under {mib:d} MiB")
def parent_growth_under(context, mib):
    """The kernel's peak RSS of the runner minus memray's first sample (tracking's start)."""
    measured = context.parent_memory
    assert "scenarios: " in measured.stdout, measured.stdout[-2000:] + measured.stderr[-2000:]
    growth = measured.peak_rss_growth
    assert growth is not None, f"memray took no RSS sample of the runner: {measured}"
    assert growth < mib * MIB, (
        f"the runner's resident memory grew by {growth / MIB:.1f} MiB, budget {mib} MiB "
        f"(peak RSS {measured.peak_rss / MIB:.1f} MiB)"
    )


@then('the report shows "{location}" within its memory budget of {mib:d} MiB, resident and heap')
def within_memory_budget(context, location, mib):
    """The budget measured both figures, each within ``mib``; resident first (the OOM's view)."""
    report = json.loads((context.suite / "report.json").read_text(encoding="utf-8"))
    scenario = next(s for s in report["scenarios"] if s["location"] == location)
    memory = scenario.get("memory")
    assert memory is not None, f"{location} has no memory figures: {scenario}"
    assert memory["heap_budget"] == memory["rss_budget"] == mib * MIB, memory
    growth, heap, source = memory["peak_rss_growth"], memory["peak_heap"], memory["rss_source"]
    assert 0 < growth <= mib * MIB, (
        f"the worker's peak resident growth was {growth / MIB:.1f} MiB ({source}), budget {mib} MiB"
    )
    assert 0 < heap <= mib * MIB, (
        f"the worker's peak heap was {heap / MIB:.1f} MiB, budget {mib} MiB"
    )
    kernel = reset_high_water_mark(PROC_SELF, bytearray(STATUS_BUFFER)) is not None
    assert source == (KERNEL if kernel else SAMPLES), memory
    assert scenario["status"] == "passed", scenario


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
