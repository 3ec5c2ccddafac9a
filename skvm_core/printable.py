"""Text from models, tools and files made safe to print on a terminal.

A tool's output or a model's reply can hold escape sequences that a terminal obeys: set
the window title, write the clipboard (OSC 52), hide text, forge links. Everything from a
run that reaches the CLI's live trace, `trace show` or the workbench passes through here:
control characters other than newline and tab become visible (`␛`, `^G`), so the text is
shown and never obeyed.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

# C0 controls except tab and newline, DEL, and the C1 range (0x80-0x9f, which some
# terminals read as ESC [ and friends).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x1B:
        return "␛"
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return f"\\x{code:02x}"


def printable(text: str) -> str:
    return _CONTROL.sub(_visible, text) if _CONTROL.search(text) else text


def printable_value(value: Any) -> Any:
    """Strings inside dicts, lists and models made printable; other values as they are."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_value(k): printable_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(printable_value(v) for v in value)
    if isinstance(value, BaseModel):
        return value.model_copy(
            update={
                name: printable_value(getattr(value, name)) for name in type(value).model_fields
            }
        )
    return value
