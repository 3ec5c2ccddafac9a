"""Names that become one path component inside the workspace: ids a user types (a bench or
optimize session, a proposal) and names read from files (a skill's name, a model id in a
plan or a proposal). None of them may climb out of its folder or name a link's target."""

from __future__ import annotations

import re

from skvm_core.errors import SkvmError

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@=-]{0,159}")


def checked_id(value: str, what: str) -> str:
    """`value` as it is when it is a plain id, else a clear error (never a path)."""
    if not isinstance(value, str) or not _ID.fullmatch(value) or ".." in value:
        raise SkvmError(
            f"{value!r} is not a valid {what}",
            hint=f"a {what} is a plain name of letters, digits, '.', '_' and '-' (see the list command)",
        )
    return value


def folder_name(text: str, limit: int = 120) -> str:
    """Any text as one safe folder name: separators, control characters and anything but
    letters, digits and `-_.` replaced; never empty, `.` or `..`."""
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))[:limit]
    return f"_{name}" if name.strip(".") == "" else name


def component(text: str) -> str:
    """`text` unchanged when it is already one harmless path component (names in existing
    workspaces keep their folders), else its `folder_name`."""
    text = str(text)
    unsafe = (
        not text
        or text.strip(".") == ""
        or any(c in text for c in "/\\\0")
        or any(ord(c) < 32 for c in text)
        or len(text) > 160
    )
    return folder_name(text) if unsafe else text
