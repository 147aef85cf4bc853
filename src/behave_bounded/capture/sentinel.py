"""The truncation sentinel: the one line that says where a stream was cut and by how much, and
where no UTF-8 character may be cut in two."""

from __future__ import annotations

import codecs
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    pass

_CONTINUATION = range(0x80, 0xC0)


#: Matches the line :func:`format_sentinel` writes where output was cut.
SENTINEL_RE: Final[re.Pattern[str]] = re.compile(
    r"\[behave-bounded: (?P<stream>[^\s:\]]+) truncated: (?P<written>\d+) bytes written, "
    r"(?P<kept>\d+) kept, (?P<dropped>\d+) dropped; full output: (?P<path>[^\n]*)\]"
)


def format_sentinel(stream: str, written: int, kept: int, spill_path: str | None) -> str:
    """The one line that says, inside the kept text, how much was cut and where the rest is."""
    where = "none" if spill_path is None else _one_line(spill_path)
    return (
        f"[behave-bounded: {stream} truncated: {written} bytes written, {kept} kept, "
        f"{written - kept} dropped; full output: {where}]"
    )


def _one_line(text: str) -> str:
    return text.replace("\n", "\\n").replace("\r", "\\r")


def _split_suffix(head: bytes) -> int:
    """How many bytes at the end of ``head`` are an unfinished UTF-8 character."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    decoder.decode(head[-3:], False)  # a pending sequence is at most 3 bytes and starts a char
    return len(decoder.getstate()[0])


def _split_prefix(tail: bytes) -> int:
    """How many bytes at the start of ``tail`` continue a character cut off before it."""
    count = 0
    while count < min(3, len(tail)) and tail[count] in _CONTINUATION:
        count += 1
    return count
