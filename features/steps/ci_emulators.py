"""Run the pipelines of ``ci/`` the way GitHub Actions and GitLab CI would, on a generated suite.

Not a step file (behave executes it like one, harmlessly: it defines no step). Each emulator
knows only the subset of its CI that the files in ``ci/`` use, and refuses anything else
(an unknown action, an unknown ``${{ expression }}``, an unknown job keyword): a file cannot
grow past what the features check. What they do as the CI does:

- every job (every matrix value, every ``parallel:`` instance) runs in a fresh, empty
  workspace; a checkout (GitHub's ``actions/checkout``, GitLab's clone) copies the suite in;
- GitHub substitutes ``${{ matrix.* }}``, ``${{ strategy.job-total }}`` ... before the shell
  runs; GitLab sets ``CI_NODE_INDEX`` (1-based) and ``CI_NODE_TOTAL`` in a ``parallel:`` job;
- ``run:`` / ``script:`` run in ``bash -eo pipefail``, a failing step skips the later ones
  unless they say ``if: always()``; GitLab's ``after_script`` always runs, its failure ignored;
- artifacts and caches move files between jobs as the files declare (GitHub's artifact root
  is the least common ancestor of the uploaded paths; hidden files only with
  ``include-hidden-files``; GitLab keeps paths as they are);
- only lines that install the runner (``pip install ...``) are skipped: it is installed here.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: Variables of the machine the features run on that a CI job would not have (a CI running
#: these features must not leak its own shard numbers into the emulated jobs).
FOREIGN = re.compile(r"(BEHAVE_BOUNDED_|CI_|CIRCLE_|BUILDKITE|GITHUB_|GITLAB_)")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
RUN_TIMEOUT = 300


@dataclass
class Command:
    """One shell script a job ran (a ``run:`` step, a ``script:`` or ``after_script:``)."""

    script: str
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Job:
    """One instance of a job: its workspace, what it ran and what it uploaded."""

    name: str
    variables: dict[str, str]
    workspace: Path
    artifacts: dict[str, Path] = field(default_factory=dict)  # artifact name -> its root
    commands: list[Command] = field(default_factory=list)
    restored: dict[str, bytes] = field(default_factory=dict)  # cache path -> content
    failed: bool = False


def behave_bounded_lines(document: object) -> list[str]:
    """Every ``behave-bounded ...`` command line in the strings of a parsed YAML document."""
    if isinstance(document, dict):
        return [line for value in document.values() for line in behave_bounded_lines(value)]
    if isinstance(document, list):
        return [line for value in document for line in behave_bounded_lines(value)]
    if isinstance(document, str):
        lines = (line.strip() for line in document.splitlines())
        return [line for line in lines if line.startswith("behave-bounded")]
    return []


def installs_runner(line: str) -> bool:
    return line.strip().startswith(("pip install", "python -m pip install"))


def shell_env(marker: str, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not FOREIGN.match(k)}
    # The runner of this checkout, as `pip install behave-bounded` would have put it on PATH.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["BB_TEST_MARKER"] = marker
    env.update(extra)
    return env


def run_shell(script: str, workspace: Path, env: dict[str, str]) -> Command:
    completed = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return Command(script, completed.returncode, completed.stdout, completed.stderr)


def checkout(suite: Path, workspace: Path) -> None:
    shutil.copytree(suite, workspace, dirs_exist_ok=True)


def copy_into(source: Path, destination: Path) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, destination, dirs_exist_ok=True)
    else:
        shutil.copy2(source, destination)


class Pipeline:
    """What both emulators share: a root for workspaces, caches and artifacts, a run count."""

    def __init__(self, ci_file: Path, suite: Path, root: Path, marker: str) -> None:
        self.document = yaml.safe_load(ci_file.read_text(encoding="utf-8"))
        self.suite = suite
        self.root = root
        self.marker = marker
        self.caches: dict[str, Path] = {}  # key -> saved directory, in creation order
        self.runs = 0
        self.jobs: list[Job] = []

    def new_job(self, name: str, variables: dict[str, str]) -> Job:
        number = len(self.jobs)
        workspace = self.root / f"run{self.runs}" / f"{number:02d}-{name}" / "workspace"
        workspace.mkdir(parents=True)
        job = Job(name, variables, workspace)
        self.jobs.append(job)
        return job

    def save_cache(self, key: str, workspace: Path, paths: list[str]) -> None:
        target = self.root / "caches" / f"{len(self.caches):02d}"
        for relative in paths:
            if (workspace / relative).exists():
                copy_into(workspace / relative, target / relative)
        if target.exists():
            self.caches.pop(key, None)
            self.caches[key] = target

    def restore_cache(self, job: Job, keys: list[str], prefixes: list[str]) -> None:
        found = next((self.caches[key] for key in keys if key in self.caches), None)
        if found is None:
            matching = [k for k in self.caches if any(k.startswith(p) for p in prefixes)]
            found = self.caches[matching[-1]] if matching else None
        if found is None:
            return
        for path in found.rglob("*"):
            if path.is_file():
                relative = path.relative_to(found)
                copy_into(path, job.workspace / relative)
                job.restored[str(relative)] = path.read_bytes()

    def latest_cache(self) -> Path | None:
        return list(self.caches.values())[-1] if self.caches else None

    def instances(self, name: str) -> list[Job]:
        """The instances of a job in the latest run."""
        latest = f"run{self.runs}"
        return [job for job in self.jobs if job.name == name and latest in job.workspace.parts]


# -- GitHub Actions ---------------------------------------------------------------------------


class GitHubActions(Pipeline):
    STEP_KEYS = frozenset({"uses", "with", "run", "name", "if"})
    JOB_KEYS = frozenset({"runs-on", "strategy", "steps", "needs", "if"})

    def run(self) -> None:
        self.runs += 1
        self.run_id = str(1000 + self.runs)
        jobs = self.document["jobs"]
        failed: set[str] = set()
        for name in self._order(jobs):
            spec = jobs[name]
            unknown = set(spec) - self.JOB_KEYS
            assert not unknown, f"job {name}: keywords the emulator does not know: {unknown}"
            needs = _as_list(spec.get("needs", []))
            if any(n in failed for n in needs) and "always()" not in str(spec.get("if", "")):
                continue
            matrix = spec.get("strategy", {}).get("matrix", {})
            assert len(matrix) <= 1, "one matrix dimension only"
            combos = [{key: value} for key, values in matrix.items() for value in values] or [{}]
            for index, combo in enumerate(combos):
                variables = {
                    "strategy.job-index": str(index),
                    "strategy.job-total": str(len(combos)),
                }
                variables |= {f"matrix.{key}": str(value) for key, value in combo.items()}
                if self._run_job(name, spec, variables).failed:
                    failed.add(name)

    @staticmethod
    def _order(jobs: dict) -> list[str]:
        done: list[str] = []
        while len(done) < len(jobs):
            ready = [
                name
                for name, spec in jobs.items()
                if name not in done and set(_as_list(spec.get("needs", []))) <= set(done)
            ]
            assert ready, "the jobs' needs form a cycle"
            done.extend(ready)
        return done

    def substitute(self, text: str, variables: dict[str, str]) -> str:
        known = {"github.run_id": self.run_id, "github.run_attempt": "1", **variables}

        def value(match: re.Match[str]) -> str:
            expression = match.group(1)
            assert expression in known, f"the emulator does not know ${{{{ {expression} }}}}"
            return known[expression]

        return _EXPRESSION.sub(value, text)

    def _run_job(self, name: str, spec: dict, variables: dict[str, str]) -> Job:
        job = self.new_job(name, variables)
        env = shell_env(self.marker, {})
        for step in spec["steps"]:
            unknown = set(step) - self.STEP_KEYS
            assert not unknown, f"step keywords the emulator does not know: {unknown}"
            if job.failed and "always()" not in str(step.get("if", "")):
                continue
            options = {  # inputs are strings: a YAML true arrives as "true"
                key: self.substitute(
                    str(value).lower() if isinstance(value, bool) else str(value), variables
                )
                for key, value in (step.get("with") or {}).items()
            }
            if "run" in step:
                self._run_step(job, self.substitute(step["run"], variables), env)
            else:
                self._use(job, step["uses"], options)
        return job

    def _run_step(self, job: Job, script: str, env: dict[str, str]) -> None:
        lines = [line for line in script.splitlines() if line.strip()]
        if all(installs_runner(line) for line in lines):
            return
        command = run_shell(script, job.workspace, env)
        job.commands.append(command)
        job.failed = job.failed or command.exit_code != 0

    def _use(self, job: Job, action: str, options: dict[str, str]) -> None:
        if action.startswith(("actions/checkout@", "actions/setup-python@")):
            if action.startswith("actions/checkout@"):
                checkout(self.suite, job.workspace)
        elif action.startswith("actions/cache/restore@"):
            prefixes = [p.strip() for p in options.get("restore-keys", "").splitlines()]
            self.restore_cache(job, [options["key"]], [p for p in prefixes if p])
        elif action.startswith("actions/cache/save@"):
            self.save_cache(options["key"], job.workspace, _lines(options["path"]))
        elif action.startswith("actions/upload-artifact@"):
            self._upload(job, options)
        elif action.startswith("actions/download-artifact@"):
            self._download(job, options)
        else:
            raise AssertionError(f"the emulator does not know the action {action}")

    def _upload(self, job: Job, options: dict[str, str]) -> None:
        """upload-artifact@v4: the files under the paths, rooted at their common ancestor."""
        hidden = options.get("include-hidden-files", "false") == "true"
        roots, files = [], []
        for pattern in _lines(options["path"]):
            for found in sorted(glob.glob(pattern, root_dir=job.workspace, include_hidden=True)):
                path = job.workspace / found
                roots.append(path if path.is_dir() else path.parent)
                candidates = (
                    [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
                )
                files += [p for p in candidates if hidden or not _is_hidden(p, job.workspace)]
        if not files:
            return  # if-no-files-found: warn
        common = Path(os.path.commonpath([str(r) for r in roots]))
        target = self.root / f"run{self.runs}" / "artifacts" / options["name"]
        assert not target.exists(), f"artifact {options['name']} uploaded twice"
        for path in files:
            copy_into(path, target / path.relative_to(common))
        job.artifacts[options["name"]] = target

    def _download(self, job: Job, options: dict[str, str]) -> None:
        store = self.root / f"run{self.runs}" / "artifacts"
        names = sorted(p.name for p in store.iterdir()) if store.exists() else []
        chosen = fnmatch.filter(names, options.get("pattern", options.get("name", "*")))
        # One directory per artifact, unless one artifact is named or merge-multiple is set.
        flat = "name" in options or options.get("merge-multiple", "false") == "true"
        destination = job.workspace / options.get("path", ".")
        for name in chosen:
            copy_into(store / name, destination if flat else destination / name)


def _is_hidden(path: Path, workspace: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(workspace).parts)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _as_list(value: object) -> list:
    return list(value) if isinstance(value, list) else [value]


# -- GitLab CI --------------------------------------------------------------------------------


class GitLabCI(Pipeline):
    GLOBAL_KEYS = frozenset({"stages", "default", "variables"})
    JOB_KEYS = frozenset(
        {"stage", "parallel", "cache", "script", "after_script", "artifacts", "needs", "when"}
    )

    def run(self) -> None:
        self.runs += 1
        document = self.document
        jobs = {k: v for k, v in document.items() if k not in self.GLOBAL_KEYS}
        assert set(document.get("default", {})) <= {"image"}, document.get("default")
        failed: set[str] = set()
        done: list[str] = []
        for stage in document["stages"]:
            for name, spec in jobs.items():
                if spec.get("stage", "test") != stage:
                    continue
                unknown = set(spec) - self.JOB_KEYS
                assert not unknown, f"job {name}: keywords the emulator does not know: {unknown}"
                needs = _as_list(spec.get("needs", done))
                if failed and spec.get("when", "on_success") != "always":
                    continue
                count = int(spec.get("parallel", 1))
                for index in range(1, count + 1):
                    variables = {"CI_NODE_TOTAL": str(count)}
                    if "parallel" in spec:
                        variables["CI_NODE_INDEX"] = str(index)
                    if self._run_job(name, spec, variables, needs).failed:
                        failed.add(name)
                done.append(name)

    def _run_job(self, name: str, spec: dict, variables: dict[str, str], needs: list) -> Job:
        job = self.new_job(name, variables)
        checkout(self.suite, job.workspace)
        for earlier in [j for j in self.jobs if j.name in needs and j is not job]:
            if "gitlab" in earlier.artifacts and f"run{self.runs}" in earlier.workspace.parts:
                copy_into(earlier.artifacts["gitlab"], job.workspace)
        env = shell_env(self.marker, {**self.document.get("variables", {}), **variables})
        cache = spec.get("cache")
        if cache and cache.get("policy", "pull-push") in {"pull", "pull-push"}:
            self.restore_cache(job, [cache["key"]], [])
        lines = [line for line in spec["script"] if not installs_runner(line)]
        command = run_shell("\n".join(lines), job.workspace, env)
        job.commands.append(command)
        job.failed = command.exit_code != 0
        if spec.get("after_script"):
            job.commands.append(run_shell("\n".join(spec["after_script"]), job.workspace, env))
        pushes = cache and cache.get("policy", "pull-push") in {"push", "pull-push"}
        if pushes and (not job.failed or cache.get("when") == "always"):
            self.save_cache(cache["key"], job.workspace, cache["paths"])
        self._keep_artifacts(job, spec.get("artifacts"))
        return job

    def _keep_artifacts(self, job: Job, artifacts: dict | None) -> None:
        if not artifacts or (job.failed and artifacts.get("when", "on_success") == "on_success"):
            return
        target = self.root / f"run{self.runs}" / "artifacts" / f"{len(self.jobs):02d}"
        patterns = list(artifacts.get("paths", []))
        patterns += _as_list(artifacts.get("reports", {}).get("junit", []))
        for pattern in patterns:
            assert "$" not in pattern, f"the emulator does not expand variables in {pattern}"
            for found in glob.glob(pattern, root_dir=job.workspace, include_hidden=True):
                copy_into(job.workspace / found, target / found)
        if target.exists():
            job.artifacts["gitlab"] = target
