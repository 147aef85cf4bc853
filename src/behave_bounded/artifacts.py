"""The artifact directory (``--artifacts``, default ``.behave-bounded``): one directory per run.

Each run that spills gets a private (0700) ``run-*`` directory for its spill files and kept
reports. The artifact directory stays bounded: a run starting removes the oldest run
directories beyond :data:`KEEP_RUNS` — but never one of a run that is still going. A run holds
an exclusive ``flock`` on the file :data:`LOCK_NAME` inside its directory for its whole life
(the kernel releases it when the process dies, however it dies), and pruning skips every
directory whose lock is held. A directory gets its ``run-*`` name only once it is locked (it
is made under another name, locked, then renamed), so no run can see a live one unlocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: Run directories of earlier runs kept in the artifact directory; older ones are removed
#: (unless their run still holds them).
KEEP_RUNS = 10
#: The lock file inside a run directory (hidden: a suite's ``glob("run-*/*")`` misses it).
LOCK_NAME = ".lock"


def prepare(artifacts: str, warn: Callable[[str], None]) -> bool:
    """Create the artifact directory (0700); one warning and False when it cannot be used."""
    try:
        Path(artifacts).mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        warn(
            f"cannot use the artifact directory {artifacts}: {error}; running without spill "
            "files, recorded durations and a record for --last-failed"
        )
        return False
    return True


class RunDirectory:
    """This run's ``run-*`` directory, locked until :meth:`close`."""

    def __init__(self, path: str, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    @classmethod
    def create(cls, artifacts: str, warn: Callable[[str], None]) -> RunDirectory | None:
        """Prune old run directories, then make and lock this run's; None (with a warning)
        when the artifact directory cannot be used."""
        try:
            base = Path(artifacts)
            prune(base)
            staging = tempfile.mkdtemp(prefix=".new-run-", dir=base)  # 0700
            try:
                fd = os.open(os.path.join(staging, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                path = os.path.join(base, "run-" + os.path.basename(staging)[len(".new-run-") :])
                os.rename(staging, path)
            except BaseException:  # pragma: no cover - made and locked by this process just now
                shutil.rmtree(staging, ignore_errors=True)
                raise
        except OSError as error:
            warn(
                f"cannot use the artifact directory {artifacts}: {error}; keeping truncated "
                "output only"
            )
            return None
        return cls(path, fd)

    def close(self) -> None:
        """Release the directory (it is an old run's from now on); remove it if it is empty."""
        fd, self._lock_fd = self._lock_fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.path, LOCK_NAME))
        os.close(fd)
        with contextlib.suppress(OSError):
            os.rmdir(self.path)


#: A directory still named ``.new-run-*`` this long after it was made was left by a run killed
#: while it made it (a few microseconds): it is removed too.
STAGING_MAX_AGE = 3600.0


def prune(base: Path, keep: int = KEEP_RUNS) -> list[Path]:
    """Remove the oldest run directories of runs that have ended, so that ``keep - 1`` of
    them remain (the new run makes the ``keep``-th); those of live runs are neither removed
    nor counted. Returns the removed ones."""
    now = time.time()
    for staging in base.glob(".new-run-*"):
        with contextlib.suppress(OSError):
            if staging.is_dir() and now - staging.stat().st_mtime > STAGING_MAX_AGE:
                shutil.rmtree(staging, ignore_errors=True)
    runs = []
    for entry in base.glob("run-*"):
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                runs.append((entry.stat().st_mtime, entry.name, entry))
    runs.sort()
    # A directory found unlocked stays so: a run locks its directory before naming it run-*.
    ended = [entry for _, _, entry in runs if not _is_live(entry)]
    removed = ended[: max(0, len(ended) - (keep - 1))]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)
    return removed


def _is_live(directory: Path) -> bool:
    """Whether a run holds the directory's lock (no lock file: a run that has ended, or one of
    an older version of the runner)."""
    try:
        fd = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: keep it
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
