"""Steps for the files runs leave behind: run directories, part files, full disks, file modes.

A full disk is a real one: the runner runs in a private mount namespace (``unshare --user
--map-root-user --mount``) where a small tmpfs is mounted on one directory of the suite; a
shell in the namespace lists that file system into a file outside it when the runner ends
(the mount, and what it holds, end with the namespace).
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from behave import given, then, when
from suite_support import kill_leftovers, read_bounded, runner_command, runner_env, suite_dir

from behave_bounded.artifacts import LOCK_NAME, RunDirectory, prune
from behave_bounded.atomic import sweep_stale, temp_file

RUN_TIMEOUT = 300

#: Runs "$@" with a tmpfs of $SIZE on $MOUNT, then lists it into $LISTING; keeps the exit code.
_IN_SMALL_FILE_SYSTEM = """
set -e
mount -t tmpfs -o "size=$SIZE,mode=0755" tmpfs "$MOUNT"
set +e
"$@"
code=$?
(cd "$MOUNT" && find . -mindepth 1 -printf '%P\\t%s\\n') > "$LISTING"
exit $code
"""


def _finish(context, timeout: float = RUN_TIMEOUT) -> None:
    try:
        context.exit_code = context.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        context.process.kill()
        context.process.wait()
        raise AssertionError(f"the runner did not end within {timeout} s") from None
    context.stdout = read_bounded(context.stdout_path)
    context.stderr = read_bounded(context.stderr_path)


def _start(context, command: list[str], *, umask: int = -1) -> None:
    suite = suite_dir(context)
    out_dir = tempfile.TemporaryDirectory(prefix="bb-out-")
    context.add_cleanup(out_dir.cleanup)
    context.stdout_path = Path(out_dir.name) / "stdout"
    context.stderr_path = Path(out_dir.name) / "stderr"
    with open(context.stdout_path, "wb") as out, open(context.stderr_path, "wb") as err:
        context.process = subprocess.Popen(
            command,
            cwd=suite,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=runner_env(context),
            umask=umask,
        )
    context.add_cleanup(kill_leftovers, context)


@when('{count:d} other runs of "{args}" end meanwhile, each exiting with {code:d}')
@when('{count:d} other run of "{args}" ends meanwhile, each exiting with {code:d}')
def other_runs(context, count, args, code):
    for _ in range(count):
        done = subprocess.run(
            runner_command(args),
            cwd=suite_dir(context),
            env=runner_env(context),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert done.returncode == code, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
        assert context.process.poll() is None, "the long run ended before the others did"


@when('I create the file "{name}" and the runner ends')
def release(context, name):
    (suite_dir(context) / name).touch()
    _finish(context)


@then('the spill file of "{feature}" named in "{report}" holds "{text}"')
def spill_holds(context, feature, report, text):
    data = json.loads((suite_dir(context) / report).read_text(encoding="utf-8"))
    task = next(t for t in data["tasks"] if t["path"] == feature)
    spill = task["output"]["stdout"]["spill_path"]
    assert spill, task
    path = suite_dir(context) / spill
    assert path.is_file(), f"{spill} is gone: {sorted(os.listdir(path.parent.parent))}"
    assert text in path.read_text(encoding="utf-8", errors="replace")
    context.long_run_dir = path.parent.name


@then("the artifact directory holds the long run's directory and {count:d} others")
def runs_kept(context, count):
    runs = sorted(p.name for p in (suite_dir(context) / ".behave-bounded").glob("run-*"))
    assert context.long_run_dir in runs, runs
    assert len(runs) == count + 1, runs


def _part_files(context, directory: str) -> set[str]:
    return {
        name
        for name in os.listdir(suite_dir(context) / directory)
        if name.startswith((".run.json.", ".run.xml.")) and name.endswith(".part")
    }


@then('the directory "{directory}" holds the part files the killed run left')
def killed_parts(context, directory):
    context.killed_parts = _part_files(context, directory)
    context.parts_directory = directory
    # JSON: scenarios, tasks, not_run; JUnit: its testcases.
    assert len(context.killed_parts) == 4, context.killed_parts


@then("the part files the killed run left are gone, and the live run has its own")
def killed_parts_gone(context):
    now = _part_files(context, context.parts_directory)
    assert not now & context.killed_parts, sorted(now & context.killed_parts)
    assert len(now) == 4, now
    context.live_parts = now


@then("the live run's part files are still there")
def live_parts_kept(context):
    now = _part_files(context, context.parts_directory)
    assert context.live_parts <= now, sorted(context.live_parts - now)


@then('the directory "{directory}" holds only "{first}" and "{second}"')
def directory_holds_only(context, directory, first, second):
    names = sorted(os.listdir(suite_dir(context) / directory))
    assert names == sorted([first, second]), names


@then('the JSON report "{name}" holds the scenarios of "{feature}" only')
def report_of(context, name, feature):
    data = json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))
    assert {s["feature"] for s in data["scenarios"]} == {feature}, data["scenarios"]


@when('I run the runner with "{args}" on a file system of {size:d} {unit} at "{mount}"')
def run_small_fs(context, args, size, unit, mount):
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, (
        "this scenario mounts a small tmpfs in a private mount namespace and needs "
        f"`unshare --user --map-root-user --mount` (util-linux): {probe.stderr.strip()}"
    )
    suite = suite_dir(context)
    (suite / mount).mkdir(parents=True, exist_ok=True)
    context.listing = suite.parent / f"{suite.name}-listing"
    context.add_cleanup(lambda: context.listing.unlink(missing_ok=True))
    context.extra_env = {
        **getattr(context, "extra_env", {}),
        "SIZE": f"{size}{ {'KiB': 'k', 'MiB': 'm'}[unit] }",
        "MOUNT": str(suite / mount),
        "LISTING": str(context.listing),
    }
    wrapper = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c"]
    _start(context, [*wrapper, _IN_SMALL_FILE_SYSTEM, "sh", *runner_command(args)])
    _finish(context)


def _listed(context) -> dict[str, int]:
    lines = context.listing.read_text(encoding="utf-8").splitlines()
    return {name: int(size) for name, size in (line.split("\t") for line in lines)}


@then('the file system at "{mount}" held only "{name}" when the run ended')
def fs_held_only(context, mount, name):
    assert list(_listed(context)) == [name], _listed(context)


@then('the file system at "{mount}" held no spill file when the run ended')
def fs_no_spill(context, mount):
    listed = _listed(context)
    assert not [name for name in listed if name.endswith(".log")], listed
    assert "durations.json" in listed, listed  # the run went on to save what it measured


@then('the JSON report "{name}" names no spill file of "{feature}"')
def no_spill_named(context, name, feature):
    data = json.loads((suite_dir(context) / name).read_text(encoding="utf-8"))
    task = next(t for t in data["tasks"] if t["path"] == feature)
    stdout = task["output"]["stdout"]
    assert stdout["truncated"] is True, stdout
    assert stdout["spill_path"] is None, stdout


@when('I run the runner with the umask {umask} and "{args}"')
def run_with_umask(context, umask, args):
    _start(context, runner_command(args), umask=int(umask, 8))
    _finish(context)


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.lstat().st_mode):04o}"


@then('the files "{first}", "{second}" and "{third}" have the mode {mode}')
def files_mode(context, first, second, third, mode):
    modes = {name: _mode(suite_dir(context) / name) for name in (first, second, third)}
    assert set(modes.values()) == {mode}, modes


@then(
    'the artifact directory "{name}" is 0700, holding only files of mode 0600 and directories '
    'of mode 0700, a spill file of "{feature}" among them'
)
def artifacts_private(context, name, feature):
    base = suite_dir(context) / name
    assert _mode(base) == "0700", _mode(base)
    found = {str(p.relative_to(base)): _mode(p) for p in base.rglob("*")}
    wrong = {
        path: mode
        for path, mode in found.items()
        if mode != ("0700" if (base / path).is_dir() else "0600")
    }
    assert not wrong, wrong
    label = feature.replace("/", "_")
    assert any(label in path and path.endswith(".log") for path in found), found


# -- in-process: the sweep of temporary files and the pruning of run directories ---------------


def _held_open(context, path: Path) -> None:
    """A live writer: an open descriptor holding the exclusive lock, as atomic.temp_file does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    context.add_cleanup(os.close, fd)


