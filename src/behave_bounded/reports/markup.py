"""Text into HTML: everything a report shows of a run is user data, so all of it is escaped."""

from __future__ import annotations

import html
import re

#: Characters a page cannot show (C0 controls but tab and newlines, DEL, C1 controls).
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escape(text: str) -> str:
    """``text`` safe in an element or a quoted attribute; control characters as ``\\xNN``."""
    return html.escape(_INVISIBLE.sub(_visible, text), quote=True)
