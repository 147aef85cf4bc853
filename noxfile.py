"""Sessions: lint, reliability, coverage_report (default); unit_tests, bench, html_screenshot.

`nox` runs the defaults. coverage_report runs every feature (but the @slow ones, which are
reliability's) under coverage.py and fails on a failing feature as on a missed gate, so the
features run once; `nox -s unit_tests` runs them without coverage, and
`nox -s unit_tests -- features/some.feature` runs one file: the session's arguments go to the
runner unchanged.
"""

from __future__ import annotations

import logging
import os
import shutil

import nox

nox.options.default_venv_backend = "uv|virtualenv"
# coverage_report runs last: its gate is the last thing `nox` prints, right after the verdict.
nox.options.sessions = ["lint", "reliability", "coverage_report"]
nox.options.reuse_existing_virtualenvs = True


class _VerdictLast(logging.Filter):
    """Drop nox's success notes and end-of-run summary, which would follow the verdict.

    CI systems and people read the end of `nox`'s output: the runner's verdict and the
    coverage gate; failures are still logged as they happen, and the exit status says the rest.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        summary = message.startswith("Ran ") and " session" in message
        listed = message.startswith("* ")
        success = message.startswith("Session ") and " was successful" in message
        return not (summary or listed or success)


logging.getLogger("nox").addFilter(_VerdictLast())

PYTHON = "3.11"
RUNNER = "scripts/run_behave_parallel.py"
#: Features tagged @slow are the heavy reliability cases (2,000-feature load runs): they run in
#: their own session, `nox -s reliability`, which is a default session too (so CI runs it).
DEFAULT_SELECTION = ["--tags", "not @slow"]


def _install(session: nox.Session, extras: str = "test") -> None:
    session.install("-e", f".[{extras}]")


def _runner_args(session: nox.Session) -> list[str]:
    return list(session.posargs) or [*DEFAULT_SELECTION, "features"]


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (including bandit's S rules), ruff format, mypy --strict on the package."""
    session.install("ruff>=0.6", "mypy>=1.10", "-e", ".[test]")
    session.run("ruff", "check", "src", "scripts", "features", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "scripts", "features", "noxfile.py")
    session.run("mypy", "--strict", "src")


@nox.session(python=PYTHON)
def unit_tests(session: nox.Session) -> None:
    """The project's features, run in parallel by the project's own runner."""
    _install(session)
    session.run("python", RUNNER, *_runner_args(session))


@nox.session(python=PYTHON)
def coverage_report(session: nox.Session) -> None:
    """The features under coverage.py: parent, workers and every subprocess a step starts."""
    _install(session)
    data_dir = os.path.abspath(os.path.join(session.create_tmp(), "coverage"))
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    env = {
        "COVERAGE_FILE": os.path.join(data_dir, ".coverage"),
        "COVERAGE_PROCESS_START": os.path.abspath("pyproject.toml"),
    }
    session.run("coverage", "run", RUNNER, *_runner_args(session), env=env)
    session.run("coverage", "combine", "--quiet", env=env)
    session.run("coverage", "report", env=env)


@nox.session(python=PYTHON)
def reliability(session: nox.Session) -> None:
    """The heavy reliability cases (tagged @slow): 2,000 generated features under load."""
    _install(session)
    session.run("python", RUNNER, *(session.posargs or ["--tags", "@slow", "features"]))


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmark against behave and behavex (about 15 min; `-- --quick` for a short run).

    Not a default session: it measures, it does not test. Tables go to stdout and to
    `.behave-bounded/benchmark.md`; missed targets are listed, and only a failure to measure
    makes the session fail.
    """
    session.install("-e", ".[test]", "behavex")
    session.run("python", "scripts/benchmark.py", *session.posargs)


@nox.session(python=PYTHON)
def html_screenshot(session: nox.Session) -> None:
    """The --html report of a generated run in headless Chromium: drawn, not blank.

    Not a default session yet. Installs Debian's `chromium` with apt when it is missing and
    this machine can (root, apt), otherwise fails saying what to install. The screenshot is
    left in `.behave-bounded/html-screenshot.png`.
    """
    _install(session)
    session.run("python", "scripts/html_screenshot.py", *session.posargs)
