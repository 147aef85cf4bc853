"""Steps for the TDD tag convention and memray memory budgets.

``validate-tags`` runs through the runner's own steps (a generated suite, a subprocess);
the steps here check its report line by line, check :func:`behave_bounded.tdd.classify`
in-process with Hypothesis against an oracle written independently of the module, and
measure real allocations with memray (in-process and in a child process).
"""

from __future__ import annotations

import json
import mmap
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from behave import given, then, when
from behave.parser import parse_file
from hypothesis import HealthCheck, settings
from hypothesis import given as for_all
from hypothesis import strategies as st

from behave_bounded.child_memory import run_under_memray
from behave_bounded.config import parse_size
from behave_bounded.memory import Budget, MemoryBudget, budget_from_tags, measure_peak
from behave_bounded.resident import PROC_SELF, STATUS_BUFFER, ResidentGrowth, reset_high_water_mark
from behave_bounded.results import MAX_MESSAGE_CHARS, ScenarioResult, Status
from behave_bounded.tdd import classify, is_lenient_xpass, scenario_tags

MiB = 2**20
REPOSITORY = Path(__file__).resolve().parents[2]


def allocate_distinct(mib: int) -> list[bytes]:
    """``mib`` distinct 1 MiB bytes objects, every page written (not lazily zeroed)."""
    return [index.to_bytes(4, "little") * (MiB // 4) for index in range(mib)]  # ALLOCATION SITE


def allocation_site() -> str:
    """``features/steps/tdd_steps.py:LINE`` of the list comprehension above, as memray shows it."""
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    number = next(n for n, line in enumerate(lines, 1) if line.endswith("# ALLOCATION SITE"))
    return f"{os.path.relpath(__file__)}:{number}"


# -- validate-tags --------------------------------------------------------------------------


@then("validate-tags reported exactly these problems:")
def reported_exactly(context):
    """Every stderr line but the summary, in order, equals the table: nothing more or less."""
    lines = context.stderr.rstrip("\n").splitlines()
    assert lines and lines[-1].startswith("validate-tags: "), f"no summary:\n{context.stderr}"
    expected = [row["problem"] for row in context.table]
    assert lines[:-1] == expected, "reported:\n" + "\n".join(lines[:-1])


def hook_definition() -> dict[str, str]:
    """The single hook of ``.pre-commit-hooks.yaml`` (flat ``key: value`` lines, no PyYAML)."""
    text = (REPOSITORY / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    items = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert len([line for line in items if line.startswith("- ")]) == 1, text
    hook = {}
    for line in items:
        key, _, value = line.removeprefix("- ").strip().partition(":")
        hook[key.strip()] = value.strip()
    return hook


@when("pre-commit runs the hook on the staged files {names}")
def run_hook(context, names):
    hook = hook_definition()
    assert hook["id"] == "behave-bounded-validate-tags", hook
    assert hook["language"] == "python", hook
    assert hook.get("pass_filenames") == "true", hook  # pre-commit's default, stated
    staged = [name.strip('"') for name in names.split(" and ")]
    chosen = [name for name in staged if re.search(hook["files"], name)]
    program, *args = hook["entry"].split()
    executable = Path(sys.executable).parent / program  # the console script of this venv
    process = subprocess.run(
        [str(executable), *args, *chosen],
        cwd=context.suite,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    context.exit_code, context.stdout, context.stderr = (
        process.returncode,
        process.stdout,
        process.stderr,
    )


@then('validate-tags sees the {count:d} scenarios with the tags behave walks in "{name}"')
def same_walk_as_behave(context, count, name):
    """The fast walk (outline rows not built) against behave's own ``walk_scenarios``."""
    path = str(context.suite / name)
    ours = [(line, tags) for line, _, tags in scenario_tags(parse_file(path))]
    behaves = [(s.line, set(s.effective_tags)) for s in parse_file(path).walk_scenarios()]
    assert ours == behaves, f"ours:\n{ours}\nbehave's:\n{behaves}"
    assert len(ours) == count, ours


# -- classify -------------------------------------------------------------------------------


def parse_tags(cell: str) -> tuple[str, ...]:
    return tuple(sorted(tag.lstrip("@") for tag in cell.split())) if cell != "-" else ()


@when('a scenario tagged "{tags}" ends {status} with error "{error_type}" and message "{message}"')
def scenario_ends(context, tags, status, error_type, message):
    context.result = ScenarioResult(
        location="features/x.feature:3",
        name="x",
        status=Status(status),
        message="" if message == "-" else message,
        tags=parse_tags(tags),
        error_type="" if error_type == "-" else error_type,
    )


@then('classify with strict={strict} makes it {status} with message "{message}"')
def classified_as(context, strict, status, message):
    """``-`` is an empty message; ``\\n`` in the table is a line break."""
    expected = "" if message == "-" else message.replace("\\n", "\n")
    result = classify(context.result, strict=strict == "True")
    assert (result.status, result.message) == (Status(status), expected), result


TAGS = st.lists(
    st.one_of(
        st.sampled_from(
            ["tdd_issue", "tdd_expected_fail", "xfail", "smoke", "tdd_expected_failure", "xfailed"]
        ),
        st.integers(0, 10**6).map(lambda number: f"tdd_issue_{number}"),
    ),
    max_size=6,
    unique=True,
).map(lambda tags: tuple(sorted(tags)))
RESULTS = st.builds(
    ScenarioResult,
    location=st.just("features/x.feature:7"),
    name=st.text(max_size=10),
    status=st.sampled_from(list(Status)),
    duration=st.floats(0, 100),
    message=st.one_of(
        st.text(max_size=40),
        st.just("warning: "),
        st.just("x" * (MAX_MESSAGE_CHARS + 100)),
    ),
    tags=TAGS,
    error_type=st.sampled_from(["", "AssertionError", "KeyError", "AssertionErrorX", "Failed"]),
)


def check_rules(result: ScenarioResult, strict: bool) -> None:
    """The TDD rules, written from the convention, not from the module's helpers."""
    out = classify(result, strict=strict)
    expected_to_fail = "tdd_expected_fail" in result.tags or "xfail" in result.tags
    numbers = [int(tag[10:]) for tag in result.tags if re.fullmatch(r"tdd_issue_\d+", tag)]
    prefix = f"issue #{min(numbers)}: " if numbers else ""
    kept = ("location", "name", "duration", "tags", "error_type")
    assert all(getattr(out, key) == getattr(result, key) for key in kept), (result, out)
    assert len(out.message) <= MAX_MESSAGE_CHARS or out.message == result.message
    assert classify(out, strict=strict) == out, f"not idempotent: {out}"
    status = result.status
    if not expected_to_fail or status in (Status.SKIPPED, Status.XFAILED, Status.XPASSED):
        assert out == result, (result, out)
    elif status is Status.FAILED and result.error_type == "AssertionError":
        assert out.status is Status.XFAILED, (result, out)
        if prefix:
            assert out.message.startswith(prefix + "expected failure: "), out.message
        body = out.message.removeprefix(prefix + "expected failure: " if prefix else "")
        assert body == result.message or "characters cut" in body, (result, out)
    elif status is Status.PASSED:
        tag = "@tdd_expected_fail" if "tdd_expected_fail" in result.tags else "@xfail"
        warning = "" if strict else "warning: "
        assert out.status is (Status.XPASSED if strict else Status.PASSED), (result, out)
        assert out.message.startswith(f"{warning}{prefix}scenario passed but is tagged "), out
        assert tag in out.message, out.message
        assert "the bug appears fixed; remove the tag" in out.message, out.message
        assert is_lenient_xpass(out) is not strict, out
    elif status is Status.ERRORED:  # already an error: its own message says why
        assert out == result, (result, out)
    else:  # UNDEFINED, or FAILED by anything but an AssertionError
        assert out.status is Status.ERRORED, (result, out)
        assert out.message.startswith(prefix + "tagged @"), out.message
        assert "only an AssertionError is an expected failure" in out.message, out.message
        assert result.message[:100] in out.message, (result, out)
    if result.status.fails_run and not out.status.fails_run:
        assert out.status is Status.XFAILED, (result, out)  # the only way a failure stops failing
    if not result.status.fails_run and out.status.fails_run:
        assert result.status is Status.PASSED, (result, out)  # only an xpass starts failing
    if not (result.status is Status.PASSED and expected_to_fail):
        assert not is_lenient_xpass(out), out


@then("classify follows the TDD rules for any status, error type, tags and strictness")
def classify_property(context):
    @settings(
        max_examples=1500,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @for_all(RESULTS, st.booleans())
    def rules_hold(result, strict):
        check_rules(result, strict)

    rules_hold()


# -- memory budgets -------------------------------------------------------------------------


@when("a block allocating {mib:d} MiB runs under a heap budget of {size:d} MiB")
def block_under_budget(context, mib, size):
    context.budget_mib = size
    context.budget = MemoryBudget(Budget(heap=size * MiB), "features/tdd_tags.feature:1")
    context.exit_error = None
    context.allocated = mib
    try:
        with context.budget:
            kept = allocate_distinct(mib)
            assert len(kept) == mib
    except AssertionError as error:
        context.exit_error = error


SIZE = r"[\d.]+ (?:B|KiB|MiB|GiB)"


@then("the budget check fails naming this steps file and the allocation line first")
def budget_fails(context):
    assert context.exit_error is not None, f"no error on exit, peak {context.budget.peak_heap}"
    try:
        context.budget.check()
    except AssertionError as error:
        message = str(error)
    else:
        raise AssertionError(f"check() passed with a peak of {context.budget.peak_heap} bytes")
    assert message == str(context.exit_error), (message, context.exit_error)
    first, *sites = message.splitlines()
    match = re.fullmatch(
        rf"peak heap ([\d.]+) MiB > budget {context.budget_mib}\.0 MiB "
        rf"\(peak resident growth {SIZE}\)",
        first,
    )
    peak = context.budget.peak_heap
    assert match and abs(float(match.group(1)) * MiB - peak) <= 0.05 * MiB, message
    assert peak >= context.allocated * MiB, message
    assert 1 <= len(sites) <= 5, message
    site = re.fullmatch(rf"  1\. {re.escape(allocation_site())}  ([\d.]+) MiB  \(.*\)", sites[0])
    assert site and float(site.group(1)) >= context.allocated, (
        f"expected {allocation_site()} first, with {context.allocated} MiB:\n{message}"
    )


@then("the budget check passes with a peak heap of at least {mib:d} MiB")
def budget_passes(context, mib):
    assert context.exit_error is None, str(context.exit_error)
    context.budget.check()
    assert mib * MiB <= context.budget.peak_heap <= context.budget.budget.heap, context.budget


@then("measure_peak of the same block reports at least {mib:d} MiB")
def measure_peak_reports(context, mib):
    kept, peak = measure_peak(lambda: allocate_distinct(mib))
    assert len(kept) == mib
    assert mib * MiB <= peak < (mib + 16) * MiB, peak


def status_copy(vm_hwm_above_rss: int) -> str:
    """This process's /proc/self/status now, its VmHWM set ``vm_hwm_above_rss`` above VmRSS."""
    text = Path("/proc/self/status").read_text(encoding="ascii")
    rss_kib = int(re.search(r"^VmRSS:\s*(\d+) kB", text, re.MULTILINE).group(1))
    hwm = rss_kib + vm_hwm_above_rss // 1024
    return re.sub(r"^VmHWM:\s*\d+ kB", f"VmHWM:\t{hwm} kB", text, flags=re.MULTILINE)


@given("a /proc directory for this process where {case}")
def fake_proc(context, case):
    """A directory in the shape of /proc/self that ResidentGrowth reads instead of the real one.

    Each case is one way the kernel's mark is unusable: no clear_refs (not Linux, Linux < 4.0),
    a clear_refs whose write changes nothing (a sandbox), no status file at all (no /proc),
    a status file that can no longer be read when the block ends.
    """
    holder = tempfile.TemporaryDirectory(prefix="bb-proc-")
    context.add_cleanup(holder.cleanup)
    proc = Path(holder.name)
    context.proc = str(proc)
    context.during_block = lambda: None
    if case == "clear_refs does not exist":
        (proc / "status").write_text(status_copy(0), encoding="ascii")
    elif case == "writing clear_refs leaves VmHWM unchanged":
        (proc / "status").write_text(status_copy(2**30), encoding="ascii")
        (proc / "clear_refs").write_bytes(b"")
    elif case == "there is no status file":
        pass
    elif case == "the status file vanishes before the block ends":
        (proc / "status").write_text(status_copy(0), encoding="ascii")
        (proc / "clear_refs").write_bytes(b"")
        context.during_block = (proc / "status").unlink
    elif case == "the status file has no VmHWM line":
        lines = status_copy(0).splitlines(keepends=True)
        (proc / "status").write_text("".join(x for x in lines if "VmHWM" not in x), "ascii")
        (proc / "clear_refs").write_bytes(b"")
    else:
        raise ValueError(f"unknown case {case!r}")


@when(
    "a block that touches {mib:d} MiB for {ms:d} ms runs under a resident budget of {size:d} MiB"
    " measured there"
)
def block_measured_there(context, mib, ms, size):
    context.budget = MemoryBudget(
        Budget(rss=size * MiB), check_on_exit=False, resident=ResidentGrowth(proc=context.proc)
    )
    with context.budget, mmap.mmap(-1, mib * MiB) as block:
        # Fresh anonymous pages, one byte written in each: the growth is real however much
        # freed heap earlier scenarios left resident in this worker (malloc would reuse it).
        block[:: mmap.PAGESIZE] = b"\x01" * (len(block) // mmap.PAGESIZE)
        time.sleep(ms / 1000)  # several of memray's 10 ms samples see it
        context.during_block()


@then('the budget check fails by a peak resident growth of {mib:d} MiB from "{source}"')
def resident_budget_fails(context, mib, source):
    budget = context.budget
    assert budget.rss_source == source, budget.rss_source
    assert mib * MiB - MiB <= budget.peak_rss_growth <= (mib + 16) * MiB, budget.peak_rss_growth
    try:
        budget.check()
    except AssertionError as error:
        first = str(error).splitlines()[0]
    else:
        raise AssertionError(f"check() passed with a growth of {budget.peak_rss_growth} bytes")
    assert re.fullmatch(
        rf"peak resident growth ([\d.]+) MiB > budget {budget.budget.rss // MiB}\.0 MiB "
        rf"\(peak heap {SIZE}\)",
        first,
    ), first
    figures = budget.figures()
    assert (figures.rss_source, figures.heap_budget, figures.rss_budget) == (
        source,
        None,
        budget.budget.rss,
    ), figures


@then('the budget of a scenario tagged "{tags}" is heap {heap} and resident {rss}')
def budget_of_tags(context, tags, heap, rss):
    budget = budget_from_tags(tag.lstrip("@") for tag in tags.split())
    expected = [None if size == "-" else parse_size(size) for size in (heap, rss)]
    if expected == [None, None]:
        assert budget is None, budget
    else:
        assert budget == Budget(heap=expected[0], rss=expected[1]), budget


@given("the kernel's resident high-water mark can be reset here")
def kernel_mark_available(context):
    """The worker runs on this machine: where the reset fails here, it fails there too."""
    if reset_high_water_mark(PROC_SELF, bytearray(STATUS_BUFFER)) is None:
        context.scenario.skip("the kernel's VmHWM cannot be reset here (not Linux 4.0+?)")


def mib_range(cell: str) -> tuple[float, float]:
    low, _, high = cell.partition("..")
    return float(low), float(high)


@then('the report "{name}" has these memory figures:')
def report_memory_figures(context, name):
    """Each row: a scenario's status and its ``memory`` entry (``-``: none, or ``null``)."""
    report = json.loads((context.suite / name).read_text(encoding="utf-8"))
    scenarios = {scenario["location"]: scenario for scenario in report["scenarios"]}
    for row in context.table:
        scenario = scenarios[row["location"]]
        assert scenario["status"] == row["status"], scenario
        memory = scenario.get("memory")
        if row["source"] == "-":
            assert memory is None, scenario
            continue
        assert memory is not None, scenario
        for key, column in (("heap_budget", "heap budget"), ("rss_budget", "rss budget")):
            expected = None if row[column] == "-" else int(row[column].removesuffix(" MiB")) * MiB
            assert memory[key] == expected, (key, scenario)
        for key, column in (
            ("peak_heap", "peak heap MiB"),
            ("peak_rss_growth", "peak resident growth MiB"),
        ):
            low, high = mib_range(row[column])
            assert low * MiB <= memory[key] <= high * MiB, (key, memory[key] / MiB, scenario)
        assert memory["rss_source"] == row["source"], scenario


CHILD = """
import sys
data = b"x" * ({mib} * 2**20)
print("allocated", len(data) // 2**20)
sys.exit(3)
"""

FORKING_CHILD = """
import multiprocessing

def work():
    data = b"y" * ({mib} * 2**20)

if __name__ == "__main__":
    worker = multiprocessing.get_context("fork").Process(target=work)
    worker.start()
    worker.join()
    print("worker exit code", worker.exitcode)
"""


@given("a child process that allocates {mib:d} MiB and exits with code 3")
def allocating_child(context, mib):
    context.child_code = CHILD.format(mib=mib)


@given("a child process whose forked worker allocates {mib:d} MiB")
def forking_child(context, mib):
    context.child_code = FORKING_CHILD.format(mib=mib)


@when("the child runs under memray")
def child_under_memray(context):
    context.child = run_under_memray(["-c", context.child_code], timeout=120)


@then("memray reports the child's exit code {code:d} and a peak heap of at least {mib:d} MiB")
def child_measured(context, code, mib):
    child = context.child
    assert child.returncode == code, child
    assert child.peak_heap >= mib * MiB, child
    assert child.peak_rss is not None and child.peak_rss >= mib * MiB, child
    assert child.stdout == f"allocated {mib}\n", child


@then(
    "memray reports a forked worker's peak heap of at least {mib:d} MiB,"
    " the child's below {own:d} MiB"
)
def worker_measured(context, mib, own):
    child = context.child
    assert child.returncode == 0 and "worker exit code 0" in child.stdout, child
    assert len(child.children) == 1, child
    assert child.max_child_heap >= mib * MiB, child
    assert child.peak_heap < own * MiB, child
