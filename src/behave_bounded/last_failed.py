"""The record ``--last-failed`` reads: the failing scenarios of the previous run, and nothing else.

Each run writes ``ARTIFACTS/last-failed.json`` once, when it ends, atomically: a JSON document
in the shape of the JSON report's ``scenarios`` list (``{"scenarios": [{"location", "status"}]}``)
holding only the scenarios whose status fails the run. Its size is linear in the number of
failing scenarios, not in the suite's size, and the parent holds one short entry per failing
scenario until then. Because the shape is the report's, ``--last-failed`` reads a ``--json``
report just as well (:func:`behave_bounded.schedule.last_failed_locations`).
"""

from __future__ import annotations

import json
import os

from behave_bounded.atomic import write_atomically
from behave_bounded.results import TaskResult


class LastFailed:
    """The failing scenarios of this run, in the order they finished (each once)."""

    #: The record's name in the artifact directory.
    FILE_NAME = "last-failed.json"

    def __init__(self, artifacts: str) -> None:
        self.path = os.path.join(artifacts, self.FILE_NAME)
        self._failing: dict[str, str] = {}  # location -> status (ordered, each location once)

    def add(self, result: TaskResult) -> None:
        """Note the failing scenarios of a finalized task result."""
        for scenario in result.scenarios:
            if scenario.status.fails_run:
                self._failing.setdefault(scenario.location, scenario.status.value)

    def save(self) -> str:
        """Write the record atomically (0600); why it could not be written, or ""."""
        scenarios = [{"location": loc, "status": status} for loc, status in self._failing.items()]
        text = json.dumps({"scenarios": scenarios}, separators=(",", ":"))
        try:
            write_atomically(self.path, lambda out: out.write(text), private=True)
        except OSError as error:
            return f"cannot write {self.path}: {error}"
        return ""
