"""A skill's instructions in the file a harness always reads (AGENTS.md, CLAUDE.md).

A harness shows a skill's body only when the model loads it, and a weak model often never
does. Written into the project's instructions file, the (compiled) steps reach the model on
every turn. The skill's section is marked, so a second export replaces it and removing it is
one edit; nothing else in the file is touched.
"""

from __future__ import annotations

import re
from pathlib import Path

from skvm_core.errors import SkvmError
from skvm_core.skill import Skill
from skvm_core.store.atomic import atomic_write_text

# The file each harness reads at the start of every session in a project.
INSTRUCTION_FILES = {
    "opencode": "AGENTS.md",
    "codex": "AGENTS.md",
    "pi": "AGENTS.md",
    "claude-code": "CLAUDE.md",
}


def _marks(name: str) -> tuple[str, str]:
    return f"<!-- skvm skill {name}: start -->", f"<!-- skvm skill {name}: end -->"


def skill_section(skill: Skill, where: str) -> str:
    start, end = _marks(skill.name)
    body = skill.body.strip()
    return f"{start}\n## Skill: {skill.name} ({where})\n\n{skill.description.strip()}\n\n{body}\n{end}\n"


def write_always_on(harness: str, skill: Skill, project: Path, where: str) -> Path:
    """Put the skill's section into the harness's instructions file in `project` (created if
    missing; an earlier section of the same skill replaced)."""
    name = INSTRUCTION_FILES.get(harness)
    if name is None:
        raise SkvmError(
            f"the {harness} harness reads no project instructions file",
            hint=f"use one of: {', '.join(sorted(INSTRUCTION_FILES))}",
        )
    path = project / name
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise SkvmError(f"{path} is not a regular file; it was left as it is")
    try:
        text = path.read_text("utf-8") if path.exists() else ""
    except UnicodeDecodeError as exc:
        raise SkvmError(f"{path} is not UTF-8 text; it was left as it is") from exc
    start, end = _marks(skill.name)
    section = skill_section(skill, where)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + section
    atomic_write_text(path, text)
    return path
