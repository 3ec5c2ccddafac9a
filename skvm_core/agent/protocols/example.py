"""One worked example per run, taken from the skill's first concrete step (or the task's),
so a small model sees the shape of a good first action on *this* job, not a generic one."""

from __future__ import annotations

import re
from pathlib import Path

from skvm_core.agent.protocols.base import ExampleAction

_FENCE = re.compile(r"^```[ \t]*(bash|sh|shell|console)[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
_FILE = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.(?:csv|json|jsonl|txt|md|log|tsv|yaml|yml|xml|html|py|sh|sql|ini|toml))\b"
)
MAX_COMMAND_CHARS = 200


def _first_command(text: str) -> tuple[str, int] | None:
    for match in _FENCE.finditer(text):
        lines = [
            line.removeprefix("$ ").rstrip()
            for line in match.group(2).splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if lines and len(lines) <= 3 and len("\n".join(lines)) <= MAX_COMMAND_CHARS:
            return "\n".join(lines), text[: match.start()].count("\n") + 1
    return None


def _first_file(text: str, existing: set[str]) -> str | None:
    names = [m.group(1) for m in _FILE.finditer(text)]
    for name in names:  # a file that is really there beats one the text only mentions
        if name in existing:
            return name
    return None


def first_action(skill_body: str | None, prompt: str, work_dir: Path | None) -> ExampleAction:
    existing: set[str] = set()
    if work_dir is not None and work_dir.is_dir():
        existing = {
            p.relative_to(work_dir).as_posix()
            for p in list(work_dir.rglob("*"))[:500]
            if p.is_file() and not p.is_symlink()
        }
    if skill_body:
        found = _first_command(skill_body)
        if found:
            command, line = found
            return ExampleAction(
                thought="I start with the skill's first command.",
                tool="execute_command",
                arguments={"command": command},
                source=f"skill line {line}",
            )
    for text, source in ((prompt, "task prompt"), (skill_body or "", "skill")):
        path = _first_file(text, existing)
        if path:
            return ExampleAction(
                thought=f"First I read {path} to see what it holds.",
                tool="read_file",
                arguments={"path": path},
                source=source,
            )
    return ExampleAction(
        thought="First I look at what is in the work folder.",
        tool="list_directory",
        arguments={"path": "."},
        source="default",
    )
