"""Which tools a run offers: only those its skill and task need.

Every tool in the prompt costs a small model attention and tokens, so the web tool is
offered only where the skill or task reaches for the web (a URL, an API, a fetch) or the
task allows hosts beyond loopback. Reading, writing, listing and running commands are the
core every file task needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CORE_TOOLS = ("read_file", "write_file", "list_directory", "execute_command")
_WEB = re.compile(
    r"https?://|\bweb[_ ]?fetch\b|\bfetch(?:es|ing)?\b|\bHTTP\b|\b(?:REST )?API\b|\bendpoint\b|\bURL\b",
    re.IGNORECASE,
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class ToolSelection:
    names: tuple[str, ...]
    reason: str


def select_tools(
    skill_text: str | None, prompt: str, allowed_hosts: tuple[str, ...] = ()
) -> ToolSelection:
    names = list(CORE_TOOLS)
    why = "file and command tools"
    if not allowed_hosts:
        return ToolSelection(tuple(names), why + "; no web_fetch (the run allows no host)")
    extra_hosts = sorted(set(allowed_hosts) - _LOOPBACK)
    match = _WEB.search(prompt) or (_WEB.search(skill_text) if skill_text else None)
    if extra_hosts:
        cause = f"the allowed hosts {', '.join(extra_hosts)}"
    elif match:
        cause = f"the task or skill mentions {match.group(0)!r}"
    else:
        return ToolSelection(
            tuple(names), why + "; no web_fetch (neither skill nor task uses the web)"
        )
    return ToolSelection((*names, "web_fetch"), f"{why}; web_fetch for {cause}")
