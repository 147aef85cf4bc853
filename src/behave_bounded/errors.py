"""The runner's own exceptions: each one is a user error with a message that says what to do.

They never show a traceback: the command line prints ``behave-bounded: error: MESSAGE`` and
exits with :data:`EXIT_USAGE`.
"""

from __future__ import annotations

#: Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class BoundedError(Exception):
    """A problem the user can fix: bad option, bad configuration, a feature that does not parse."""

    exit_code = EXIT_USAGE


class UsageError(BoundedError):
    """An option, environment variable or configuration key has an invalid value."""


class ConfigurationError(UsageError):
    """A configuration file cannot be read, or settings from any sources contradict each other."""


class CollectionError(BoundedError):
    """Features could not be collected; ``problems`` holds one ``path:line: message`` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class WorkerSetupError(BoundedError):
    """A worker could not start: the steps or ``environment.py`` raised while loading."""
