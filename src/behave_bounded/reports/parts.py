"""Part files: a report's sections collected in private temporary files as the run goes.

A report is written while features finish, so memory holds at most one feature's bounded
text; the sections are assembled into the destination in one atomic rename at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Sequence
from typing import TextIO

from behave_bounded.atomic import temp_file
from behave_bounded.errors import UsageError


class PartFile:
    """One section of a report, collected in a temporary file as the run goes."""

    def __init__(self, destination: str, section: str) -> None:
        self.path, fd = temp_file(destination, f".{section}.part")
        self.file = os.fdopen(fd, "wb")
        self.size = 0
        self.items = 0

    def write(self, text: str) -> tuple[int, int]:
        """Append ``text``; returns where it went: (offset, length) in bytes."""
        # errors="replace": a lone surrogate from undecodable output becomes "?", never a crash.
        data = text.encode("utf-8", "replace")
        self.file.write(data)
        where = (self.size, len(data))
        self.size += len(data)
        self.items += 1
        return where

    def copy_into(self, out: TextIO) -> None:
        self.file.flush()
        with open(self.path, encoding="utf-8") as part:
            shutil.copyfileobj(part, out, 2**16)

    def copy_chunks(self, out: TextIO, chunks: Iterable[tuple[int, int]]) -> None:
        """Copy the (offset, length) pieces that :meth:`write` returned, in that order."""
        self.file.flush()
        with open(self.path, "rb") as part:
            for offset, length in chunks:
                part.seek(offset)
                out.write(part.read(length).decode("utf-8"))

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def open_parts(path: str, sections: Sequence[str], option: str) -> dict[str, PartFile]:
    """The part files of a report; a destination we cannot write to is a usage error."""
    parts: dict[str, PartFile] = {}
    try:
        for section in sections:
            parts[section] = PartFile(path, section)
    except OSError as error:
        for part in parts.values():  # pragma: no cover - the directory took the first part
            part.discard()
        raise UsageError(
            f"{option} {path}: cannot write the report: {error.strerror or error}"
        ) from None
    return parts
