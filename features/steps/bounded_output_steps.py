"""Steps reading what a generated suite measured about its worker, and what was cut."""

from __future__ import annotations

import json
import re
from pathlib import Path

from behave import given, then

from behave_bounded.capture import SENTINEL_RE

MIB = 2**20


def measured(context) -> dict[str, int]:
    return json.loads((context.suite / "memory.json").read_text())


@then("the worker's peak heap while printing was under {mib:d} MiB")
def peak_under(context, mib):
    peak = measured(context)["peak_heap"]
    assert peak < mib * MIB, f"peak heap {peak / MIB:.1f} MiB, budget {mib} MiB"


@then("the worker's peak heap while printing was over {mib:d} MiB")
def peak_over(context, mib):
    peak = measured(context)["peak_heap"]
    assert peak > mib * MIB, f"peak heap {peak / MIB:.1f} MiB, expected over {mib} MiB"


@then("the worker's resident set grew by less than {mib:d} MiB while printing")
def rss_growth_under(context, mib):
    growth = measured(context)["rss_growth"]
    assert growth < mib * MIB, f"resident set grew by {growth / MIB:.1f} MiB"


def sentinels(context) -> list[re.Match[str]]:
    return list(SENTINEL_RE.finditer(context.stdout))


@then(
    "the output has a sentinel for {stream} with exactly {written:d} bytes written and at most "
    "{kept:d} kept"
)
def sentinel_counts(context, stream, written, kept):
    """The step printed ``written`` bytes, all of the stream: behave's formatters write in the
    parent, not into the worker's captured stdout."""
    found = [m for m in sentinels(context) if m["stream"] == stream]
    assert found, f"no sentinel for {stream}:\n{context.stdout[-3000:]}"
    assert len({m.group(0) for m in found}) == 1, [m.group(0) for m in found]
    match = found[0]
    assert int(match["written"]) == written, match.group(0)
    assert 0 < int(match["kept"]) <= kept, match.group(0)
    assert int(match["dropped"]) == int(match["written"]) - int(match["kept"]), match.group(0)
    context.sentinel = match


@then('the sentinel says "{text}"')
def sentinel_says(context, text):
    assert text in context.sentinel.group(0), context.sentinel.group(0)


@then('stderr has a truncation warning for "{label}" {stream} naming the spill file')
def truncation_warning(context, label, stream):
    pattern = re.compile(
        rf"behave-bounded: warning: {re.escape(label)}: {stream} truncated: (\d+) bytes written, "
        rf"(\d+) kept, (\d+) dropped; full output: (\S+)"
    )
    match = pattern.search(context.stderr)
    assert match, context.stderr[-3000:]
    assert match.group(4) == context.sentinel["path"], (match.group(4), context.sentinel["path"])
    assert int(match.group(1)) == int(match.group(2)) + int(match.group(3))


def spill_file(context) -> Path:
    path = Path(context.sentinel["path"]) if hasattr(context, "sentinel") else None
    if path is None:
        match = next(m for m in sentinels(context) if m["stream"] == "stdout")
        path = Path(match["path"])
    return path if path.is_absolute() else context.suite / path


@then("the spill file holds all the bytes written to the stream")
def spill_exact(context):
    data = spill_file(context).read_bytes()
    assert len(data) == int(context.sentinel["written"]), f"{len(data)} bytes in the spill file"
    for number in (0, 1, 47):  # every chunk the step printed is there, in order
        chunk = f"{number:010d}".encode() + b"c" * 10
        assert chunk in data, chunk
    assert data.index(b"0000000000cccc") < data.index(b"0000000047cccc")
    assert SENTINEL_RE.search(data.decode("utf-8", "replace")) is None


@then("the spill file holds {size:d} bytes of the stream and then a sentinel")
def spill_capped(context, size):
    data = spill_file(context).read_bytes()
    stream, tail = data[:size], data[size:].decode("utf-8", "replace")
    assert b"0000000000cccc" in stream, stream[:200]
    match = SENTINEL_RE.search(tail)
    assert match, tail[:500]
    assert len(tail) < 512, f"{len(tail)} bytes after the cap"


@given('a feature file "{name}" with one scenario of {count:d} steps that each print {mib:d} MiB')
def many_steps(context, name, count, mib):
    steps = "\n".join(f"    And step {number} prints {mib} MiB" for number in range(count))
    (context.suite / "features" / name).write_text(
        "Feature: many\n  Scenario: many loud steps\n    Given the memory probe starts\n"
        f"{steps}\n    Then the memory probe stops\n"
    )
