"""Files that readers see whole or not at all: written beside their place, then renamed.

Reports and the durations store are read by other runs and by CI while a run may be writing
them; ``os.replace`` of a temporary file in the same directory is atomic on POSIX.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import TextIO


def temp_file(destination: str, suffix: str) -> tuple[str, int]:
    """A private (0600, ``mkstemp``) file next to ``destination`` (same file system)."""
    directory = os.path.dirname(os.path.abspath(destination))
    fd, path = tempfile.mkstemp(
        prefix=f".{os.path.basename(destination)}.", suffix=suffix, dir=directory
    )
    return path, fd


def write_atomically(path: str, write: Callable[[TextIO], object]) -> None:
    """Write ``path`` through a temporary file renamed over it: all of it or nothing."""
    temp, fd = temp_file(path, ".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
