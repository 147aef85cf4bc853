"""The resident set size of this process as the kernel counts it: the figure an OOM killer sees.

A memory budget judges a block's **peak resident growth**: the largest resident set size
(RSS) of the process during the block minus its RSS when the block started. Two sources:

* :data:`KERNEL` (``"VmHWM"``), on Linux: writing ``5`` to ``/proc/self/clear_refs`` resets
  the kernel's high-water mark of the RSS to the current RSS (Linux 4.0+), and ``VmHWM`` in
  ``/proc/self/status`` at the end is the exact peak since then. The kernel raises the mark
  whenever memory is unmapped (``munmap``, ``brk`` shrinking, ``madvise``) and on reading it,
  so a spike that is allocated and freed between two reads is counted in full. Pages the
  kernel takes away itself (swapped out) lower the RSS without raising the mark first, and
  the kernel's RSS counters lag by a few pages per thread (measured: 127.9 MiB for 128 MiB
  touched), so the figure is exact to within about 1 MiB.
* :data:`SAMPLES` (``"memray samples"``), elsewhere, or where the reset is refused or ignored
  (some sandboxes): the largest of the RSS samples memray takes every 10 ms while it tracks,
  so a spike shorter than that can be missed.

Resetting the mark is process-wide: after a budgeted block the process's own ``VmHWM`` (and
the ``ru_maxrss`` its parent reads when it exits) count from that block's start on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

KERNEL = "VmHWM"
SAMPLES = "memray samples"
PROC_SELF = "/proc/self"
#: After a reset ``VmHWM`` equals ``VmRSS`` but for pages another thread freed in between;
#: a mark higher than this above the RSS means the kernel ignored the reset.
RESET_SLACK = 2**20
#: ``/proc/self/status`` is about 1.5 KiB; ``VmRSS`` and ``VmHWM`` are in its first half.
STATUS_BUFFER = 4096


_FIELD_RE = re.compile(rb"^(VmRSS|VmHWM):\s*(\d+) kB", re.MULTILINE)


def read_status(proc: str, buffer: bytearray) -> tuple[int, int] | None:
    """``(VmRSS, VmHWM)`` in bytes from ``proc/status``; ``None`` where it cannot be read.

    The file is read into ``buffer`` (allocated once, before memray tracks), so reading the
    mark allocates nothing that would show among a block's largest allocation sites.
    """
    try:
        descriptor = os.open(os.path.join(proc, "status"), os.O_RDONLY)
        try:
            size = os.readv(descriptor, [buffer])
        finally:
            os.close(descriptor)
    except OSError:
        return None
    fields = {match[1]: int(match[2]) * 1024 for match in _FIELD_RE.finditer(buffer, 0, size)}
    if len(fields) != 2:
        return None
    return fields[b"VmRSS"], fields[b"VmHWM"]


def reset_high_water_mark(proc: str, buffer: bytearray) -> int | None:
    """Reset the kernel's peak RSS to the current RSS; that RSS, or ``None`` if it did not work."""
    try:
        descriptor = os.open(os.path.join(proc, "clear_refs"), os.O_WRONLY)
        try:
            os.write(descriptor, b"5")
        finally:
            os.close(descriptor)
    except OSError:  # no such file (not Linux), EINVAL (Linux < 4.0), EACCES (a sandbox)
        return None
    status = read_status(proc, buffer)
    if status is None:
        return None
    rss, mark = status
    return rss if mark <= rss + RESET_SLACK else None


class ResidentGrowth:
    """The peak resident growth of one block: :meth:`start`, :meth:`stop`, :meth:`growth`.

    ``proc`` is the ``/proc`` directory of this process (another one only in tests);
    ``use_kernel=False`` chooses memray's samples even where the kernel's mark would work.
    """

    def __init__(self, *, use_kernel: bool = True, proc: str = PROC_SELF) -> None:
        self.use_kernel = use_kernel
        self.proc = proc
        self.source = SAMPLES
        self.start_rss: int | None = None
        self._peak: int | None = None
        self._buffer = bytearray(STATUS_BUFFER)

    def start(self) -> None:
        """Take the block's starting RSS; on Linux, reset the kernel's mark to it."""
        self._peak = None
        self.start_rss = reset_high_water_mark(self.proc, self._buffer) if self.use_kernel else None
        if self.start_rss is not None:
            self.source = KERNEL
            return
        self.source = SAMPLES
        status = read_status(self.proc, self._buffer)
        self.start_rss = status[0] if status is not None else None  # None: the first sample

    def stop(self) -> None:
        """Read the kernel's mark (before anything the caller does after the block)."""
        if self.source == KERNEL:
            status = read_status(self.proc, self._buffer)
            self._peak = status[1] if status is not None else None
            if self._peak is None:  # /proc went away mid-block: use the samples after all
                self.source = SAMPLES

    def growth(self, samples: Iterable[int]) -> int:
        """Peak RSS minus the starting RSS (never below 0); ``samples`` are memray's, in order.

        With the kernel's mark the samples are not needed. Without it the starting RSS is
        the one read at :meth:`start`, or the first sample where ``/proc`` is missing.
        """
        if self.source == KERNEL and self._peak is not None and self.start_rss is not None:
            return max(0, self._peak - self.start_rss)
        baseline, peak = self.start_rss, 0
        for sample in samples:  # one pass: a long block has many samples
            baseline = sample if baseline is None else baseline
            peak = max(peak, sample)
        return max(0, peak - baseline) if baseline is not None else 0
