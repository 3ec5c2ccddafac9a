"""Turn a concrete command into a template: each occurrence of a task value becomes a
reference to the parameter's environment variable, written for the context it sits in.

A value never becomes shell text. In the shell it is read as `"${VAR}"` (inside double
quotes: no splitting, no globbing, no command substitution of its content); in Python (a
quoted here-document fed to `python3`) as `os.environ['VAR']`. A value embedded in a longer
quoted string (an awk program, `python3 -c '…'`) is only replaced for kinds whose pattern
cannot hold a quote or a backslash, so it cannot break out of the string around it.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

_WORD = re.compile(r"[\w\-]")
_PY_HEREDOC_RUNNER = re.compile(r"(?:^|[\s;&|(])python3?(?:\s+-[uIBE]+)*\s+-?\s*$")
_HEREDOC = re.compile(r"<<(-?)\s*(?:'([^'\n]+)'|\"([^\"\n]+)\"|\\?([A-Za-z_][\w]*))")


@dataclass(frozen=True)
class Slot:
    """A value to replace: the literal text, its variable, whether it may sit inside a
    longer quoted string, and whether Python should read it as a number."""

    value: str
    env: str
    embeddable: bool
    numeric: str | None = None  # "int" or "float": the Python conversion to read it with


def substitute_shell(command: str, slots: list[Slot]) -> tuple[str, set[str]]:
    """The command with every bounded occurrence of a slot's value replaced; also the set
    of variables used."""
    ordered = sorted(slots, key=lambda s: -len(s.value))
    out: list[str] = []
    used: set[str] = set()
    i, n = 0, len(command)
    state = "plain"  # plain | single | double
    pending: list[tuple[str, bool, bool]] = []  # heredocs: delimiter, quoted, python
    while i < n:
        ch = command[i]
        if state == "plain":
            if ch == "\\" and i + 1 < n:
                out.append(command[i : i + 2])
                i += 2
                continue
            if ch == "\n" and pending:
                out.append(ch)
                i = _heredoc_bodies(command, i + 1, pending, ordered, out, used)
                pending = []
                continue
            if ch == "<" and command.startswith("<<", i) and not command.startswith("<<<", i):
                match = _HEREDOC.match(command, i)
                if match:
                    quoted = match.group(2) or match.group(3)
                    line_start = command.rfind("\n", 0, i) + 1
                    python = bool(_PY_HEREDOC_RUNNER.search(command[line_start:i]))
                    pending.append((quoted or match.group(4), bool(quoted), python))
                    out.append(match.group(0))
                    i = match.end()
                    continue
            if ch in "'\"":
                whole = _whole_quoted(command, i, ordered)
                if whole is not None:
                    slot, end = whole
                    out.append(f'"${{{slot.env}}}"')
                    used.add(slot.env)
                    i = end
                    continue
                state = "single" if ch == "'" else "double"
                out.append(ch)
                i += 1
                continue
            slot = _match(command, i, ordered, embedded=False)
            if slot is not None:
                out.append(f'"${{{slot.env}}}"')
                used.add(slot.env)
                i += len(slot.value)
                continue
        elif state == "single":
            if ch == "'":
                state = "plain"
            else:
                slot = _match(command, i, ordered, embedded=True)
                if slot is not None:
                    out.append(f"'\"${{{slot.env}}}\"'")
                    used.add(slot.env)
                    i += len(slot.value)
                    continue
        else:  # double
            if ch == "\\" and i + 1 < n:
                out.append(command[i : i + 2])
                i += 2
                continue
            if ch == '"':
                state = "plain"
            else:
                slot = _match(command, i, ordered, embedded=True)
                if slot is not None:
                    out.append(f"${{{slot.env}}}")
                    used.add(slot.env)
                    i += len(slot.value)
                    continue
        out.append(ch)
        i += 1
    return "".join(out), used


def _whole_quoted(command: str, i: int, slots: list[Slot]) -> tuple[Slot, int] | None:
    """A quoted word that is exactly one slot's value ('sales.csv'), with its end."""
    quote = command[i]
    for slot in slots:
        end = i + 1 + len(slot.value)
        if command.startswith(slot.value, i + 1) and command[end : end + 1] == quote:
            after = command[end + 1 : end + 2]
            if not after or not _WORD.match(after):
                return slot, end + 1
    return None


def _match(command: str, i: int, slots: list[Slot], *, embedded: bool) -> Slot | None:
    before = command[i - 1] if i else ""
    if before and (_WORD.match(before) or before == "."):
        return None
    for slot in slots:
        if embedded and not slot.embeddable:
            continue
        if not command.startswith(slot.value, i):
            continue
        end = i + len(slot.value)
        after = command[end : end + 1]
        if after and (
            _WORD.match(after) or (after == "." and _WORD.match(command[end + 1 : end + 2] or " "))
        ):
            continue
        return slot
    return None


def _heredoc_bodies(
    command: str,
    i: int,
    pending: list[tuple[str, bool, bool]],
    slots: list[Slot],
    out: list[str],
    used: set[str],
) -> int:
    """Copy the bodies of the here-documents opened on the previous line; a quoted one fed
    to python has its string and number literals replaced, any other is kept as written."""
    for delimiter, quoted, python in pending:
        lines_end = i
        body_lines: list[str] = []
        end_line = ""
        while lines_end < len(command):
            newline = command.find("\n", lines_end)
            line = command[lines_end : newline if newline >= 0 else len(command)]
            lines_end = newline + 1 if newline >= 0 else len(command)
            if line.strip("\t") == delimiter:
                end_line = line + ("\n" if newline >= 0 else "")
                break
            body_lines.append(line + "\n")
        body = "".join(body_lines)
        if quoted and python:
            body, found = substitute_python(body, slots)
            used |= found
        out.append(body + end_line)
        i = lines_end
    return i


def substitute_python(code: str, slots: list[Slot]) -> tuple[str, set[str]]:
    """Python source with string literals equal to a value, and number literals equal to a
    numeric value, read from the environment instead."""
    by_value = {s.value: s for s in slots}
    used: set[str] = set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code, used
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for token in tokens:
        replacement = None
        if token.type == tokenize.STRING and token.string[:1] in "'\"":
            try:
                value = ast.literal_eval(token.string)
            except (ValueError, SyntaxError):
                continue
            slot = by_value.get(value) if isinstance(value, str) else None
            if slot is not None:
                replacement = f"__import__('os').environ[{slot.env!r}]"
        elif token.type == tokenize.NUMBER:
            slot = by_value.get(token.string)
            if slot is not None and slot.numeric:
                replacement = f"{slot.numeric}(__import__('os').environ[{slot.env!r}])"
        if replacement is None:
            continue
        start = offsets[token.start[0] - 1] + token.start[1]
        end = offsets[token.end[0] - 1] + token.end[1]
        edits.append((start, end, replacement))
        used.add(slot.env)
    for start, end, text in reversed(edits):
        code = code[:start] + text + code[end:]
    return code, used
