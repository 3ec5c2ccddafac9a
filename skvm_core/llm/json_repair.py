"""Read the JSON object a small model meant to write when what it wrote is not quite JSON.

Small models write tool calls whose arguments hold shell commands and code, and they often
forget to escape inside strings: a `"` in an awk program, a raw newline in file content, a
regex's `\\d`. Strict decoding then turns a plain call into prose. Here a string ends only
at a quote followed by what may follow that string where it stands (a key's `:`; a value's
comma, leading in an object to the next key, or its container's end); any other quote, raw
control character or unknown escape inside it is kept as the literal character it stood
for. Valid JSON reads the same as with `json.loads`. The result is only a
candidate: callers keep it only when it reads as what they expected (a call to a tool).
"""

from __future__ import annotations

import json
import re
from typing import Any

# After a value's comma in an object: the next key, as in `, "path":`.
_NEXT_KEY = re.compile(r'\s*"(?:[^"\\\n]|\\.)*"\s*:')
_ESCAPES = set('"\\/bfnrtu')
_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def repair_object(text: str, start: int) -> tuple[Any, int] | None:
    """The JSON value that starts at `text[start]` (a `{` or `[`), read leniently, with the
    index just past it; None when even a lenient reading finds no complete value."""
    out: list[str] = []
    stack: list[str] = []  # the open containers, "{" or "["
    key_next = False  # the next string in this object is a key
    in_string = is_key = False
    index = start
    while index < len(text):
        char = text[index]
        if in_string:
            if char == "\\":
                following = text[index + 1 : index + 2]
                if following and following in _ESCAPES:
                    out.append(char + following)
                    index += 2
                    continue
                out.append("\\\\")  # an escape JSON does not know: the backslash itself
            elif char == '"':
                if _closes_string(text, index + 1, is_key, stack[-1] if stack else ""):
                    in_string = False
                    out.append(char)
                else:
                    out.append('\\"')
            elif char in _CONTROL:
                out.append(_CONTROL[char])
            elif ord(char) < 0x20:
                out.append(f"\\u{ord(char):04x}")
            else:
                out.append(char)
            index += 1
            continue
        out.append(char)
        if char == '"':
            in_string, is_key = True, key_next
            key_next = False
        elif char in "{[":
            stack.append(char)
            key_next = char == "{"
        elif char == ",":
            key_next = bool(stack) and stack[-1] == "{"
        elif char in "}]":
            stack.pop() if stack else None
            if not stack:
                try:
                    return json.loads("".join(out)), index + 1
                except (json.JSONDecodeError, RecursionError):
                    return None
        index += 1
    return None


def _closes_string(text: str, index: int, is_key: bool, container: str) -> bool:
    """Whether a quote at `index - 1` ends the string: only when what follows fits where
    the string stands (a key before `:`; a value before its container's end or a comma,
    and in an object a comma must lead to the next key)."""
    rest = text[index:].lstrip(" \t\r\n")
    if not rest:
        return True
    if is_key:
        return rest[0] == ":"
    if (rest[0], container) in (("]", "["), ("}", "{")):
        return True
    if rest[0] != ",":
        return False
    return container == "[" or _NEXT_KEY.match(rest, 1) is not None
