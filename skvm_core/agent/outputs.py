"""The files a task names that its work folder does not hold yet: what the run still owes.

Inputs are there when the run starts, so a file name in the prompt that is missing is an
output (or a typo the model will have to resolve). Used to make the reminder to act
concrete: a small model told "changes.txt does not exist yet" writes it more often than
one told to act in general."""

from __future__ import annotations

import re
from pathlib import Path

_FILE = re.compile(
    r"(?<![\w/.-])((?:[\w-][\w.-]*/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,5})(?![\w/])"
)
# Name endings that are hosts or versions, not files.
_NOT_FILES = re.compile(r"\.(com|org|net|io|dev|ai|md5)$|^\d+(\.\d+)+$", re.IGNORECASE)
MAX_NAMED = 6


def named_missing(prompt: str, work_dir: Path) -> list[str]:
    found: list[str] = []
    for match in _FILE.finditer(prompt):
        name = match.group(1).rstrip(".")
        if "." not in name or _NOT_FILES.search(name) or name in found:
            continue
        if not (work_dir / name).exists():
            found.append(name)
    return found[:MAX_NAMED]
