"""The skill source: syntax-highlighted, numbered, with validation markers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from skvm_core.skill import Skill


SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "blue"}


def syntax_theme(dark: bool) -> str:
    return "monokai" if dark else "default"


class SourceView(VerticalScroll):
    """Shows SKILL.md; lines with findings are highlighted and listed underneath."""

    DEFAULT_CSS = "SourceView { height: 1fr; }"

    def compose(self):
        yield Static(id="source-body")

    def show(self, skill: Skill, dark: bool = True) -> None:
        marked = {d.line for d in skill.diagnostics if d.line}
        syntax = Syntax(
            skill.source,
            "markdown",
            line_numbers=True,
            word_wrap=True,
            theme=syntax_theme(dark),
            highlight_lines=marked,
        )
        findings = Text()
        for diagnostic in skill.diagnostics:
            findings.append(f"\n{diagnostic}", style=SEVERITY_STYLE[diagnostic.severity])
        if not skill.diagnostics:
            findings.append("\n✓ no validation findings", style="green")
        self.query_one("#source-body", Static).update(Group(syntax, findings))
        self.border_title = f"{skill.name} · SKILL.md"
        self.border_subtitle = f"{len(skill.errors)} errors · {len(skill.warnings)} warnings"
