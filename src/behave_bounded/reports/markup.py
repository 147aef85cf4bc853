"""Text into HTML: everything a report shows of a run is user data, so all of it is escaped;
and the few small pieces of markup the page is made of (badges, tables, sections, times)."""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterable, Sequence

#: Characters a page cannot show (C0 controls but tab and newlines, DEL, C1 controls).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escape(text: str) -> str:
    """``text`` safe in an element or a quoted attribute; control characters as ``\\xNN``."""
    return html.escape(_INVISIBLE.sub(_visible, text), quote=True)


def number_or_none(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def when(epoch: object) -> str:
    seconds = number_or_none(epoch)
    if not seconds:
        return "unknown"
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def seconds(value: float) -> str:
    return f"{value:.3f} s" if value < 100 else f"{value:.0f} s"


def badge(status: str) -> str:
    return f'<span class="badge s-{escape(status)}">{escape(status)}</span>'


def details(title: str, body: str, *, open_: bool = True, anchor: str = "") -> str:
    ident = f' id="{anchor}"' if anchor else ""
    state = " open" if open_ else ""
    return f"<details{ident}{state}><summary>{title}</summary>{body}</details>\n"


def table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table whose cells are already HTML (escaped by the caller)."""
    heading = "".join(f"<th>{escape(cell)}</th>" for cell in head)
    body = "".join("<tr>" + "".join(row) + "</tr>\n" for row in rows)
    return f"<table><thead><tr>{heading}</tr></thead><tbody>\n{body}</tbody></table>"


def td(text: str, *, number: bool = False) -> str:
    return f'<td class="n">{escape(text)}</td>' if number else f"<td>{escape(text)}</td>"