def _make(context, path: Path, what: str) -> None:
    hours_ago = {"two hours ago": 7200, "a minute ago": 60}
    if what.startswith(("a part file", "an unlocked file")):
        path.write_text("x", encoding="utf-8")
        if what == "a part file a live writer holds":
            _held_open(context, path)
    elif what == "a directory":
        path.mkdir()
    elif what == "a symbolic link to an unlocked file":
        target = path.parent / "link-target"
        target.write_text("x", encoding="utf-8")
        path.symlink_to(target)
    else:
        raise AssertionError(f"unknown kind {what!r}")
    for suffix, seconds in hours_ago.items():
        if what.endswith(suffix):
            os.utime(path, (time.time() - seconds, time.time() - seconds))


@given('a report directory holding next to "{name}":')
def report_directory(context, name):
    directory = suite_dir(context) / "sweep"
    directory.mkdir()
    for row in context.table:
        _make(context, directory / row["name"], row["what"])
    context.sweep_dir = directory
    context.sweep_before = set(os.listdir(directory))
    context.sweep_destination = str(directory / name)


@when('a temporary file is made next to "{name}"')
def make_temp(context, name):
    path, fd = temp_file(context.sweep_destination, ".scenarios.part")
    context.add_cleanup(os.close, fd)
    context.sweep_made = Path(path)


