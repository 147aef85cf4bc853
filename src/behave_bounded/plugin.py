"""``behave --runner behave_bounded:ParallelRunner``: the runner's face inside behave.

behave parses its command line before it loads a runner, so our own options cannot be given
as flags here; they come from ``-D behave_bounded.NAME=VALUE``, ``BEHAVE_BOUNDED_*`` and
``[tool.behave-bounded]``, plus behave's own ``-j/--jobs`` (a value above 1; behave's default
of 1 means "not given", so ``auto`` still applies). Exit codes other than 0 and 1 (usage
errors, interruptions) leave through ``SystemExit`` because behave only knows pass and fail.
"""

from __future__ import annotations

import sys
from typing import Any

from behave.api.runner import ITestRunner

from behave_bounded.cli import report_collection_error
from behave_bounded.config import USERDATA_PREFIX, resolve
from behave_bounded.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, BoundedError, CollectionError
from behave_bounded.run import execute


def behave_command_args() -> tuple[str, ...]:
    """The arguments behave was started with: the workers rebuild their configuration."""
    return tuple(sys.argv[1:])


class ParallelRunner(ITestRunner):  # type: ignore[misc]
    """A behave runner class: ``run()`` returns True when the run failed."""

    def __init__(self, config: Any, **_kwargs: Any) -> None:
        self.config = config

    def run(self) -> bool:
        try:
            userdata = dict(self.config.userdata or {})
            # behave's own --jobs (1 means "not given"); -D behave_bounded.jobs=N wins over it.
            jobs = int(getattr(self.config, "jobs", 1) or 1)
            if jobs > 1:
                userdata.setdefault(USERDATA_PREFIX + "jobs", str(jobs))
            settings = resolve({}, behave_command_args(), userdata=userdata)
            code = execute(settings, config=self.config)
        except CollectionError as error:
            report_collection_error(error)
            code = EXIT_USAGE
        except BoundedError as error:
            print(f"behave-bounded: error: {error}", file=sys.stderr)
            code = error.exit_code
        if code not in (EXIT_OK, EXIT_FAILED):
            sys.stdout.flush()
            raise SystemExit(code)
        return code == EXIT_FAILED

    @property
    def undefined_steps(self) -> list[Any]:
        """behave prints snippets for these; the workers' reports already show them."""
        return []


__all__ = ["ParallelRunner"]
