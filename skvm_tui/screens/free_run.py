"""A free run: the skill in view, a prompt, and a folder of the user's files. The form only
collects them; the app runs it (the trace streams into the main view), copies back what the
run wrote when it ends ok, and can save the run as a task."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

FREE_RUN_CSS = """
FreeRunScreen { align: center middle; }
FreeRunScreen > Vertical {
    width: 100; height: auto; border: round $primary; background: $surface; padding: 0 1;
}
FreeRunScreen #free-prompt { height: 6; }
FreeRunScreen .row { height: auto; }
FreeRunScreen #free-problems { color: $error; height: auto; }
"""


class FreeRunScreen(ModalScreen[tuple[str, Path] | None]):
    """Dismissed with (prompt, folder), or None."""

    DEFAULT_CSS = FREE_RUN_CSS
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="free_run.cancel"),
        Binding("ctrl+r", "start", "Run", id="free_run.start"),
    ]

    def __init__(self, skill_name: str, target: str, folder: str = "", prompt: str = "") -> None:
        super().__init__()
        self.skill_name = skill_name
        self.target = target
        self.initial_folder = folder
        self.initial_prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"[b]Free run[/b] of {escape(self.skill_name)} on {escape(self.target)}: "
                "the run works on a copy; what it writes is copied back only when it ends ok"
            )
            yield TextArea(self.initial_prompt, id="free-prompt")
            yield Input(self.initial_folder, placeholder="your folder", id="free-folder")
            yield Static("", id="free-problems")
            with Horizontal(classes="row"):
                yield Button("Run", variant="primary", id="free-start")
                yield Button("Cancel", id="free-cancel")

    @on(Button.Pressed, "#free-start")
    def action_start(self) -> None:
        from skvm_core.errors import SkvmError
        from skvm_core.run.folder_run import check_folder

        prompt = self.query_one("#free-prompt", TextArea).text.strip()
        typed = self.query_one("#free-folder", Input).value.strip()
        problems = self.query_one("#free-problems", Static)
        if not prompt:
            problems.update("say what the model should do")
            return
        folder = Path(typed).expanduser()
        try:
            check_folder(folder) if typed else None
        except SkvmError as exc:
            problems.update(escape(str(exc)))
            return
        if not typed:
            problems.update("name the folder the run works on")
            return
        self.dismiss((prompt, folder.resolve()))

    @on(Button.Pressed, "#free-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
