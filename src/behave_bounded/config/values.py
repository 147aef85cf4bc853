"""How the text of a setting becomes its value: sizes, counts, seconds, enums, shards, names.

Every parser takes the text as a user wrote it (on the command line, in the environment, in
pyproject.toml) and returns the final value, or raises ``ValueError`` saying what was expected;
the sources add where the text came from.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from behave_bounded.results import Keep, Scheme

_UNITS = {
    "": 1,
    "b": 1,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
}
_SIZE_RE = re.compile(r"^(\d+)\s*([a-z]*)$", re.IGNORECASE | re.ASCII)
WHOLE_NUMBER = re.compile(r"\s*\d+\s*", re.ASCII)


def parse_size(text: str) -> int:
    """``4096``, ``512KiB``, ``10MiB``, ``1GiB`` (KB/MB/GB are powers of 1000); must be > 0."""
    match = _SIZE_RE.match(text.strip())
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError("expected a positive size such as 4096, 512KiB, 10MiB or 1GiB")
    value = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if value <= 0:
        raise ValueError("a size must be greater than 0")
    return value


def parse_size_or_unlimited(text: str) -> int | None:
    """A size, or ``unlimited`` (``None``): the original unbounded capture, kept on purpose."""
    if text.strip().lower() == "unlimited":
        return None
    return parse_size(text)


def parse_positive_int(text: str) -> int:
    if not WHOLE_NUMBER.fullmatch(text) or int(text) <= 0:
        raise ValueError("expected a whole number greater than 0")
    return int(text)


def parse_count(text: str) -> int:
    if not WHOLE_NUMBER.fullmatch(text):
        raise ValueError("expected a whole number (0 or more)")
    return int(text)


#: Most reruns of a failed scenario (``--reruns``) and most runs of each (``--repeat``): each
#: attempt is kept (bounded) until the scenario is reported, each run is a task in the queue.
MAX_RERUNS = 100
MAX_REPEAT = 1000


def parse_reruns(text: str) -> int:
    """How many times a failed scenario runs again: 0 (never) to :data:`MAX_RERUNS`."""
    if not WHOLE_NUMBER.fullmatch(text) or int(text) > MAX_RERUNS:
        raise ValueError(f"expected a whole number from 0 to {MAX_RERUNS}")
    return int(text)


def parse_repeat(text: str) -> int:
    """How many times each scenario runs: 1 (once) to :data:`MAX_REPEAT`."""
    if not WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= MAX_REPEAT:
        raise ValueError(f"expected a whole number from 1 to {MAX_REPEAT}")
    return int(text)


def parse_jobs(text: str) -> int | None:
    """``auto`` (``None``: one per CPU) or a whole number greater than 0."""
    if text.strip().lower() == "auto":
        return None
    return parse_positive_int(text)


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number of seconds greater than 0") from None
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a number of seconds greater than 0")
    return value


def parse_delay(text: str) -> float:
    """Seconds to wait, 0 or more (finite)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number of seconds, 0 or more") from None
    if not 0 <= value < float("inf"):
        raise ValueError("expected a number of seconds, 0 or more")
    return value


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected one of: true, false, yes, no, 1, 0")


_E = TypeVar("_E", bound=enum.StrEnum)


def enum_parser(kind: type[_E]) -> Callable[[str], _E]:
    """A parser of the members of a string enum, by value, case-insensitively."""
    expected = ", ".join(member.value for member in kind)

    def parse(text: str) -> _E:
        try:
            return kind(text.strip().lower())
        except ValueError:
            raise ValueError(f"expected one of: {expected}") from None

    parse.__name__ = f"parse_{kind.__name__.lower()}"
    return parse


parse_keep = enum_parser(Keep)
parse_scheme = enum_parser(Scheme)


class Shard(NamedTuple):
    """Shard ``number`` of ``total`` (1-based): what ``--shard K/N`` names."""

    number: int
    total: int


#: ``--shard auto``: the shard is read from the CI's own variables (see :func:`ci_shard`).
AUTO = "auto"
_SHARD_RE = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*", re.ASCII)


def parse_shard(text: str) -> Shard:
    """``K/N``: this machine runs shard K of N (1-based)."""
    match = _SHARD_RE.fullmatch(text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ValueError("expected K/N with 1 <= K <= N")
    return Shard(int(match.group(1)), int(match.group(2)))


def parse_shard_or_auto(text: str) -> Shard | str:
    """``K/N``, or ``auto``: the CI's parallel job variables say (resolved by :func:`resolve`)."""
    if text.strip().lower() == AUTO:
        return AUTO
    try:
        return parse_shard(text)
    except ValueError:
        raise ValueError("expected K/N with 1 <= K <= N (e.g. 2/4) or auto") from None


def parse_tag_name(text: str) -> str:
    value = text.strip().removeprefix("@")
    if not re.fullmatch(r"[\w.-]+", value):
        raise ValueError("expected a tag name such as serial")
    return value


def parse_path(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a file path")
    return text


def parse_modules(text: str) -> tuple[str, ...]:
    """Comma-separated dotted module names."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", name):
            raise ValueError(f"{name!r} is not a module name")
    return names
