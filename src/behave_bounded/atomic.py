"""Files that readers see whole or not at all: written beside their place, then renamed.

Reports and the durations store are read by other runs and by CI while a run may be writing
them; ``os.replace`` of a temporary file in the same directory is atomic on POSIX.

Every temporary file made here (``.NAME.XXXXXXXX.SUFFIX`` next to the destination ``NAME``) is
locked (``flock``) by the process writing it for as long as it may be needed, so leftovers of
a killed run can be told from files a concurrent run is still writing: each time a temporary
file is made for ``NAME``, the unlocked temporary files of ``NAME`` are removed. A file is
locked before it gets its final name (it is made under a ``.new`` name, locked, then renamed),
so a live run's file is never seen unlocked under the name the sweep removes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from typing import TextIO

#: Suffix of a temporary file between its creation and its lock (a few microseconds).
_STAGING = ".new"
#: A staging file (never locked) left for this long is a leftover of a killed process.
STAGING_MAX_AGE = 3600.0
#: Longest directory listing the sweep reads for one destination (a bound on its work).
MAX_SWEPT_ENTRIES = 10_000


def temp_file(destination: str, suffix: str) -> tuple[str, int]:
    """A private (0600, ``mkstemp``) file next to ``destination``, locked while ``fd`` is open.

    ``suffix`` starts with a dot. Stale temporary files of the same destination (unlocked: their
    writer is gone) are removed first (:func:`sweep_stale`).
    """
    directory = os.path.dirname(os.path.abspath(destination))
    prefix = f".{os.path.basename(destination)}."
    sweep_stale(directory, prefix)
    fd, staging = tempfile.mkstemp(prefix=prefix, suffix=suffix + _STAGING, dir=directory)
    path = staging[: -len(_STAGING)]
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else knows the new file
        os.rename(staging, path)
    except BaseException:  # pragma: no cover - the directory went away in these microseconds
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(staging)
        raise
    return path, fd


#: What follows the prefix in the names this module makes: mkstemp's 8 random characters, then
#: one of the suffixes used (``.tmp``, ``.probe``, ``.SECTION.part``), maybe the staging suffix.
_TEMPORARY = re.compile(r"[a-z0-9_]{8}(?:\.[a-z_]+)?\.(?:part|tmp|probe)(?:\.new)?", re.ASCII)


def sweep_stale(directory: str, prefix: str) -> list[str]:
    """Remove the temporary files ``prefix*`` of ``directory`` no process holds; their paths.

    A file is stale when its lock can be taken (its writer closed it or died: a SIGKILLed run
    leaves its part files unlocked); a staging file when it is also older than
    :data:`STAGING_MAX_AGE`. Nothing else is touched: only names this module makes (the
    prefix, 8 random characters, a suffix it uses), and only regular files.
    """
    removed: list[str] = []
    try:
        with os.scandir(directory) as entries:
            names = [e.name for _, e in zip(range(MAX_SWEPT_ENTRIES), entries, strict=False)]
    except OSError:
        return removed
    for name in names:
        if not name.startswith(prefix) or not _TEMPORARY.fullmatch(name, len(prefix)):
            continue
        path = os.path.join(directory, name)
        if _stale(path, staging=name.endswith(_STAGING)):
            removed.append(path)
    return removed


def _stale(path: str, *, staging: bool) -> bool:
    """Remove ``path`` if nobody holds its lock (True when it was removed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        status = os.fstat(fd)
        young = staging and time.time() - status.st_mtime < STAGING_MAX_AGE
        if not stat.S_ISREG(status.st_mode) or young:
            return False
        # Shared: an exclusive lock needs a writable descriptor where flock is emulated with
        # fcntl locks (NFS); a live writer's exclusive lock refuses it all the same.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        os.unlink(path)
    except OSError:  # a live writer holds it, or another sweep took it first
        return False
    finally:
        os.close(fd)
    return True


def shared_mode() -> int:
    """The mode a new file gets from this process's umask (``0o666 & ~umask``).

    Read from ``/proc/self/status`` where it is there (Linux 4.7+), because setting the umask
    to read it changes it process-wide for an instant, which threads of the process would see.
    """
    with contextlib.suppress(OSError, ValueError, StopIteration):
        with open("/proc/self/status", encoding="ascii") as status:
            line = next(line for line in status if line.startswith("Umask:"))
        return 0o666 & ~int(line.split()[1], 8)
    mask = os.umask(0o077)  # pragma: no cover - Linux has the line above
    os.umask(mask)  # pragma: no cover
    return 0o666 & ~mask  # pragma: no cover


class Staged:
    """A file written whole next to its destination, not yet in place: commit or discard it.

    Holding it open keeps its lock, so no sweep removes it before :meth:`commit` renames it.
    """

    def __init__(self, path: str, temp: str, fd: int) -> None:
        self.path = path
        self.temp = temp
        self._fd: int | None = fd

    def commit(self) -> None:
        """Rename it over its destination (atomically), then release it."""
        if self._fd is None:
            raise RuntimeError(f"{self.path}: already committed or discarded")
        try:
            os.replace(self.temp, self.path)
        except BaseException:
            self.discard()
            raise
        self._close()

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.temp)
        self._close()

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)


def stage(path: str, write: Callable[[TextIO], object], *, private: bool = False) -> Staged:
    """Write the whole file for ``path`` beside it (flushed to disk); :meth:`Staged.commit`
    puts it in place. Its mode is the umask's (a report is read by CI tools and colleagues),
    or 0600 when ``private``."""
    if os.path.isdir(path):  # os.replace would fail at commit, after others were committed
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    temp, fd = temp_file(path, ".tmp")
    try:
        out = open(  # noqa: SIM115 - closed below, after the lock is handed over
            os.dup(fd), "w", encoding="utf-8", errors="replace", newline="\n"
        )
        with out:
            write(out)
            out.flush()
            if not private:
                os.fchmod(out.fileno(), shared_mode())
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        os.close(fd)
        raise
    return Staged(path, temp, fd)


def write_atomically(
    path: str, write: Callable[[TextIO], object], *, private: bool = False
) -> None:
    """Write ``path`` through a temporary file renamed over it: all of it or nothing."""
    stage(path, write, private=private).commit()