@then('the sweep removed exactly "{names}"')
def sweep_removed(context, names):
    after = set(os.listdir(context.sweep_dir)) - {context.sweep_made.name}
    assert context.sweep_before - after == set(names.split(", ")), sorted(
        context.sweep_before - after
    )


@then("the temporary file made is locked and private, and no sweep removes it while it is open")
def made_locked(context):
    made = context.sweep_made
    assert made.name.endswith(".scenarios.part"), made.name
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert sweep_stale(str(made.parent), f".{Path(context.sweep_destination).name}.") == []
    assert made.exists()


@given("an artifact directory holding, oldest first:")
def artifact_directory(context):
    base = suite_dir(context) / "artifacts"
    base.mkdir()
    start = time.time() - 3 * 3600
    for number, row in enumerate(context.table):
        directory = base / row["name"]
        directory.mkdir()
        lock = directory / LOCK_NAME
        what = row["what"]
        if what == "a run directory a live run holds":
            _held_open(context, lock)
        elif what == "a run directory with an unlocked lock":
            lock.write_text("", encoding="utf-8")
        elif what == "a run directory whose lock is a link":
            lock.symlink_to(directory / "elsewhere")
        (directory / "features_x.feature-stdout-abc.log").write_text("old output\n")
        when = start + number
        if what.endswith("two hours ago"):
            when = time.time() - 7200
        elif what.endswith("a minute ago"):
            when = time.time() - 60
        os.utime(directory, (when, when))
    context.artifact_base = base
    context.artifact_before = set(os.listdir(base))


@when("a new run directory is made there, keeping {keep:d} runs")
def new_run_directory(context, keep):
    base = context.artifact_base
    context.pruned = {path.name for path in prune(base, keep=keep)}
    warnings: list[str] = []
    context.new_run = RunDirectory.create(str(base), warnings.append)
    assert context.new_run is not None, warnings
    context.add_cleanup(context.new_run.close)


@then('pruning removed exactly "{names}"')
def pruned_exactly(context, names):
    expected = set(names.split(", "))
    after = set(os.listdir(context.artifact_base))
    assert context.artifact_before - after == expected, sorted(context.artifact_before - after)
    assert {n for n in context.pruned} <= expected, context.pruned


@then("the new run directory is named run-*, locked, and pruning keeps it while it is held")
def new_run_locked(context):
    path = Path(context.new_run.path)
    assert path.name.startswith("run-") and path.parent == context.artifact_base, path
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for _ in range(3):
        assert path not in prune(context.artifact_base, keep=1)
    assert path.is_dir()
    context.new_run.close()
    assert not path.exists(), sorted(os.listdir(path))  # empty once its lock file is gone
    context.new_run.close()  # twice is harmless


@then("a run directory under a regular file is refused with a warning")
def run_directory_refused(context):
    blocker = suite_dir(context) / "blocker"
    blocker.write_text("", encoding="utf-8")
    warnings: list[str] = []
    assert RunDirectory.create(str(blocker), warnings.append) is None
    assert len(warnings) == 1 and warnings[0].startswith(
        f"cannot use the artifact directory {blocker}"
    )
    assert warnings[0].endswith("; keeping truncated output only"), warnings
